import { test, expect } from "@playwright/test";
import { api, hydrated, person, projectWithSpec, signUp, uniqueName } from "./support";

const CHECKOUT = `# Checkout

- **SHOP-001** The system SHALL list the items of the shop.
  - Given two items, When I list them, Then I see both.
`;

test("an OpenAPI contract from its template is checked as typed, shown as a reference and linked to a requirement", async ({ page }) => {
  await signUp(page, uniqueName("oona"));
  const { project } = await projectWithSpec(page, CHECKOUT);

  await page.goto(`/p/${project.slug}`);
  await hydrated(page);
  const form = page.locator("section", { has: page.getByRole("heading", { name: "New document" }) });
  await form.getByLabel("Title").fill("Shop API");
  await form.getByLabel("Kind").selectOption("contract/openapi");
  await form.getByRole("button", { name: "Create document" }).click();
  await expect(page).toHaveURL(/\/doc\/[0-9a-f-]+$/);
  await hydrated(page);
  await expect(page.locator("[data-collab-status]")).toHaveText("Connected");
  const text = page.locator(".cm-content");
  await expect(text).toContainText("openapi: 3.1.0");
  await expect(text).toHaveAttribute("aria-label", "YAML");
  await expect(page.locator(".cm-foldGutter")).toBeVisible();

  // The preview is the API reference; the template leaves its two operations unlinked.
  const preview = page.locator("[data-collab-preview]");
  await expect(preview.locator("article.api-operation")).toHaveCount(2);
  await expect(preview.locator("article.api-operation").first()).toContainText("GET /items List the items");
  await expect(preview.locator("#user-content-schema-item")).toBeVisible();
  await expect(page.locator("[data-collab-findings]")).toHaveText("2 findings");

  // A key the OpenAPI schema does not know is an error inline, where it is written.
  await text.click();
  await page.keyboard.press("Control+End");
  await page.keyboard.insertText("bogus: true\n");
  await expect(page.locator("[data-collab-findings]")).toHaveText("3 findings (1 error)");
  const error = page.locator(".cm-lintRange-error").first();
  await expect(error).toBeVisible();
  await error.hover();
  await expect(page.locator(".cm-tooltip-lint")).toContainText("'bogus' was unexpected");
  await page.screenshot({ path: test.info().outputPath("contract-finding.png"), fullPage: true });
  await page.keyboard.press("Control+z");
  await expect(page.locator("[data-collab-findings]")).toHaveText("2 findings");

  // Linking the first operation to the requirement it carries out (the editor draws
  // the lines in view: back to the top first).
  await page.keyboard.press("Control+Home");
  await page.locator(".cm-line", { hasText: "x-requirements: []" }).first().click();
  await page.keyboard.press("End");
  await page.keyboard.press("Backspace");
  await page.keyboard.insertText("SHOP-001]");
  await expect(page.locator("[data-collab-findings]")).toHaveText("1 finding");
  const link = preview.locator("article.api-operation").first().getByRole("link", { name: "SHOP-001" });
  await expect(link).toHaveAttribute("href", `/p/${project.slug}/req/SHOP-001`);
  await page.screenshot({ path: test.info().outputPath("contract-reference.png"), fullPage: true });

  // The contract is served as written, for a CI to test the service against.
  const documents = await api(page, "GET", `/projects/${project.id}/documents`);
  const contract = documents.find((document: { title: string }) => document.title === "Shop API");
  await expect
    .poll(async () => (await page.request.get(`/api/v1/documents/${contract.id}/raw`)).text())
    .toContain("x-requirements: [SHOP-001]");
  const operations = await api(page, "GET", `/documents/${contract.id}/operations`);
  expect(operations.map((operation: { path: string; requirements: string[] }) => [operation.path, operation.requirements])).toEqual([
    ["/items", ["SHOP-001"]],
    ["/items/{itemId}", []],
  ]);

  // The code's build serves the list and a health check, not the single item: CI
  // uploads the check, and the page shows each operation as served, with the commit.
  const conformance = page.getByRole("region", { name: "Code conformance" });
  await expect(conformance).toContainText(`charter check --contract ${contract.id} --implementation openapi.json --upload`);
  const served = await (await page.request.get(`/api/v1/documents/${contract.id}/raw`)).text();
  const health = "  /health:\n    get:\n      responses:\n        '200': {description: Up.}\n";
  const implementation = served.slice(0, served.indexOf("  /items/{itemId}:")) + health + served.slice(served.indexOf("components:"));
  let check = await api(page, "POST", `/documents/${contract.id}/conformance`, { commit: "9f2c1e7", implementation });
  expect(check.operations.map((operation: { status: string }) => operation.status)).toEqual(["implemented", "missing"]);
  await page.reload();
  await hydrated(page);
  await expect(conformance.getByRole("status")).toContainText("The code breaks this contract's callers. Checked at 9f2c1e7");
  await expect(conformance.locator("li.conformance-implemented")).toHaveText("implemented GET /items");
  await expect(conformance.locator("li.conformance-missing")).toHaveText("missing GET /items/{itemId}");
  await expect(conformance.locator("li.conformance-extra")).toHaveText("extra GET /health served, not in the contract");

  // The next commit stops promising an item's name: the list has drifted, and says how.
  const drifting = implementation.replace("required: [itemId, name]", "required: [itemId]");
  check = await api(page, "POST", `/documents/${contract.id}/conformance`, { commit: "b41d0aa", implementation: drifting });
  const [listing] = check.operations;
  expect(listing.status).toBe("drifted");
  const breaking = listing.differences.filter((difference: { breaking: boolean }) => difference.breaking);
  expect(breaking.map((difference: { rule: string }) => difference.rule)).toEqual(["response-property-made-optional"]);
  await page.reload();
  await hydrated(page);
  await expect(conformance.getByRole("status")).toContainText("Checked at b41d0aa");
  const drifted = conformance.locator("li.conformance-drifted");
  await expect(drifted).toContainText("drifted GET /items");
  await expect(drifted.locator("li")).toHaveText([breaking[0].change]);
  await conformance.scrollIntoViewIfNeeded();
  await page.screenshot({ path: test.info().outputPath("contract-conformance.png"), fullPage: true });

  // A spec links the operation and the schema by name; hovering shows what each is.
  const specs = documents.filter((document: { kind: string }) => document.kind === "spec");
  const linking = `${CHECKOUT}\nServed by [[GET /items]], each an [[Item]].\n`;
  await api(page, "PUT", `/documents/${specs[0].id}/content`, { content: linking });
  await page.goto(`/p/${project.slug}/doc/${specs[0].id}`);
  await hydrated(page);
  const card = page.locator(".hover-card");
  for (const [name, says] of [
    ["GET /items", "List the items (carries out SHOP-001)"],
    ["Item", "object with itemId (required), name (required)"],
  ]) {
    const link = page.locator("[data-collab-preview] a.wikilink", { hasText: new RegExp(`^${name}$`) });
    await expect(link).toHaveAttribute("href", new RegExp(`/p/${project.slug}/doc/${contract.id}#user-content-`));
    // The preview may render again as the editor syncs: hover until the card stays.
    await expect(async () => {
      // From elsewhere each time, so that the pointer enters the (perhaps new) link.
      await page.mouse.move(0, 0);
      await link.hover();
      await expect(card).toHaveText(says, { timeout: 1000 });
    }).toPass({ timeout: 15_000 });
  }
  await page.screenshot({ path: test.info().outputPath("contract-hover.png"), fullPage: true });

  // The requirement's page names the operation that carries it out, linked to it.
  await page.goto(`/p/${project.slug}/req/SHOP-001`);
  await hydrated(page);
  const carried = page.getByRole("region", { name: "Carried out by" });
  await expect(carried.getByRole("listitem")).toHaveText(["GET /items List the items in Shop API"]);
  await expect(carried.getByRole("link", { name: "GET /items" })).toHaveAttribute(
    "href",
    `/p/${project.slug}/doc/${contract.id}#user-content-op-get-items`,
  );
});

