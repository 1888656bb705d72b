//! Change requests in the browser: the list, opening one, and its page with the
//! per-document changes, conflicts (and their resolution), reviews, discussion,
//! merging, closing and reopening.

use charter_types::{
    Actions, Approval, ChangeKind, ChangeRequestSummary, Checks, Comment, ConstitutionChange, ContractReview,
    DocumentId, Overlap, ReviewView,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};

mod bumps;
mod page;
mod review;
mod threads;

pub use page::ChangePage;

use crate::components::{LoadedList, Loading};
use crate::context::{on_branch, ProjectCtx};
use crate::diff::DiffHunk;
use crate::error::AppError;
use crate::forms::FormError;
use crate::projects::project_branches;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangedDocument {
    pub document_id: DocumentId,
    pub title: String,
    pub changes: Vec<ChangeKind>,
    pub lines_added: usize,
    pub lines_removed: usize,
    pub sections: Vec<String>,
    pub hunks: Vec<DiffHunk>,
    /// A contract's API changes and the bump they ask for.
    pub api: Option<ContractReview>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConflictInfo {
    pub document_id: DocumentId,
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
pub struct ChangeDetail {
    pub summary: ChangeRequestSummary,
    pub description: String,
    pub approvals: Vec<Approval>,
    pub required_approvals: i32,
    pub documents: Vec<ChangedDocument>,
    pub conflicts: Vec<ConflictInfo>,
    pub overlaps: Vec<Overlap>,
    pub reviews: Vec<ReviewView>,
    pub comments: Vec<Comment>,
    /// Lint findings in the changed documents, and an owner's decision to merge despite errors.
    pub checks: Checks,
    pub constitution: Option<ConstitutionChange>,
    /// Members who may approve it (reviewers and owners, its author aside).
    pub reviewers: Vec<String>,
    /// What the viewer may do with it now.
    pub actions: Actions,
}

impl ChangeDetail {
    /// Where a comment points, in words: a document's title and a line of its diff.
    pub fn place_of(&self, comment: &Comment) -> Option<String> {
        let document = comment.document_id?;
        let title = self
            .documents
            .iter()
            .find(|changed| changed.document_id == document)
            .map_or("a document", |changed| changed.title.as_str());
        Some(match comment.line.and_then(|line| usize::try_from(line).ok()) {
            Some(line) => threads::line_place(title, comment.side, line),
            None => title.to_owned(),
        })
    }
}

/// The project's change requests: all of them, or those in `state` (`open`, `merged`, `closed`).
#[server]
pub async fn list_changes(slug: String, state: Option<String>) -> Result<Vec<ChangeRequestSummary>, AppError> {
    use charter_backend::change_requests::{self, StateQuery};
    let (app, project) = crate::context::resolve(&slug, charter_types::Permission::Read).await?;
    Ok(change_requests::list(&app.db, &project, StateQuery { state }).await?)
}

/// Opens a change request and goes to its page, on the `branch` the form was shown on.
#[server]
pub async fn open_change(
    slug: String,
    branch: String,
    source: String,
    target: String,
    title: String,
    description: String,
) -> Result<i32, AppError> {
    use charter_backend::change_requests::{self, NewChangeRequest};
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Write).await?;
    let new = NewChangeRequest { source, target, title, description: Some(description) };
    let created = change_requests::create(&state.db, &project, new).await?;
    leptos_axum::redirect(&on_branch(&format!("/p/{slug}/changes/{}", created.number), &branch));
    Ok(created.number)
}

#[server]
pub async fn change_view(slug: String, number: i32) -> Result<ChangeDetail, AppError> {
    use charter_backend::change_requests;
    use charter_backend::collab::DocKey;
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Read).await?;
    let view = change_requests::get(&state.db, &project, number).await?;
    let source = charter_backend::branches::resolve(&state.db, project.project(), &view.summary.source).await?;
    let mut conflicts = Vec::new();
    for conflict in view.conflicts {
        let mut conn = state.db.acquire().await.map_err(charter_backend::Error::from)?;
        let key = DocKey::new(source, conflict.document_id);
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
        actions: view.actions,
        reviewers: view.reviewers,
        checks: view.checks,
        constitution: view.constitution,
        summary: view.summary,
        description: view.description,
        approvals: view.approvals,
        required_approvals: view.required_approvals,
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
                hunks: document.diff.into_iter().map(crate::diff::hunk).collect(),
                api: document.api,
            })
            .collect(),
        conflicts,
        overlaps: view.overlaps,
        reviews: view.reviews,
        comments: view.comments,
    })
}

#[server]
pub async fn review_change(slug: String, number: i32, verdict: String, comment: String) -> Result<(), AppError> {
    use charter_backend::change_requests::{self, NewReview};
    use charter_types::Verdict;
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Review).await?;
    let verdict = if verdict == "approve" { Verdict::Approve } else { Verdict::RequestChanges };
    change_requests::review(&state.db, &project, number, NewReview { verdict, comment: Some(comment) }).await?;
    Ok(())
}

#[server]
pub async fn comment_change(
    slug: String,
    number: i32,
    body: String,
    document_id: Option<String>,
    line: Option<i32>,
    side: Option<String>,
    reply_to: Option<String>,
) -> Result<(), AppError> {
    use charter_backend::change_requests::{self, NewComment};
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Write).await?;
    let document_id =
        document_id.filter(|id| !id.is_empty()).map(|id| crate::ssr::parse_id(&id, "document")).transpose()?;
    let side = side
        .map(|side| side.parse().map_err(|unknown: charter_types::Unknown| AppError::BadRequest(unknown.to_string())));
    let reply_to = reply_to.filter(|id| !id.is_empty()).map(|id| crate::ssr::parse_id(&id, "comment")).transpose()?;
    let new = NewComment { body, document_id, line, side: side.transpose()?, reply_to };
    change_requests::comment(&state.db, &project, number, new).await?;
    Ok(())
}

