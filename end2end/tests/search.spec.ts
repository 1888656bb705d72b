import { test, expect, Page } from "@playwright/test";
import { api, hydrated, signUp, uniqueName } from "./support";

const PAYMENTS = `# Payments

## Requirements

- **PAY-001** The system SHALL charge a card at most once per order.
- **PAY-002** The system SHALL email a receipt after every successful payment.
`;

const BILLING = `# Billing

## Requirements

- **BILL-001** A customer SHALL never be charged twice for the same order.
- **BILL-002** Invoices SHALL be numbered without gaps.
`;

const ACCOUNTS = `# Accounts

## Requirements

- **ACC-001** Users SHALL be able to reset their password by email.
`;

const SUPPORT = `# Support

## Requirements

- **SUP-001** A member who forgot their password SHALL get a reset link by email.
- **SUP-002** Users SHALL log in with a password of at least 15 characters.
`;

/** Waits until the API finds `key` for `q` with every entry embedded: the index is ready. */
async function indexed(page: Page, projectId: string, q: string, key: string) {
  await expect
    .poll(async () => {
      const found = await api(page, "GET", `/projects/${projectId}/search?q=${encodeURIComponent(q)}`);
      return found.notice === null && found.hits.some((hit: { key: string | null }) => hit.key === key);
    }, { timeout: 90_000, intervals: [500] })
    .toBe(true);
}

/** A new person's project with these specs, once they are searchable by meaning: `found` pairs a query with a key it must find. */
async function shop(page: Page, person: string, specs: Record<string, string>, found: [string, string][]) {
  await signUp(page, uniqueName(person));
  const project = await api(page, "POST", "/projects", { name: uniqueName("Shop") });
  for (const [title, content] of Object.entries(specs)) {
    await api(page, "POST", `/projects/${project.id}/documents`, { title, kind: "spec", content });
  }
  for (const [q, key] of found) await indexed(page, project.id, q, key);
  return project;
}

test("the search box finds a requirement by what it means, highlights what matched, and its page lists related ones", async ({ page }) => {
  test.setTimeout(240_000);
  const project = await shop(page, "sol", { Payments: PAYMENTS, Billing: BILLING }, [
    ["customer was billed twice", "BILL-001"],
    ["receipt", "PAY-002"],
  ]);

  await page.goto(`/p/${project.slug}`);
  await hydrated(page);
  // "/" from anywhere but a text field puts the cursor in the search box (once the
  // sidebar's listener is in place, just after hydration).
  const box = page.getByRole("searchbox", { name: "Search this project" });
  await expect(async () => {
    await page.keyboard.press("/");
    await expect(box).toBeFocused({ timeout: 500 });
  }).toPass();
  await expect(box).toHaveValue("");
  await page.keyboard.type("charge card");
  const suggestions = page.locator("#search-suggestions");
  await expect(suggestions.locator("li").first()).toContainText("PAY-001");
  await expect(suggestions.locator("mark").first()).toHaveText(/charge/i);

  // Enter opens every result, with why each matched.
  await box.press("Enter");
  await expect(page).toHaveURL(new RegExp(`/p/${project.slug}/search\\?.*q=charge`));
  await expect(suggestions).toBeHidden();
  const results = page.locator(".search-results");
  await expect(results.locator(".hit").first()).toContainText("PAY-001");
  await expect(results.locator(".hit").first()).toContainText("words and meaning");

  // A paraphrase without a word of the requirement, then a filter by kind.
  const form = page.getByRole("search").filter({ has: page.getByLabel("Search for") });
  await form.getByLabel("Search for").fill("customer was billed twice");
  await form.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/q=customer/);
  const paraphrased = results.locator(".hit", { hasText: "BILL-001" });
  await expect(paraphrased).toContainText("meaning");
  await form.getByLabel("Kind").selectOption("plan");
  await form.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/kind=plan/);
  await expect(page.getByRole("heading", { name: "Nothing found" })).toBeVisible();
  await form.getByLabel("Kind").selectOption("spec");
  await form.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/kind=spec/);

  // Opening a hit shows the requirement, and its neighbour from the other spec.
  await results.getByRole("link", { name: /never be charged twice/ }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("BILL-001: A customer SHALL never be charged twice for the same order.");
  const related = page.locator("section", { has: page.getByRole("heading", { name: "Related requirements" }) });
  await expect(related.locator("li").first()).toContainText("PAY-001");
  await expect(related.locator("li").first()).toContainText("in Payments");
  await related.getByRole("link", { name: "PAY-001" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("PAY-001: The system SHALL charge a card at most once per order.");
});

test("the duplicates report shows two specs saying one thing side by side, and a pair dismissed with a reason stays dismissed", async ({ page }) => {
  test.setTimeout(240_000);
  const project = await shop(page, "dee", { Accounts: ACCOUNTS, Support: SUPPORT }, [
    ["forgot password", "ACC-001"],
    ["reset link", "SUP-001"],
  ]);

  await page.goto(`/p/${project.slug}/requirements`);
  await hydrated(page);
  await page.getByRole("link", { name: "Possible duplicates" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Possible duplicates");
  const pair = page.locator(".duplicates > li").first();
  await expect(pair.locator(".side")).toHaveCount(2);
  await expect(page.locator(".duplicates > li")).toHaveCount(1);
  await expect(pair).toContainText("ACC-001");
  await expect(pair).toContainText("SUP-001");
  await expect(pair).toContainText("In Accounts");
  await expect(pair).toContainText("In Support");

  const reason = "Support's is the e-mail a person receives; Accounts' is the feature.";
  await pair.getByLabel(/Why .* are distinct/).fill(reason);
  await pair.getByRole("button", { name: "Not duplicates" }).click();
  await expect(page.getByRole("heading", { name: "No possible duplicates" })).toBeVisible();
  await page.getByText("Judged distinct (1)").click();
  await expect(page.locator(".dismissed")).toContainText(reason);

  // Still dismissed on a fresh load.
  await page.reload();
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "No possible duplicates" })).toBeVisible();
  await expect(page.getByText("Judged distinct (1)")).toBeVisible();
});
