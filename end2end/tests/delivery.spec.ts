import { test, expect, type Response } from "@playwright/test";
import { hydrated, openEditor, projectWithSpec, signUp, uniqueName } from "./support";

test("pages and bundles arrive compressed, and the bundles are revalidated instead of downloaded again", async ({
  page,
  request,
}) => {
  const responses: Response[] = [];
  page.on("response", (response) => responses.push(response));
  await page.goto("/login");
  await hydrated(page);

  const html = responses.find((response) => new URL(response.url()).pathname === "/login")!;
  expect((await html.allHeaders())["content-encoding"]).toMatch(/^(br|gzip)$/);

  const bundles = responses.filter((response) => /\.(wasm|js|css)$/.test(new URL(response.url()).pathname));
  const paths = bundles.map((response) => new URL(response.url()).pathname);
  expect(paths.some((path) => path.endsWith(".wasm"))).toBe(true);
  expect(paths.some((path) => path.endsWith(".css"))).toBe(true);
  for (const bundle of bundles) {
    const path = new URL(bundle.url()).pathname;
    const headers = await bundle.allHeaders();
    expect(headers["content-encoding"], path).toMatch(/^(br|gzip)$/);
    // Kept only after asking whether it changed: its name does not change with it.
    expect(headers["cache-control"], path).toBe("no-cache");
    expect(headers["last-modified"], path).toBeTruthy();

    // A repeat visit asks with the date it has and gets no body back.
    const again = await request.get(path, { headers: { "if-modified-since": headers["last-modified"] } });
    expect(again.status(), path).toBe(304);
    expect((await again.body()).length, path).toBe(0);
  }

  // What only one person may see is never kept by a browser or a proxy.
  const api = await request.get("/api/v1/projects");
  expect(api.headers()["cache-control"]).toBe("no-store");
});

test("only pages with an editor load the editor bundle, including pages reached in the app", async ({ page }) => {
  const requested: string[] = [];
  page.on("request", (request) => requested.push(new URL(request.url()).pathname));
  await signUp(page, uniqueName("lena"));
  const { project, url } = await projectWithSpec(page, "# User login\n\nUsers log in.\n");
  await page.goto(`/p/${project.slug}`);
  await hydrated(page);
  expect(requested).not.toContain("/editor.js");

  // Reached by a link, the document's editor still comes to life.
  await page.getByRole("link", { name: "User login" }).first().click();
  await expect(page).toHaveURL(url);
  await expect(page.locator("[data-collab-status]")).toHaveText("Connected");
  await expect(page.locator(".cm-content")).toContainText("Users log in.");
  expect(requested).toContain("/editor.js");

  // And loaded with the page, it does too.
  await openEditor(page, url);
  await expect(page.locator(".cm-content")).toContainText("Users log in.");
});
