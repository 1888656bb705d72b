import { test, expect } from "@playwright/test";
import { api, hydrated, openEditor, person, projectWithSpec, uniqueName } from "./support";

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

  await author.goto(`/p/${project.slug}/changes`);
  await hydrated(author);
  await expect(author.getByRole("heading", { name: "No change requests yet" })).toBeVisible();
  await author.getByLabel("From").selectOption("draft");
  await author.getByLabel("Into").selectOption("main");
  await author.getByLabel("Title").fill("Account lockout");
  await author.getByLabel("Why").fill("Brute-force protection.");
  await author.getByRole("button", { name: "Open change request" }).click();
  await expect(author).toHaveURL(/\/changes\/1$/);
  await expect(author.locator(".diff .added")).toContainText("Accounts lock after 5 failures.");
  await expect(author.getByRole("button", { name: "Merge" })).toBeDisabled();

  // The reviewer, in a browser of their own, discusses and approves.
  await reviewer.goto(author.url());
  await hydrated(reviewer);
  await reviewer.getByLabel("Comment", { exact: true }).fill("Is 5 the right number?");
  await reviewer.getByRole("button", { name: "Comment", exact: true }).click();
  await expect(reviewer.locator("#discussion ~ ul")).toContainText("Is 5 the right number?");
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
  const onMain = await api(author, "GET", `/documents/${spec.id}`);
  expect(onMain.content).toBe("# User login\n\nUsers log in.\nAccounts lock after 5 failures.\n");
  await author.getByRole("link", { name: "History" }).click();
  await expect(author.locator("ol.versions")).toContainText("Version 1");
  await expect(author.locator("ol.versions").getByRole("link", { name: "#1" })).toBeVisible();
});
