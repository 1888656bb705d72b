import { test, expect } from "@playwright/test";
import { api, hydrated, signUp, uniqueName } from "./support";

test("a spec from the template is linted while typing, a question answered, and its requirement traced after a merge", async ({ page }) => {
  const user = uniqueName("sam");
  await signUp(page, user);
  const project = await api(page, "POST", "/projects", { name: uniqueName("Specs") });
  await api(page, "PATCH", `/projects/${project.id}/settings`, { required_approvals: 0 });
  await api(page, "POST", `/projects/${project.id}/branches`, { name: "draft" });

  // A new spec on the branch, from the template (the default).
  await page.goto(`/p/${project.slug}?branch=draft`);
  await hydrated(page);
  const form = page.locator("section", { has: page.getByRole("heading", { name: "New document" }) });
  await form.getByLabel("Title").fill("Login");
  await form.getByLabel("Kind").selectOption("spec");
  await expect(form.getByLabel("Start from the template")).toBeChecked();
  await form.getByRole("button", { name: "Create document" }).click();
  await expect(page).toHaveURL(/\/doc\/[0-9a-f-]+\?branch=draft$/);
  await hydrated(page);
  await expect(page.locator("[data-collab-status]")).toHaveText("Connected");
  await expect(page.locator(".cm-content")).toContainText("# Feature: Login");

  // Open questions are highlighted, and lint findings show inline as the text changes.
  await expect(page.locator("[data-collab-preview] mark.clarification").first()).toBeVisible();
  await expect(page.locator("[data-collab-findings]")).toHaveText("2 findings");
  await page.locator(".cm-content").click();
  await page.keyboard.press("Control+End");
  // The editor draws the lines in view: the template's questions are near its end.
  await expect(page.locator(".cm-clarification").first()).toBeVisible();
  await page.keyboard.insertText("\n- **AUTH-001** The system SHALL be fast.\n  - Given a member, When they log in, Then they see their projects.\n");
  await expect(page.locator(".cm-lintRange-warning", { hasText: "fast" })).toBeVisible();
  await expect(page.locator("[data-collab-findings]")).toHaveText("3 findings");
  await page.locator(".cm-lintRange-warning", { hasText: "fast" }).hover();
  await expect(page.locator(".cm-tooltip-lint")).toContainText('"fast" is vague without a measure');

  // Answering a question from the page edits the text, live in the editor.
  const questions = page.locator(".document-questions");
  await expect(questions.getByRole("heading")).toHaveText("Open questions (2)");
  const who = questions.locator("li", { hasText: "who may use this feature?" });
  await who.getByLabel("Answer: who may use this feature?").fill("Signed-in members of the project");
  await who.getByRole("button", { name: "Answer" }).click();
  await expect(questions.getByRole("heading")).toHaveText("Open questions (1)");
  await expect(page.locator(".cm-content")).toContainText("- Signed-in members of the project");
  await expect(page.locator(".cm-content")).toContainText("Q: who may use this feature? → A: Signed-in members of the project");
  await expect(page.locator("[data-collab-findings]")).toHaveText("2 findings");

  // Merged through a change request, the requirement has a page with its history.
  const opened = await api(page, "POST", `/projects/${project.id}/change-requests`, { source: "draft", target: "main", title: "Login spec" });
  await page.goto(`/p/${project.slug}/changes/${opened.number}`);
  await hydrated(page);
  await expect(page.locator("#checks ~ p")).toContainText("2 finding(s) in the changed documents, 0 error(s).");
  await page.getByRole("button", { name: "Merge" }).click();
  await expect(page.locator(".page-head .badge")).toHaveText("merged");

  await page.getByRole("link", { name: "Requirements" }).click();
  await expect(page.locator("table.requirements")).toContainText("AUTH-001");
  await page.getByRole("link", { name: "AUTH-001" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("AUTH-001: The system SHALL be fast.");
  await expect(page.locator(".scenarios")).toContainText("Given a member, When they log in, Then they see their projects.");
  const history = page.locator(".requirement-history");
  await expect(history).toContainText("Version 1");
  await expect(history).toContainText(`added by ${user}`);
  await expect(history.getByRole("link", { name: "change request #1" })).toBeVisible();

  // The question answered and the one left show on the project's list.
  await page.getByRole("link", { name: "Open questions" }).first().click();
  await expect(page.locator(".questions")).toContainText("which behaviour is expected here?");
  await page.getByRole("link", { name: "Answered" }).click();
  await expect(page.getByRole("heading", { name: "No questions here" })).toBeVisible();
});

test("tasks are ticked from the preview, and the text says so for everyone", async ({ page }) => {
  await signUp(page, uniqueName("tia"));
  const project = await api(page, "POST", "/projects", { name: uniqueName("Tasks") });
  const content = "# Tasks\n\n```\n- [ ] not a task\n```\n\n- [ ] T001 Write tests for [[FR-001]]\n- [x] T002 Set up the project\n";
  const tasks = await api(page, "POST", `/projects/${project.id}/documents`, { title: "Login tasks", kind: "tasks", content });
  await page.goto(`/p/${project.slug}/doc/${tasks.id}`);
  await hydrated(page);
  await expect(page.locator("[data-collab-status]")).toHaveText("Connected");
  const first = page.getByRole("checkbox", { name: "Tick as done" });
  await expect(first).toBeEnabled();
  await first.check();
  await expect(page.locator(".cm-content")).toContainText("- [x] T001 Write tests for [[FR-001]]");
  await page.getByRole("checkbox", { name: "Done: untick" }).last().uncheck();
  await expect(page.locator(".cm-content")).toContainText("- [ ] T002 Set up the project");
  await expect(async () => {
    const stored = await api(page, "GET", `/documents/${tasks.id}`);
    expect(stored.content).toBe("# Tasks\n\n```\n- [ ] not a task\n```\n\n- [x] T001 Write tests for [[FR-001]]\n- [ ] T002 Set up the project\n");
  }).toPass();
});
