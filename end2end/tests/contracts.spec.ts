import { test, expect } from "@playwright/test";
import { api, hydrated, projectWithSpec, signUp, uniqueName } from "./support";

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

test("a change request that removes a response field shows it as a breaking API change with its bump", async ({ page }) => {
  await signUp(page, uniqueName("bea"));
  const project = await api(page, "POST", "/projects", { name: uniqueName("Api") });
  const contract = await api(page, "POST", `/projects/${project.id}/documents`, { title: "Orders", kind: "contract", content: ORDERS });
  await api(page, "POST", `/projects/${project.id}/branches`, { name: "lean" });
  await api(page, "PUT", `/documents/${contract.id}/content?branch=lean`, { content: ORDERS.replace("                  total: {type: integer}\n", "") });
  const opened = await api(page, "POST", `/projects/${project.id}/change-requests`, { source: "lean", target: "main", title: "Drop the total" });

  await page.goto(`/p/${project.slug}/changes/${opened.number}`);
  await hydrated(page);
  const changes = page.getByRole("region", { name: "API changes" });
  await expect(changes.getByRole("heading")).toContainText("major bump");
  await expect(changes).toContainText("info.version 1.2.0 → 2.0.0");
  const breaking = changes.locator("li.api-change.breaking");
  await expect(breaking).toHaveCount(1);
  await expect(breaking).toContainText("breaking POST /orders › response 201 › total was removed response-property-removed");
  await changes.scrollIntoViewIfNeeded();
  await page.screenshot({ path: test.info().outputPath("api-changes.png"), fullPage: true });
});
