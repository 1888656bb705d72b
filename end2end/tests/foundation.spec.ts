import { test, expect } from "@playwright/test";
import { hydrated, signUp, uniqueName } from "./support";

test("a new user writes a spec under the constitution, sees it rendered and in the activity, and is refused after logging out", async ({ page }) => {
  await signUp(page, uniqueName("ada"));

  await expect(page.getByRole("heading", { name: "No projects yet" })).toBeVisible();
  await page.getByLabel("Name").fill("Payments platform");
  await page.getByRole("button", { name: "Create project" }).click();
  await expect(page).toHaveURL(/\/p\/payments-platform/);
  const projectUrl = page.url();
  const tree = page.getByRole("navigation", { name: "Documents" });
  await expect(tree.getByRole("link", { name: "Constitution" })).toBeVisible();

  const form = page.locator("section", { has: page.getByRole("heading", { name: "New document" }) });
  await form.getByLabel("Title").fill("User login");
  await form.getByLabel("Kind").selectOption("spec");
  await form.getByLabel("Under").selectOption({ label: "Constitution" });
  await form.getByRole("button", { name: "Create document" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "User login", exact: true })).toBeVisible();
  // The spec sits under the constitution in the tree.
  const constitutionItem = tree.locator("li", { has: page.getByRole("link", { name: "Constitution" }) });
  await expect(constitutionItem.getByRole("link", { name: "User login" })).toBeVisible();

  // The spec opens in the real-time editor; what is typed is saved as it is typed.
  const editor = page.locator(".cm-content");
  await expect(page.locator("[data-collab-status]")).toHaveText("Connected");
  await editor.click();
  await page.keyboard.press("Control+a");
  await page.keyboard.insertText(
    [
      "# User login",
      "",
      "- **AUTH-001** The system SHALL let a registered user log in.",
      "",
      "| Given | When | Then |",
      "|---|---|---|",
      "| a registered user | they log in | they see their projects |",
      "",
      "<script>window.pwned = true</script>",
      "",
    ].join("\n"),
  );

  const rendered = page.locator(".markdown.preview");
  await expect(rendered.locator("h1#user-content-user-login")).toContainText("User login");
  await expect(rendered.locator("td").first()).toHaveText("a registered user");
  await expect(rendered.locator("strong", { hasText: "AUTH-001" })).toBeVisible();
  expect(await rendered.locator("script").count()).toBe(0);
  expect(await page.evaluate(() => (window as unknown as { pwned?: boolean }).pwned)).toBeUndefined();

  // A reload shows what was saved, rendered on the server.
  await expect(async () => {
    await page.reload();
    await expect(page.locator(".markdown.preview td").first()).toHaveText("a registered user", { timeout: 1000 });
  }).toPass();

  await page.getByRole("link", { name: "Activity" }).click();
  const activity = page.locator("ol.activity");
  await expect(activity.locator("li").first()).toContainText("edited User login");
  await expect(activity).toContainText("created spec User login");
  await expect(activity).toContainText("created project Payments platform");

  await hydrated(page);
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto(projectUrl);
  await expect(page.getByRole("heading", { name: "Sign in required" })).toBeVisible();
  await expect(page.getByText("Payments platform")).toHaveCount(0);
});

test("an API token is shown once, listed by its prefix and can be revoked", async ({ page }) => {
  await signUp(page, uniqueName("grace"));
  await page.getByRole("link", { name: "API tokens" }).click();
  await hydrated(page);
  await page.getByLabel("Name").fill("CI drift check");
  await page.getByRole("button", { name: "Create token" }).click();
  const secret = page.getByLabel("New API token");
  await expect(secret).toHaveValue(/^charter_[0-9a-f]{12}_[0-9a-f]{64}$/);
  const token = await secret.inputValue();

  const listed = page.locator("li.token", { hasText: "CI drift check" });
  await expect(listed).toContainText(token.slice(0, "charter_".length + 12));
  await expect(listed).not.toContainText(token.slice(30));

  // The token works against the API until it is revoked.
  const me = await page.request.get("/api/v1/me", { headers: { Authorization: `Bearer ${token}` } });
  expect(me.status()).toBe(200);
  await listed.getByRole("button", { name: "Revoke" }).click();
  await expect(page.locator("li.token", { hasText: "CI drift check" })).toHaveCount(0);
  const after = await page.request.get("/api/v1/me", { headers: { Authorization: `Bearer ${token}` } });
  expect(after.status()).toBe(401);
});
