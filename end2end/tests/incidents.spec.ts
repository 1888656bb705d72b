import { test, expect } from "@playwright/test";
import { api, hydrated, signUp, uniqueName } from "./support";

const PAYMENTS = `# Payments

## Requirements

- **PAY-001** The system SHALL charge a card at most once per order.
  - Given an order paid once, When the customer pays again, Then no second charge is made.
- **PAY-002** The system SHALL email a receipt within one minute.
  - Given a paid order, When a minute passes, Then the receipt is in the customer's inbox.
`;

test("an incident posted through the API appears live, is linked to its suggested requirement and becomes a change request", async ({ page }) => {
  test.setTimeout(180_000);
  await signUp(page, uniqueName("opsy"));
  const project = await api(page, "POST", "/projects", { name: uniqueName("Shop") });
  await api(page, "POST", `/projects/${project.id}/documents`, { title: "Payments", kind: "spec", content: PAYMENTS });
  const { token } = await api(page, "POST", "/tokens", { name: "alerts", scopes: ["incidents:write"] });

  await page.goto(`/p/${project.slug}/incidents`);
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "No incidents here" })).toBeVisible();

  // A tool reports, with its token only; the open page shows it without a reload.
  const origin = new URL(page.url()).origin;
  const reported = await page.request.post(`${origin}/api/v1/projects/${project.id}/incidents`, {
    headers: { Authorization: `Bearer ${token}` },
    data: {
      source: "statuspage", external_id: "INC-42", title: "Card charged twice",
      description: "Customers were billed twice for one order after a payment retry.",
      severity: "critical", service: "payments", status: "firing", started_at: new Date().toISOString(),
    },
  });
  expect(reported.status()).toBe(202);
  const row = page.locator("table.incidents tr", { hasText: "Card charged twice" });
  await expect(row).toBeVisible({ timeout: 30_000 });
  await expect(row).toContainText("critical");

  // Its page suggests the requirement it concerns; linking confirms it.
  await row.getByRole("link", { name: "Card charged twice" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Card charged twice");
  await hydrated(page);
  const link = page.getByRole("button", { name: "Link to PAY-001" });
  await expect(link).toBeVisible({ timeout: 60_000 });
  await link.click();
  const concerns = page.locator("ul.incident-links");
  await expect(concerns).toContainText("PAY-001");
  await expect(page.locator(".badge.incident-state-linked")).toBeVisible();
  await page.screenshot({ path: "test-results/incident-linked.png", fullPage: true });

  // Turned into an amendment of that requirement, reviewed as a change request.
  await page.getByLabel("an amendment of a linked requirement").check();
  await page.getByRole("button", { name: "Draft a change request" }).click();
  await expect(page).toHaveURL(new RegExp(`/p/${project.slug}/changes/\\d+$`));
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Card charged twice");
  await expect(page.getByText("Written from the template")).toBeVisible();
  await page.screenshot({ path: "test-results/incident-change-request.png", fullPage: true });
});
