//! Change requests: a proposal to bring a source branch into a target branch, reviewed
//! like code. The view compares each document of the source with what it was when the
//! branch was made (added, deleted, renamed, moved, modified with a line diff), lists
//! live conflicts against the target's current text, and tallies approvals. An approval
//! is stale once the source changes after it: each review keeps a digest of the source
//! as it was reviewed.
//!
//! Every change checks the state inside its own transaction, with the change request's
//! row locked: merging and resolving claim it (`merging`), and so do closing and
//! reopening (`closing`); reviews and bump confirmations arriving meanwhile are told it
//! is busy, and afterwards that it is merged or closed.

mod actions;
mod closing;
mod comments;
mod compare;
mod contract_versions;
mod merging;
mod routes;

use charter_types::{
    Actions, Approval, BranchId, Bump, ChangeKind, ChangeRequestId, ChangeRequestState, ChangeRequestSummary, Checks,
    Comment, ConfirmedBump, ConstitutionChange, ContractReview, DocumentId, Finding, Kind, LintOverride, Overlap,
    Permission, ProjectId, ReviewView, UserId, Verdict, Version, WebhookEvent,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::audit;
use crate::authorization::ProjectAccess;
use crate::branches;
use crate::claims::busy;
use crate::error::{Error, Result};
use crate::merge::LineChange;
use crate::projects;
use crate::structure::review;
use crate::webhooks;
use actions::{actions, Caller, Standing};
pub use closing::{close, reopen};
pub use comments::{comment, resolve_thread, NewComment, ThreadResolution};
use compare::{compare, find_source, overlaps, KeptChange, SourceState};
pub use merging::{confirm_bump, merge, resolve};
pub(crate) use routes::router;

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ChangeRequest {
    #[serde(flatten)]
    pub summary: ChangeRequestSummary,
    pub description: String,
    /// Everyone's latest approval; stale ones no longer count.
    pub approvals: Vec<Approval>,
    pub reviews: Vec<ReviewView>,
    pub required_approvals: i32,
    /// Enough approvals that are not stale.
    pub approved: bool,
    pub documents: Vec<DocumentChange>,
    pub conflicts: Vec<ConflictView>,
    /// Other open change requests touching the same sections, before either merges.
    pub overlaps: Vec<Overlap>,
    pub comments: Vec<Comment>,
    /// Lint findings in the changed documents; errors block merging.
    pub checks: Checks,
    /// The constitution's change and the version bump it implies, if it changes.
    pub constitution: Option<ConstitutionChange>,
    /// Members whose role lets them review it, its author aside: who may approve it.
    pub reviewers: Vec<String>,
    /// What the caller may do with it now.
    pub actions: Actions,
}

/// How one document differs on the source from when the branch was made.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DocumentChange {
    pub document_id: DocumentId,
    pub title: String,
    pub kind: Kind,
    pub changes: Vec<ChangeKind>,
    pub renamed_from: Option<String>,
    pub lines_added: usize,
    pub lines_removed: usize,
    /// Line changes from the text at the fork to the source's text.
    pub diff: Vec<LineChange>,
    /// The same change by heading section: the requirement-level summary until
    /// requirements have IDs of their own.
    pub sections: SectionChanges,
    /// A contract's API changes, each breaking or not by its rule, and the version
    /// bump they ask for.
    pub api: Option<ContractReview>,
}

/// Sections (by heading) a change added, modified or removed. `""` is the text before
/// the first heading.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct SectionChanges {
    pub added: Vec<String>,
    pub modified: Vec<String>,
    pub removed: Vec<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ConflictView {
    pub document_id: DocumentId,
    pub title: String,
    pub base: String,
    /// The target's text of the region.
    pub ours: String,
    /// The source's text of the region.
    pub theirs: String,
}

