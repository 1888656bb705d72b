import { test, expect } from "@playwright/test";
import { api, openEditor, PASSWORD, person, projectWithSpec, signUp, uniqueName } from "./support";

test("the layout is editor, split or preview, remembered per person", async ({ page, browser, baseURL }) => {
  await signUp(page, uniqueName("lay"));
  const { project, url } = await projectWithSpec(page, "# User login\n\nUsers log in.\n");
  await openEditor(page, url);
  const editor = page.locator(".editor-host");
  const preview = page.locator("[data-collab-preview]");
  await expect(page.getByRole("button", { name: "Split" })).toHaveAttribute("aria-pressed", "true");
  await expect(editor).toBeVisible();
  await expect(preview).toBeVisible();
  // Side by side, across the page.
  const [left, right] = [(await editor.boundingBox())!, (await preview.boundingBox())!];
  expect(right.x).toBeGreaterThan(left.x + left.width - 1);
  expect(left.width).toBeGreaterThan(380);

  await page.getByRole("button", { name: "Editor", exact: true }).click();
  await expect(preview).toBeHidden();
  await expect(page.getByRole("button", { name: "Editor", exact: true })).toHaveAttribute("aria-pressed", "true");
  await page.reload();
  await expect(page.locator("[data-collab-status]")).toHaveText("Connected");
  await expect(preview).toBeHidden();

  await page.getByRole("button", { name: "Preview", exact: true }).click();
  await expect(editor).toBeHidden();
  await expect(preview).toContainText("Users log in.");

  // Someone else signing in with this same browser has their own layout.
  const other = uniqueName("oth");
  await (await person(browser, baseURL, other)).context().close();
  await api(page, "PUT", `/projects/${project.id}/members/${other}`, { role: "editor" });
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.getByLabel("Username").fill(other);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/projects$/);
  await openEditor(page, url);
  await expect(page.getByRole("button", { name: "Split" })).toHaveAttribute("aria-pressed", "true");
});

test("findings open a problems panel that moves the cursor; the preview marks them and open questions", async ({ page }) => {
  await signUp(page, uniqueName("prob"));
  const text = "# User login\n\nUsers log in.\n\nSee [[Nowhere]] for more.\n\nHow long? [NEEDS CLARIFICATION: how long do sessions last?]\n";
  const { url } = await projectWithSpec(page, text);
  await openEditor(page, url);
  const count = page.locator("[data-collab-findings]");
  await expect(count).toHaveText(/^\d+ findings? \(1 error\)$/);
  await expect(page.locator("#problems")).toBeHidden();
  await count.click();
  await expect(count).toHaveAttribute("aria-expanded", "true");
  const broken = page.locator("#problems .problem", { hasText: "Nowhere" });
  await expect(broken).toContainText("Line 5:");
  await broken.click();
  await expect(page.locator(".cm-content")).toBeFocused();
  await expect(page.locator(".cm-activeLine")).toContainText("See [[Nowhere]] for more.");

  const preview = page.locator("[data-collab-preview]");
  await expect(preview.locator("mark.clarification")).toHaveText("[NEEDS CLARIFICATION: how long do sessions last?]");
  await expect(preview.locator("p[data-finding]", { hasText: "Nowhere" })).toHaveAttribute("title", /Nowhere/);
});