#[server]
pub async fn resolve_thread(slug: String, number: i32, id: String, resolved: bool) -> Result<(), AppError> {
    use charter_backend::change_requests::{self, ThreadResolution};
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Write).await?;
    let id = crate::ssr::parse_id(&id, "thread")?;
    change_requests::resolve_thread(&state.db, &project, number, id, ThreadResolution { resolved }).await?;
    Ok(())
}

#[server]
pub async fn resolve_change(slug: String, number: i32, document_id: String, content: String) -> Result<(), AppError> {
    use charter_backend::change_requests::{self, Resolution};
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Write).await?;
    let document_id = crate::ssr::parse_id(&document_id, "document")?;
    change_requests::resolve(&state, &project, number, Resolution { document_id, content }).await?;
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
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Write).await?;
    let merged =
        change_requests::merge(&state, &project, number, MergeRequest { message: Some(message), override_reason })
            .await?;
    Ok(merged.version.number)
}

/// Closes an open change request unmerged (`open` false), or reopens a closed one.
#[server]
pub async fn set_change_open(slug: String, number: i32, open: bool) -> Result<(), AppError> {
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Write).await?;
    match open {
        true => charter_backend::change_requests::reopen(&state.db, &project, number).await?,
        false => charter_backend::change_requests::close(&state.db, &project, number).await?,
    };
    Ok(())
}

/// Confirms a version bump: the constitution's, or the contract `document`'s.
#[server]
pub async fn confirm_bump(slug: String, number: i32, bump: String, document: Option<String>) -> Result<(), AppError> {
    use charter_backend::change_requests::{self, BumpConfirmation};
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Review).await?;
    let bump = bump.parse().map_err(|_| AppError::Invalid("choose major, minor or patch".into()))?;
    let document_id = match document {
        Some(id) => Some(id.parse().map_err(|_| AppError::Invalid("that is not a document of this change".into()))?),
        None => None,
    };
    change_requests::confirm_bump(&state.db, &project, number, BumpConfirmation { bump, document_id }).await?;
    Ok(())
}

/// The branches a new change request proposes at first: the branch being viewed into
/// `main`, or, when that is `main` itself (or no longer exists), the first other branch.
fn default_branches(names: &[String], current: &str) -> (String, String) {
    const MAIN: &str = "main";
    let source = if current != MAIN && names.iter().any(|name| name == current) {
        current
    } else {
        names.iter().map(String::as_str).find(|name| *name != MAIN).unwrap_or(MAIN)
    };
    (source.to_owned(), MAIN.to_owned())
}

#[component]
pub fn ChangesPage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let open = ServerAction::<OpenChange>::new();
    // Both follow the branch in view: the links keep it, and the form proposes it.
    let changes = Resource::new(
        move || (ctx.slug.get(), ctx.branch.get(), open.version().get()),
        |(slug, ..)| list_changes(slug, None),
    );
    let branches = Resource::new(move || (ctx.slug.get(), ctx.branch.get()), |(slug, _)| project_branches(slug));
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
                        let (slug, branch) = (ctx.slug.get_untracked(), ctx.branch.get_untracked());
                        view! {
                            <ul class="card-list">
                                {list.into_iter().map(|change| view! {
                                    <li class=format!("card state-{}", change.state)>
                                        <A href=on_branch(&format!("/p/{slug}/changes/{}", change.number), &branch)>{format!("#{} {}", change.number, change.title)}</A>
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
                        let (from, into) = default_branches(&names, &current);
                        let (source, target) = (RwSignal::new(from), RwSignal::new(into));
                        let only_main = names.len() < 2;
                        let options = move |selected: RwSignal<String>| names.clone().into_iter().map(move |name| {
                            let is = name == selected.get_untracked();
                            view! { <option value=name.clone() selected=is>{name.clone()}</option> }
                        }).collect_view();
                        let same = move || source.get() == target.get();
                        let hint = if only_main {
                            "This project has only main: make a branch, change documents on it, then propose them here."
                        } else {
                            "From and Into are the same branch: choose the branch with the changes in From."
                        };
                        view! {
                            <ActionForm action=open attr:class="stack">
                                <input type="hidden" name="slug" value=ctx.slug.get_untracked() />
                                <input type="hidden" name="branch" value=current />
                                <label>"From" <select name="source" on:change=move |ev| source.set(event_target_value(&ev))>{options(source)}</select></label>
                                <label>"Into" <select name="target" on:change=move |ev| target.set(event_target_value(&ev))>{options(target)}</select></label>
                                <label>"Title" <input name="title" required maxlength="200" /></label>
                                <label>"Why" <textarea name="description" rows="4"></textarea></label>
                                <FormError action=open />
                                <p id="open-change-hint" class="muted" hidden=move || !same()>{hint}</p>
                                <button type="submit" class="primary" disabled=same aria-describedby=move || same().then_some("open-change-hint")>"Open change request"</button>
                            </ActionForm>
                        }
                    })}
                </Transition>
            </section>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::default_branches;

    #[test]
    fn a_new_change_request_proposes_the_branch_in_view_into_main() {
        let names: Vec<String> = ["main", "draft", "other"].map(String::from).to_vec();
        let pair = |current| default_branches(&names, current);
        assert_eq!(pair("other"), ("other".into(), "main".into()));
        assert_eq!(pair("main"), ("draft".into(), "main".into()), "from main: the first other branch");
        assert_eq!(pair("gone"), ("draft".into(), "main".into()), "a branch that no longer exists");
        assert_eq!(default_branches(&["main".into()], "main"), ("main".into(), "main".into()));
    }
}