#[derive(Deserialize, ToSchema)]
pub struct NewChangeRequest {
    pub source: String,
    pub target: String,
    pub title: String,
    pub description: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewReview {
    pub verdict: Verdict,
    pub comment: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct StateQuery {
    /// `open`, `merged` or `closed`; all when left out.
    pub state: Option<String>,
}

/// A conflict's resolution: the document's whole text as it should be after merging.
#[derive(Deserialize, ToSchema)]
pub struct Resolution {
    pub document_id: DocumentId,
    pub content: String,
}

#[derive(Default, Deserialize, ToSchema)]
pub struct MergeRequest {
    /// The version's message; the change request's title when left out.
    pub message: Option<String>,
    /// Owners only: merge although the lint found errors, for this recorded reason.
    pub override_reason: Option<String>,
}

/// A reviewer's confirmation of a version bump: the constitution's, or a contract's.
#[derive(Deserialize, ToSchema)]
pub struct BumpConfirmation {
    pub bump: Bump,
    /// The contract whose bump this confirms; the constitution's when left out.
    #[serde(default)]
    pub document_id: Option<DocumentId>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Merged {
    pub version: Version,
}

/// Created change requests are numbered per project, as pull requests are.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
pub struct Created {
    pub number: i32,
}

const SUMMARY_QUERY: &str = "SELECT c.number, c.title, c.state, s.name AS source, t.name AS target,
         u.username AS author, c.created_at
     FROM change_requests c
     JOIN branches s ON s.id = c.source_branch_id JOIN branches t ON t.id = c.target_branch_id
     JOIN users u ON u.id = c.author_id";

pub async fn create(db: &PgPool, project: &ProjectAccess, new: NewChangeRequest) -> Result<Created> {
    let mut tx = db.begin().await?;
    let (_, created) = create_in(&mut tx, project, new).await?;
    tx.commit().await?;
    Ok(created)
}

/// `title` trimmed, if it may title a change request.
pub(crate) fn valid_title(title: &str) -> Result<&str> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(Error::Invalid("a change request needs a title of 1 to 200 characters".into()));
    }
    Ok(title)
}

/// Opens a change request in `tx`, for callers that record more with it (a draft from
/// an incident); its id and number. `tx` must not have locked the caller's membership
/// yet: the project's row is taken first.
pub(crate) async fn create_in(
    tx: &mut PgConnection,
    project: &ProjectAccess,
    new: NewChangeRequest,
) -> Result<(ChangeRequestId, Created)> {
    let (project_id, actor) = (project.project(), project.actor());
    let title = valid_title(&new.title)?;
    if new.source == new.target {
        return Err(Error::Invalid("the source and target branches must differ".into()));
    }
    // Numbers are handed out one at a time per project. The project's row is taken before
    // the caller's membership, in the order changes to the members take them: the other
    // order deadlocks with an owner changing roles meanwhile.
    let slug: String = sqlx::query_scalar("SELECT slug FROM projects WHERE id = $1 FOR NO KEY UPDATE")
        .bind(project_id)
        .fetch_one(&mut *tx)
        .await?;
    project.confirm(&mut *tx).await?;
    // Neither branch can be deleted under the new change request.
    let source = branches::resolve_locked(&mut *tx, project_id, &new.source).await?;
    let target = branches::resolve_locked(&mut *tx, project_id, &new.target).await?;
    let (number,): (i32,) =
        sqlx::query_as("SELECT coalesce(max(number), 0) + 1 FROM change_requests WHERE project_id = $1")
            .bind(project_id)
            .fetch_one(&mut *tx)
            .await?;
    let id = ChangeRequestId::from_uuid(Uuid::now_v7());
    sqlx::query(
        "INSERT INTO change_requests (id, project_id, number, source_branch_id, target_branch_id, title, description, author_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(project_id)
    .bind(number)
    .bind(source)
    .bind(target)
    .bind(title)
    .bind(new.description.as_deref().unwrap_or("").trim())
    .bind(actor.user_id)
    .execute(&mut *tx)
    .await?;
    let summary = format!("opened change request #{number} {title} ({} into {})", new.source, new.target);
    audit::record(&mut *tx, project.audit("change_request.open", ("change_request", id), summary)).await?;
    let data = serde_json::json!({
        "project_id": project_id, "number": number, "title": title, "source": new.source, "target": new.target,
        "path": page(&slug, number),
    });
    webhooks::emit(&mut *tx, project_id, WebhookEvent::ChangeRequestOpened, data).await?;
    Ok((id, Created { number }))
}

/// The change request's page, a path under the server's address (what webhooks link to).
pub(crate) fn page(slug: &str, number: i32) -> String {
    format!("/p/{slug}/changes/{number}")
}

pub async fn list(db: &PgPool, project: &ProjectAccess, query: StateQuery) -> Result<Vec<ChangeRequestSummary>> {
    let state: Option<ChangeRequestState> = query
        .state
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|_| Error::Invalid("state is open, merged or closed".into()))?;
    Ok(sqlx::query_as(&format!(
        "{SUMMARY_QUERY} WHERE c.project_id = $1 AND ($2::text IS NULL OR c.state = $2) ORDER BY c.number DESC"
    ))
    .bind(project.project())
    .bind(state)
    .fetch_all(db)
    .await?)
}

/// The stored facts of a change request.
#[derive(sqlx::FromRow)]
struct Record {
    id: ChangeRequestId,
    source_branch_id: BranchId,
    target_branch_id: BranchId,
    author_id: UserId,
    description: String,
    lint_override_reason: Option<String>,
    lint_override_by: Option<String>,
    bump_confirmed: Option<Bump>,
    bump_confirmed_by: Option<String>,
    bump_digest: Option<Vec<u8>>,
    /// What it changed, kept when it merged.
    merged_changes: Option<sqlx::types::Json<Vec<KeptChange>>>,
    merged_findings: Option<sqlx::types::Json<Vec<Finding>>>,
}

async fn record(db: &PgPool, project_id: ProjectId, number: i32) -> Result<Record> {
    sqlx::query_as(
        "SELECT c.id, c.source_branch_id, c.target_branch_id, c.author_id, c.description,
                c.lint_override_reason, o.username AS lint_override_by,
                c.bump_confirmed, b.username AS bump_confirmed_by, c.bump_digest, c.merged_changes,
                c.merged_findings
         FROM change_requests c LEFT JOIN users o ON o.id = c.lint_override_by
         LEFT JOIN users b ON b.id = c.bump_confirmed_by
         WHERE c.project_id = $1 AND c.number = $2",
    )
    .bind(project_id)
    .bind(number)
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::NotFound(format!("change request #{number} not found")))
}

