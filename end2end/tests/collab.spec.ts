import { test, expect } from "@playwright/test";
import { OwnServer } from "../support/server.mjs";
import { api, hydrated, openEditor, person, projectWithSpec, signUp, uniqueName } from "./support";

test("two people type in the same spec and see each other's text and cursors", async ({ browser, baseURL }) => {
  const ada = await person(browser, baseURL, uniqueName("ada"));
  const bobName = uniqueName("bob");
  const bob = await person(browser, baseURL, bobName);
  const { project, url } = await projectWithSpec(ada, "# User login\n");
  await api(ada, "PUT", `/projects/${project.id}/members/${bobName}`, { role: "editor" });

  await openEditor(ada, url);
  await openEditor(bob, url);
  await ada.locator(".cm-content").click();
  await ada.keyboard.press("Control+End");
  await ada.keyboard.insertText("\nAda writes the summary.");
  await expect(bob.locator(".cm-content")).toContainText("Ada writes the summary.");

  await bob.locator(".cm-content").click();
  await bob.keyboard.press("Control+Home");
  await bob.keyboard.insertText("Bob adds a note. ");
  // (Text content also holds the cursor's name label, so check the line itself.)
  await expect(ada.locator(".cm-line").first()).toContainText("Bob adds a note.");
  await expect(ada.locator(".cm-line").first()).toContainText("# User login");

  // Each sees the other in the presence list and the other's cursor, labelled.
  await expect(ada.locator("[data-collab-presence]")).toContainText(bobName);
  await expect(ada.locator(".cm-ySelectionInfo")).toHaveText(bobName);
  await expect(bob.locator(".cm-ySelectionInfo")).toHaveText(/ada_/);
});

test("a viewer follows along but cannot type", async ({ browser, baseURL }) => {
  const owner = await person(browser, baseURL, uniqueName("olga"));
  const viewerName = uniqueName("vera");
  const viewer = await person(browser, baseURL, viewerName);
  const { project, url } = await projectWithSpec(owner, "Read me.\n");
  await api(owner, "PUT", `/projects/${project.id}/members/${viewerName}`, { role: "viewer" });

  const chunks: string[] = [];
  viewer.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (/^\/editor-[A-Z0-9]+\.js$/.test(path)) chunks.push(path);
  });
  await openEditor(viewer, url);
  await expect(viewer.getByText("Read only")).toBeVisible();
  // A reader starts with the preview alone, without the text editor's code.
  await expect(viewer.getByRole("button", { name: "Preview", exact: true })).toHaveAttribute("aria-pressed", "true");
  await expect(viewer.locator("[data-collab-preview]")).toContainText("Read me.");
  await expect(viewer.locator(".cm-content")).toHaveCount(0);
  const before = chunks.length;
  await viewer.getByRole("button", { name: "Split", exact: true }).click();
  await expect(viewer.locator(".cm-content")).toHaveAttribute("contenteditable", "false");
  expect(chunks.length, "the text editor's code comes when asked for").toBeGreaterThan(before);
  await viewer.locator(".cm-content").click();
  await viewer.keyboard.type("vandalism");
  await expect(viewer.locator(".cm-content")).toHaveText("Read me.");

  await openEditor(owner, url);
  await owner.locator(".cm-content").click();
  await owner.keyboard.press("Control+End");
  await owner.keyboard.insertText("Now updated.");
  await expect(viewer.locator(".cm-content")).toContainText("Now updated.");
  await expect(viewer.locator("[data-collab-preview]")).toContainText("Now updated.");
  await expect(owner.locator(".cm-content")).not.toContainText("vandalism");
});

