//! Change requests: a proposal to bring a source branch into a target branch, reviewed
//! like code. The view compares each document of the source with what it was when the
//! branch was made (added, deleted, renamed, moved, modified with a line diff), lists
//! live conflicts against the target's current text, and tallies approvals. An approval
//! is stale once the source changes after it: each review keeps a digest of the source
//! as it was reviewed.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::api::{Json, Path, Query};
use crate::audit::{self, Entry};
use crate::auth::Actor;
use crate::collab::DocKey;
use crate::error::{Error, Result};
use crate::merge::{self, LineChange};
use crate::projects::{self, Permission};
use crate::spec::constitution::Bump;
use crate::spec::review::{self, Checks, ConfirmedBump, ConstitutionChange, LintOverride};
use crate::{branches, content, history, AppState};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approve,
    RequestChanges,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::RequestChanges => "request_changes",
        }
    }
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Summary {
    pub number: i32,
    pub title: String,
    /// `open`, `merged` or `closed`.
    pub state: String,
    pub source: String,
    pub target: String,
    pub author: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ChangeRequest {
    #[serde(flatten)]
    pub summary: Summary,
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
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Approval {
    pub user: String,
    pub stale: bool,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReviewView {
    pub user: String,
    pub verdict: Verdict,
    pub comment: String,
    pub stale: bool,
    pub created_at: DateTime<Utc>,
}

/// How one document differs on the source from when the branch was made.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DocumentChange {
    pub document_id: Uuid,
    pub title: String,
    pub kind: String,
    /// Any of `added`, `deleted`, `renamed`, `moved`, `modified`.
    pub changes: Vec<&'static str>,
    pub renamed_from: Option<String>,
    pub lines_added: usize,
    pub lines_removed: usize,
    /// Line changes from the text at the fork to the source's text.
    pub diff: Vec<LineChange>,
    /// The same change by heading section: the requirement-level summary until
    /// requirements have IDs of their own.
    pub sections: SectionChanges,
}

/// Sections (by heading) a change added, modified or removed. `""` is the text before
/// the first heading.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct SectionChanges {
    pub added: Vec<String>,
    pub modified: Vec<String>,
    pub removed: Vec<String>,
}

impl SectionChanges {
    fn between(old: &str, new: &str) -> SectionChanges {
        // Repeated headings are told apart by their order: "Notes", "Notes (2)".
        fn keyed(text: &str) -> Vec<(String, String)> {
            let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
            crate::markdown::sections(text)
                .into_iter()
                .map(|(heading, body)| {
                    let count = seen.entry(heading.clone()).or_insert(0);
                    *count += 1;
                    let key = if *count == 1 { heading } else { format!("{heading} ({count})") };
                    (key, body)
                })
                .collect()
        }
        let (before, after) = (keyed(old), keyed(new));
        let find =
            |list: &[(String, String)], key: &str| list.iter().find(|(k, _)| k == key).map(|(_, body)| body.clone());
        let mut changes = SectionChanges::default();
        for (key, body) in &after {
            match find(&before, key) {
                None => changes.added.push(key.clone()),
                Some(old_body) if old_body != *body => changes.modified.push(key.clone()),
                Some(_) => {}
            }
        }
        changes.removed =
            before.iter().filter(|(key, _)| find(&after, key).is_none()).map(|(key, _)| key.clone()).collect();
        changes
    }

    fn touched(&self) -> impl Iterator<Item = &String> {
        self.added.iter().chain(&self.modified).chain(&self.removed)
    }
}

/// Another open change request that touches the same document sections.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Overlap {
    pub number: i32,
    pub title: String,
    pub document_id: Uuid,
    pub document: String,
    /// The sections both change; `["(the document itself)"]` when either renames,
    /// moves or deletes it.
    pub sections: Vec<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ConflictView {
    pub document_id: Uuid,
    pub title: String,
    pub base: String,
    /// The target's text of the region.
    pub ours: String,
    /// The source's text of the region.
    pub theirs: String,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Comment {
    pub id: Uuid,
    pub author: String,
    pub body: String,
    pub document_id: Option<Uuid>,
    pub line: Option<i32>,
    pub created_at: DateTime<Utc>,
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

#[derive(Deserialize, ToSchema)]
pub struct NewComment {
    pub body: String,
    pub document_id: Option<Uuid>,
    /// A line of the document's diff, for comments on a line.
    pub line: Option<i32>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct StateQuery {
    /// `open`, `merged` or `closed`; all when left out.
    pub state: Option<String>,
}

/// A conflict's resolution: the document's whole text as it should be after merging.
#[derive(Deserialize, ToSchema)]
pub struct Resolution {
    pub document_id: Uuid,
    pub content: String,
}

#[derive(Default, Deserialize, ToSchema)]
pub struct MergeRequest {
    /// The version's message; the change request's title when left out.
    pub message: Option<String>,
    /// Owners only: merge although the lint found errors, for this recorded reason.
    pub override_reason: Option<String>,
}

/// A reviewer's confirmation of the constitution's version bump.
#[derive(Deserialize, ToSchema)]
pub struct BumpConfirmation {
    pub bump: Bump,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Merged {
    pub version: history::Version,
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

pub async fn create(db: &PgPool, actor: &Actor, project_id: Uuid, new: NewChangeRequest) -> Result<Created> {
    projects::authorize(db, actor, project_id, Permission::Write).await?;
    let title = new.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(Error::Invalid("a change request needs a title of 1 to 200 characters".into()));
    }
    if new.source == new.target {
        return Err(Error::Invalid("the source and target branches must differ".into()));
    }
    let source = branches::resolve(db, project_id, &new.source).await?;
    let target = branches::resolve(db, project_id, &new.target).await?;
    let mut tx = db.begin().await?;
    // Numbers are handed out one at a time per project.
    sqlx::query("SELECT 1 FROM projects WHERE id = $1 FOR UPDATE").bind(project_id).execute(&mut *tx).await?;
    let (number,): (i32,) =
        sqlx::query_as("SELECT coalesce(max(number), 0) + 1 FROM change_requests WHERE project_id = $1")
            .bind(project_id)
            .fetch_one(&mut *tx)
            .await?;
    let id = Uuid::now_v7();
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
    audit::record(&mut *tx, Entry::project(project_id, actor, "change_request.open", ("change_request", id), summary))
        .await?;
    tx.commit().await?;
    Ok(Created { number })
}

pub async fn list(db: &PgPool, actor: &Actor, project_id: Uuid, query: StateQuery) -> Result<Vec<Summary>> {
    projects::authorize(db, actor, project_id, Permission::Read).await?;
    if let Some(state) = &query.state {
        if !["open", "merged", "closed"].contains(&state.as_str()) {
            return Err(Error::Invalid("state is open, merged or closed".into()));
        }
    }
    Ok(sqlx::query_as(&format!(
        "{SUMMARY_QUERY} WHERE c.project_id = $1 AND ($2::text IS NULL OR c.state = $2) ORDER BY c.number DESC"
    ))
    .bind(project_id)
    .bind(query.state)
    .fetch_all(db)
    .await?)
}

/// The stored facts of a change request.
#[derive(sqlx::FromRow)]
struct Record {
    id: Uuid,
    source_branch_id: Uuid,
    target_branch_id: Uuid,
    author_id: Uuid,
    description: String,
    state: String,
    lint_override_reason: Option<String>,
    lint_override_by: Option<String>,
    bump_confirmed: Option<String>,
    bump_confirmed_by: Option<String>,
    bump_digest: Option<Vec<u8>>,
}

async fn record(db: &PgPool, project_id: Uuid, number: i32) -> Result<Record> {
    sqlx::query_as(
        "SELECT c.id, c.source_branch_id, c.target_branch_id, c.author_id, c.description, c.state,
                c.lint_override_reason, o.username AS lint_override_by,
                c.bump_confirmed, b.username AS bump_confirmed_by, c.bump_digest
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

/// A source document as it stands, with what it was at the fork.
#[derive(sqlx::FromRow)]
struct SourceDocument {
    document_id: Uuid,
    title: String,
    kind: String,
    parent_id: Option<Uuid>,
    deleted: bool,
    fork_base: Option<String>,
    fork_title: Option<String>,
    fork_parent_id: Option<Uuid>,
    fork_deleted: Option<bool>,
}

/// The comparison of a source with its fork point and the target.
struct Comparison {
    documents: Vec<DocumentChange>,
    conflicts: Vec<ConflictView>,
    digest: Vec<u8>,
}

async fn compare(db: &PgPool, source: Uuid, target: Uuid) -> Result<Comparison> {
    let rows: Vec<SourceDocument> = sqlx::query_as(
        "SELECT bd.document_id, bd.title, d.kind, bd.parent_id, bd.deleted_at IS NOT NULL AS deleted,
                bd.fork_base, bd.fork_title, bd.fork_parent_id, bd.fork_deleted
         FROM branch_documents bd JOIN documents d ON d.id = bd.document_id
         WHERE bd.branch_id = $1 ORDER BY bd.document_id",
    )
    .bind(source)
    .fetch_all(db)
    .await?;
    let mut conn = db.acquire().await?;
    let mut hasher = Sha256::new();
    let (mut documents, mut conflicts) = (Vec::new(), Vec::new());
    for row in rows {
        let text = content::read(&mut conn, DocKey { branch_id: source, document_id: row.document_id }).await?;
        for part in
            [row.document_id.as_bytes().as_slice(), row.title.as_bytes(), &[u8::from(row.deleted)], text.as_bytes()]
        {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        hasher.update(row.parent_id.map(|id| *id.as_bytes()).unwrap_or_default());

        let mut changes = Vec::new();
        let base = match (&row.fork_title, &row.fork_base) {
            (Some(_), Some(base)) => base.clone(),
            // Made on the branch: everything in it is new.
            _ => {
                if row.deleted {
                    continue;
                }
                changes.push("added");
                String::new()
            }
        };
        if row.deleted && row.fork_deleted == Some(false) {
            changes.push("deleted");
        }
        let renamed_from = row.fork_title.clone().filter(|before| *before != row.title);
        if renamed_from.is_some() {
            changes.push("renamed");
        }
        if row.fork_title.is_some() && row.parent_id != row.fork_parent_id {
            changes.push("moved");
        }
        let diff = if text != base { merge::line_changes(&base, &text) } else { Vec::new() };
        if !diff.is_empty() && row.fork_title.is_some() {
            changes.push("modified");
            // The target may have moved on since the fork: where both changed the same
            // lines differently, the merge cannot decide.
            let ours = match content::read(&mut conn, DocKey { branch_id: target, document_id: row.document_id }).await
            {
                Ok(ours) => Some(ours),
                // Not on the target (deleted there for good): nothing to conflict with.
                Err(Error::NotFound(_)) => None,
                Err(err) => return Err(err),
            };
            for conflict in
                ours.iter().flat_map(|ours| merge::merge3(&base, ours, &text).conflicts().cloned().collect::<Vec<_>>())
            {
                conflicts.push(ConflictView {
                    document_id: row.document_id,
                    title: row.title.clone(),
                    base: conflict.base,
                    ours: conflict.ours,
                    theirs: conflict.theirs,
                });
            }
        }
        if changes.is_empty() {
            continue;
        }
        let lines_added = diff.iter().map(|change| change.new.len()).sum();
        let lines_removed = diff.iter().map(|change| change.old.len()).sum();
        let now = if changes.contains(&"deleted") { "" } else { text.as_str() };
        let sections = SectionChanges::between(&base, now);
        documents.push(DocumentChange {
            document_id: row.document_id,
            title: row.title,
            kind: row.kind,
            changes,
            renamed_from,
            lines_added,
            lines_removed,
            diff,
            sections,
        });
    }
    Ok(Comparison { documents, conflicts, digest: hasher.finalize().to_vec() })
}

#[derive(sqlx::FromRow)]
struct ReviewRow {
    reviewer_id: Uuid,
    username: String,
    verdict: String,
    comment: String,
    source_digest: Vec<u8>,
    created_at: DateTime<Utc>,
}

pub async fn get(db: &PgPool, actor: &Actor, project_id: Uuid, number: i32) -> Result<ChangeRequest> {
    projects::authorize(db, actor, project_id, Permission::Read).await?;
    let record = record(db, project_id, number).await?;
    let summary: Summary =
        sqlx::query_as(&format!("{SUMMARY_QUERY} WHERE c.id = $1")).bind(record.id).fetch_one(db).await?;
    let comparison = compare(db, record.source_branch_id, record.target_branch_id).await?;
    let rows: Vec<ReviewRow> = sqlx::query_as(
        "SELECT r.reviewer_id, u.username, r.verdict, r.comment, r.source_digest, r.created_at
         FROM reviews r JOIN users u ON u.id = r.reviewer_id WHERE r.change_request_id = $1 ORDER BY r.created_at",
    )
    .bind(record.id)
    .fetch_all(db)
    .await?;
    let reviews: Vec<(Uuid, ReviewView)> = rows
        .into_iter()
        .map(|row| {
            let verdict = if row.verdict == "approve" { Verdict::Approve } else { Verdict::RequestChanges };
            let stale = row.source_digest != comparison.digest;
            let view =
                ReviewView { user: row.username, verdict, comment: row.comment, stale, created_at: row.created_at };
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
    let (required_approvals,): (i32,) =
        sqlx::query_as("SELECT required_approvals FROM projects WHERE id = $1").bind(project_id).fetch_one(db).await?;
    let fresh = approvals.iter().filter(|approval| !approval.stale).count() as i32;
    let overlaps = overlaps(db, project_id, record.id, &comparison.documents).await?;
    let comments: Vec<Comment> = sqlx::query_as(
        "SELECT c.id, u.username AS author, c.body, c.document_id, c.line, c.created_at
         FROM change_request_comments c JOIN users u ON u.id = c.author_id
         WHERE c.change_request_id = $1 ORDER BY c.created_at",
    )
    .bind(record.id)
    .fetch_all(db)
    .await?;
    let changed: Vec<Uuid> = comparison
        .documents
        .iter()
        .filter(|change| !change.changes.contains(&"deleted"))
        .map(|change| change.document_id)
        .collect();
    let (corpus, findings) = review::checks(db, record.source_branch_id, &changed).await?;
    let checks = Checks {
        errors: review::errors(&findings),
        findings,
        lint_override: record
            .lint_override_reason
            .clone()
            .map(|reason| LintOverride { by: record.lint_override_by.clone().unwrap_or_default(), reason }),
    };
    let constitution =
        match comparison.documents.iter().find(|c| c.kind == "constitution" && c.changes.contains(&"modified")) {
            None => None,
            Some(change) => {
                let (fork_base,): (Option<String>,) =
                    sqlx::query_as("SELECT fork_base FROM branch_documents WHERE branch_id = $1 AND document_id = $2")
                        .bind(record.source_branch_id)
                        .bind(change.document_id)
                        .fetch_one(db)
                        .await?;
                let confirmed = record.bump_confirmed.as_deref().and_then(Bump::parse).map(|bump| ConfirmedBump {
                    bump,
                    by: record.bump_confirmed_by.clone().unwrap_or_default(),
                    stale: record.bump_digest.as_deref() != Some(comparison.digest.as_slice()),
                });
                review::constitution_change(db, &corpus, record.target_branch_id, fork_base, confirmed).await?
            }
        };
    Ok(ChangeRequest {
        checks,
        constitution,
        summary,
        description: record.description,
        approvals,
        reviews: reviews.into_iter().map(|(_, review)| review).collect(),
        required_approvals,
        approved: fresh >= required_approvals,
        documents: comparison.documents,
        conflicts: comparison.conflicts,
        overlaps,
        comments,
    })
}

/// The other open change requests of the project that touch a document section this
/// one touches (or the same document, when either changes its place or existence).
async fn overlaps(db: &PgPool, project_id: Uuid, this: Uuid, documents: &[DocumentChange]) -> Result<Vec<Overlap>> {
    let others: Vec<(Uuid, i32, String, Uuid, Uuid)> = sqlx::query_as(
        "SELECT id, number, title, source_branch_id, target_branch_id FROM change_requests
         WHERE project_id = $1 AND state = 'open' AND id <> $2 ORDER BY number",
    )
    .bind(project_id)
    .bind(this)
    .fetch_all(db)
    .await?;
    let structural =
        |change: &DocumentChange| change.changes.iter().any(|c| ["deleted", "renamed", "moved"].contains(c));
    let mut found = Vec::new();
    for (_, number, title, source, target) in others {
        for theirs in compare(db, source, target).await?.documents {
            let Some(ours) = documents.iter().find(|ours| ours.document_id == theirs.document_id) else { continue };
            let sections: Vec<String> = if structural(ours) || structural(&theirs) {
                vec!["(the document itself)".to_owned()]
            } else {
                ours.sections
                    .touched()
                    .filter(|section| theirs.sections.touched().any(|t| t == *section))
                    .cloned()
                    .collect()
            };
            if !sections.is_empty() {
                found.push(Overlap {
                    number,
                    title: title.clone(),
                    document_id: ours.document_id,
                    document: ours.title.clone(),
                    sections,
                });
            }
        }
    }
    Ok(found)
}

/// Records a review. Reviewers and owners review; nobody approves their own change.
pub async fn review(
    db: &PgPool,
    actor: &Actor,
    project_id: Uuid,
    number: i32,
    review: NewReview,
) -> Result<ChangeRequest> {
    projects::authorize(db, actor, project_id, Permission::Review).await?;
    let record = record(db, project_id, number).await?;
    if record.state != "open" {
        return Err(Error::Conflict(format!("change request #{number} is {}", record.state)));
    }
    if review.verdict == Verdict::Approve && record.author_id == actor.user_id {
        return Err(Error::Forbidden("authors cannot approve their own change requests".into()));
    }
    let comment = review.comment.unwrap_or_default();
    if comment.chars().count() > 10_000 {
        return Err(Error::Invalid("a review comment may have at most 10,000 characters".into()));
    }
    // What is approved is the source exactly as it is now.
    let digest = compare(db, record.source_branch_id, record.target_branch_id).await?.digest;
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO reviews (id, change_request_id, reviewer_id, verdict, comment, source_digest)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(record.id)
    .bind(actor.user_id)
    .bind(review.verdict.as_str())
    .bind(comment.trim())
    .bind(digest)
    .execute(&mut *tx)
    .await?;
    let verb = match review.verdict {
        Verdict::Approve => "approved",
        Verdict::RequestChanges => "requested changes on",
    };
    let summary = format!("{verb} change request #{number}");
    let entry = Entry::project(project_id, actor, "change_request.review", ("change_request", record.id), summary);
    audit::record(&mut *tx, entry).await?;
    tx.commit().await?;
    get(db, actor, project_id, number).await
}

/// Adds a comment to the discussion, or to a line of a document's diff.
pub async fn comment(db: &PgPool, actor: &Actor, project_id: Uuid, number: i32, new: NewComment) -> Result<Comment> {
    projects::authorize(db, actor, project_id, Permission::Write).await?;
    let record = record(db, project_id, number).await?;
    let body = new.body.trim();
    if body.is_empty() || body.chars().count() > 10_000 {
        return Err(Error::Invalid("a comment needs 1 to 10,000 characters".into()));
    }
    if new.line.is_some() && new.document_id.is_none() {
        return Err(Error::Invalid("a comment on a line names its document".into()));
    }
    if new.line.is_some_and(|line| line < 1) {
        return Err(Error::Invalid("lines are numbered from 1".into()));
    }
    if let Some(document_id) = new.document_id {
        let known: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM documents WHERE id = $1 AND project_id = $2")
            .bind(document_id)
            .bind(project_id)
            .fetch_optional(db)
            .await?;
        known.ok_or_else(|| Error::Invalid("that document is not in this project".into()))?;
    }
    let id = Uuid::now_v7();
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO change_request_comments (id, change_request_id, author_id, body, document_id, line)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(record.id)
    .bind(actor.user_id)
    .bind(body)
    .bind(new.document_id)
    .bind(new.line)
    .execute(&mut *tx)
    .await?;
    let entry = Entry::project(
        project_id,
        actor,
        "change_request.comment",
        ("change_request", record.id),
        format!("commented on change request #{number}"),
    );
    audit::record(&mut *tx, entry).await?;
    tx.commit().await?;
    Ok(sqlx::query_as(
        "SELECT c.id, u.username AS author, c.body, c.document_id, c.line, c.created_at
         FROM change_request_comments c JOIN users u ON u.id = c.author_id WHERE c.id = $1",
    )
    .bind(id)
    .fetch_one(db)
    .await?)
}

/// Records a resolution on the source branch, as git records a merge of the target into
/// it: the source document becomes `content` (a normal live edit, reviewed like the
/// rest, so approvals go stale), and its fork point moves to the target's current text.
/// Merging then finds the target unchanged since that point and takes `content`.
pub async fn resolve(
    state: &AppState,
    actor: &Actor,
    project_id: Uuid,
    number: i32,
    resolution: Resolution,
) -> Result<ChangeRequest> {
    let db = &state.db;
    projects::authorize(db, actor, project_id, Permission::Write).await?;
    content::validate(&resolution.content)?;
    let record = record(db, project_id, number).await?;
    if record.state != "open" {
        return Err(Error::Conflict(format!("change request #{number} is {}", record.state)));
    }
    let document_id = resolution.document_id;
    let (source, target) = (
        DocKey { branch_id: record.source_branch_id, document_id },
        DocKey { branch_id: record.target_branch_id, document_id },
    );
    let ours = {
        let mut conn = db.acquire().await?;
        content::read(&mut conn, target)
            .await
            .map_err(|_| Error::Invalid("that document is not on both branches of this change request".into()))?
    };
    content::read(&mut *db.acquire().await?, source)
        .await
        .map_err(|_| Error::Invalid("that document is not on both branches of this change request".into()))?;
    // Content first: should the second step fail, the conflict simply remains.
    content::replace(&state.collab, source, &resolution.content, actor.user_id).await?;
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE branch_documents SET fork_base = $3 WHERE branch_id = $1 AND document_id = $2")
        .bind(source.branch_id)
        .bind(document_id)
        .bind(&ours)
        .execute(&mut *tx)
        .await?;
    let summary = format!("resolved a conflict in change request #{number}");
    audit::record(
        &mut *tx,
        Entry::project(project_id, actor, "change_request.resolve", ("document", document_id), summary),
    )
    .await?;
    tx.commit().await?;
    get(db, actor, project_id, number).await
}

/// Merges the source into the target: text by the git-rule three-way merge (applied as a
/// CRDT edit, so live editors keep what they type), and the source's additions,
/// deletions, renames and moves; then records a version of the target. Needs enough
/// approvals that are not stale, and no conflicts.
pub async fn merge(
    state: &AppState,
    actor: &Actor,
    project_id: Uuid,
    number: i32,
    request: MergeRequest,
) -> Result<Merged> {
    let db = &state.db;
    projects::authorize(db, actor, project_id, Permission::Write).await?;
    let record = record(db, project_id, number).await?;
    if record.state != "open" {
        return Err(Error::Conflict(format!("change request #{number} is {}", record.state)));
    }
    let view = get(db, actor, project_id, number).await?;
    let conflicts = |conflicts: &[ConflictView]| Error::ConflictWith {
        message: format!("{} conflict(s) must be resolved before merging", conflicts.len()),
        details: serde_json::json!({ "conflicts": conflicts }),
    };
    if !view.conflicts.is_empty() {
        return Err(conflicts(&view.conflicts));
    }
    if !view.approved {
        let fresh = view.approvals.iter().filter(|approval| !approval.stale).count();
        return Err(Error::Forbidden(format!(
            "merging needs {} approval(s) that are not stale; this change request has {fresh}",
            view.required_approvals
        )));
    }
    let bump = match &view.constitution {
        None => None,
        Some(change) => Some(change.confirmed_bump().ok_or_else(|| {
            Error::Forbidden(format!(
                "a reviewer must confirm the constitution's version bump first (proposed: {} to {})",
                change.proposal.bump, change.proposed_version
            ))
        })?),
    };
    let override_reason = lint_gate(db, actor, project_id, &view.checks, request.override_reason.as_deref()).await?;
    let (source, target) = (record.source_branch_id, record.target_branch_id);

    // Text first: the part that can still meet a conflict (if the target moved since the
    // view above), before anything else is changed.
    for change in view.documents.iter().filter(|change| change.changes.contains(&"modified")) {
        let (base,): (Option<String>,) =
            sqlx::query_as("SELECT fork_base FROM branch_documents WHERE branch_id = $1 AND document_id = $2")
                .bind(source)
                .bind(change.document_id)
                .fetch_one(db)
                .await?;
        let theirs = {
            let mut conn = db.acquire().await?;
            content::read(&mut conn, DocKey { branch_id: source, document_id: change.document_id }).await?
        };
        let target_key = DocKey { branch_id: target, document_id: change.document_id };
        if let Err(found) =
            state.collab.merge_text(target_key, &base.unwrap_or_default(), &theirs, actor.user_id).await?
        {
            let found: Vec<ConflictView> = found
                .into_iter()
                .map(|conflict| ConflictView {
                    document_id: change.document_id,
                    title: change.title.clone(),
                    base: conflict.base,
                    ours: conflict.ours,
                    theirs: conflict.theirs,
                })
                .collect();
            return Err(conflicts(&found));
        }
    }
    // The constitution's new version goes into its text before the version is recorded.
    let new_tag = match (bump, &view.constitution) {
        (Some(bump), Some(change)) => {
            let key = DocKey { branch_id: target, document_id: change.document_id };
            let text = content::read(&mut *db.acquire().await?, key).await?;
            let (version, stamped) = review::stamped(&text, bump, Utc::now().date_naive());
            content::replace(&state.collab, key, &stamped, actor.user_id).await?;
            Some(format!("v{version}"))
        }
        _ => None,
    };

    let mut tx = db.begin().await?;
    for change in &view.documents {
        let document_id = change.document_id;
        if change.changes.contains(&"added") {
            sqlx::query(
                "INSERT INTO branch_documents (branch_id, document_id, title, parent_id, position, updated_by)
                 SELECT $1, s.document_id, s.title,
                        (SELECT t.document_id FROM branch_documents t
                         WHERE t.branch_id = $1 AND t.document_id = s.parent_id AND t.deleted_at IS NULL),
                        s.position, $3
                 FROM branch_documents s WHERE s.branch_id = $2 AND s.document_id = $4",
            )
            .bind(target)
            .bind(source)
            .bind(actor.user_id)
            .bind(document_id)
            .execute(&mut *tx)
            .await?;
            let text = content::fork(
                &mut tx,
                DocKey { branch_id: source, document_id },
                DocKey { branch_id: target, document_id },
            )
            .await?;
            sqlx::query("UPDATE branch_documents SET content = $3 WHERE branch_id = $1 AND document_id = $2")
                .bind(target)
                .bind(document_id)
                .bind(text)
                .execute(&mut *tx)
                .await?;
            continue;
        }
        if change.changes.contains(&"deleted") {
            sqlx::query(
                "UPDATE branch_documents SET deleted_at = now() WHERE branch_id = $1 AND document_id = $2 AND deleted_at IS NULL",
            )
            .bind(target)
            .bind(document_id)
            .execute(&mut *tx)
            .await?;
        }
        if change.changes.contains(&"renamed") || change.changes.contains(&"moved") {
            sqlx::query(
                "UPDATE branch_documents t SET title = s.title, position = s.position,
                     parent_id = (SELECT p.document_id FROM branch_documents p
                                  WHERE p.branch_id = $1 AND p.document_id = s.parent_id AND p.deleted_at IS NULL)
                 FROM branch_documents s
                 WHERE t.branch_id = $1 AND t.document_id = $3 AND s.branch_id = $2 AND s.document_id = $3",
            )
            .bind(target)
            .bind(source)
            .bind(document_id)
            .execute(&mut *tx)
            .await?;
        }
    }
    // The source now forks from here: a later change request from it starts afresh.
    let source_texts: Vec<(Uuid,)> = sqlx::query_as("SELECT document_id FROM branch_documents WHERE branch_id = $1")
        .bind(source)
        .fetch_all(&mut *tx)
        .await?;
    for (document_id,) in source_texts {
        let text = content::read(&mut tx, DocKey { branch_id: source, document_id }).await?;
        sqlx::query(
            "UPDATE branch_documents SET fork_base = $3, fork_title = title, fork_parent_id = parent_id,
                 fork_deleted = deleted_at IS NOT NULL
             WHERE branch_id = $1 AND document_id = $2",
        )
        .bind(source)
        .bind(document_id)
        .bind(text)
        .execute(&mut *tx)
        .await?;
    }
    let message = request.message.map(|message| message.trim().to_owned()).filter(|message| !message.is_empty());
    let message = message.unwrap_or_else(|| view.summary.title.clone());
    let version = history::record_version(&mut tx, actor, project_id, target, &message, Some(record.id)).await?;
    sqlx::query(
        "UPDATE change_requests SET state = 'merged', merged_version_id = $2, merged_by = $3, merged_at = now(),
             lint_override_reason = $4, lint_override_by = CASE WHEN $4 IS NULL THEN NULL ELSE $3 END
         WHERE id = $1",
    )
    .bind(record.id)
    .bind(version)
    .bind(actor.user_id)
    .bind(&override_reason)
    .execute(&mut *tx)
    .await?;
    if let Some(reason) = &override_reason {
        let summary = format!("merged change request #{number} despite {} lint error(s): {reason}", view.checks.errors);
        let entry =
            Entry::project(project_id, actor, "change_request.lint_override", ("change_request", record.id), summary);
        audit::record(&mut *tx, entry).await?;
    }
    if let Some(name) = &new_tag {
        // A tag of that name made by hand earlier keeps its place; the version is recorded all the same.
        let (taken,): (bool,) =
            sqlx::query_as("SELECT EXISTS (SELECT 1 FROM tags WHERE project_id = $1 AND name = $2)")
                .bind(project_id)
                .bind(name)
                .fetch_one(&mut *tx)
                .await?;
        if !taken {
            history::tag_in(&mut tx, actor, project_id, name, version).await?;
        }
    }
    let summary = format!("merged change request #{number} into {}", view.summary.target);
    audit::record(
        &mut *tx,
        Entry::project(project_id, actor, "change_request.merge", ("change_request", record.id), summary),
    )
    .await?;
    tx.commit().await?;
    Ok(Merged { version: history::version(db, version).await? })
}

/// Lets error findings through only with an owner's reason; returns the reason used.
async fn lint_gate(
    db: &PgPool,
    actor: &Actor,
    project_id: Uuid,
    checks: &Checks,
    reason: Option<&str>,
) -> Result<Option<String>> {
    let reason = reason.map(str::trim).filter(|reason| !reason.is_empty());
    if checks.errors == 0 {
        return Ok(None);
    }
    let Some(reason) = reason else {
        let errors: Vec<&crate::spec::lint::Finding> =
            checks.findings.iter().filter(|f| f.severity == crate::spec::lint::Severity::Error).collect();
        return Err(Error::ConflictWith {
            message: format!(
                "{} lint error(s) block merging: fix them, or an owner can merge with a recorded reason",
                checks.errors
            ),
            details: serde_json::json!({ "findings": errors }),
        });
    };
    if reason.chars().count() > 1000 {
        return Err(Error::Invalid("an override reason may have at most 1,000 characters".into()));
    }
    projects::authorize(db, actor, project_id, Permission::Manage)
        .await
        .map_err(|_| Error::Forbidden("only an owner can merge despite lint errors".into()))?;
    Ok(Some(reason.to_owned()))
}

/// Confirms (or changes) the version bump of the constitution change: reviewers and
/// owners who did not write the change request.
pub async fn confirm_bump(
    db: &PgPool,
    actor: &Actor,
    project_id: Uuid,
    number: i32,
    confirmation: BumpConfirmation,
) -> Result<ChangeRequest> {
    projects::authorize(db, actor, project_id, Permission::Review).await?;
    let record = record(db, project_id, number).await?;
    if record.state != "open" {
        return Err(Error::Conflict(format!("change request #{number} is {}", record.state)));
    }
    if record.author_id == actor.user_id {
        return Err(Error::Forbidden("authors cannot confirm the version bump of their own change".into()));
    }
    let view = get(db, actor, project_id, number).await?;
    let change = view
        .constitution
        .as_ref()
        .ok_or_else(|| Error::Conflict("this change request does not change the constitution".into()))?;
    let digest = compare(db, record.source_branch_id, record.target_branch_id).await?.digest;
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE change_requests SET bump_confirmed = $2, bump_confirmed_by = $3, bump_digest = $4 WHERE id = $1",
    )
    .bind(record.id)
    .bind(confirmation.bump.as_str())
    .bind(actor.user_id)
    .bind(digest)
    .execute(&mut *tx)
    .await?;
    let summary = format!(
        "confirmed a {} bump of the constitution in change request #{number} (proposed: {})",
        confirmation.bump, change.proposal.bump
    );
    let entry =
        Entry::project(project_id, actor, "change_request.confirm_bump", ("change_request", record.id), summary);
    audit::record(&mut *tx, entry).await?;
    tx.commit().await?;
    get(db, actor, project_id, number).await
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(confirm_bump_handler))
        .routes(routes!(create_handler, list_handler))
        .routes(routes!(get_handler))
        .routes(routes!(review_handler))
        .routes(routes!(comment_handler))
        .routes(routes!(merge_handler))
        .routes(routes!(resolve_handler))
}

/// Resolve a conflict: the document's merged text, recorded on the source branch.
#[utoipa::path(post, path = "/projects/{id}/change-requests/{number}/resolve", tag = "change requests",
    params(("id" = Uuid, Path), ("number" = i32, Path)), request_body = Resolution,
    responses((status = 200, body = ChangeRequest), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
async fn resolve_handler(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, number)): Path<(Uuid, i32)>,
    Json(resolution): Json<Resolution>,
) -> Result<Json<ChangeRequest>> {
    Ok(Json(resolve(&state, &actor, id, number, resolution).await?))
}

/// Merge the change request: needs enough approvals that are not stale and no conflicts.
#[utoipa::path(post, path = "/projects/{id}/change-requests/{number}/merge", tag = "change requests",
    params(("id" = Uuid, Path), ("number" = i32, Path)), request_body = MergeRequest,
    responses((status = 200, body = Merged), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody),
              (status = 409, description = "conflicts to resolve first, listed in `error.details.conflicts`", body = crate::error::ErrorBody)))]
async fn merge_handler(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, number)): Path<(Uuid, i32)>,
    Json(request): Json<MergeRequest>,
) -> Result<Json<Merged>> {
    Ok(Json(merge(&state, &actor, id, number, request).await?))
}

/// Open a change request from a source branch into a target branch (editors and above).
#[utoipa::path(post, path = "/projects/{id}/change-requests", tag = "change requests", params(("id" = Uuid, Path)),
    request_body = NewChangeRequest,
    responses((status = 201, body = Created), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn create_handler(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Json(new): Json<NewChangeRequest>,
) -> Result<(StatusCode, Json<Created>)> {
    Ok((StatusCode::CREATED, Json(create(&state.db, &actor, id, new).await?)))
}

/// The project's change requests, newest first.
#[utoipa::path(get, path = "/projects/{id}/change-requests", tag = "change requests",
    params(("id" = Uuid, Path), StateQuery),
    responses((status = 200, body = Vec<Summary>), (status = 404, body = crate::error::ErrorBody)))]
async fn list_handler(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Query(query): Query<StateQuery>,
) -> Result<Json<Vec<Summary>>> {
    Ok(Json(list(&state.db, &actor, id, query).await?))
}

/// A change request with its per-document changes, conflicts, reviews and discussion.
#[utoipa::path(get, path = "/projects/{id}/change-requests/{number}", tag = "change requests",
    params(("id" = Uuid, Path), ("number" = i32, Path)),
    responses((status = 200, body = ChangeRequest), (status = 404, body = crate::error::ErrorBody)))]
