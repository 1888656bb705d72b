import { test, expect, type Response } from "@playwright/test";
import { hydrated, openEditor, projectWithSpec, signUp, uniqueName } from "./support";

test("pages and bundles arrive compressed; the bundle is kept for good, the editor revalidated", async ({
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
    // Its name holds a hash of its content: a new build is a new name, so it is kept without asking.
    expect(path).toMatch(/^\/pkg\/charter\.[A-Za-z0-9_-]{10,}\.(wasm|js|css)$/);
    expect(headers["cache-control"], path).toBe("public, max-age=31536000, immutable");
  }

  // The editor bundle keeps its name: kept only after asking whether it changed, which
  // costs a bodiless 304.
  const editor = await request.get("/editor.js", { headers: { "accept-encoding": "br, gzip" } });
  expect(editor.headers()["content-encoding"]).toMatch(/^(br|gzip)$/);
  expect(editor.headers()["cache-control"]).toBe("no-cache");
  const modified = editor.headers()["last-modified"];
  expect(modified).toBeTruthy();
  const again = await request.get("/editor.js", { headers: { "if-modified-since": modified } });
  expect(again.status()).toBe(304);
  expect((await again.body()).length).toBe(0);

  // An address that names no file is no file: nothing to keep.
  const missing = await request.get("/pkg/charter.0000000000.wasm");
  expect(missing.status()).toBe(404);
  expect(missing.headers()["cache-control"] ?? "").not.toContain("immutable");

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

  // Its chunks are named by their content: kept for good.
  const chunk = requested.find((path) => /^\/editor-[A-Z0-9]+\.js$/.test(path))!;
  expect(chunk).toBeTruthy();
  const response = await page.request.get(chunk);
  expect(response.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");
});
