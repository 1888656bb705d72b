import { test, expect } from "@playwright/test";
import { api, openEditor, projectWithSpec, signUp, uniqueName } from "./support";

test("a branch is drafted on its own while main stays as it was, and the view switches between them", async ({ page }) => {
  await signUp(page, uniqueName("bea"));
  const { project, spec, url } = await projectWithSpec(page, "On main.\n");
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

  // A branch that is no longer wanted goes, with its documents' state, once that is confirmed.
  await page.getByLabel("Branch").selectOption("draft/login");
  const confirm = page.locator(".branch-switcher details.confirm");
  await confirm.getByText("Delete branch…").click();
  await expect(confirm.locator(".confirm-panel")).toContainText("Deleting the branch draft/login removes it");
  await page.screenshot({ path: "test-results/branch-delete-confirm.png" });
  await confirm.getByRole("link", { name: "Cancel" }).click();
  await expect(confirm.locator(".confirm-panel")).toBeHidden();
  await expect(page).toHaveURL(/\?branch=draft\/login$/);
  await expect(page.getByLabel("Branch").locator("option")).toHaveText(["main", "draft/login"]);
  expect((await api(page, "GET", `/projects/${project.id}/branches`)).map((b: { name: string }) => b.name)).toContain("draft/login");

  await confirm.getByText("Delete branch…").click();
  await page.getByRole("button", { name: "Delete branch draft/login" }).click();
  await expect(page).not.toHaveURL(/branch=/);
  await expect(page.getByLabel("Branch").locator("option")).toHaveText(["main"]);
});

test("deleting a branch asks first before the page's WebAssembly has loaded", async ({ page }) => {
  await signUp(page, uniqueName("nora"));
  const { project } = await projectWithSpec(page, "On main.\n");
  await api(page, "POST", `/projects/${project.id}/branches`, { name: "spike" });
  const branches = async () => (await api(page, "GET", `/projects/${project.id}/branches`)).map((b: { name: string }) => b.name);
  // The server-rendered page only: no hydration, as on a slow link.
  await page.route("**/*.wasm", (route) => route.abort());

  await page.goto(`/p/${project.slug}?branch=spike`);
  const confirm = page.locator(".branch-switcher details.confirm");
  await expect(confirm.locator(".confirm-panel")).toBeHidden();
  await confirm.getByText("Delete branch…").click();
  await expect(confirm.locator(".confirm-panel")).toContainText("Deleting the branch spike removes it");
  await expect(confirm.locator(".confirm-panel")).toContainText("This cannot be undone.");
  // Cancel is a way back to the page, where the question is closed again.
  await confirm.getByRole("link", { name: "Cancel" }).click();
  await expect(confirm.locator(".confirm-panel")).toBeHidden();
  expect(await branches()).toContain("spike");

  await confirm.getByText("Delete branch…").click();
  await page.getByRole("button", { name: "Delete branch spike" }).click();
  await expect(page).toHaveURL(new RegExp(`/p/${project.slug}$`));
  expect(await branches()).toEqual(["main"]);
  expect(await page.locator("body[data-hydrated]").count()).toBe(0);
});

test("two tabs on two branches of one document keep each branch's edits to itself", async ({ page }) => {
  await signUp(page, uniqueName("tess"));
  const { project, spec, url } = await projectWithSpec(page, "On main.\n");
  await api(page, "POST", `/projects/${project.id}/branches`, { name: "spike" });
  // A second tab of the same browser: the tabs share its broadcast channels.
  const spike = await page.context().newPage();
  await openEditor(page, url);
  await openEditor(spike, `${url}?branch=spike`);
  await expect(spike.locator("[data-collab-editor]")).toHaveAttribute("data-branch", "spike");

  const type = async (tab: typeof page, text: string) => {
    await tab.locator(".cm-content").click();
    await tab.keyboard.press("Control+End");
    await tab.keyboard.insertText(text);
  };
  const stored = async (branch: string) =>
    (await api(page, "GET", `/documents/${spec.id}?branch=${branch}`)).content;
  await type(page, "Typed on main.");
  await expect(async () => expect(await stored("main")).toBe("On main.\nTyped on main.")).toPass();
  // Once the other tab's own edit has gone to the server and back, anything the first
  // tab sent it would have arrived long before.
  await type(spike, "Typed on the spike.");
  await expect(async () => expect(await stored("spike")).toBe("On main.\nTyped on the spike.")).toPass();
  await expect(spike.locator(".cm-content")).toContainText("Typed on the spike.");
  await expect(spike.locator(".cm-content")).not.toContainText("Typed on main.");
  await expect(page.locator(".cm-content")).not.toContainText("Typed on the spike.");

  // Reloaded, the spike's tab shows only the spike's edits, and each branch keeps its own.
  await openEditor(spike, `${url}?branch=spike`);
  await expect(spike.locator(".cm-content")).toContainText("Typed on the spike.");
  await expect(spike.locator(".cm-content")).not.toContainText("Typed on main.");
  expect(await stored("spike")).toBe("On main.\nTyped on the spike.");
  expect(await stored("main")).toBe("On main.\nTyped on main.");
});