async fn get_handler(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, number)): Path<(Uuid, i32)>,
) -> Result<Json<ChangeRequest>> {
    Ok(Json(get(&state.db, &actor, id, number).await?))
}

/// Approve or request changes (reviewers and owners; not on one's own change request).
#[utoipa::path(post, path = "/projects/{id}/change-requests/{number}/reviews", tag = "change requests",
    params(("id" = Uuid, Path), ("number" = i32, Path)), request_body = NewReview,
    responses((status = 200, body = ChangeRequest), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn review_handler(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, number)): Path<(Uuid, i32)>,
    Json(new): Json<NewReview>,
) -> Result<Json<ChangeRequest>> {
    Ok(Json(review(&state.db, &actor, id, number, new).await?))
}

/// Comment on a change request, or on a line of one of its documents.
#[utoipa::path(post, path = "/projects/{id}/change-requests/{number}/comments", tag = "change requests",
    params(("id" = Uuid, Path), ("number" = i32, Path)), request_body = NewComment,
    responses((status = 201, body = Comment), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn comment_handler(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, number)): Path<(Uuid, i32)>,
    Json(new): Json<NewComment>,
) -> Result<(StatusCode, Json<Comment>)> {
    Ok((StatusCode::CREATED, Json(comment(&state.db, &actor, id, number, new).await?)))
}

