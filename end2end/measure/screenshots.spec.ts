import { test, expect } from "@playwright/test";
import { api, hydrated, openEditor, person, projectWithSpec, uniqueName } from "../tests/support";

// The README's pictures: the editor, a change request and the requirements page, taken
// from a fresh project against whatever Charter CHARTER_URL names (docs/screenshots).
const OUT = "../docs/screenshots";
const VIEWPORT = { width: 1200, height: 760 };

const SPEC = `# Feature: Sign-in

## Requirements

- **AUTH-001** (P1) The system SHALL *lock* an account after 5 failed sign-ins in 10 minutes.
  - Given 5 failures, When a 6th attempt comes, Then the account is locked for 15 minutes
- **AUTH-002** (P2) The system SHALL email the owner when their account is locked.
  - Given a locked account, When it locks, Then its owner gets one email
- **AUTH-003** (P2) Sessions SHALL last [NEEDS CLARIFICATION: how long may a session stay idle?].

## Notes

Lockout protects against guessing; see [[AUTH-001]].
`;

test("README screenshots", async ({ browser, baseURL }) => {
  const author = await person(browser, baseURL, uniqueName("maya"));
  await author.setViewportSize(VIEWPORT);
  const reviewerName = uniqueName("rob");
  const reviewer = await person(browser, baseURL, reviewerName);
  await reviewer.setViewportSize(VIEWPORT);
  const { project, spec, url } = await projectWithSpec(author, SPEC);
  await api(author, "PUT", `/projects/${project.id}/members/${reviewerName}`, { role: "reviewer" });

  await openEditor(author, url);
  await openEditor(reviewer, url);
  await reviewer.locator(".cm-content").click();
  await author.locator(".cm-line", { hasText: "AUTH-002" }).click();
  await expect(author.locator(".presence li")).toHaveCount(2);
  await author.setViewportSize({ width: VIEWPORT.width, height: 900 });
  await author.evaluate(() => window.scrollTo(0, 0));
  // Once the preview has settled (a render replaces what the pointer is over).
  await expect(async () => {
    await author.mouse.move(0, 0);
    await author.locator("[data-collab-preview] a.wikilink").hover();
    await expect(author.locator(".hover-card")).toBeVisible({ timeout: 1000 });
  }).toPass();
  await author.screenshot({ path: `${OUT}/editor.png` });

  await api(author, "POST", `/projects/${project.id}/branches`, { name: "lockout" });
  await api(author, "PUT", `/documents/${spec.id}/content?branch=lockout`, {
    content: SPEC.replace("after 5 failed sign-ins in 10 minutes", "after 5 failed sign-ins in 15 minutes"),
  });
  const cr = await api(author, "POST", `/projects/${project.id}/change-requests`, {
    source: "lockout",
    target: "main",
    title: "Count failures over 15 minutes",
    description: "Support saw lockouts of people who mistype twice an hour.",
  });
  const comment = await api(reviewer, "POST", `/projects/${project.id}/change-requests/${cr.number}/comments`, {
    body: "Does support agree on 15?",
    document_id: spec.id,
    line: 5,
  });
  await api(author, "POST", `/projects/${project.id}/change-requests/${cr.number}/comments`, {
    body: "Yes: it matches the ticket data.",
    reply_to: comment.id,
  });
  await reviewer.setViewportSize({ width: VIEWPORT.width, height: 1080 });
  await reviewer.goto(`/p/${project.slug}/changes/${cr.number}`);
  await hydrated(reviewer);
  await expect(reviewer.locator("tr.line-notes .thread")).toBeVisible();
  await reviewer.screenshot({ path: `${OUT}/change-request.png` });

  await author.goto(`/p/${project.slug}/requirements`);
  await hydrated(author);
  await expect(author.locator("table.requirements tbody tr")).toHaveCount(3);
  await author.screenshot({ path: `${OUT}/requirements.png` });
});