test("editor and preview scroll together", async ({ page }) => {
  await signUp(page, uniqueName("scroll"));
  const sections = Array.from({ length: 60 }, (_, n) => `## Section ${n + 1}\n\nText of section ${n + 1}, long enough to wrap a little in a narrow pane of the page.\n`);
  const { url } = await projectWithSpec(page, `# User login\n\n${sections.join("\n")}`);
  await openEditor(page, url);
  await expect(page.locator("[data-collab-preview] h2").last()).toHaveText(/Section 60/);
  const scroller = page.locator(".cm-scroller");
  const preview = page.locator("[data-collab-preview]");
  /** The section number at the top of the editor's view (its heading or its text). */
  const editorSection = () =>
    scroller.evaluate((element) => {
      const top = element.getBoundingClientRect().top;
      const line = [...element.querySelectorAll(".cm-line")].find((candidate) => candidate.getBoundingClientRect().bottom > top + 24 && /section \d+/i.test(candidate.textContent!));
      return Number(line?.textContent!.match(/section (\d+)/i)![1]);
    });
  /** The section whose heading is first in view in the preview. */
  const previewSection = () =>
    preview.evaluate((pane) => {
      const top = pane.getBoundingClientRect().top;
      const heading = [...pane.querySelectorAll("h2")].find((h) => h.getBoundingClientRect().bottom > top + 4);
      return Number(heading?.textContent!.match(/Section (\d+)/)![1]);
    });

  await scroller.evaluate((element) => (element.scrollTop = element.scrollHeight / 2));
  await expect(async () => {
    const [text, shown] = [await editorSection(), await previewSection()];
    expect(text).toBeGreaterThan(20);
    expect(Math.abs(shown - text)).toBeLessThanOrEqual(1);
  }).toPass();

  await preview.evaluate((pane) => (pane.scrollTop = pane.scrollHeight / 5));
  await expect(async () => {
    const [shown, text] = [await previewSection(), await editorSection()];
    expect(shown).toBeLessThan(20);
    expect(Math.abs(shown - text)).toBeLessThanOrEqual(1);
  }).toPass();
});

test("a link's hover card renders its Markdown over the page, unclipped", async ({ page }) => {
  await signUp(page, uniqueName("card"));
  const { url } = await projectWithSpec(page, "# User login\n\n- **AUTH-001** The system SHALL *lock* accounts after 5 failures.\n\nSee [[AUTH-001]].\n");
  await openEditor(page, url);
  const link = page.locator("[data-collab-preview] a.wikilink");
  const card = page.locator(".hover-card");
  const viewport = page.viewportSize()!;
  // The preview may render again as the editor finishes syncing, taking the hovered
  // link (and its card) away: hover again until the card stays.
  await expect(async () => {
    await link.hover();
    await expect(card).toBeVisible({ timeout: 1000 });
    await expect(card.locator("em")).toHaveText("lock", { timeout: 1000 });
    expect(await card.evaluate((element) => element.parentElement === document.body)).toBe(true);
    const box = await card.boundingBox();
    expect(box).not.toBeNull();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(viewport.width);
  }).toPass();
  // The pointer may move onto the card to read it.
  await card.hover();
  await page.waitForTimeout(400);
  await expect(card).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(card).toBeHidden();
});

test("markup typed into a spec stays text in the live preview", async ({ page }) => {
  await signUp(page, uniqueName("xss"));
  const { url } = await projectWithSpec(page, "# Safe\n");
  const ran: string[] = [];
  page.on("dialog", (dialog) => {
    ran.push(dialog.message());
    void dialog.dismiss();
  });
  await openEditor(page, url);
  await page.locator(".cm-content").click();
  await page.keyboard.press("Control+End");
  const payload =
    '\n\n<img src=x onerror="alert(1)"> <script>alert(2)</script> <a href="javascript:alert(3)">link</a> ' +
    '[md](javascript:alert(4)) <svg onload="alert(5)"></svg> <iframe src="javascript:alert(6)"></iframe>\n\nAfter the payload.\n';
  await page.keyboard.insertText(payload);
  const preview = page.locator("[data-collab-preview]");
  await expect(preview).toContainText("After the payload.");
  // Nothing that runs script reached the preview: no handlers, no scripts or frames, no
  // `javascript:` addresses; and no dialog opened.
  expect(await preview.locator("script, iframe, svg, [onerror], [onload]").count()).toBe(0);
  for (const href of await preview.locator("a").evaluateAll((links) => links.map((a) => a.getAttribute("href") ?? ""))) {
    expect(href.toLowerCase()).not.toContain("javascript:");
  }
  expect(ran).toEqual([]);
});
