//! Spec structure in the UI: the requirements list and each requirement's page (text,
//! scenarios, coverage, history, backlinks); the tabs it shares with the questions and
//! checks pages.

use charter_types::{
    Backlink, ContractOperation, HistoryEntry, Provenance, RelatedRequirements, RequirementIncident, RequirementStatus,
    RequirementView, TraceStatus,
};
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::components::{EmptyState, Loaded, Time};
use crate::context::{on_branch, ProjectCtx};
use crate::error::AppError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequirementPageData {
    /// Title and text without the priority marker its badge shows.
    pub requirement: RequirementView,
    /// Its text as sanitized HTML.
    pub text_html: String,
    pub checked_commit: Option<String>,
    pub checked_at: Option<DateTime<Utc>>,
    pub history: Vec<HistoryEntry>,
    pub backlinks: Vec<Backlink>,
    /// The contracts' operations that carry it out, each with its anchor in the
    /// contract's reference.
    pub operations: Vec<(String, ContractOperation)>,
    /// Requirements near this one in meaning, other specs first.
    pub related: RelatedRequirements,
    /// Incidents linked to it, or flagged as its regressions.
    pub incidents: Vec<RequirementIncident>,
    /// The incidents it was written after.
    pub provenance: Vec<Provenance>,
}

/// A row of the requirements list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequirementRow {
    /// Its title without the priority marker its badge shows.
    pub requirement: RequirementView,
    /// The title as sanitized inline HTML.
    pub title_html: String,
}

#[server]
pub async fn list_requirements(slug: String, branch: String, q: String) -> Result<Vec<RequirementRow>, AppError> {
    use charter_backend::structure::requirements::{self, RequirementQuery};
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Read).await?;
    let query = RequirementQuery { branch: Some(branch), q: Some(q) };
    let mut list = requirements::list(&state.db, &project, query).await?;
    for requirement in list.iter_mut().filter(|requirement| requirement.priority.is_some()) {
        requirement.title = charter_backend::structure::parse::without_priority_marker(&requirement.title);
    }
    let titles = list.iter().map(|requirement| requirement.title.clone()).collect();
    let titles = charter_backend::markdown::render_inline(titles).await?;
    Ok(list
        .into_iter()
        .zip(titles)
        .map(|(requirement, title_html)| RequirementRow { requirement, title_html })
        .collect())
}

#[server]
pub async fn requirement_by_key(slug: String, branch: String, key: String) -> Result<RequirementPageData, AppError> {
    use charter_backend::search::{self, RelatedQuery};
    use charter_backend::structure::requirements::{self, RequirementQuery};
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Read).await?;
    let query = RequirementQuery { branch: Some(branch.clone()), q: Some(key.clone()) };
    let found = requirements::list(&state.db, &project, query)
        .await?
        .into_iter()
        .find(|requirement| requirement.key.eq_ignore_ascii_case(&key))
        .ok_or_else(|| AppError::NotFound(format!("no requirement {key} on branch {branch}")))?;
    let mut detail = requirements::get(&state.db, project.actor(), found.id, Some(&branch)).await?;
    let shown = &mut detail.requirement;
    if shown.priority.is_some() {
        shown.title = charter_backend::structure::parse::without_priority_marker(&shown.title);
        shown.text = charter_backend::structure::parse::without_priority_marker(&shown.text);
    }
    let text_html = charter_backend::markdown::render(shown.text.clone()).await?;
    let nearby = RelatedQuery { branch: Some(branch), limit: None };
    let meaning = search::provider::meaning(&state.db, &state.embeddings, project.project()).await?;
    let related = match search::related(&state.db, &meaning, &project, found.id, &nearby).await {
        // Just written: the search index has not read it yet.
        Err(charter_backend::Error::NotFound(_)) => RelatedRequirements {
            related: Vec::new(),
            notice: Some("This requirement is being indexed; its neighbours show in a moment.".into()),
        },
        // The page stands without them.
        Err(err) => {
            err.log();
            RelatedRequirements {
                related: Vec::new(),
                notice: Some("Related requirements could not be loaded just now; reload to try again.".into()),
            }
        }
        Ok(related) => related,
    };
    Ok(RequirementPageData {
        requirement: detail.requirement,
        text_html,
        checked_commit: detail.checked_commit,
        checked_at: detail.checked_at,
        history: detail.history,
        backlinks: detail.backlinks,
        operations: detail
            .operations
            .into_iter()
            .map(|found| {
                let name = charter_backend::contract::operation_name(&found.operation);
                (charter_backend::contract::reference::anchor("op", &name), found)
            })
            .collect(),
        related,
        incidents: detail.incidents,
        provenance: detail.provenance,
    })
}

