import { test, expect } from "@playwright/test";
import { api, hydrated, openEditor, person, projectWithSpec, signUp, uniqueName } from "./support";

test("a change drafted on a branch is reviewed in another browser and merged into main", async ({ browser, baseURL }) => {
  const author = await person(browser, baseURL, uniqueName("ann"));
  const reviewerName = uniqueName("rob");
  const reviewer = await person(browser, baseURL, reviewerName);
  const { project, spec } = await projectWithSpec(author, "# User login\n\nUsers log in.\n");
  await api(author, "PUT", `/projects/${project.id}/members/${reviewerName}`, { role: "reviewer" });
  await api(author, "POST", `/projects/${project.id}/branches`, { name: "draft" });

  // The author drafts on the branch, in the live editor.
  await openEditor(author, `/p/${project.slug}/doc/${spec.id}?branch=draft`);
  await author.locator(".cm-content").click();
  await author.keyboard.press("Control+End");
  await author.keyboard.insertText("Accounts lock after 5 failures.\n");
  await expect(async () => {
    const drafted = await api(author, "GET", `/documents/${spec.id}?branch=draft`);
    expect(drafted.content).toContain("Accounts lock after 5 failures.");
  }).toPass();
  // And a rewording, to see the words that changed inside a line.
  await api(author, "PUT", `/documents/${spec.id}/content?branch=draft`, {
    content: "# User login\n\nUsers sign in.\nAccounts lock after 5 failures.\n",
  });

  await author.goto(`/p/${project.slug}/changes`);
  await hydrated(author);
  await expect(author.getByRole("heading", { name: "No change requests yet" })).toBeVisible();
  await author.getByLabel("From").selectOption("draft");
  await author.getByLabel("Into").selectOption("main");
  await author.getByLabel("Title").fill("Account lockout");
  await author.getByLabel("Why").fill("Brute-force protection.");
  await author.getByRole("button", { name: "Open change request" }).click();
  await expect(author).toHaveURL(/\/changes\/1$/);
  await expect(author.locator(".diff .added").last()).toContainText("Accounts lock after 5 failures.");
  await expect(author.locator(".diff .added mark")).toHaveText("sign");
  await expect(author.locator(".diff .removed mark")).toHaveText("log");
  // One row per line, numbered on its side, stacked and as wide as the diff: a style
  // that lays the lines out any other way (as a clash with `.inline` once did) fails here.
  const unified = author.locator("table.diff.unified");
  const rows = unified.locator("tr");
  await expect(rows).toHaveCount(3);
  await expect(rows.nth(0).locator("td.line-number")).toHaveText(["3", ""]);
  await expect(rows.nth(1).locator("td.line-number")).toHaveText(["", "3"]);
  await expect(rows.nth(2).locator("td.line-number")).toHaveText(["", "4"]);
  const table = (await unified.boundingBox())!;
  let bottom = table.y;
  for (let row = 0; row < 3; row++) {
    const box = (await rows.nth(row).boundingBox())!;
    expect(box.y).toBeGreaterThanOrEqual(bottom - 1);
    expect(box.width).toBeGreaterThan(table.width - 2);
    bottom = box.y + box.height;
    const code = (await rows.nth(row).locator("td.code").boundingBox())!;
    expect(code.width).toBeGreaterThan(table.width * 0.6);
  }
  await author.getByRole("button", { name: "Side by side" }).click();
  await expect(author.locator("table.side-by-side td.removed mark")).toHaveText("log");
  await expect(author.locator("table.side-by-side td.code.added").first()).toContainText("Users sign in.");
  await expect(author.locator("table.side-by-side tr").first().locator("td.line-number")).toHaveText(["3", "3"]);
  await expect(author.getByRole("button", { name: "Merge" })).toBeDisabled();

  // The reviewer, in a browser of their own, discusses and approves.
  await reviewer.goto(author.url());
  await hydrated(reviewer);
  await reviewer.getByLabel("Comment", { exact: true }).fill("Is 5 the right number?");
  await reviewer.getByRole("button", { name: "Comment", exact: true }).click();
  await expect(reviewer.locator("#discussion ~ ul")).toContainText("Is 5 the right number?");
  await reviewer.getByRole("button", { name: "Comment on line 4" }).click();
  await reviewer.getByLabel("Comment on User login, line 4").fill("Say SHALL here.");
  await reviewer.locator(".line-comment-form").getByRole("button", { name: "Comment" }).click();
  await expect(reviewer.locator("#discussion ~ ul")).toContainText("on User login, line 4");
  await reviewer.getByLabel("Review comment").fill("Fine by me.");
  await reviewer.getByLabel("Approve").check();
  await reviewer.getByRole("button", { name: "Submit review" }).click();
  await expect(reviewer.getByText("Approvals: 1 of 1 needed")).toBeVisible();

  // The author merges; main has the change and the history a version.
  await author.reload();
  await hydrated(author);
  await expect(author.getByText("Is 5 the right number?")).toBeVisible();
  await author.getByRole("button", { name: "Merge" }).click();
  await expect(author.locator(".page-head .badge")).toHaveText("merged");
  // Merged, it still shows what it changed.
  await expect(author.locator(".diff .added").last()).toContainText("Accounts lock after 5 failures.");
  const onMain = await api(author, "GET", `/documents/${spec.id}`);
  expect(onMain.content).toBe("# User login\n\nUsers sign in.\nAccounts lock after 5 failures.\n");
  await author.getByRole("link", { name: "History" }).click();
  await expect(author.locator("ol.versions")).toContainText("Version 1");
  await expect(author.locator("ol.versions").getByRole("link", { name: "#1" })).toBeVisible();

  // The document as it stood at the version.
  await author.goto(`/p/${project.slug}/doc/${spec.id}`);
  await hydrated(author);
  await author.getByText("Earlier versions").click();
  await author.getByRole("link", { name: /^Version 1/ }).click();
  await expect(author.locator(".page-head h1")).toHaveText("User login at version 1");
  await expect(author.locator(".markdown")).toContainText("Accounts lock after 5 failures.");
  await expect(author.getByText("Nothing: it is the same.")).toBeVisible();
  await expect(author.getByLabel("Compare with")).toHaveValue("");
  await author.getByRole("link", { name: "History" }).click();

  // Name the version, and propose going back to it: a new change request.
  await author.getByLabel("Tag version 1").fill("v1.0.0");
  await author.getByRole("button", { name: "Tag" }).click();
  await expect(author.getByText("Tagged v1.0.0.")).toBeVisible();
  await author.getByText("Restore…").click();
  await author.getByRole("button", { name: "Restore version 1" }).click();
  await expect(author).toHaveURL(/\/changes\/2$/);
  await expect(author.getByRole("heading", { level: 1 })).toContainText("Restore version 1");

  // Owners set how changes merge.
  await author.getByRole("link", { name: "Members" }).click();
  await author.getByLabel("Approvals a change request needs").fill("2");
  await author.getByLabel(/Protect main/).check();
  await author.getByRole("button", { name: "Save settings" }).click();
  await expect(author.getByText("Saved.")).toBeVisible();
  const settings = await api(author, "GET", `/projects/${project.id}`);
  expect([settings.required_approvals, settings.protect_main]).toEqual([2, true]);
});

