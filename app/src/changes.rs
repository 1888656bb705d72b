//! Change requests in the browser: the list, opening one, and its page with the
//! per-document changes, conflicts (and their resolution), reviews, discussion and
//! merging; and the history of versions.

use charter_types::{ChangeKind, ChangeRequestState, Permission};
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::components::{FormError, Loaded, LoadedList, Loading, Time};
use crate::error::AppError;
use crate::projects::{on_branch, project_branches, ProjectCtx};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeSummary {
    pub number: i32,
    pub title: String,
    pub state: ChangeRequestState,
    pub source: String,
    pub target: String,
    pub author: String,
    pub created_at: DateTime<Utc>,
}

/// A line of a diff in runs: `true` where the words differ from the paired line.
pub type Segments = Vec<(bool, String)>;

/// One changed stretch: the lines before and the lines after.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiffHunk {
    pub old: Vec<Segments>,
    pub new: Vec<Segments>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangedDocument {
    pub document_id: Uuid,
    pub title: String,
    pub changes: Vec<ChangeKind>,
    pub lines_added: usize,
    pub lines_removed: usize,
    pub sections: Vec<String>,
    pub hunks: Vec<DiffHunk>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConflictInfo {
    pub document_id: Uuid,
    pub title: String,
    pub base: String,
    pub ours: String,
    pub theirs: String,
    /// The source's whole text, to edit into the resolution.
    pub source_text: String,
    /// The source's whole text with the target's version of this region.
    pub target_pick: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewInfo {
    pub user: String,
    pub approve: bool,
    pub comment: String,
    pub stale: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommentInfo {
    pub author: String,
    pub body: String,
    /// Where the comment points: a document's title and a line of its diff.
    pub place: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeDetail {
    pub summary: ChangeSummary,
    pub description: String,
    pub approvals: Vec<(String, bool)>,
    pub required_approvals: i32,
    pub approved: bool,
    pub documents: Vec<ChangedDocument>,
    pub conflicts: Vec<ConflictInfo>,
    pub overlaps: Vec<(i32, String, String)>,
    pub reviews: Vec<ReviewInfo>,
    pub comments: Vec<CommentInfo>,
    /// Lint findings in the changed documents.
    pub findings: Vec<crate::structure::FindingInfo>,
    pub lint_errors: usize,
    /// Who merged despite errors, and why.
    pub lint_override: Option<(String, String)>,
    pub constitution: Option<ConstitutionInfo>,
}

/// A change to the constitution: the version bump it implies and its impact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConstitutionInfo {
    pub current_version: Option<String>,
    pub proposed_bump: String,
    pub proposed_version: String,
    /// What changed per principle, e.g. "P-03 removed (major)".
    pub reasons: Vec<String>,
    /// Confirmed bump, by whom, and whether the source changed since.
    pub confirmed: Option<(String, String, bool)>,
    pub next_version: Option<String>,
    /// Affected specs: id, title, principles named, violations.
    pub impact: Vec<(Uuid, String, Vec<String>, Vec<String>)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionInfo {
    pub id: Uuid,
    pub number: i32,
    pub message: String,
    pub author: String,
    pub change_request: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub approvers: Vec<String>,
}

#[cfg(feature = "ssr")]
fn summary(summary: charter_backend::change_requests::Summary) -> ChangeSummary {
    ChangeSummary {
        number: summary.number,
        title: summary.title,
        state: summary.state,
        source: summary.source,
        target: summary.target,
        author: summary.author,
        created_at: summary.created_at,
    }
}

/// A line change with word-level highlighting: removed and added lines are paired in
/// order; a line without a partner is changed as a whole.
#[cfg(feature = "ssr")]
fn hunk(change: charter_backend::merge::LineChange) -> DiffHunk {
    let whole = |line: &String| vec![(false, line.clone())];
    let paired = change.old.len().min(change.new.len());
    let (mut old, mut new) = (Vec::new(), Vec::new());
    for (before, after) in change.old.iter().zip(&change.new) {
        let (was, is) = charter_backend::merge::word_changes(before, after);
        old.push(was);
        new.push(is);
    }
    old.extend(change.old[paired..].iter().map(whole));
    new.extend(change.new[paired..].iter().map(whole));
    DiffHunk { old, new }
}

#[server]
pub async fn list_changes(slug: String) -> Result<Vec<ChangeSummary>, AppError> {
    use charter_backend::change_requests::{self, StateQuery};
    let (state, actor, project) = crate::projects::resolve(&slug).await?;
    let list = change_requests::list(&state.db, &actor, project.id, StateQuery::default()).await?;
    Ok(list.into_iter().map(summary).collect())
}

#[server]
pub async fn open_change(
    slug: String,
    source: String,
    target: String,
    title: String,
    description: String,
) -> Result<i32, AppError> {
    use charter_backend::change_requests::{self, NewChangeRequest};
    let (state, actor, project) = crate::projects::resolve(&slug).await?;
    let new = NewChangeRequest { source, target, title, description: Some(description) };
    let created = change_requests::create(&state.db, &actor, project.id, new).await?;
    leptos_axum::redirect(&format!("/p/{slug}/changes/{}", created.number));
    Ok(created.number)
}

#[server]
pub async fn change_view(slug: String, number: i32) -> Result<ChangeDetail, AppError> {
    use charter_backend::change_requests;
    use charter_backend::collab::DocKey;
    use charter_types::Verdict;
    let (state, actor, project) = crate::projects::resolve(&slug).await?;
    let view = change_requests::get(&state.db, &actor, project.id, number).await?;
    let source = charter_backend::branches::resolve(&state.db, project.id, &view.summary.source).await?;
    let constitution = view.constitution.clone().map(|change| {
        let mut reasons: Vec<String> = change
            .proposal
            .principles
            .iter()
            .map(|p| format!("{} {} — {} ({})", p.key, p.title, p.change, p.bump))
            .collect();
        if change.proposal.other_text_changed {
            reasons.push("Text outside the principles changed (patch)".into());
        }
        ConstitutionInfo {
            current_version: change.current_version.clone(),
            proposed_bump: change.proposal.bump.to_string(),
            proposed_version: change.proposed_version.clone(),
            reasons,
            confirmed: change.confirmed.clone().map(|c| (c.bump.to_string(), c.by, c.stale)),
            next_version: change.next_version.clone(),
            impact: change
                .impact
                .into_iter()
                .map(|i| (i.document_id, i.title, i.references, i.findings.into_iter().map(|f| f.message).collect()))
                .collect(),
        }
    });
    let lint_override = view.checks.lint_override.clone().map(|o| (o.by, o.reason));
    let lint_errors = view.checks.errors;
    let findings = view.checks.findings.clone().into_iter().map(crate::structure::finding).collect();
    let titles: std::collections::HashMap<Uuid, String> =
        view.documents.iter().map(|document| (document.document_id, document.title.clone())).collect();
    let mut conflicts = Vec::new();
    for conflict in view.conflicts {
        let mut conn = state.db.acquire().await.map_err(charter_backend::Error::from)?;
        let key = DocKey { branch_id: source, document_id: conflict.document_id };
        let source_text = charter_backend::content::read(&mut conn, key).await?;
        // The source holds its side of the region verbatim; an empty side (a pure
        // insertion) has no place to swap, and the pick leaves the text as it is.
        let target_pick = if conflict.theirs.is_empty() {
            source_text.clone()
        } else {
            source_text.replacen(&conflict.theirs, &conflict.ours, 1)
        };
        conflicts.push(ConflictInfo {
            target_pick,
            document_id: conflict.document_id,
            title: conflict.title,
            base: conflict.base,
            ours: conflict.ours,
            theirs: conflict.theirs,
            source_text,
        });
    }
    Ok(ChangeDetail {
        findings,
        lint_errors,
        lint_override,
        constitution,
        summary: summary(view.summary),
        description: view.description,
        approvals: view.approvals.into_iter().map(|approval| (approval.user, approval.stale)).collect(),
        required_approvals: view.required_approvals,
        approved: view.approved,
        documents: view
            .documents
            .into_iter()
            .map(|document| ChangedDocument {
                document_id: document.document_id,
                title: document.title,
                changes: document.changes,
                lines_added: document.lines_added,
                lines_removed: document.lines_removed,
                sections: document
                    .sections
                    .added
                    .iter()
                    .map(|section| format!("+ {section}"))
                    .chain(document.sections.modified.iter().map(|section| format!("~ {section}")))
                    .chain(document.sections.removed.iter().map(|section| format!("− {section}")))
                    .collect(),
                hunks: document.diff.into_iter().map(hunk).collect(),
            })
            .collect(),
        conflicts,
        overlaps: view.overlaps.into_iter().map(|overlap| (overlap.number, overlap.title, overlap.document)).collect(),
        reviews: view
            .reviews
            .into_iter()
            .map(|review| ReviewInfo {
                user: review.user,
                approve: review.verdict == Verdict::Approve,
                comment: review.comment,
                stale: review.stale,
            })
            .collect(),
        comments: view
            .comments
            .into_iter()
            .map(|comment| {
                let title =
                    comment.document_id.map(|id| titles.get(&id).cloned().unwrap_or_else(|| "a document".into()));
                let place = match (title, comment.line) {
                    (Some(title), Some(line)) => Some(format!("on {title}, line {line}")),
                    (Some(title), None) => Some(format!("on {title}")),
                    _ => None,
                };
                CommentInfo { author: comment.author, body: comment.body, place, created_at: comment.created_at }
            })
            .collect(),
    })
}

#[server]
pub async fn review_change(slug: String, number: i32, verdict: String, comment: String) -> Result<(), AppError> {
    use charter_backend::change_requests::{self, NewReview};
    use charter_types::Verdict;
    let (state, actor, project) = crate::projects::resolve(&slug).await?;
    let verdict = if verdict == "approve" { Verdict::Approve } else { Verdict::RequestChanges };
    change_requests::review(&state.db, &actor, project.id, number, NewReview { verdict, comment: Some(comment) })
        .await?;
    Ok(())
}

#[server]
pub async fn comment_change(
    slug: String,
    number: i32,
    body: String,
    document_id: Option<String>,
    line: Option<String>,
) -> Result<(), AppError> {
    use charter_backend::change_requests::{self, NewComment};
    let (state, actor, project) = crate::projects::resolve(&slug).await?;
    let document_id =
        document_id.filter(|id| !id.is_empty()).map(|id| crate::ssr::parse_id(&id, "document")).transpose()?;
    let line = match line.as_deref().map(str::trim).filter(|line| !line.is_empty()) {
        Some(line) => {
            Some(line.parse::<i32>().map_err(|_| AppError::Invalid(format!("`{line}` is not a line number")))?)
        }
        None => None,
    };
    let new = NewComment { body, document_id, line };
    change_requests::comment(&state.db, &actor, project.id, number, new).await?;
    Ok(())
}

#[server]
pub async fn resolve_change(slug: String, number: i32, document_id: String, content: String) -> Result<(), AppError> {
    use charter_backend::change_requests::{self, Resolution};
    let (state, actor, project) = crate::projects::resolve(&slug).await?;
    let document_id = crate::ssr::parse_id(&document_id, "document")?;
    change_requests::resolve(&state, &actor, project.id, number, Resolution { document_id, content }).await?;
    Ok(())
}

#[server]
pub async fn merge_change(
    slug: String,
    number: i32,
    message: String,
    override_reason: Option<String>,
) -> Result<i32, AppError> {
    use charter_backend::change_requests::{self, MergeRequest};
    let (state, actor, project) = crate::projects::resolve(&slug).await?;
    let merged = change_requests::merge(
        &state,
        &actor,
        project.id,
        number,
        MergeRequest { message: Some(message), override_reason },
    )
    .await?;
    Ok(merged.version.number)
}

#[server]
pub async fn confirm_bump(slug: String, number: i32, bump: String) -> Result<(), AppError> {
    use charter_backend::change_requests::{self, BumpConfirmation};
    let (state, actor, project) = crate::projects::resolve(&slug).await?;
    let bump = bump.parse().map_err(|_| AppError::Invalid("choose major, minor or patch".into()))?;
    change_requests::confirm_bump(&state.db, &actor, project.id, number, BumpConfirmation { bump }).await?;
    Ok(())
}

#[server]
pub async fn project_versions(slug: String, branch: String) -> Result<Vec<VersionInfo>, AppError> {
    let (state, actor, project) = crate::projects::resolve(&slug).await?;
    let versions = charter_backend::history::list(&state.db, &actor, project.id, &branch).await?;
    Ok(versions
        .into_iter()
        .map(|version| VersionInfo {
            id: version.id,
            number: version.number,
            message: version.message,
            author: version.author,
            change_request: version.change_request,
            created_at: version.created_at,
            approvers: version.approvers,
        })
        .collect())
}

#[server]
pub async fn tag_version(slug: String, version: String, name: String) -> Result<String, AppError> {
    use charter_backend::history::{self, NewTag};
    let (state, actor, project) = crate::projects::resolve(&slug).await?;
    let version = crate::ssr::parse_id(&version, "version")?;
    let tag = history::tag(&state.db, &actor, project.id, NewTag { name, version }).await?;
    Ok(tag.name)
}

#[server]
pub async fn restore_version(slug: String, version: String) -> Result<i32, AppError> {
    let (state, actor, project) = crate::projects::resolve(&slug).await?;
    let created = charter_backend::history::restore(&state, &actor, project.id, &version).await?;
    leptos_axum::redirect(&format!("/p/{slug}/changes/{}", created.number));
    Ok(created.number)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionedDocument {
    pub title: String,
    pub version: i32,
    pub html: String,
    /// From the version to the document as it is now on the branch.
    pub since: Vec<DiffHunk>,
}

#[server]
pub async fn document_at_version(
    id: String,
    version: String,
    branch: String,
    to: Option<String>,
) -> Result<VersionedDocument, AppError> {
    use charter_backend::history::{self, DiffQuery};
    let (state, actor) = crate::ssr::actor().await?;
    let id = crate::ssr::parse_id(&id, "document")?;
    let at = history::at(&state.db, &actor, id, &version).await?;
    let to = to.filter(|to| !to.is_empty());
    let diff =
        history::diff(&state.db, &actor, id, DiffQuery { from: Some(version), to, branch: Some(branch) }).await?;
    Ok(VersionedDocument {
        title: at.title,
        version: at.version.number,
        html: charter_backend::markdown::render(at.content).await?,
        since: diff.changes.into_iter().map(hunk).collect(),
    })
}

/// A document as it stood at a version, compared with now or with any other version.
#[component]
pub fn DocumentAtVersionPage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let params = use_params_map();
    let query = leptos_router::hooks::use_query_map();
    let side_by_side = RwSignal::new(false);
    let to = Memo::new(move |_| query.read().get("to").filter(|to| !to.is_empty()));
    let found = Resource::new(
        move || {
            let params = params.read();
            (
                params.get("doc").unwrap_or_default(),
                params.get("version").unwrap_or_default(),
                ctx.branch.get(),
                to.get(),
            )
        },
        |(doc, version, branch, to)| document_at_version(doc, version, branch, to),
    );
    let versions =
        Resource::new(move || (ctx.slug.get(), ctx.branch.get()), |(slug, branch)| project_versions(slug, branch));
    let navigate = leptos_router::hooks::use_navigate();
    let location = leptos_router::hooks::use_location();
    let compare = move |ev: leptos::ev::Event| {
        let chosen = event_target_value(&ev);
        let path = on_branch(&location.pathname.get_untracked(), &ctx.branch.get_untracked());
        let target = if chosen.is_empty() {
            path
        } else {
            let joiner = if path.contains('?') { '&' } else { '?' };
            format!("{path}{joiner}to={}", crate::components::urlencode(&chosen))
        };
        navigate(&target, Default::default());
    };
    view! {
        <Loaded load=move || async move { Ok((versions.await.unwrap_or_default(), found.await?)) } let:loaded>
            {
                let (list, at) = loaded;
                let chosen = to.get_untracked().unwrap_or_default();
                let compare = compare.clone();
                view! {
                    <Title text=format!("{} at version {}", at.title, at.version) />
                    <div class="page-head">
                        <h1>{format!("{} at version {}", at.title, at.version)}</h1>
                    </div>
                    <div class="markdown" inner_html=at.html.clone()></div>
                    <section aria-labelledby="since">
                        <h2 id="since">"What changed after it"</h2>
                        <label>"Compare with"
                            <select on:change=compare>
                                <option value="" selected=chosen.is_empty()>{format!("now, on {}", ctx.branch.get_untracked())}</option>
                                {list.into_iter().map(|version| {
                                    let id = version.id.to_string();
                                    let selected = id == chosen;
                                    view! { <option value=id selected=selected>{format!("Version {}", version.number)}</option> }
                                }).collect_view()}
                            </select>
                        </label>
                        {if at.since.is_empty() {
                            view! { <p class="muted">"Nothing: it is the same."</p> }.into_any()
                        } else {
                            view! {
                                <div class="actions" role="group" aria-label="Diff layout">
                                    <button type="button" class="small" on:click=move |_| side_by_side.set(false)>"Inline"</button>
                                    <button type="button" class="small" on:click=move |_| side_by_side.set(true)>"Side by side"</button>
                                </div>
                                {diff_view(&at.since, side_by_side)}
                            }.into_any()
                        }}
                    </section>
                }
            }
        </Loaded>
    }
}

#[component]
pub fn ChangesPage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let open = ServerAction::<OpenChange>::new();
    let changes = Resource::new(move || (ctx.slug.get(), open.version().get()), |(slug, _)| list_changes(slug));
    let branches = Resource::new(move || ctx.slug.get(), project_branches);
    view! {
        <Title text="Change requests" />
        <div class="page-head"><h1>"Change requests"</h1></div>
        <div class="two-column">
            <section aria-label="Change requests">
                <LoadedList
                    load=move || async move { changes.await }
                    empty_title="No change requests yet"
                    empty=|| view! { <p>"Draft a change on a branch, then open a change request to have it reviewed and merged."</p> }
                    let:list
                >
                    {
                        let slug = ctx.slug.get_untracked();
                        view! {
                            <ul class="card-list">
                                {list.into_iter().map(|change| view! {
                                    <li class="card">
                                        <A href=format!("/p/{slug}/changes/{}", change.number)>{format!("#{} {}", change.number, change.title)}</A>
                                        <span class=format!("badge state-{}", change.state)>{change.state.as_str()}</span>
                                        <small class="muted">{format!("{} → {}, by {}", change.source, change.target, change.author)}</small>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }
                    }
                </LoadedList>
            </section>
            <section class="card" aria-labelledby="open-change">
                <h2 id="open-change">"Open a change request"</h2>
                <Transition fallback=|| view! { <Loading /> }>
                    {move || Suspend::new(async move {
                        let names: Vec<String> = branches.await.unwrap_or_default().into_iter().map(|branch| branch.name).collect();
                        let current = ctx.branch.get_untracked();
                        let options = move |selected: String| names.clone().into_iter().map(move |name| {
                            let is = name == selected;
                            view! { <option value=name.clone() selected=is>{name.clone()}</option> }
                        }).collect_view();
                        view! {
                            <ActionForm action=open attr:class="stack">
                                <input type="hidden" name="slug" value=ctx.slug.get_untracked() />
                                <label>"From" <select name="source">{options(current.clone())}</select></label>
                                <label>"Into" <select name="target">{options("main".into())}</select></label>
                                <label>"Title" <input name="title" required maxlength="200" /></label>
                                <label>"Why" <textarea name="description" rows="4"></textarea></label>
                                <FormError result=open.value().into() />
                                <button type="submit" class="primary">"Open change request"</button>
                            </ActionForm>
                        }
                    })}
                </Transition>
            </section>
        </div>
    }
}

#[component]
pub fn ChangePage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let params = use_params_map();
    let number =
        Memo::new(move |_| params.read().get("number").and_then(|number| number.parse::<i32>().ok()).unwrap_or(0));
    let review = ServerAction::<ReviewChange>::new();
    let comment = ServerAction::<CommentChange>::new();
    let resolve = ServerAction::<ResolveChange>::new();
    let merge = ServerAction::<MergeChange>::new();
    let confirm = ServerAction::<ConfirmBump>::new();
    let side_by_side = RwSignal::new(false);
    let view_resource = Resource::new(
        move || {
            (
                ctx.slug.get(),
                number.get(),
                review.version().get(),
                comment.version().get(),
                resolve.version().get(),
                merge.version().get(),
                confirm.version().get(),
            )
        },
        |(slug, number, ..)| change_view(slug, number),
    );
    view! {
        <Loaded load=move || async move { Ok((ctx.project.await?, view_resource.await?)) } let:loaded>
            {
                let (project, change) = loaded;
                let slug = project.slug.clone();
                let number = change.summary.number;
                let open = change.summary.state == ChangeRequestState::Open;
                let can_review = project.role.allows(Permission::Review);
                let can_write = project.role.allows(Permission::Write);
                let can_manage = project.role.allows(Permission::Manage);
                let bump_ready = change.constitution.as_ref().is_none_or(|c| c.confirmed.as_ref().is_some_and(|(_, _, stale)| !stale));
                let lint_ready = change.lint_errors == 0 || can_manage;
                let mergeable = open && change.approved && change.conflicts.is_empty() && can_write && bump_ready && lint_ready;
                let needs_override = change.lint_errors > 0;
                let checks_view = view! {
                    <section class="card" aria-labelledby="checks">
                        <h2 id="checks">"Checks"</h2>
                        {if change.findings.is_empty() {
                            view! { <p role="status">"The changed documents pass every check."</p> }.into_any()
                        } else {
                            view! {
                                <p role="status">{format!("{} finding(s) in the changed documents, {} error(s).", change.findings.len(), change.lint_errors)}
                                    {(change.lint_errors > 0).then_some(" Errors block merging unless an owner merges with a recorded reason.")}</p>
                                <ul class="findings">
                                    {change.findings.clone().into_iter().map(|f| view! {
                                        <li class=format!("finding severity-{}", f.severity)>
                                            <span class=format!("badge severity-{}", f.severity)>{f.severity.as_str()}</span>
                                            {format!(" {} line {}: {} ", f.document, f.line, f.message)}
                                            <code class="muted">{f.rule.clone()}</code>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            }.into_any()
                        }}
                        {change.lint_override.clone().map(|(by, reason)| view! {
                            <p class="notice">{format!("Merged despite lint errors by {by}: {reason}")}</p>
                        })}
                    </section>
                };
                let constitution_view = change.constitution.clone().map(|c| {
                    let slug = slug.clone();
                    let current = c.current_version.clone().unwrap_or_else(|| "none".into());
                    let confirm_form = (open && can_review).then(|| {
                        let proposed = c.proposed_bump.clone();
                        view! {
                            <ActionForm action=confirm attr:class="row">
                                <input type="hidden" name="slug" value=slug />
                                <input type="hidden" name="number" value=number.to_string() />
                                <label>"Bump"
                                    <select name="bump">
                                        {["major", "minor", "patch"].into_iter().map(|b| view! {
                                            <option value=b selected=b == proposed>{b}</option>
                                        }).collect_view()}
                                    </select>
                                </label>
                                <button type="submit">"Confirm bump"</button>
                            </ActionForm>
                            <FormError result=confirm.value().into() />
                        }
                    });
                    view! {
                        <section class="card constitution-change" aria-labelledby="constitution-change">
                            <h2 id="constitution-change">"Constitution version"</h2>
                            <p>{format!("This change proposes a {} bump: {} → {}.", c.proposed_bump.to_uppercase(), current, c.proposed_version)}</p>
                            <ul>{c.reasons.clone().into_iter().map(|r| view! { <li>{r}</li> }).collect_view()}</ul>
                            {match c.confirmed.clone() {
                                Some((bump, by, false)) => view! { <p role="status" class="confirmed">{format!("{by} confirmed a {bump} bump: merging makes it {}.", c.next_version.clone().unwrap_or_default())}</p> }.into_any(),
                                Some((bump, by, true)) => view! { <p role="status" class="notice">{format!("{by} confirmed a {bump} bump, but the change has moved on since: confirm again.")}</p> }.into_any(),
                                None => view! { <p role="status" class="muted">"A reviewer confirms the bump before merging."</p> }.into_any(),
                            }}
                            {confirm_form}
                            {(!c.impact.is_empty()).then(|| view! {
                                <h3>"Impact report"</h3>
                                <p class="muted">"Specs that name a removed or redefined principle, or break the new constitution:"</p>
                                <ul class="impact">
                                    {c.impact.clone().into_iter().map(|(id, title, refs, findings)| {
                                        let href = on_branch(&format!("/p/{}/doc/{id}", project.slug), &change.summary.source);
                                        view! {
                                            <li><A href=href>{title.clone()}</A>
                                                {(!refs.is_empty()).then(|| format!(" names {}", refs.join(", ")))}
                                                <ul>{findings.into_iter().map(|f| view! { <li>{f}</li> }).collect_view()}</ul>
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            })}
                        </section>
                    }
                });
                let (slug_review, slug_comment, slug_merge) = (slug.clone(), slug.clone(), slug.clone());
                let (target, source) = (change.summary.target.clone(), change.summary.source.clone());
                let items = change.conflicts.clone().into_iter().map(|conflict| {
                    let (slug, document) = (slug.clone(), conflict.document_id.to_string());
                    let text = RwSignal::new(conflict.source_text.clone());
                    let (ours_pick, theirs_pick) = (conflict.target_pick.clone(), conflict.source_text.clone());
                    let (use_target, use_source) = (format!("Use {target}'s text"), format!("Use {source}'s text"));
                    let resolution = open.then(|| view! {
                        <ActionForm action=resolve attr:class="stack">
                            <input type="hidden" name="slug" value=slug />
                            <input type="hidden" name="number" value=number.to_string() />
                            <input type="hidden" name="document_id" value=document />
                            <div class="actions">
                                <button type="button" class="small" on:click=move |_| text.set(ours_pick.clone())>
                                    {use_target}
                                </button>
                                <button type="button" class="small" on:click=move |_| text.set(theirs_pick.clone())>
                                    {use_source}
                                </button>
                            </div>
                            <label>"Resolved text of the whole document"
                                <textarea name="content" rows="10" prop:value=move || text.get()
                                    on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                            </label>
                            <FormError result=resolve.value().into() />
                            <button type="submit">"Record resolution"</button>
                        </ActionForm>
                    });
                    view! {
                        <article class="card conflict">
                            <h3>{conflict.title.clone()}</h3>
                            <div class="conflict-sides">
                                <div><h4>"Before"</h4><pre>{conflict.base.clone()}</pre></div>
                                <div><h4>{format!("On {target}")}</h4><pre>{conflict.ours.clone()}</pre></div>
                                <div><h4>{format!("On {source}")}</h4><pre>{conflict.theirs.clone()}</pre></div>
                            </div>
                            {resolution}
                        </article>
                    }
                }).collect_view();
                let documents_view = change.documents.clone().into_iter().map(|document| {
                    let line_form = can_write.then(|| {
                        let (slug, id) = (slug.clone(), document.document_id.to_string());
                        view! {
                            <details class="line-comment">
                                <summary>"Comment on a line"</summary>
                                <ActionForm action=comment attr:class="row">
                                    <input type="hidden" name="slug" value=slug />
                                    <input type="hidden" name="number" value=number.to_string() />
                                    <input type="hidden" name="document_id" value=id />
                                    <label>"Line" <input name="line" type="number" min="1" required /></label>
                                    <label>"Comment on the line" <input name="body" required /></label>
                                    <button type="submit" class="small">"Comment"</button>
                                </ActionForm>
                            </details>
                        }
                    });
                    let sections = (!document.sections.is_empty()).then(|| format!(" · sections: {}", document.sections.join(", ")));
                    view! {
                        <article class="card changed-document">
                            <h3>{document.title.clone()} " "
                                {document.changes.iter().map(|c| view! { <span class="badge">{c.as_str()}</span> }).collect_view()}
                            </h3>
                            <p class="muted">{format!("+{} −{} lines", document.lines_added, document.lines_removed)} {sections}</p>
                            {diff_view(&document.hunks, side_by_side)}
                            {line_form}
                        </article>
                    }
                }).collect_view();
                let conflicts_view = (!change.conflicts.is_empty()).then(|| view! {
                    <section aria-labelledby="conflicts">
                        <h2 id="conflicts">"Conflicts"</h2>
                        {items}
                    </section>
                });
                view! {
                    <Title text=format!("#{number} {}", change.summary.title) />
                    <div class="page-head">
                        <h1>{format!("#{number} {}", change.summary.title)}</h1>
                        <p class="muted">
                            <span class=format!("badge state-{}", change.summary.state)>{change.summary.state.as_str()}</span>
                            {format!(" {} → {}, opened by {} ", change.summary.source, change.summary.target, change.summary.author)}
                            <Time at=change.summary.created_at />
                        </p>
                        {(!change.description.is_empty()).then(|| view! { <p>{change.description.clone()}</p> })}
                    </div>
                    <section class="card approvals" aria-label="Approvals">
                        <p>{format!("Approvals: {} of {} needed", change.approvals.iter().filter(|(_, stale)| !stale).count(), change.required_approvals)}</p>
                        <ul>
                            {change.approvals.iter().map(|(user, stale)| view! {
                                <li>{user.clone()} {stale.then_some(" (stale: the branch changed since)")}</li>
                            }).collect_view()}
                        </ul>
                        {change.overlaps.iter().map(|(other, title, document)| view! {
                            <p class="notice">{format!("Overlaps with #{other} {title} in {document}.")}</p>
                        }).collect_view()}
                    </section>
                    {conflicts_view}
                    <section aria-labelledby="changed-documents">
                        <h2 id="changed-documents">"Documents"</h2>
                        <div class="actions" role="group" aria-label="Diff layout">
                            <button type="button" class="small" aria-pressed=move || (!side_by_side.get()).to_string()
                                on:click=move |_| side_by_side.set(false)>"Inline"</button>
                            <button type="button" class="small" aria-pressed=move || side_by_side.get().to_string()
                                on:click=move |_| side_by_side.set(true)>"Side by side"</button>
                        </div>
                        {documents_view}
                    </section>
                    <section aria-labelledby="reviews">
                        <h2 id="reviews">"Reviews"</h2>
                        <ul class="activity">
                            {change.reviews.iter().map(|review| view! {
                                <li><strong>{review.user.clone()}</strong>
                                    {if review.approve { " approved" } else { " requested changes" }}
                                    {review.stale.then_some(" (stale)")}
                                    {(!review.comment.is_empty()).then(|| format!(": {}", review.comment))}</li>
                            }).collect_view()}
                        </ul>
                        {(open && can_review).then(|| view! {
                            <ActionForm action=review attr:class="stack">
                                <input type="hidden" name="slug" value=slug_review />
                                <input type="hidden" name="number" value=number.to_string() />
                                <label>"Review comment" <textarea name="comment" rows="3"></textarea></label>
                                <FormError result=review.value().into() />
                                <fieldset>
                                    <legend>"Verdict"</legend>
                                    <label class="check"><input type="radio" name="verdict" value="approve" checked=true /> "Approve"</label>
                                    <label class="check"><input type="radio" name="verdict" value="request_changes" /> "Request changes"</label>
                                </fieldset>
                                <button type="submit" class="primary">"Submit review"</button>
                            </ActionForm>
                        })}
                    </section>
                    <section aria-labelledby="discussion">
                        <h2 id="discussion">"Discussion"</h2>
                        <ul class="activity">
                            {change.comments.iter().map(|comment| view! {
                                <li><strong>{comment.author.clone()}</strong>
                                    {comment.place.clone().map(|place| view! { <em>{format!(" {place}")}</em> })}
                                    " " {comment.body.clone()}
                                    <small class="muted"><Time at=comment.created_at /></small></li>
                            }).collect_view()}
                        </ul>
                        {can_write.then(|| view! {
                            <ActionForm action=comment attr:class="stack">
                                <input type="hidden" name="slug" value=slug_comment />
                                <input type="hidden" name="number" value=number.to_string() />
                                <label>"Comment" <textarea name="body" rows="3" required></textarea></label>
                                <FormError result=comment.value().into() />
                                <button type="submit">"Comment"</button>
                            </ActionForm>
                        })}
                    </section>
                    {checks_view}
                    {constitution_view}
                    {open.then(|| view! {
                        <section class="card" aria-labelledby="merge">
                            <h2 id="merge">"Merge"</h2>
                            {(!mergeable).then(|| view! {
                                <p class="muted">"Merging needs enough approvals that are not stale, no conflicts, no lint errors (or an owner's reason), and a confirmed constitution bump when the constitution changes."</p>
                            })}
                            <ActionForm action=merge attr:class="row">
                                <input type="hidden" name="slug" value=slug_merge />
                                <input type="hidden" name="number" value=number.to_string() />
                                <label>"Message" <input name="message" value=change.summary.title.clone() /></label>
                                {(needs_override && can_manage).then(|| view! {
                                    <label>"Reason to merge despite lint errors"
                                        <input name="override_reason" required maxlength="1000" /></label>
                                })}
                                <button type="submit" class="primary" disabled=!mergeable>"Merge"</button>
                            </ActionForm>
                            <FormError result=merge.value().into() />
                        </section>
                    })}
                }.into_any()
            }
        </Loaded>
    }
}

/// A line's runs, the differing words marked.
fn segments_view(segments: &Segments) -> impl IntoView {
    segments
        .iter()
        .map(|(changed, text)| {
            let text = text.trim_end_matches('\n').to_owned();
            if *changed {
                view! { <mark>{text}</mark> }.into_any()
            } else {
                text.into_any()
            }
        })
        .collect_view()
}

/// A document's diff, inline (removed lines, then added) or side by side.
fn diff_view(hunks: &[DiffHunk], side_by_side: RwSignal<bool>) -> impl IntoView {
    let hunks = hunks.to_vec();
    move || {
        if side_by_side.get() {
            view! {
                <table class="diff side-by-side">
                    <tbody>
                        {hunks.iter().map(|hunk| {
                            (0..hunk.old.len().max(hunk.new.len())).map(|row| view! {
                                <tr>
                                    <td class="removed">{hunk.old.get(row).map(segments_view)}</td>
                                    <td class="added">{hunk.new.get(row).map(segments_view)}</td>
                                </tr>
                            }).collect_view()
                        }).collect_view()}
                    </tbody>
                </table>
            }
            .into_any()
        } else {
            view! {
                <div class="diff inline">
                    {hunks.iter().map(|hunk| view! {
                        {hunk.old.iter().map(|line| view! { <div class="removed">"− " {segments_view(line)}</div> }).collect_view()}
                        {hunk.new.iter().map(|line| view! { <div class="added">"+ " {segments_view(line)}</div> }).collect_view()}
                    }).collect_view()}
                </div>
            }.into_any()
        }
    }
}

#[component]
pub fn HistoryPage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let tag = ServerAction::<TagVersion>::new();
    let restore = ServerAction::<RestoreVersion>::new();
    let versions =
        Resource::new(move || (ctx.slug.get(), ctx.branch.get()), |(slug, branch)| project_versions(slug, branch));
    view! {
        <Title text="History" />
        <div class="page-head">
            <h1>"History"</h1>
            <p class="muted">"Every merge is a version of " {move || ctx.branch.get()} ". Restoring one proposes it as a new change request; history itself never changes."</p>
        </div>
        <FormError result=tag.value().into() />
        <FormError result=restore.value().into() />
        {move || tag.value().get().and_then(Result::ok).map(|name| view! { <p class="notice" role="status">"Tagged " {name} "."</p> })}
        <LoadedList
            load=move || async move { ctx.loaded().await; versions.await }
            empty_title="No versions yet"
            empty=|| view! { <p>"Versions appear here when change requests are merged."</p> }
            let:list
        >
            {
                let slug = ctx.slug.get_untracked();
                let can_write = ctx.allows(Permission::Write);
                view! {
                    <ol class="activity versions">
                        {list.into_iter().map(|version| {
                            let (slug_tag, slug_restore, slug_link) = (slug.clone(), slug.clone(), slug.clone());
                            let (id_tag, id_restore) = (version.id.to_string(), version.id.to_string());
                            view! {
                                <li>
                                    <strong>{format!("Version {}", version.number)}</strong> " " {version.message.clone()}
                                    {version.change_request.map(|number| view! {
                                        " " <A href=format!("/p/{slug_link}/changes/{number}")>{format!("#{number}")}</A>
                                    })}
                                    <small class="muted">
                                        {format!("{}{} ", version.author,
                                            if version.approvers.is_empty() { String::new() } else { format!(", approved by {}", version.approvers.join(", ")) })}
                                        <Time at=version.created_at />
                                    </small>
                                    {can_write.then(|| view! {
                                        <ActionForm action=tag attr:class="inline">
                                            <input type="hidden" name="slug" value=slug_tag />
                                            <input type="hidden" name="version" value=id_tag />
                                            <input name="name" placeholder="v1.0.0" aria-label=format!("Tag version {}", version.number) required />
                                            <button type="submit" class="small">"Tag"</button>
                                        </ActionForm>
                                        <ActionForm action=restore attr:class="inline">
                                            <input type="hidden" name="slug" value=slug_restore />
                                            <input type="hidden" name="version" value=id_restore />
                                            <button type="submit" class="small">"Restore…"</button>
                                        </ActionForm>
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                }
            }
        </LoadedList>
    }
}

/// Where a project page's history lives on the current branch.
pub fn history_path(slug: &str, branch: &str) -> String {
    on_branch(&format!("/p/{slug}/history"), branch)
}
