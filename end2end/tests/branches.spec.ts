import { test, expect } from "@playwright/test";
import { api, openEditor, projectWithSpec, signUp, uniqueName } from "./support";

test("a branch is drafted on its own while main stays as it was, and the view switches between them", async ({ page }) => {
  await signUp(page, uniqueName("bea"));
  const { spec, url } = await projectWithSpec(page, "On main.\n");
  await openEditor(page, url);

  await page.getByText("New branch").click();
  await page.getByLabel("Name", { exact: true }).fill("draft/login");
  await page.getByRole("button", { name: "Create from main" }).click();
  await expect(page).toHaveURL(/\?branch=draft\/login$/);
  await expect(page.getByLabel("Branch")).toHaveValue("draft/login");

  // The tree links keep the branch; the editor edits the branch's copy.
  await page.getByRole("navigation", { name: "Documents" }).getByRole("link", { name: "User login" }).click();
  await expect(page).toHaveURL(/branch=draft\/login/);
  await expect(page.locator("[data-collab-status]")).toHaveText("Connected");
  await expect(page.locator("[data-collab-editor]")).toHaveAttribute("data-branch", "draft/login");
  await page.locator(".cm-content").click();
  await page.keyboard.press("Control+End");
  await page.keyboard.insertText("Drafted on the branch.");
  await expect(async () => {
    const drafted = await api(page, "GET", `/documents/${spec.id}?branch=draft%2Flogin`);
    expect(drafted.content).toBe("On main.\nDrafted on the branch.");
  }).toPass();
  const onMain = await api(page, "GET", `/documents/${spec.id}`);
  expect(onMain.content).toBe("On main.\n");

  await page.getByLabel("Branch").selectOption("main");
  await expect(page).not.toHaveURL(/branch=/);
  await expect(page.locator(".cm-content")).toHaveText("On main.");

  // A branch that is no longer wanted goes, with its documents' state.
  await page.getByLabel("Branch").selectOption("draft/login");
  await page.getByRole("button", { name: "Delete branch draft/login" }).click();
  await expect(page).not.toHaveURL(/branch=/);
  await expect(page.getByLabel("Branch").locator("option")).toHaveText(["main"]);
});