test("a conflicting pair of edits is resolved in the page and then merges as resolved", async ({ page }) => {
  await signUp(page, uniqueName("cora"));
  const { project, spec } = await projectWithSpec(page, "line 1\nline 2\nline 3\n");
  await api(page, "PATCH", `/projects/${project.id}/settings`, { required_approvals: 0 });
  await api(page, "POST", `/projects/${project.id}/branches`, { name: "draft" });
  await api(page, "PUT", `/documents/${spec.id}/content?branch=draft`, { content: "line 1\nline 2 (draft)\nline 3\n" });
  await api(page, "PUT", `/documents/${spec.id}/content`, { content: "line 1\nline 2 (main)\nline 3\n" });
  const opened = await api(page, "POST", `/projects/${project.id}/change-requests`, { source: "draft", target: "main", title: "Wording" });

  await page.goto(`/p/${project.slug}/changes/${opened.number}`);
  await hydrated(page);
  const conflict = page.locator("article.conflict");
  await expect(conflict).toContainText("line 2 (main)");
  await expect(conflict).toContainText("line 2 (draft)");
  await expect(page.getByRole("button", { name: "Merge" })).toBeDisabled();
  const resolved = conflict.getByLabel("Resolved text of the whole document");
  await conflict.getByRole("button", { name: "Use main's text" }).click();
  await expect(resolved).toHaveValue("line 1\nline 2 (main)\nline 3\n");
  await conflict.getByRole("button", { name: "Use draft's text" }).click();
  await expect(resolved).toHaveValue("line 1\nline 2 (draft)\nline 3\n");
  await resolved.fill("line 1\nline 2 (agreed)\nline 3\n");
  await conflict.getByRole("button", { name: "Record resolution" }).click();
  await expect(page.locator("article.conflict")).toHaveCount(0);
  await page.getByRole("button", { name: "Merge" }).click();
  await expect(page.locator(".page-head .badge")).toHaveText("merged");
  expect((await api(page, "GET", `/documents/${spec.id}`)).content).toBe("line 1\nline 2 (agreed)\nline 3\n");
});