test("the editor says when it is offline and merges what was typed meanwhile", async ({ browser }) => {
  const server = new OwnServer(Number(process.env.CHARTER_OFFLINE_PORT), process.env.CHARTER_OFFLINE_DATABASE_URL);
  await server.start();
  try {
    const context = await browser.newContext({ baseURL: server.url });
    const page = await context.newPage();
    await signUp(page, uniqueName("otto"));
    const { spec, url } = await projectWithSpec(page, "Before.\n");
    await openEditor(page, url);

    await server.kill();
    await expect(page.locator("[data-collab-status]")).toHaveAttribute("data-collab-status", "offline");
    await expect(page.locator("[data-collab-status]")).toContainText("Offline");
    await page.locator(".cm-content").click();
    await page.keyboard.press("Control+End");
    await page.keyboard.insertText("Typed while offline.");

    await server.start();
    await expect(page.locator("[data-collab-status]")).toHaveText("Connected", { timeout: 15_000 });
    // What was typed offline reached the server, once.
    await expect(async () => {
      const doc = await api(page, "GET", `/documents/${spec.id}`);
      expect(doc.content).toBe("Before.\nTyped while offline.");
    }).toPass({ timeout: 10_000 });
    const fresh = await context.newPage();
    await openEditor(fresh, url);
    await expect(fresh.locator(".cm-content")).toHaveText(/Before\.\s*Typed while offline\./);
    await hydrated(fresh);
  } finally {
    await server.kill();
  }
});

test("moving from one document to another edits the one now shown", async ({ browser, baseURL }) => {
  const page = await person(browser, baseURL, uniqueName("nina"));
  const { project, spec, url } = await projectWithSpec(page, "First.\n");
  const second = await api(page, "POST", `/projects/${project.id}/documents`, { title: "Second spec", kind: "spec", content: "Second.\n" });
  await openEditor(page, url);
  await page.getByRole("navigation", { name: "Documents" }).getByRole("link", { name: "Second spec" }).click();
  await expect(page.locator("[data-collab-editor]")).toHaveAttribute("data-document", second.id);
  await expect(page.locator(".cm-content")).toHaveText("Second.");
  await page.locator(".cm-content").click();
  await page.keyboard.press("Control+End");
  await page.keyboard.insertText("Typed here.");
  await expect(async () => {
    expect((await api(page, "GET", `/documents/${second.id}`)).content).toBe("Second.\nTyped here.");
  }).toPass();
  expect((await api(page, "GET", `/documents/${spec.id}`)).content).toBe("First.\n");
});

test("everyone present has a colour of their own, and a cursor's name fades once it rests", async ({ browser, baseURL }) => {
  const name = uniqueName("cora");
  const first = await person(browser, baseURL, name);
  const { url } = await projectWithSpec(first, "# User login\n");
  // The same person in a second tab: the same own colour, so the later session must give way.
  const second = await first.context().newPage();
  await openEditor(first, url);
  await openEditor(second, url);

  const dots = first.locator("[data-collab-presence] .presence-dot");
  await expect(dots).toHaveCount(2);
  await expect(async () => {
    const colors = await dots.evaluateAll((all) => all.map((dot) => getComputedStyle(dot).backgroundColor));
    expect(new Set(colors).size).toBe(2);
  }).toPass();
  // Both tabs agree on who has which.
  const seen = async (page: typeof first) =>
    (await page.locator("[data-collab-presence] .presence-dot").evaluateAll((all) =>
      all.map((dot) => getComputedStyle(dot).backgroundColor),
    )).sort();
  await expect(async () => expect(await seen(second)).toEqual(await seen(first))).toPass();

  await second.locator(".cm-content").click();
  await second.keyboard.press("Control+End");
  await second.keyboard.insertText("\nTyped in the second tab.");
  const label = first.locator(".cm-ySelectionInfo");
  await expect(label).toHaveText(name);
  await expect(label).toHaveCSS("opacity", "1");
  await expect(label).toHaveCSS("opacity", "0", { timeout: 10_000 });
  // Typing again shows it again.
  await second.keyboard.insertText(" More.");
  await expect(label).toHaveCSS("opacity", "1");
});
