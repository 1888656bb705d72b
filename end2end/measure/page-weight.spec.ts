import { test, expect, type Page } from "@playwright/test";
import { hydrated, projectWithSpec, signUp, uniqueName } from "../tests/support";

// Issue 13's profile: 20 Mbit/s both ways and 40 ms of latency.
const PROFILE = { offline: false, latency: 40, downloadThroughput: 20e6 / 8, uploadThroughput: 20e6 / 8 };

/** Loads `url` in `page` under the profile; says what moved (bytes on the wire, headers
 * included) and how long it took until `ready` held. */
async function visit(page: Page, url: string, ready: (page: Page) => Promise<void>) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", PROFILE);
  let bytes = 0;
  cdp.on("Network.loadingFinished", (event) => (bytes += event.encodedDataLength));
  const started = Date.now();
  await page.goto(url);
  await ready(page);
  const ms = Date.now() - started;
  await cdp.detach();
  return { bytes, ms };
}

const editable = async (page: Page) => {
  await expect(page.locator("[data-collab-status]")).toHaveText("Connected", { timeout: 60_000 });
  await expect(page.locator(".cm-content")).toBeVisible();
};
const listed = async (page: Page) => {
  await hydrated(page);
  await expect(page.locator("main")).toContainText("User login");
};

test("page weight and time to use, cold and repeated, at 20 Mbit/s and 40 ms", async ({ browser, baseURL }) => {
  // Made unthrottled, then measured from a fresh browser with only the session cookie.
  const setup = await browser.newContext({ baseURL });
  const author = await setup.newPage();
  await signUp(author, uniqueName("weigh"));
  const { project, url } = await projectWithSpec(author, "# Page weight\n\nThe page loads in a blink.\n");
  const session = await setup.storageState();
  await setup.close();

  const rows: string[] = [];
  for (const [name, path, ready] of [
    ["document page (editor)", url, editable],
    ["project overview", `/p/${project.slug}`, listed],
  ] as const) {
    const context = await browser.newContext({ baseURL, storageState: session });
    const page = await context.newPage();
    const cold = await visit(page, path, ready);
    const again = await visit(page, path, ready);
    rows.push(`| ${name} | ${cold.bytes.toLocaleString("en")} B | ${cold.ms} ms | ${again.bytes.toLocaleString("en")} B | ${again.ms} ms |`);
    await context.close();
  }
  console.log(
    ["", "| page | first visit moved | ready after | repeat visit moved | ready after |", "|---|---|---|---|---|", ...rows].join(
      "\n",
    ),
  );
});