test("the author is told why they cannot approve, and an editor who may not review sees who can", async ({ browser, baseURL }) => {
  const author = await person(browser, baseURL, uniqueName("ann"));
  const reviewerName = uniqueName("rob");
  await person(browser, baseURL, reviewerName);
  const editorName = uniqueName("ed");
  const editor = await person(browser, baseURL, editorName);
  const { project, spec } = await projectWithSpec(author, "# User login\n\nUsers log in.\n");
  await api(author, "PUT", `/projects/${project.id}/members/${reviewerName}`, { role: "reviewer" });
  await api(author, "PUT", `/projects/${project.id}/members/${editorName}`, { role: "editor" });
  await api(author, "POST", `/projects/${project.id}/branches`, { name: "draft" });
  await api(author, "PUT", `/documents/${spec.id}/content?branch=draft`, { content: "# User login\n\nUsers sign in.\n" });
  const opened = await api(author, "POST", `/projects/${project.id}/change-requests`, { source: "draft", target: "main", title: "Wording" });
  const url = `/p/${project.slug}/changes/${opened.number}`;

  // The author (an owner, so a reviewer too) may request changes, but not approve.
  await author.goto(url);
  await hydrated(author);
  await expect(author.getByRole("note")).toHaveText(
    `You opened this change request, so another reviewer approves it. ${reviewerName} can review it.`,
  );
  await expect(author.getByRole("radio", { name: "Request changes" })).toBeChecked();
  await expect(author.getByRole("radio", { name: "Approve" })).toHaveCount(0);
  // The merge box says what is missing, in words.
  await expect(author.locator(".merge-blockers li")).toHaveText([
    "1 more approval from a reviewer is needed: it has 0 of 1, and approvals given before its latest edit do not count",
  ]);

  // An editor is offered no review, and told who can review.
  await editor.goto(url);
  await hydrated(editor);
  await expect(editor.getByRole("note")).toHaveText(
    `Your role (editor) does not include reviewing. ${reviewerName} can review it.`,
  );
  await expect(editor.getByRole("button", { name: "Submit review" })).toHaveCount(0);
  await expect(editor.getByRole("button", { name: "Close change request" })).toHaveCount(0);
});

test("the new change request form starts from the branch in view into main and refuses main into main", async ({ page }) => {
  await signUp(page, uniqueName("fay"));
  const { project, spec } = await projectWithSpec(page, "# User login\n");
  await api(page, "POST", `/projects/${project.id}/branches`, { name: "draft" });
  await api(page, "POST", `/projects/${project.id}/branches`, { name: "wording" });
  await api(page, "PUT", `/documents/${spec.id}/content?branch=wording`, { content: "# User login\n\nWorded.\n" });
  const submit = page.getByRole("button", { name: "Open change request" });
  const hint = page.locator("#open-change-hint");

  // On main, the first other branch into main.
  await page.goto(`/p/${project.slug}/changes`);
  await hydrated(page);
  await expect(page.getByLabel("From")).toHaveValue("draft");
  await expect(page.getByLabel("Into")).toHaveValue("main");
  await expect(submit).toBeEnabled();
  await expect(hint).toBeHidden();
  await page.getByLabel("From").selectOption("main");
  await expect(submit).toBeDisabled();
  await expect(hint).toHaveText("From and Into are the same branch: choose the branch with the changes in From.");
  await expect(submit).toHaveAttribute("aria-describedby", "open-change-hint");

  // On a branch, that branch into main; the new change request keeps the branch in view.
  await page.goto(`/p/${project.slug}/changes?branch=wording`);
  await hydrated(page);
  await expect(page.getByLabel("From")).toHaveValue("wording");
  await expect(page.getByLabel("Into")).toHaveValue("main");
  await page.getByLabel("Title").fill("Wording");
  await submit.click();
  await expect(page).toHaveURL(/\/changes\/1\?branch=wording$/);
  await page.goto(`/p/${project.slug}/changes?branch=wording`);
  await expect(page.getByRole("link", { name: "#1 Wording" })).toHaveAttribute("href", `/p/${project.slug}/changes/1?branch=wording`);

  // A project with only main has nothing to propose yet.
  const alone = await api(page, "POST", "/projects", { name: uniqueName("Alone") });
  await page.goto(`/p/${alone.slug}/changes`);
  await hydrated(page);
  await expect(submit).toBeDisabled();
  await expect(hint).toHaveText("This project has only main: make a branch, change documents on it, then propose them here.");
});