const ORDERS = `openapi: 3.1.0
info: {title: Orders, version: 1.2.0}
paths:
  /orders:
    post:
      operationId: placeOrder
      summary: Place an order
      responses:
        '201':
          description: Placed.
          content:
            application/json:
              schema:
                type: object
                properties:
                  id: {type: string}
                  total: {type: integer}
        '422': {description: Refused.}
`;

test("a change request that removes a response field is breaking; a reviewer confirms the bump and merging stamps it", async ({ browser, baseURL }) => {
  const author = await person(browser, baseURL, uniqueName("bea"));
  const reviewerName = uniqueName("rex");
  const reviewer = await person(browser, baseURL, reviewerName);
  const project = await api(author, "POST", "/projects", { name: uniqueName("Api") });
  await api(author, "PUT", `/projects/${project.id}/members/${reviewerName}`, { role: "reviewer" });
  const contract = await api(author, "POST", `/projects/${project.id}/documents`, { title: "Orders", kind: "contract", content: ORDERS });
  await api(author, "POST", `/projects/${project.id}/branches`, { name: "lean" });
  const lean = ORDERS.replace("                  total: {type: integer}\n", "");
  await api(author, "PUT", `/documents/${contract.id}/content?branch=lean`, { content: lean });
  const opened = await api(author, "POST", `/projects/${project.id}/change-requests`, { source: "lean", target: "main", title: "Drop the total" });

  await author.goto(`/p/${project.slug}/changes/${opened.number}`);
  await hydrated(author);
  const changes = author.getByRole("region", { name: "API changes" });
  await expect(changes.getByRole("heading")).toContainText("major bump");
  await expect(changes).toContainText("info.version 1.2.0 → 2.0.0 proposed");
  const breaking = changes.locator("li.api-change.breaking");
  await expect(breaking).toHaveCount(1);
  await expect(breaking).toContainText("breaking POST /orders › response 201 › total was removed response-property-removed");
  await expect(changes.getByRole("status")).toHaveText("A reviewer confirms the bump before merging.");
  await expect(changes.getByRole("button", { name: "Confirm bump" })).toHaveCount(0);
  await expect(author.locator("ul.merge-blockers")).toContainText("A reviewer must confirm the version bump of the contract Orders first (proposed: major, to 2.0.0)");
  await changes.scrollIntoViewIfNeeded();
  await author.screenshot({ path: test.info().outputPath("api-changes.png"), fullPage: true });

  // The reviewer confirms the proposed bump and approves; the author merges.
  await reviewer.goto(`/p/${project.slug}/changes/${opened.number}`);
  await hydrated(reviewer);
  const theirs = reviewer.getByRole("region", { name: "API changes" });
  await expect(theirs.getByLabel("Bump")).toHaveValue("major");
  await theirs.getByRole("button", { name: "Confirm bump" }).click();
  await expect(theirs.getByRole("status")).toHaveText(`${reviewerName} confirmed a major bump: merging makes it 2.0.0.`);
  await api(reviewer, "POST", `/projects/${project.id}/change-requests/${opened.number}/reviews`, { verdict: "approve" });
  await author.reload();
  await hydrated(author);
  await author.getByRole("button", { name: "Merge", exact: true }).click();
  await expect(author.getByRole("region", { name: "API changes" }).getByRole("status")).toHaveText(
    `${reviewerName} confirmed a major bump: it merged as 2.0.0.`,
  );
  await author.screenshot({ path: test.info().outputPath("merged-bump.png"), fullPage: true });
  const raw = await author.request.get(`/api/v1/documents/${contract.id}/raw?version=orders@2.0.0`);
  expect(await raw.text()).toBe(lean.replace("version: 1.2.0", "version: 2.0.0"));
});
