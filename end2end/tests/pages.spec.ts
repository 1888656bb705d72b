import { test, expect } from "@playwright/test";
import { api, hydrated, openEditor, PASSWORD, projectWithSpec, signUp, uniqueName } from "./support";

test("without JavaScript a wrong password says so and lists are in the page", async ({ browser, baseURL }) => {
  const name = uniqueName("nojs");
  const setup = await browser.newPage({ baseURL });
  await signUp(setup, name);
  const { project } = await projectWithSpec(setup, "# User login\n");
  await setup.close();

  const context = await browser.newContext({ baseURL, javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password").fill("not the password at all");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/login/);
  await expect(page.locator(".form-error")).toHaveText("Invalid username or password.");

  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/projects$/);
  await expect(page.getByRole("link", { name: project.name })).toBeVisible();
  await expect(page.getByText("Loading…")).toHaveCount(0);
  await page.goto(`/p/${project.slug}`);
  await expect(page.getByRole("heading", { name: "Documents" })).toBeVisible();
  const documents = page.locator("section", { has: page.getByRole("heading", { name: "Documents" }) });
  await expect(documents.getByRole("link", { name: "User login" })).toBeVisible();
  await context.close();
});

test("a missing project or document is a 404 page inside the normal layout", async ({ page }) => {
  await signUp(page, uniqueName("nf"));
  const { project } = await projectWithSpec(page, "# User login\n");
  for (const path of ["/p/no-such-project", `/p/${project.slug}/doc/0190aaaa-0000-7000-8000-000000000000`]) {
    const response = await page.goto(path);
    expect(response!.status(), path).toBe(404);
    await expect(page.locator("header.site-header")).toBeVisible();
    await expect(page.getByRole("heading", { name: "Not found" })).toBeVisible();
  }
});

test("in-app navigation puts focus on the new page's heading, and skip links lead to content and editor", async ({ page }) => {
  await signUp(page, uniqueName("focus"));
  const { project, url } = await projectWithSpec(page, "# User login\n");
  await page.goto(`/p/${project.slug}`);
  await hydrated(page);
  await page.getByRole("navigation", { name: "Project pages" }).getByRole("link", { name: "Requirements" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Requirements" })).toBeFocused();

  await openEditor(page, url);
  await page.locator("body").focus();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
  await page.keyboard.press("Tab");
  const toEditor = page.getByRole("link", { name: "Skip to the editor" });
  await expect(toEditor).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.locator(".cm-content")).toBeFocused();
  await expect(page.getByText("To leave the editor, press Escape, then Tab.")).toBeVisible();
  // Escape, then Tab, leaves it.
  await page.keyboard.press("Escape");
  await page.keyboard.press("Tab");
  await expect(page.locator(".cm-content")).not.toBeFocused();
});

test("arrow keys move through the branches without switching; Enter switches", async ({ page }) => {
  await signUp(page, uniqueName("arrows"));
  const { project } = await projectWithSpec(page, "# User login\n");
  await api(page, "POST", `/projects/${project.id}/branches`, { name: "draft" });
  await page.goto(`/p/${project.slug}`);
  await hydrated(page);
  const select = page.getByLabel("Branch");
  await select.focus();
  await page.keyboard.press("ArrowDown");
  await expect(select).toHaveValue("draft");
  await page.waitForTimeout(300);
  await expect(page).not.toHaveURL(/branch=/);
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\?branch=draft$/);
});

test("the overview and the projects list show what a project holds; activity links to what it describes", async ({ page }) => {
  await signUp(page, uniqueName("glance"));
  const { project, spec } = await projectWithSpec(page, "# User login\n\n- **AUTH-001** (P1) The system SHALL *lock* accounts [NEEDS CLARIFICATION: after how many failures?].\n");
  await api(page, "POST", `/projects/${project.id}/branches`, { name: "draft" });
  await api(page, "PUT", `/documents/${spec.id}/content?branch=draft`, { content: "# User login\n\nChanged.\n" });
  await api(page, "POST", `/projects/${project.id}/change-requests`, { source: "draft", target: "main", title: "Reword login" });

  await page.goto("/projects");
  await hydrated(page);
  const card = page.locator(".project-card", { hasText: project.name });
  await expect(card.locator(".counts li")).toHaveText(["2 documents", "1 open change request", "1 member", /^Active \d{4}-\d\d-\d\d/]);

  await card.getByRole("link", { name: project.name }).click();
  await expect(page.getByRole("heading", { level: 1, name: project.name })).toBeVisible();
  const changes = page.locator("section", { has: page.getByRole("heading", { name: "Open change requests" }) });
  await expect(changes.getByRole("link", { name: "#1 Reword login" })).toBeVisible();
  const questions = page.locator("section", { has: page.getByRole("heading", { name: "Open questions" }) });
  await expect(questions).toContainText("after how many failures?");
  const activity = page.locator("section", { has: page.getByRole("heading", { name: "Recent activity" }) });
  await activity.getByRole("link", { name: /opened change request/ }).first().click();
  await expect(page).toHaveURL(new RegExp(`/p/${project.slug}/changes/1$`));

  // The requirement's text is rendered Markdown, its priority said once.
  await page.goto(`/p/${project.slug}/requirements`);
  const row = page.locator("table.requirements tbody tr").first();
  await expect(row.locator("em")).toHaveText("lock");
  await expect(row).not.toContainText("(P1)");
  await expect(row.locator(".badge", { hasText: "P1" })).toHaveCount(1);
  await page.goto(`/p/${project.slug}/req/AUTH-001`);
  await expect(page.locator(".requirement-text em")).toHaveText("lock");
  await expect(page.locator(".requirement-text")).not.toContainText("(P1)");
});

test("on a phone the project sidebar folds behind a menu button", async ({ browser, baseURL }) => {
  const context = await browser.newContext({ baseURL, viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await signUp(page, uniqueName("phone"));
  const { project } = await projectWithSpec(page, "# User login\n");
  await page.goto(`/p/${project.slug}`);
  await hydrated(page);
  const menu = page.getByRole("button", { name: "Menu" });
  const pages = page.getByRole("navigation", { name: "Project pages" });
  await expect(pages).toBeHidden();
  await menu.click();
  await expect(menu).toHaveAttribute("aria-expanded", "true");
  await pages.getByRole("link", { name: "Activity" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Activity" })).toBeVisible();
  await expect(pages).toBeHidden();
  await context.close();
});
