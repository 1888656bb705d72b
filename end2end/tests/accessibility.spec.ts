import { test, expect, Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { api, hydrated, openEditor, projectWithSpec, signUp, uniqueName } from "./support";

/** axe-core's findings on the page as it stands that would stop or seriously hinder someone. */
async function seriousViolations(page: Page) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]).analyze();
  return results.violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((violation) => ({
      rule: violation.id,
      impact: violation.impact,
      help: violation.help,
      where: violation.nodes.map((node) => node.target.join(" ")).slice(0, 5),
    }));
}

async function check(page: Page, path: string) {
  await page.goto(path);
  await hydrated(page);
  expect(await seriousViolations(page), path).toEqual([]);
}

test("the main pages have no serious or critical accessibility violations", async ({ page }) => {
  await check(page, "/");
  await check(page, "/login");
  await check(page, "/signup");

  await signUp(page, uniqueName("ally"));
  const spec = "# User login\n\n## Requirements\n\n- **AUTH-001** (P1) The system SHALL *lock* an account after 5 failures.\n  - Given 5 failures, When one more, Then locked\n- **AUTH-002** (P2) The system SHALL [NEEDS CLARIFICATION: how long?] keep it locked.\n";
  const { project, spec: doc, url } = await projectWithSpec(page, spec);
  await api(page, "POST", `/projects/${project.id}/branches`, { name: "draft" });
  await api(page, "PUT", `/documents/${doc.id}/content?branch=draft`, { content: spec + "\nMore.\n" });
  const cr = await api(page, "POST", `/projects/${project.id}/change-requests`, { source: "draft", target: "main", title: "More" });

  await check(page, "/projects");
  await check(page, `/p/${project.slug}`);
  await openEditor(page, url);
  expect(await seriousViolations(page), "document page").toEqual([]);
  for (const path of ["requirements", "req/AUTH-001", "questions", "changes", `changes/${cr.number}`, "history", "activity", "members"]) {
    await check(page, `/p/${project.slug}/${path}`);
  }
  await check(page, "/settings/tokens");

  // The dark scheme has colours of its own.
  await page.emulateMedia({ colorScheme: "dark" });
  for (const path of ["", "requirements", `changes/${cr.number}`, "questions"]) {
    await check(page, `/p/${project.slug}/${path}`);
  }
  await check(page, "/projects");
});
