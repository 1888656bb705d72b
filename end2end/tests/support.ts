import { expect, Browser, Page } from "@playwright/test";

/** Waits until the WebAssembly has taken over the server-rendered page. */
export async function hydrated(page: Page) {
  await page.locator("body[data-hydrated]").waitFor();
}

export function uniqueName(prefix: string) {
  return `${prefix}_${Date.now().toString(36)}${Math.floor(Math.random() * 1000)}`;
}

export const PASSWORD = "correct horse battery";

export async function signUp(page: Page, username: string) {
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page).toHaveURL(/\/projects$/);
  await expect(page.locator(".user-name")).toHaveText(username);
}

/** Calls the JSON API with the page's session, as the page's own scripts would. */
export async function api(page: Page, method: string, path: string, data?: unknown) {
  const origin = new URL(page.url()).origin;
  const response = await page.request.fetch(`${origin}/api/v1${path}`, {
    method,
    data,
    headers: { Origin: origin },
  });
  expect(response.ok(), `${method} ${path}: ${response.status()} ${await response.text()}`).toBeTruthy();
  return response.status() === 204 ? null : response.json();
}

/** A project with one spec, made through the API: returns the spec's page address. */
export async function projectWithSpec(page: Page, content: string) {
  const project = await api(page, "POST", "/projects", { name: uniqueName("Project") });
  const spec = await api(page, "POST", `/projects/${project.id}/documents`, { title: "User login", kind: "spec", content });
  return { project, spec, url: `/p/${project.slug}/doc/${spec.id}` };
}

/** Opens a document and waits for its live editor (and its text, where the layout shows it). */
export async function openEditor(page: Page, url: string) {
  await page.goto(url);
  await hydrated(page);
  await expect(page.locator("[data-collab-status]")).toHaveText("Connected");
  const frame = page.locator("[data-collab-editor]");
  if ((await frame.getAttribute("data-layout")) !== "preview") await expect(page.locator(".cm-content")).toBeVisible();
}

/** A new person in a browser context of their own, signed up. */
export async function person(browser: Browser, baseURL: string | undefined, name: string): Promise<Page> {
  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();
  await signUp(page, name);
  return page;
}
