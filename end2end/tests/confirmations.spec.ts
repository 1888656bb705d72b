import { test, expect } from "@playwright/test";
import { api, hydrated, projectWithSpec, signUp, uniqueName } from "./support";

test("adding a member empties the form and says who was added; removing one asks first", async ({ page }) => {
  const guest = uniqueName("gus");
  await signUp(page, guest);
  await page.context().clearCookies();
  const owner = uniqueName("mia");
  await signUp(page, owner);
  const { project } = await projectWithSpec(page, "# User login\n");

  // Reached in the page, not loaded: each role shows as it is.
  await page.goto(`/p/${project.slug}`);
  await hydrated(page);
  await page.getByRole("link", { name: "Members" }).click();
  await expect(page.locator("table.members tr", { hasText: owner }).getByLabel("Role")).toHaveValue("owner");
  const form = page.locator("section", { has: page.getByRole("heading", { name: "Add a member" }) });
  await form.getByLabel("Username").fill(guest);
  await form.getByLabel("Role").selectOption("reviewer");
  await form.getByRole("button", { name: "Add" }).click();
  await expect(form.getByRole("status")).toHaveText(`${guest} now has the reviewer role in this project: see the list above.`);
  await expect(form.getByLabel("Username")).toHaveValue("");
  const row = page.locator("table.members tr", { hasText: guest });
  await expect(row).toBeVisible();

  await row.getByText("Remove…").click();
  await expect(row.locator(".confirm-panel")).toContainText(`${guest} loses access to this project at once`);
  await page.screenshot({ path: "test-results/members-remove-confirm.png", fullPage: true });
  await row.getByRole("link", { name: "Cancel" }).click();
  await expect(row.locator(".confirm-panel")).toBeHidden();
  await row.getByText("Remove…").click();
  await row.getByRole("button", { name: `Remove ${guest}` }).click();
  await expect(page.getByText(`${guest} was removed from the project.`)).toBeVisible();
  await expect(page.locator("table.members tr", { hasText: guest })).toHaveCount(0);
});

test("deleting a document asks first, names it, and the trash holds it", async ({ page }) => {
  await signUp(page, uniqueName("dora"));
  const { project, url } = await projectWithSpec(page, "# User login\n");
  await page.goto(url);
  await hydrated(page);

  await page.getByText("Rename, move or delete").click();
  const confirm = page.locator(".document-settings details.confirm");
  await confirm.getByText("Delete…").click();
  await expect(confirm.locator(".confirm-panel")).toContainText(
    "User login and every document under it move to the trash on main, where they can be restored.",
  );
  await page.screenshot({ path: "test-results/document-delete-confirm.png", fullPage: true });
  await confirm.getByRole("link", { name: "Cancel" }).click();
  await expect(confirm.locator(".confirm-panel")).toBeHidden();
  await expect(page.locator(".document-head h1")).toHaveText("User login");

  await confirm.getByText("Delete…").click();
  await confirm.getByRole("button", { name: "Delete User login" }).click();
  await expect(page).toHaveURL(new RegExp(`/p/${project.slug}/trash$`));
  await expect(page.locator(".card-list")).toContainText("User login");
});

test("a question closes on Escape, and when the page moves to another branch", async ({ page }) => {
  await signUp(page, uniqueName("elsa"));
  const { project } = await projectWithSpec(page, "On main.\n");
  for (const name of ["one", "two"]) {
    await api(page, "POST", `/projects/${project.id}/branches`, { name });
  }
  await page.goto(`/p/${project.slug}?branch=one`);
  await hydrated(page);
  const confirm = page.locator(".branch-switcher details.confirm");
  const summary = confirm.getByText("Delete branch…");

  await summary.click();
  await expect(confirm.locator(".confirm-panel")).toContainText("Deleting the branch one removes it");
  await page.keyboard.press("Escape");
  await expect(confirm.locator(".confirm-panel")).toBeHidden();
  await expect(summary).toBeFocused();

  // Left open, it does not follow the page to another branch, where it would ask about that one.
  await summary.click();
  await expect(confirm.locator(".confirm-panel")).toBeVisible();
  await page.getByLabel("Branch").selectOption("two");
  await expect(page).toHaveURL(/\?branch=two$/);
  await expect(confirm.locator(".confirm-panel")).toBeHidden();
  await summary.click();
  await expect(confirm.getByRole("button", { name: "Delete branch two" })).toBeVisible();
  const names = (await api(page, "GET", `/projects/${project.id}/branches`)).map((b: { name: string }) => b.name);
  expect(names).toEqual(expect.arrayContaining(["one", "two"]));
});