test("a change request without changes says so, and is closed and reopened from its page", async ({ page }) => {
  await signUp(page, uniqueName("cleo"));
  const { project } = await projectWithSpec(page, "# User login\n");
  await api(page, "POST", `/projects/${project.id}/branches`, { name: "draft" });
  const opened = await api(page, "POST", `/projects/${project.id}/change-requests`, { source: "draft", target: "main", title: "Empty" });

  await page.goto(`/p/${project.slug}/changes/${opened.number}`);
  await hydrated(page);
  await expect(page.locator(".no-changes")).toContainText("No changes: the branch draft changes no document compared with where it started from main");
  await expect(page.locator(".merge-blockers li").first()).toHaveText("There is nothing to merge: its source branch changes no document yet");
  await expect(page.getByRole("button", { name: "Merge" })).toBeDisabled();

  await page.getByRole("button", { name: "Close change request" }).click();
  await expect(page.locator(".page-head .badge")).toHaveText("closed");
  await expect(page.getByText("Closed without merging. Reopen it to review and merge it.")).toBeVisible();
  await expect(page.getByRole("button", { name: "Merge" })).toHaveCount(0);
  expect((await api(page, "GET", `/projects/${project.id}/change-requests/${opened.number}`)).state).toBe("closed");

  await page.goto(`/p/${project.slug}/changes`);
  await hydrated(page);
  await expect(page.locator(".card-list li").first().locator(".badge")).toHaveText("closed");
  await page.getByRole("link", { name: "#1 Empty" }).click();
  await page.getByRole("button", { name: "Reopen change request" }).click();
  await expect(page.locator(".page-head .badge")).toHaveText("open");
  await expect(page.getByRole("button", { name: "Close change request" })).toBeVisible();
  const activity = await api(page, "GET", `/projects/${project.id}/activity?limit=2`);
  expect(activity.map((entry: { action: string }) => entry.action)).toEqual(["change_request.reopen", "change_request.close"]);
});

test("a comment is made by clicking a line, answered and resolved under that line, and pointed to from the discussion", async ({ browser, baseURL }) => {
  const authorName = uniqueName("lena");
  const author = await person(browser, baseURL, authorName);
  const reviewerName = uniqueName("raj");
  const reviewer = await person(browser, baseURL, reviewerName);
  const { project, spec } = await projectWithSpec(author, "# User login\n\nUsers log in.\n");
  await api(author, "PUT", `/projects/${project.id}/members/${reviewerName}`, { role: "reviewer" });
  await api(author, "POST", `/projects/${project.id}/branches`, { name: "draft" });
  await api(author, "PUT", `/documents/${spec.id}/content?branch=draft`, { content: "# User login\n\nUsers sign in.\n" });
  const opened = await api(author, "POST", `/projects/${project.id}/change-requests`, { source: "draft", target: "main", title: "Wording" });

  await reviewer.goto(`/p/${project.slug}/changes/${opened.number}`);
  await hydrated(reviewer);
  await reviewer.getByRole("button", { name: "Comment on line 3" }).click();
  await reviewer.getByLabel("Comment on User login, line 3").fill("Is “sign in” our term everywhere?");
  await reviewer.getByRole("button", { name: "Comment", exact: true }).first().click();
  const thread = reviewer.locator("tr.line-notes .thread");
  await expect(thread).toContainText("User login, line 3");
  await expect(thread).toContainText("Is “sign in” our term everywhere?");
  // The thread sits right under its line.
  const rows = reviewer.locator("table.diff.unified tr");
  await expect(rows.nth(2)).toHaveClass(/line-notes/);

  await author.goto(`/p/${project.slug}/changes/${opened.number}`);
  await hydrated(author);
  const discussion = author.locator("ul.discussion");
  await expect(discussion.getByRole("link", { name: "User login, line 3" })).toBeVisible();
  await author.locator(".thread").getByPlaceholder("Reply…").fill("Yes, since the glossary change.");
  await author.locator(".thread").getByRole("button", { name: "Reply" }).click();
  await expect(author.locator(".thread .thread-comments li")).toHaveCount(2);
  await author.locator(".thread").getByRole("button", { name: "Resolve thread" }).click();
  const folded = author.locator("details.thread-folded");
  await expect(folded.locator("summary")).toContainText(`Resolved: ${reviewerName} “Is “sign in” our term everywhere?” (2 comments; resolved by ${authorName})`);
  await expect(folded).not.toHaveAttribute("open", "");
  await expect(discussion).toContainText("1 reply, resolved");
  await folded.locator("summary").click();
  await folded.getByRole("button", { name: "Reopen thread" }).click();
  await expect(author.locator("tr.line-notes .thread").getByRole("button", { name: "Resolve thread" })).toBeVisible();
});
