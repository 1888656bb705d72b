import { test, expect, Page } from "@playwright/test";
import { api, hydrated, projectWithSpec, signUp, uniqueName } from "./support";

/** Merges a change to the spec made on branch `name` (the project needs no approvals). */
async function merged(page: Page, projectId: string, specId: string, name: string) {
  await api(page, "POST", `/projects/${projectId}/branches`, { name });
  await api(page, "PUT", `/documents/${specId}/content?branch=${name}`, { content: `# User login\n\nChanged on ${name}.\n` });
  const opened = await api(page, "POST", `/projects/${projectId}/change-requests`, { source: name, target: "main", title: `Merge ${name}` });
  await api(page, "POST", `/projects/${projectId}/change-requests/${opened.number}/merge`, {});
}

test("a tag shows beside its version as soon as it is made, and restoring asks first", async ({ page }) => {
  await signUp(page, uniqueName("hana"));
  const { project, spec } = await projectWithSpec(page, "# User login\n");
  await api(page, "PATCH", `/projects/${project.id}/settings`, { required_approvals: 0 });
  await merged(page, project.id, spec.id, "one");
  await merged(page, project.id, spec.id, "two");

  await page.goto(`/p/${project.slug}/history`);
  await hydrated(page);
  const versions = page.locator("ol.versions > li");
  await expect(versions).toHaveCount(2);
  const first = versions.filter({ hasText: "Version 1" });
  const field = page.getByLabel("Tag version 1");
  await field.fill("v1.0.0");
  await first.getByRole("button", { name: "Tag" }).click();
  await expect(page.getByText("Tagged v1.0.0.")).toBeVisible();
  // Beside its version, as written, without reloading the page; the field is empty again.
  await expect(first.locator(".badge.tag")).toHaveText(["v1.0.0"]);
  await expect(versions.filter({ hasText: "Version 2" }).locator(".badge.tag")).toHaveCount(0);
  await expect(page.getByLabel("Tag version 1")).toHaveValue("");
  expect((await api(page, "GET", `/projects/${project.id}/tags`)).map((t: { name: string }) => t.name)).toEqual(["v1.0.0"]);

  // A second tag on the same version joins the first; a taken name keeps what was typed.
  await page.getByLabel("Tag version 1").fill("stable");
  await first.getByRole("button", { name: "Tag" }).click();
  await expect(first.locator(".badge.tag")).toHaveText(["v1.0.0", "stable"]);
  await page.getByLabel("Tag version 2").fill("stable");
  await versions.filter({ hasText: "Version 2" }).getByRole("button", { name: "Tag" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "there is already a tag named stable" })).toBeVisible();
  await expect(page.getByLabel("Tag version 2")).toHaveValue("stable");
  await page.screenshot({ path: "test-results/history-tags.png", fullPage: true });

  // Restoring says what it will do before it does it.
  const restore = first.locator("details.confirm");
  await restore.getByText("Restore…").click();
  await expect(restore.locator(".confirm-panel")).toContainText("Restoring version 1 makes a branch");
  await page.screenshot({ path: "test-results/history-restore-confirm.png", fullPage: true });
  await restore.getByRole("link", { name: "Cancel" }).click();
  await expect(restore.locator(".confirm-panel")).toBeHidden();
  expect(await api(page, "GET", `/projects/${project.id}/change-requests?state=open`)).toEqual([]);
  await restore.getByText("Restore…").click();
  await restore.getByRole("button", { name: "Restore version 1" }).click();
  await expect(page).toHaveURL(/\/changes\/3$/);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Restore version 1");
});