#[cfg(test)]
mod tests {
    use super::SectionChanges;

    #[test]
    fn sections_added_modified_and_removed() {
        let before = "# Spec\nintro\n## AUTH-001\nold rule\n## AUTH-002\nkept\n## Notes\na\n## Notes\nb\n";
        let after = "# Spec\nintro\n## AUTH-001\nnew rule\n## AUTH-003\nadded\n## Notes\na\n## Notes\nB\n";
        assert_eq!(
            SectionChanges::between(before, after),
            SectionChanges {
                added: vec!["AUTH-003".into()],
                modified: vec!["AUTH-001".into(), "Notes (2)".into()],
                removed: vec!["AUTH-002".into()],
            }
        );
    }
}

/// Confirm the constitution's version bump (`major`, `minor` or `patch`): reviewers.
#[utoipa::path(post, path = "/projects/{id}/change-requests/{number}/constitution", tag = "change requests",
    params(("id" = Uuid, Path), ("number" = i32, Path)), request_body = BumpConfirmation,
    responses((status = 200, body = ChangeRequest), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn confirm_bump_handler(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, number)): Path<(Uuid, i32)>,
    Json(confirmation): Json<BumpConfirmation>,
) -> Result<Json<ChangeRequest>> {
    Ok(Json(confirm_bump(&state.db, &actor, id, number, confirmation).await?))
}