/// What links to a document or its requirements: (target, from document, its kind, line).
#[server]
pub async fn document_backlinks(id: String, branch: String) -> Result<Vec<(String, Backlink)>, AppError> {
    let (state, project, id) = crate::context::resolve_document(&id, charter_types::Permission::Read).await?;
    Ok(charter_backend::structure::document_backlinks(&state.db, &project, id, &branch)
        .await?
        .into_iter()
        .map(|link| {
            let item = Backlink { document_id: link.document_id, title: link.title, kind: link.kind, line: link.line };
            (link.target, item)
        })
        .collect())
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
pub(crate) fn SpecTabs(current: &'static str) -> impl IntoView {
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
            {tab("duplicates", "Possible duplicates")}
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
                                {items.into_iter().map(|RequirementRow { requirement: item, title_html }| {
                                    let href = on_branch(&format!("/p/{slug}/req/{}", item.key), &branch);
                                    let doc_href = on_branch(&format!("/p/{slug}/doc/{}", item.document_id), &branch);
                                    view! {
                                        <tr>
                                            <td><A href=href attr:class="req-key">{item.key.clone()}</A>
                                                {item.priority.clone().map(|p| view! { <span class="badge">{p}</span> })}</td>
                                            <td inner_html=title_html></td>
                                            <td><A href=doc_href>{item.document.clone()}</A></td>
                                            <td><span class=format!("badge status-{}", item.status)>{status_label(item.status)}</span></td>
                                            <td>{match item.coverage.as_ref().map(|coverage| coverage.status) {
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
                let coverage = match (r.coverage.clone(), page.checked_commit.clone()) {
                    (Some(coverage), Some(commit)) => view! {
                        <p><span class=format!("badge coverage-{}", coverage.status)>{coverage_label(coverage.status)}</span>
                           {format!(" Named in {} test place(s) and {} code place(s), checked at commit {}", coverage.tests, coverage.code, commit.chars().take(12).collect::<String>())}
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
                        <div class="requirement-text markdown" inner_html=page.text_html.clone()></div>
                        {page.provenance.clone().into_iter().map(|from| {
                            let href = format!("/p/{slug}/incidents/{}", from.incident_id);
                            let cr = format!("/p/{slug}/changes/{}", from.change_request);
                            let verb = match from.mode { charter_types::DraftMode::New => "Added", charter_types::DraftMode::Amend => "Amended" };
                            view! { <p class="provenance">{verb} " after incident " <A href=href>{from.incident_title.clone()}</A>
                                " (" <A href=cr>{format!("change request #{}", from.change_request)}</A> ", merged " <Time at=from.merged_at /> ")"</p> }
                        }).collect_view()}
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
                        <section aria-labelledby="incidents">
                            <h2 id="incidents">"Incidents"</h2>
                            {if page.incidents.is_empty() {
                                view! { <p class="muted">"No incident from production has been linked to it."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="requirement-incidents">
                                        {page.incidents.clone().into_iter().map(|incident| {
                                            let href = format!("/p/{slug}/incidents/{}", incident.id);
                                            view! { <li><A href=href>{incident.title.clone()}</A>
                                                " " <span class=format!("badge incident-severity-{}", incident.severity)>{incident.severity.as_str()}</span>
                                                {incident.regression.then(|| view! { " " <span class="badge regression">"regression"</span> })}
                                                <small class="muted">{format!(" {} · {} · last seen ", incident.source, incident.status)}<Time at=incident.last_seen /></small></li> }
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        </section>
                        {(!page.operations.is_empty()).then(|| view! {
                            <section aria-labelledby="operations">
                                <h2 id="operations">"Carried out by"</h2>
                                <ul class="backlinks">
                                    {page.operations.clone().into_iter().map(|(anchor, found)| {
                                        let href = format!("{}#{anchor}", on_branch(&format!("/p/{slug}/doc/{}", found.document_id), &branch));
                                        let name = format!("{} {}", found.operation.method.as_str().to_uppercase(), found.operation.path);
                                        view! { <li><A href=href><code>{name}</code></A>
                                            {found.operation.summary.clone().map(|summary| view! { " " {summary} })}
                                            <small class="muted">{format!(" in {}", found.document)}</small></li> }
                                    }).collect_view()}
                                </ul>
                            </section>
                        })}
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
                        <section aria-labelledby="related">
                            <h2 id="related">"Related requirements"</h2>
                            {page.related.notice.clone().map(|notice| view! { <p class="muted">{notice}</p> })}
                            {if page.related.related.is_empty() && page.related.notice.is_none() {
                                view! { <p class="muted">"No other requirement on this branch says anything close."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="related">
                                        {page.related.related.clone().into_iter().map(|near| {
                                            let href = on_branch(&format!("/p/{slug}/req/{}", crate::components::urlencode(&near.key)), &branch);
                                            let place = if near.same_document { "this document".to_owned() } else { near.document.clone() };
                                            view! { <li><A href=href attr:class="req-key">{near.key.clone()}</A> {near.title.clone()}
                                                <small class="muted">{format!(" in {place} · {:.0}% alike", near.similarity * 100.0)}</small></li> }
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
