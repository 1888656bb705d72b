import { test, expect } from "@playwright/test";
import { api, hydrated, projectWithSpec, signUp, uniqueName } from "./support";

const SPEC = `# User login

## Requirements

- **AUTH-001** (P1) The system SHALL lock an account after 5 failed logins.
  - Given 4 failures, When the 5th fails, Then the account is locked.
- **AUTH-002** The system SHALL email a reset link [NEEDS CLARIFICATION: which address?].
`;

test("a project exported in Spec Kit's layout imports into another, previewed first, with the upload's progress", async ({ page }) => {
  await signUp(page, uniqueName("ines"));
  const { project } = await projectWithSpec(page, SPEC);
  await page.goto(`/p/${project.slug}/exchange`);
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "Import and export" })).toBeVisible();

  // Export: the browser downloads what the API sends.
  await page.getByLabel("Format").selectOption("speckit");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download main" }).click()]);
  expect(download.suggestedFilename()).toBe(`${project.slug}-main-speckit.tar.gz`);
  const archive = test.info().outputPath("speckit.tar.gz");
  await download.saveAs(archive);

  // Import into another project, through a slow link so the progress bar shows.
  const copy = await api(page, "POST", "/projects", { name: uniqueName("Copy") });
  await page.goto(`/p/${copy.slug}/exchange`);
  await hydrated(page);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 2048 });
  await page.getByLabel("Archive (.tar.gz)").setInputFiles(archive);
  await page.getByLabel("Layout").selectOption("speckit");
  await page.getByRole("button", { name: "Preview" }).click();
  await expect(page.getByRole("progressbar", { name: "Uploaded" })).toBeVisible();
  await page.screenshot({ path: test.info().outputPath("import-progress.png") });
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

  const rows = page.locator("table.import-preview tbody tr");
  await expect(rows).toHaveCount(2);
  await expect(rows.filter({ hasText: "User login" })).toContainText("specs/001-user-login/spec.md");
  await expect(rows.filter({ hasText: "User login" })).toContainText("created");
  await expect(rows.filter({ hasText: "Constitution" })).toContainText("unchanged");
  await expect(page.getByText("2 documents in the Spec Kit layout: 1 to create, 0 to update, 1 unchanged.")).toBeVisible();
  await page.screenshot({ path: test.info().outputPath("import-preview.png"), fullPage: true });
  expect((await api(page, "GET", `/projects/${copy.id}/branches`)).length).toBe(1);

  await page.getByRole("button", { name: "Import as a change request into main" }).click();
  await expect(page.getByRole("status")).toContainText("Import from Spec Kit (branch import/speckit)");
  await page.getByRole("link", { name: "change request #1" }).click();
  await expect(page.getByRole("heading", { name: "Import from Spec Kit" })).toBeVisible();
  const requirements = await api(page, "GET", `/projects/${copy.id}/requirements?branch=import/speckit`);
  expect(requirements.map((r: { key: string }) => r.key)).toEqual(expect.arrayContaining(["AUTH-001", "AUTH-002"]));
});

test("an archive that cannot be imported says why, and a reader sees no import form", async ({ page, browser, baseURL }) => {
  await signUp(page, uniqueName("jun"));
  const { project } = await projectWithSpec(page, SPEC);
  await page.goto(`/p/${project.slug}/exchange`);
  await hydrated(page);
  await page.getByLabel("Archive (.tar.gz)").setInputFiles({ name: "notes.tar.gz", mimeType: "application/gzip", buffer: Buffer.from("not gzip at all") });
  await page.getByRole("button", { name: "Preview" }).click();
  await expect(page.getByRole("alert")).toContainText("this archive cannot be imported: it is not a .tar.gz archive");
  await expect(page.locator("table.import-preview")).toHaveCount(0);

  const reader = uniqueName("kai");
  const context = await browser.newContext({ baseURL });
  const other = await context.newPage();
  await signUp(other, reader);
  await api(page, "PUT", `/projects/${project.id}/members/${reader}`, { role: "viewer" });
  await other.goto(`/p/${project.slug}/exchange`);
  await hydrated(other);
  await expect(other.getByRole("button", { name: "Download main" })).toBeVisible();
  await expect(other.getByRole("heading", { name: "Import", exact: true })).toHaveCount(0);
  await expect(other.getByLabel("Archive (.tar.gz)")).toHaveCount(0);
  await context.close();
});
