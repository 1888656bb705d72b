//! Spec structure in the UI: the requirements list and each requirement's page (text,
//! scenarios, coverage, history, backlinks), open questions with their answers, and the
//! project's checks (lint findings, rule settings, the latest traceability report).

use charter_types::{ClarificationState, Kind, Permission, RequirementStatus, Severity, TraceStatus};
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::components::{EmptyState, FormError, Loaded, LoadedList, Time};
use crate::error::AppError;
use crate::projects::{on_branch, ProjectCtx};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FindingInfo {
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    pub document_id: Uuid,
    pub document: String,
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequirementItem {
    pub id: Uuid,
    pub key: String,
    pub title: String,
    pub text: String,
    pub acceptance: Vec<String>,
    pub priority: Option<String>,
    pub document_id: Uuid,
    pub document: String,
    pub section: String,
    pub status: RequirementStatus,
    /// From the latest traceability report.
    pub coverage: Option<TraceStatus>,
    pub tests: usize,
    pub code: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryItem {
    pub version: i32,
    pub message: String,
    pub author: String,
    pub change_request: Option<i32>,
    pub approvers: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub changes: Vec<String>,
    pub key: String,
    pub text: String,
    pub previous_key: Option<String>,
    pub previous_text: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BacklinkItem {
    pub document_id: Uuid,
    pub title: String,
    pub kind: Kind,
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequirementPageData {
    pub requirement: RequirementItem,
    pub checked_commit: Option<String>,
    pub checked_at: Option<DateTime<Utc>>,
    pub history: Vec<HistoryItem>,
    pub backlinks: Vec<BacklinkItem>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuestionItem {
    pub id: Uuid,
    pub document_id: Uuid,
    pub document: String,
    pub question: String,
    pub state: ClarificationState,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    pub line: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceSummary {
    pub commit: String,
    pub uploaded_by: String,
    pub created_at: DateTime<Utc>,
    pub tested: usize,
    pub code_only: usize,
    pub untested: usize,
    pub unknown: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChecksData {
    pub findings: Vec<FindingInfo>,
    /// Rule ID, what it checks, and the severity it runs at (`off` when disabled).
    pub rules: Vec<(String, String, String)>,
    pub trace: Option<TraceSummary>,
}

#[cfg(feature = "ssr")]
pub(crate) fn finding(finding: charter_backend::structure::lint::Finding) -> FindingInfo {
    FindingInfo {
        severity: finding.severity,
        rule: finding.rule,
        message: finding.message,
        document_id: finding.document_id,
        document: finding.document,
        line: finding.line,
    }
}

#[cfg(feature = "ssr")]
fn requirement_item(view: charter_backend::structure::requirements::RequirementView) -> RequirementItem {
    RequirementItem {
        id: view.id,
        key: view.key,
        title: view.title,
        text: view.text,
        acceptance: view.acceptance,
        priority: view.priority,
        document_id: view.document_id,
        document: view.document,
        section: view.section,
        status: view.status,
        coverage: view.coverage.as_ref().map(|coverage| coverage.status),
        tests: view.coverage.as_ref().map_or(0, |c| c.tests),
        code: view.coverage.as_ref().map_or(0, |c| c.code),
    }
}

#[server]
pub async fn list_requirements(slug: String, branch: String, q: String) -> Result<Vec<RequirementItem>, AppError> {
    use charter_backend::structure::requirements::{self, RequirementQuery};
    let (state, actor, project) = crate::projects::resolve(&slug).await?;
    let query = RequirementQuery { branch: Some(branch), q: Some(q) };
    Ok(requirements::list(&state.db, &actor, project.id, query).await?.into_iter().map(requirement_item).collect())
}

#[server]
pub async fn requirement_by_key(slug: String, branch: String, key: String) -> Result<RequirementPageData, AppError> {
    use charter_backend::structure::requirements::{self, RequirementQuery};
    let (state, actor, project) = crate::projects::resolve(&slug).await?;
    let query = RequirementQuery { branch: Some(branch.clone()), q: Some(key.clone()) };
    let found = requirements::list(&state.db, &actor, project.id, query)
        .await?
        .into_iter()
        .find(|requirement| requirement.key.eq_ignore_ascii_case(&key))
        .ok_or_else(|| AppError::NotFound(format!("no requirement {key} on branch {branch}")))?;
    let detail = requirements::get(&state.db, &actor, found.id, Some(&branch)).await?;
    Ok(RequirementPageData {
        requirement: requirement_item(detail.requirement),
        checked_commit: detail.checked_commit,
        checked_at: detail.checked_at,
        history: detail
            .history
            .into_iter()
            .map(|entry| HistoryItem {
                version: entry.version,
                message: entry.message,
                author: entry.author,
                change_request: entry.change_request,
                approvers: entry.approvers,
                created_at: entry.created_at,
                changes: entry.changes,
                key: entry.key,
                text: entry.text,
                previous_key: entry.previous_key,
                previous_text: entry.previous_text,
            })
            .collect(),
        backlinks: detail
            .backlinks
            .into_iter()
            .map(|link| BacklinkItem {
                document_id: link.document_id,
                title: link.title,
                kind: link.kind,
                line: link.line,
            })
            .collect(),
    })
}

#[server]
pub async fn list_questions(
    slug: String,
    branch: String,
    state: String,
    document: Option<String>,
) -> Result<Vec<QuestionItem>, AppError> {
    use charter_backend::structure::clarifications::{self, ClarificationQuery};
    let (app, actor, project) = crate::projects::resolve(&slug).await?;
    let document = document.map(|id| crate::ssr::parse_id(&id, "document")).transpose()?;
    let query = ClarificationQuery { state: Some(state), branch: Some(branch), document };
    Ok(clarifications::list(&app.db, &actor, project.id, query)
        .await?
        .into_iter()
        .map(|c| QuestionItem {
            id: c.id,
            document_id: c.document_id,
            document: c.document,
            question: c.question,
            state: c.state,
            answer: c.answer,
            answered_by: c.answered_by,
            answered_at: c.answered_at,
            line: c.line,
        })
        .collect())
}

/// What links to a document or its requirements: (target, from document, its kind, line).
#[server]
pub async fn document_backlinks(id: String, branch: String) -> Result<Vec<(String, BacklinkItem)>, AppError> {
    let (state, actor) = crate::ssr::actor().await?;
    let id = crate::ssr::parse_id(&id, "document")?;
    Ok(charter_backend::structure::document_backlinks(&state.db, &actor, id, &branch)
        .await?
        .into_iter()
        .map(|link| {
            let item =
                BacklinkItem { document_id: link.document_id, title: link.title, kind: link.kind, line: link.line };
            (link.target, item)
        })
        .collect())
}

#[server]
pub async fn answer_question(id: String, answer: String) -> Result<(), AppError> {
    use charter_backend::structure::clarifications::{self, NewAnswer};
    let (state, actor) = crate::ssr::actor().await?;
    let id = crate::ssr::parse_id(&id, "question")?;
    clarifications::answer(&state, &actor, id, NewAnswer { answer }).await?;
    Ok(())
}

#[server]
pub async fn project_checks(slug: String, branch: String) -> Result<ChecksData, AppError> {
    use charter_backend::structure::{self, traceability};
    let (state, actor, project) = crate::projects::resolve(&slug).await?;
    let report = structure::project_lint(&state.db, &actor, project.id, &branch).await?;
    let trace = match traceability::get(&state.db, &actor, project.id, &branch).await {
        Ok(stored) => Some(TraceSummary {
            commit: stored.commit,
            uploaded_by: stored.uploaded_by,
            created_at: stored.created_at,
            tested: stored.summary.tested,
            code_only: stored.summary.code_only,
            untested: stored.summary.untested,
            unknown: stored.report.unknown.into_iter().map(|unknown| unknown.key).collect(),
        }),
        Err(charter_backend::Error::NotFound(_)) => None,
        Err(error) => return Err(error.into()),
    };
    Ok(ChecksData {
        findings: report.findings.into_iter().map(finding).collect(),
        rules: report
            .rules
            .into_iter()
            .map(|rule| (rule.id, rule.summary, rule.severity.map_or("off", Severity::as_str).to_owned()))
            .collect(),
        trace,
    })
}

fn status_label(status: RequirementStatus) -> &'static str {
    match status {
        RequirementStatus::Ready => "Ready",
        RequirementStatus::NeedsClarification => "Open question",
        RequirementStatus::Incomplete => "No scenario",
    }
}

fn coverage_label(coverage: TraceStatus) -> &'static str {
    match coverage {
        TraceStatus::Tested => "Tested",
        TraceStatus::CodeOnly => "Code only",
        TraceStatus::Untested => "Untested",
    }
}

/// Tabs between the spec-structure pages.
#[component]
fn SpecTabs(current: &'static str) -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let tab = move |path: &'static str, label: &'static str| {
        let href = move || on_branch(&format!("/p/{}/{path}", ctx.slug.get()), &ctx.branch.get());
        let aria = (path == current).then_some("page");
        view! { <A href=href attr:aria-current=aria>{label}</A> }
    };
    view! {
        <nav class="tabs" aria-label="Spec structure">
            {tab("requirements", "Requirements")}
            {tab("questions", "Open questions")}
            {tab("checks", "Checks")}
        </nav>
    }
}

#[component]
pub fn RequirementsPage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let query = RwSignal::new(String::new());
    let list = Resource::new(
        move || (ctx.slug.get(), ctx.branch.get(), query.get(), ctx.changed.get()),
        |(slug, branch, q, _)| list_requirements(slug, branch, q),
    );
    view! {
        <Title text="Requirements" />
        <div class="page-head"><h1>"Requirements"</h1></div>
        <SpecTabs current="requirements" />
        <label class="search">"Search requirements"
            <input type="search" placeholder="ID, title or text" prop:value=move || query.get()
                on:input=move |ev| query.set(event_target_value(&ev)) />
        </label>
        <Loaded load=move || async move { list.await } let:items>
            {
                let (slug, branch) = (ctx.slug.get_untracked(), ctx.branch.get_untracked());
                if items.is_empty() && query.get_untracked().trim().is_empty() {
                    view! {
                        <EmptyState title="No requirements yet">
                            <p>"Write requirements in a spec with an ID, as a list item "
                               <code>"- **AUTH-001** The system SHALL …"</code>
                               " or a heading " <code>"### AUTH-001: Title"</code>
                               ". New specs start from a template that shows both."</p>
                        </EmptyState>
                    }.into_any()
                } else if items.is_empty() {
                    view! { <p class="muted">"No requirement matches."</p> }.into_any()
                } else {
                    view! {
                        <table class="requirements">
                            <thead><tr><th scope="col">"ID"</th><th scope="col">"Requirement"</th><th scope="col">"Spec"</th>
                                <th scope="col">"Status"</th><th scope="col">"Coverage"</th></tr></thead>
                            <tbody>
                                {items.into_iter().map(|item| {
                                    let href = on_branch(&format!("/p/{slug}/req/{}", item.key), &branch);
                                    let doc_href = on_branch(&format!("/p/{slug}/doc/{}", item.document_id), &branch);
                                    view! {
                                        <tr>
                                            <td><A href=href attr:class="req-key">{item.key.clone()}</A>
                                                {item.priority.clone().map(|p| view! { <span class="badge">{p}</span> })}</td>
                                            <td>{item.title.clone()}</td>
                                            <td><A href=doc_href>{item.document.clone()}</A></td>
                                            <td><span class=format!("badge status-{}", item.status)>{status_label(item.status)}</span></td>
                                            <td>{match item.coverage {
                                                Some(coverage) => view! { <span class=format!("badge coverage-{coverage}")>{coverage_label(coverage)}</span> }.into_any(),
                                                None => view! { <span class="muted">"Not checked"</span> }.into_any(),
                                            }}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }
            }
        </Loaded>
    }
}

#[component]
pub fn RequirementPage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let params = use_params_map();
    let key = Memo::new(move |_| params.read().get("key").unwrap_or_default());
    let data = Resource::new(
        move || (ctx.slug.get(), ctx.branch.get(), key.get(), ctx.changed.get()),
        |(slug, branch, key, _)| requirement_by_key(slug, branch, key),
    );
    view! {
        <Loaded load=move || async move { data.await } let:page>
            {
                let (slug, branch) = (ctx.slug.get_untracked(), ctx.branch.get_untracked());
                let r = page.requirement.clone();
                let doc_href = on_branch(&format!("/p/{slug}/doc/{}", r.document_id), &branch);
                let heading = format!("{}: {}", r.key, r.title);
                let coverage = match (r.coverage, page.checked_commit.clone()) {
                    (Some(coverage), Some(commit)) => view! {
                        <p><span class=format!("badge coverage-{coverage}")>{coverage_label(coverage)}</span>
                           {format!(" Named in {} test place(s) and {} code place(s), checked at commit {}", r.tests, r.code, commit.chars().take(12).collect::<String>())}
                           {page.checked_at.map(|at| view! { " " <Time at /> })}</p>
                    }.into_any(),
                    (None, Some(commit)) => view! { <p class="muted">{format!("The report for commit {} does not mention it.", commit.chars().take(12).collect::<String>())}</p> }.into_any(),
                    _ => view! { <p class="muted">"No traceability report yet: run " <code>"charter check --upload"</code> " in CI."</p> }.into_any(),
                };
                view! {
                    <Title text=heading.clone() />
                    <article class="requirement">
                        <header class="document-head">
                            <div>
                                <span class="badge">"Requirement"</span>
                                {r.priority.clone().map(|p| view! { <span class="badge">{p}</span> })}
                                <span class=format!("badge status-{}", r.status)>{status_label(r.status)}</span>
                                <h1>{heading}</h1>
                                <p class="muted">"In " <A href=doc_href>{r.document.clone()}</A>
                                    {(!r.section.is_empty()).then(|| format!(" › {}", r.section))}</p>
                            </div>
                        </header>
                        <p class="requirement-text">{r.text.clone()}</p>
                        <section aria-labelledby="acceptance">
                            <h2 id="acceptance">"Acceptance scenarios"</h2>
                            {if r.acceptance.is_empty() {
                                view! { <p class="muted">"None yet: add Given / When / Then scenarios below the requirement."</p> }.into_any()
                            } else {
                                view! { <ol class="scenarios">{r.acceptance.clone().into_iter().map(|s| view! { <li>{s}</li> }).collect_view()}</ol> }.into_any()
                            }}
                        </section>
                        <section aria-labelledby="coverage">
                            <h2 id="coverage">"Coverage"</h2>
                            {coverage}
                        </section>
                        <section aria-labelledby="history">
                            <h2 id="history">"History"</h2>
                            {if page.history.is_empty() {
                                view! { <p class="muted">"Not in any version of this branch yet: history starts when a change request with it is merged."</p> }.into_any()
                            } else {
                                view! {
                                    <ol class="activity requirement-history">
                                        {page.history.clone().into_iter().map(|entry| {
                                            let cr = entry.change_request.map(|n| {
                                                let href = format!("/p/{slug}/changes/{n}");
                                                view! { " from " <A href=href>{format!("change request #{n}")}</A> }
                                            });
                                            let approvers = (!entry.approvers.is_empty()).then(|| format!(", approved by {}", entry.approvers.join(", ")));
                                            view! {
                                                <li>
                                                    <strong>{format!("Version {}", entry.version)}</strong>
                                                    " " {entry.changes.join(", ")} " by " {entry.author.clone()} {cr} {approvers}
                                                    " " <small class="muted"><Time at=entry.created_at /></small>
                                                    <div class="muted">{entry.message.clone()}</div>
                                                    {entry.previous_key.clone().map(|before| view! { <div>{format!("Was {before}, now {}", entry.key)}</div> })}
                                                    {entry.previous_text.clone().map(|before| view! {
                                                        <div class="history-text"><del>{before}</del><ins>{entry.text.clone()}</ins></div>
                                                    })}
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ol>
                                }.into_any()
                            }}
                        </section>
                        <section aria-labelledby="backlinks">
                            <h2 id="backlinks">"Linked from"</h2>
                            {if page.backlinks.is_empty() {
                                view! { <p class="muted">"Nothing links here yet. Link with " <code>{format!("[[{}]]", r.key)}</code> "."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="backlinks">
                                        {page.backlinks.clone().into_iter().map(|link| {
                                            let href = on_branch(&format!("/p/{slug}/doc/{}", link.document_id), &branch);
                                            view! { <li><A href=href>{link.title.clone()}</A>
                                                <span class=format!("badge kind-{}", link.kind)>{link.kind.as_str()}</span>
                                                <small class="muted">{format!(" line {}", link.line)}</small></li> }
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        </section>
                    </article>
                }.into_any()

            }
        </Loaded>
    }
}

/// Questions with, for open ones, a form to answer them (for those who can edit).
#[component]
pub fn QuestionList(
    questions: Vec<QuestionItem>,
    can_answer: bool,
    answer: ServerAction<AnswerQuestion>,
    #[prop(default = true)] show_document: bool,
) -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let (slug, branch) = (ctx.slug.get_untracked(), ctx.branch.get_untracked());
    view! {
        <ul class="questions">
            {questions.into_iter().map(|q| {
                let doc_href = on_branch(&format!("/p/{slug}/doc/{}", q.document_id), &branch);
                let place = q.line.map(|line| format!(" · line {line}")).unwrap_or_default();
                let form = (can_answer && q.state == ClarificationState::Open).then(|| {
                    let label = format!("Answer: {}", q.question);
                    view! {
                        <ActionForm action=answer attr:class="row answer-form">
                            <input type="hidden" name="id" value=q.id.to_string() />
                            <label class="grow"><span class="visually-hidden">{label}</span>
                                <input name="answer" required maxlength="2000" placeholder="Your answer" /></label>
                            <button type="submit">"Answer"</button>
                        </ActionForm>
                    }
                });
                view! {
                    <li class="card question" data-state=q.state.as_str()>
                        <p class="question-text">{q.question.clone()}</p>
                        <small class="muted">
                            {show_document.then(|| view! { <A href=doc_href>{q.document.clone()}</A> })}
                            {place}
                        </small>
                        {q.answer.clone().map(|a| view! {
                            <p class="answer">"Answered: " {a}
                                {q.answered_by.clone().map(|by| format!(" — {by}"))}
                                {q.answered_at.map(|at| view! { " " <small class="muted"><Time at /></small> })}</p>
                        })}
                        {form}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

#[component]
pub fn QuestionsPage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let query = use_query_map();
    let state =
        Memo::new(move |_| query.read().get("state").filter(|s| s == "answered").unwrap_or_else(|| "open".into()));
    let answer = ServerAction::<AnswerQuestion>::new();
    let list = Resource::new(
        move || (ctx.slug.get(), ctx.branch.get(), state.get(), answer.version().get(), ctx.changed.get()),
        |(slug, branch, state, ..)| list_questions(slug, branch, state, None),
    );
    let filter = move |value: &'static str, label: &'static str| {
        let href = move || {
            let path = on_branch(&format!("/p/{}/questions", ctx.slug.get()), &ctx.branch.get());
            let sep = if path.contains('?') { '&' } else { '?' };
            if value == "open" {
                path
            } else {
                format!("{path}{sep}state={value}")
            }
        };
        view! { <A href=href attr:aria-current=move || (state.get() == value).then_some("page")>{label}</A> }
    };
    view! {
        <Title text="Open questions" />
        <div class="page-head"><h1>"Open questions"</h1></div>
        <SpecTabs current="questions" />
        <p class="muted">"Every " <code>"[NEEDS CLARIFICATION: …]"</code> " marker in the project's documents. Answering one replaces the marker with the answer and records it under the document's Clarifications heading."</p>
        <nav class="filters" aria-label="Which questions">{filter("open", "Open")}{filter("answered", "Answered")}</nav>
        <FormError result=answer.value().into() />
        <LoadedList
            load=move || async move { ctx.loaded().await; list.await }
            empty_title="No questions here"
            empty=|| view! { <p>"Mark unclear intent in a spec with "
                            <code>"[NEEDS CLARIFICATION: question]"</code> "; it shows up here until answered."</p> }
            let:items
        >
            {
                let can_answer = ctx.allows(Permission::Write);
                view! { <QuestionList questions=items can_answer answer />
                }
            }
        </LoadedList>
    }
}

#[component]
pub fn ChecksPage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let data = Resource::new(
        move || (ctx.slug.get(), ctx.branch.get(), ctx.changed.get()),
        |(slug, branch, _)| project_checks(slug, branch),
    );
    view! {
        <Title text="Checks" />
        <div class="page-head"><h1>"Checks"</h1></div>
        <SpecTabs current="checks" />
        <Loaded load=move || async move { data.await } let:checks>
            {
                let (slug, branch) = (ctx.slug.get_untracked(), ctx.branch.get_untracked());
                let errors = checks.findings.iter().filter(|f| f.severity == Severity::Error).count();
                let summary = match checks.findings.len() {
                    0 => "No findings: every document passes the checks.".to_owned(),
                    n => format!("{n} finding(s), {errors} of them error(s). Errors block merging a change request that touches their document."),
                };
                let trace = match checks.trace.clone() {
                    Some(t) => view! {
                        <p>{format!("Commit {}: {} tested, {} named only by code, {} untested", t.commit.chars().take(12).collect::<String>(), t.tested, t.code_only, t.untested)}
                           {(!t.unknown.is_empty()).then(|| format!("; IDs no spec defines: {}", t.unknown.join(", ")))}
                           " — uploaded by " {t.uploaded_by.clone()} " " <Time at=t.created_at /></p>
                    }.into_any(),
                    None => view! { <p class="muted">"No report yet. In CI, run "
                        <code>"charter check --project <id> --server <url> --token <token> --upload <repo>"</code>
                        " to see which requirements tests and code name."</p> }.into_any(),
                };
                view! {
                    <p role="status">{summary}</p>
                    {(!checks.findings.is_empty()).then(|| view! {
                        <ul class="findings">
                            {checks.findings.clone().into_iter().map(|f| {
                                let href = on_branch(&format!("/p/{slug}/doc/{}", f.document_id), &branch);
                                view! {
                                    <li class=format!("finding severity-{}", f.severity)>
                                        <span class=format!("badge severity-{}", f.severity)>{f.severity.as_str()}</span>
                                        " " <A href=href>{format!("{} line {}", f.document, f.line)}</A>
                                        " " {f.message.clone()} " " <code class="muted">{f.rule.clone()}</code>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    })}
                    <section aria-labelledby="traceability">
                        <h2 id="traceability">"Traceability"</h2>
                        {trace}
                    </section>
                    <section aria-labelledby="rules">
                        <h2 id="rules">"Rules"</h2>
                        <p class="muted">"The constitution's Checks heading turns rules off or changes their severity, e.g. "
                            <code>"- `vague-term`: error"</code> "."</p>
                        <table class="rules">
                            <thead><tr><th scope="col">"Rule"</th><th scope="col">"Checks that"</th><th scope="col">"Severity"</th></tr></thead>
                            <tbody>
                                {checks.rules.clone().into_iter().map(|(id, summary, severity)| view! {
                                    <tr><td><code>{id.clone()}</code></td><td>{summary.clone()}</td>
                                        <td><span class=format!("badge severity-{severity}")>{severity.clone()}</span></td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </section>
                }.into_any()

            }
        </Loaded>
    }
}