/// Fails unless the change request is open, holding its row with `lock` until `tx`
/// ends. Reviews and bump confirmations lock `NOWAIT`: during a merge they are told at
/// once, rather than holding a connection until it ends (and then finding it merged).
async fn ensure_open(tx: &mut PgConnection, id: ChangeRequestId, number: i32, lock: &str) -> Result<()> {
    match locked_state(tx, id, number, lock).await? {
        ChangeRequestState::Open => Ok(()),
        ChangeRequestState::Closed => {
            Err(Error::Conflict(format!("change request #{number} is closed: reopen it first")))
        }
        ChangeRequestState::Merged => Err(Error::Conflict(format!("change request #{number} is merged"))),
    }
}

/// The change request's state, its row held with `lock` until `tx` ends.
async fn locked_state(
    tx: &mut PgConnection,
    id: ChangeRequestId,
    number: i32,
    lock: &str,
) -> Result<ChangeRequestState> {
    let state: Option<ChangeRequestState> =
        sqlx::query_scalar(&format!("SELECT state FROM change_requests WHERE id = $1 {lock}"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|err| match Error::from(err) {
                err if err.is_sqlstate("55P03") => busy(number),
                err => err,
            })?;
    // Gone with its branch meanwhile.
    state.ok_or_else(|| Error::NotFound(format!("change request #{number} not found")))
}

#[derive(sqlx::FromRow)]
struct ReviewRow {
    reviewer_id: UserId,
    username: String,
    verdict: Verdict,
    comment: String,
    source_digest: Vec<u8>,
    created_at: DateTime<Utc>,
}

pub async fn get(db: &PgPool, project: &ProjectAccess, number: i32) -> Result<ChangeRequest> {
    let record = record(db, project.project(), number).await?;
    let caller = Caller::of(project, record.author_id);
    Ok(view(db, project, &record, caller).await?.0)
}

/// The change request as it stands, and the source documents it was compared with.
async fn view(
    db: &PgPool,
    project: &ProjectAccess,
    record: &Record,
    caller: Caller,
) -> Result<(ChangeRequest, Vec<SourceState>)> {
    let project_id = project.project();
    let summary: ChangeRequestSummary =
        sqlx::query_as(&format!("{SUMMARY_QUERY} WHERE c.id = $1")).bind(record.id).fetch_one(db).await?;
    let comparison = compare(db, record.source_branch_id, record.target_branch_id).await?;
    // Merging moves the source's fork point, and the source may change after: a merged
    // one shows what it changed then (nothing, when it merged before that was kept),
    // never the live comparison, and has no conflicts or overlaps left.
    let merged = summary.state == ChangeRequestState::Merged;
    let mut shown: Vec<DocumentChange> = match (merged, &record.merged_changes) {
        (false, _) => comparison.documents.clone(),
        (true, Some(kept)) => kept.0.iter().cloned().map(KeptChange::shown).collect(),
        (true, None) => Vec::new(),
    };
    contract_versions::review(db, record, &mut shown, &comparison.sources, &comparison.digest).await?;
    let rows: Vec<ReviewRow> = sqlx::query_as(
        "SELECT r.reviewer_id, u.username, r.verdict, r.comment, r.source_digest, r.created_at
         FROM reviews r JOIN users u ON u.id = r.reviewer_id WHERE r.change_request_id = $1 ORDER BY r.created_at",
    )
    .bind(record.id)
    .fetch_all(db)
    .await?;
    let reviews: Vec<(UserId, ReviewView)> = rows
        .into_iter()
        .map(|row| {
            let stale = row.source_digest != comparison.digest;
            let view = ReviewView {
                user: row.username,
                verdict: row.verdict,
                comment: row.comment,
                stale,
                created_at: row.created_at,
            };
            (row.reviewer_id, view)
        })
        .collect();
    // Each reviewer's latest verdict is the one that counts.
    let mut approvals: Vec<Approval> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (reviewer, review) in reviews.iter().rev() {
        if seen.insert(*reviewer) && review.verdict == Verdict::Approve {
            approvals.push(Approval { user: review.user.clone(), stale: review.stale });
        }
    }
    approvals.reverse();
    let (required_approvals, breaking_needs_owner): (i32, bool) =
        sqlx::query_as("SELECT required_approvals, breaking_changes_need_owner FROM projects WHERE id = $1")
            .bind(project_id)
            .fetch_one(db)
            .await?;
    let fresh = approvals.iter().filter(|approval| !approval.stale).count() as i32;
    let overlaps = match merged {
        true => Vec::new(),
        false => overlaps(db, project_id, record.id, &comparison.documents).await?,
    };
    let comments = comments::list(db, record.id).await?;
    let changed: Vec<DocumentId> = shown
        .iter()
        .filter(|change| !change.changes.contains(&ChangeKind::Deleted))
        .map(|change| change.document_id)
        .collect();
    let (corpus, findings) = review::checks(db, record.source_branch_id, &changed).await?;
    let kept = record.merged_findings.clone().filter(|_| merged);
    let as_merged = kept.is_some();
    let findings = kept.map_or(findings, |kept| kept.0);
    let checks = Checks {
        errors: review::errors(&findings),
        findings,
        as_merged,
        lint_override: record
            .lint_override_reason
            .clone()
            .map(|reason| LintOverride { by: record.lint_override_by.clone().unwrap_or_default(), reason }),
    };
    let constitution = match comparison
        .documents
        .iter()
        .find(|c| c.kind == Kind::Constitution && c.changes.contains(&ChangeKind::Modified))
    {
        None => None,
        Some(change) => {
            let fork_base = find_source(&comparison.sources, change.document_id).and_then(|s| s.fork_base.clone());
            let confirmed = record.bump_confirmed.map(|bump| ConfirmedBump {
                bump,
                by: record.bump_confirmed_by.clone().unwrap_or_default(),
                stale: record.bump_digest.as_deref() != Some(comparison.digest.as_slice()),
            });
            review::constitution_change(db, &corpus, record.target_branch_id, fork_base, confirmed).await?
        }
    };
    let members = projects::members(db, project).await?;
    let owner_approved = approvals.iter().any(|approval| {
        !approval.stale
            && members.iter().any(|member| member.username == approval.user && member.role.allows(Permission::Manage))
    });
    let standing = Standing {
        state: summary.state,
        changed: comparison.documents.len(),
        conflicts: comparison.conflicts.len(),
        approvals: &approvals,
        required: required_approvals,
        constitution: constitution.as_ref(),
        contracts: &shown,
        owner_needed: breaking_needs_owner && !owner_approved && contract_versions::breaking(&shown),
        lint_errors: checks.errors,
    };
    let actions = actions(caller, standing);
    let reviewers = members
        .into_iter()
        .filter(|member| member.role.allows(Permission::Review) && member.user_id != record.author_id)
        .map(|member| member.username)
        .collect();
    let view = ChangeRequest {
        actions,
        reviewers,
        checks,
        constitution,
        summary,
        description: record.description.clone(),
        approvals,
        reviews: reviews.into_iter().map(|(_, review)| review).collect(),
        required_approvals,
        approved: fresh >= required_approvals,
        documents: shown,
        conflicts: if merged { Vec::new() } else { comparison.conflicts },
        overlaps,
        comments,
    };
    Ok((view, comparison.sources))
}

/// Records a review. Reviewers and owners review; nobody approves their own change.
pub async fn review(db: &PgPool, project: &ProjectAccess, number: i32, review: NewReview) -> Result<ChangeRequest> {
    let (project_id, actor) = (project.project(), project.actor());
    let record = record(db, project_id, number).await?;
    if review.verdict == Verdict::Approve && record.author_id == actor.user_id {
        return Err(Error::Forbidden("authors cannot approve their own change requests".into()));
    }
    let comment = review.comment.unwrap_or_default();
    if comment.chars().count() > 10_000 {
        return Err(Error::Invalid("a review comment may have at most 10,000 characters".into()));
    }
    // What is approved is the source exactly as it is now.
    let digest = compare(db, record.source_branch_id, record.target_branch_id).await?.digest;
    let mut tx = project.begin(db).await?;
    ensure_open(&mut tx, record.id, number, "FOR SHARE NOWAIT").await?;
    sqlx::query(
        "INSERT INTO reviews (id, change_request_id, reviewer_id, verdict, comment, source_digest)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(record.id)
    .bind(actor.user_id)
    .bind(review.verdict)
    .bind(comment.trim())
    .bind(digest)
    .execute(&mut *tx)
    .await?;
    let verb = match review.verdict {
        Verdict::Approve => "approved",
        Verdict::RequestChanges => "requested changes on",
    };
    let summary = format!("{verb} change request #{number}");
    audit::record(&mut *tx, project.audit("change_request.review", ("change_request", record.id), summary)).await?;
    tx.commit().await?;
    get(db, project, number).await
}
