//! Changing a change request's outcome: resolving conflicts, confirming the
//! constitution's bump, and merging.

use charter_types::{
    BranchId, ChangeKind, ChangeRequestId, Checks, ConstitutionChange, DocumentId, Finding, MergeBlocker, Severity,
    UserId, WebhookEvent,
};
use chrono::Utc;
use futures_util::{stream, StreamExt, TryStreamExt};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::actions::Caller;
use super::compare::{compare, find_source, KeptChange, SourceState};
use super::{
    contract_versions, ensure_open, get, record, view, BumpConfirmation, ChangeRequest, ConflictView, DocumentChange,
};
use super::{page, MergeRequest, Merged, Record, Resolution};
use crate::audit;
use crate::authorization::ProjectAccess;
use crate::claims::{busy, try_claim};
use crate::collab::{self, DocKey};
use crate::error::{Error, Result};
use crate::merge::Conflict;
use crate::structure::requirements;
use crate::structure::review;
use crate::{content, documents, history, webhooks, AppState};

/// Documents whose merge is worked out, or applied, at once. Applying one to a document
/// that is not open loads it on a connection of the co-editing engine's, which live
/// editors' loads and catch-ups need as well: half of them at most.
const TEXT_MERGES_AT_ONCE: usize = 4;

/// Claims the open change request until the returned transaction ends (see
/// [`try_claim`]). The row lock keeps reviews and bump confirmations out, so what the
/// claimant checked stays true until it commits. However the transaction ends (an
/// error, a dropped request, a lost connection) releases the claim: a failed merge
/// leaves the request open.
async fn claim(db: &PgPool, project: &ProjectAccess, number: i32) -> Result<(Transaction<'static, Postgres>, Record)> {
    let project_id = project.project();
    let id = record(db, project_id, number).await?.id;
    let mut tx = project.begin(db).await?;
    if !try_claim(&mut tx, id).await? {
        return Err(busy(number));
    }
    // Waits only for a review or confirmation being written.
    ensure_open(&mut tx, id, number, "FOR NO KEY UPDATE").await?;
    // Read again under the claim: a bump confirmed meanwhile counts.
    Ok((tx, record(db, project_id, number).await?))
}

/// Records a resolution on the source branch, as git records a merge of the target into
/// it: the source document becomes `content` (a normal live edit, reviewed like the
/// rest, so approvals go stale), and its fork point moves to the target's current text.
/// Merging then finds the target unchanged since that point and takes `content`.
pub async fn resolve(
    state: &AppState,
    project: &ProjectAccess,
    number: i32,
    resolution: Resolution,
) -> Result<ChangeRequest> {
    let db = &state.db;
    content::validate(&resolution.content)?;
    let (mut tx, record) = claim(db, project, number).await?;
    let document_id = resolution.document_id;
    let (source, target) =
        (DocKey::new(record.source_branch_id, document_id), DocKey::new(record.target_branch_id, document_id));
    // Storage reads an unknown document as empty text: ask the branches themselves. (No row
    // lock: the edit below appends under its own, from the co-editing writer.)
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM branch_documents WHERE document_id = $1 AND branch_id IN ($2, $3) AND deleted_at IS NULL",
    )
    .bind(document_id)
    .bind(source.branch_id)
    .bind(target.branch_id)
    .fetch_one(&mut *tx)
    .await?;
    if live != 2 {
        return Err(Error::Invalid("that document is not on both branches of this change request".into()));
    }
    let ours = content::read(&mut *db.acquire().await?, target).await?;
    // Content first: should the second step fail, the conflict simply remains.
    content::replace(&state.collab, source, &resolution.content, project.actor().user_id).await?;
    sqlx::query("UPDATE branch_documents SET fork_base = $3 WHERE branch_id = $1 AND document_id = $2")
        .bind(source.branch_id)
        .bind(document_id)
        .bind(&ours)
        .execute(&mut *tx)
        .await?;
    let summary = format!("resolved a conflict in change request #{number}");
    audit::record(&mut *tx, project.audit("change_request.resolve", ("document", document_id), summary)).await?;
    tx.commit().await?;
    get(db, project, number).await
}

fn conflicts_error(conflicts: &[ConflictView]) -> Error {
    Error::ConflictWith {
        message: MergeBlocker::Conflicts { count: conflicts.len() }.to_string(),
        details: serde_json::json!({ "conflicts": conflicts }),
    }
}

/// Merges the source into the target: text by the git-rule three-way merge (applied as a
/// CRDT edit, so live editors keep what they type), and the source's additions,
/// deletions, renames and moves; then records a version of the target. Needs enough
/// approvals that are not stale, and no conflicts.
///
/// What is merged is the source exactly as compared for this check, the state the
/// approvals' digest covers; whatever is typed on the source meanwhile stays there for a
/// later change request. The change request is claimed first, so a concurrent merge
/// changes nothing, not even the live text.
pub async fn merge(state: &AppState, project: &ProjectAccess, number: i32, request: MergeRequest) -> Result<Merged> {
    let db = &state.db;
    let (project_id, actor) = (project.project(), project.actor());
    let (mut tx, record) = claim(db, project, number).await?;
    let caller = Caller::of(project, record.author_id);
    let (view, sources) = view(db, project, &record, caller).await?;
    let reason = request.override_reason.as_deref().map(str::trim).filter(|reason| !reason.is_empty());
    if let Some(blocker) = view.actions.merge_blockers.first() {
        return Err(blocked(blocker, &view, reason));
    }
    let override_reason = match reason {
        _ if view.checks.errors == 0 => None,
        None => return Err(lint_errors(&view.checks)),
        Some(reason) => Some(override_reason(reason)?.to_owned()),
    };
    let bump = view.constitution.as_ref().and_then(ConstitutionChange::confirmed_bump);
    let (source, target) = (record.source_branch_id, record.target_branch_id);
    // Merges into the target go one at a time from here (and its tree changes shape one
    // change at a time, see `documents::lock_tree`): the versions contracts' bumps start
    // from are read under it, before anything is written.
    documents::lock_tree(&mut tx, target).await?;
    let planned = contract_versions::plan(state, target, &view, &sources).await?;
    let compared = |document_id: DocumentId| {
        find_source(&sources, document_id).ok_or_else(|| Error::internal("a changed document was not compared"))
    };

    // Text first: the part that can still meet a conflict (if the target moved since the
    // view above). Every document's merge is worked out before any is applied, so that a
    // conflict changes nothing; then they are applied a few at a time, so that their edits
    // share the co-editing writer's commits.
    let plans: Vec<_> = view
        .documents
        .iter()
        .filter(|change| change.changes.contains(&ChangeKind::Modified))
        .map(|change| async move {
            let theirs = compared(change.document_id)?;
            let base = theirs.fork_base.as_deref().unwrap_or_default();
            let key = DocKey::new(target, change.document_id);
            let merged = collab::plan_merge(&mut *db.acquire().await?, key, base, &theirs.text).await?;
            Ok::<_, Error>(merged.map_err(|found| {
                let conflict = |conflict: Conflict| ConflictView {
                    document_id: change.document_id,
                    title: change.title.clone(),
                    base: conflict.base,
                    ours: conflict.ours,
                    theirs: conflict.theirs,
                };
                found.into_iter().map(conflict).collect::<Vec<_>>()
            }))
        })
        .collect();
    let worked_out: Vec<_> = stream::iter(plans).buffered(TEXT_MERGES_AT_ONCE).try_collect().await?;
    let (plans, conflicts): (Vec<_>, Vec<_>) = worked_out.into_iter().partition(std::result::Result::is_ok);
    let conflicts: Vec<ConflictView> = conflicts.into_iter().filter_map(|found| found.err()).flatten().collect();
    if !conflicts.is_empty() {
        return Err(conflicts_error(&conflicts));
    }
    let applies: Vec<_> =
        plans.into_iter().flatten().map(|plan| state.collab.apply_merge(plan, actor.user_id)).collect();
    stream::iter(applies).buffered(TEXT_MERGES_AT_ONCE).try_collect::<Vec<_>>().await?;
    // The constitution's new version goes into its text before the version is recorded.
    let new_tag = match (bump, &view.constitution) {
        (Some(bump), Some(change)) => {
            let key = DocKey::new(target, change.document_id);
            let text = content::read(&mut *db.acquire().await?, key).await?;
            let (version, stamped) = review::stamped(&text, bump, Utc::now().date_naive());
            content::replace(&state.collab, key, &stamped, actor.user_id).await?;
            Some(format!("v{version}"))
        }
        _ => None,
    };
    let stamped = contract_versions::stamp(state, target, planned, actor.user_id).await?;

    for change in &view.documents {
        apply_change(&mut tx, actor.user_id, source, target, change, compared(change.document_id)?).await?;
    }
    // The source now forks from what was merged: a later change request from it shows
    // what was done since, including anything typed during this merge.
    sqlx::query(
        "UPDATE branch_documents bd SET fork_base = m.text, fork_title = m.title, fork_parent_id = m.parent_id,
             fork_deleted = m.deleted
         FROM unnest($2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::bool[]) AS m (document_id, text, title, parent_id, deleted)
         WHERE bd.branch_id = $1 AND bd.document_id = m.document_id",
    )
    .bind(source)
    .bind(sources.iter().map(|merged| merged.document_id).collect::<Vec<_>>())
    .bind(sources.iter().map(|merged| merged.text.as_str()).collect::<Vec<_>>())
    .bind(sources.iter().map(|merged| merged.title.as_str()).collect::<Vec<_>>())
    .bind(sources.iter().map(|merged| merged.parent_id).collect::<Vec<_>>())
    .bind(sources.iter().map(|merged| merged.deleted).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    let message = request.message.map(|message| message.trim().to_owned()).filter(|message| !message.is_empty());
    let message = message.unwrap_or_else(|| view.summary.title.clone());
    let version = record_version(&mut tx, project, target, &message, Some(record.id)).await?;
    // What it changed, for its page once the source has moved on.
    let kept = view
        .documents
        .iter()
        .map(|change| Ok(KeptChange::of(change, compared(change.document_id)?)))
        .collect::<Result<Vec<_>>>()?;
    sqlx::query(
        "UPDATE change_requests SET state = 'merged', merged_version_id = $2, merged_by = $3, merged_at = now(),
             lint_override_reason = $4, lint_override_by = CASE WHEN $4 IS NULL THEN NULL ELSE $3 END,
             merged_changes = $5, merged_findings = $6
         WHERE id = $1",
    )
    .bind(record.id)
    .bind(version)
    .bind(actor.user_id)
    .bind(&override_reason)
    .bind(sqlx::types::Json(kept))
    .bind(sqlx::types::Json(&view.checks.findings))
    .execute(&mut *tx)
    .await?;
    if let Some(reason) = &override_reason {
        let summary = format!("merged change request #{number} despite {} lint error(s): {reason}", view.checks.errors);
        audit::record(&mut *tx, project.audit("change_request.lint_override", ("change_request", record.id), summary))
            .await?;
    }
    if let Some(name) = &new_tag {
        // A tag of that name made by hand earlier keeps its place; the version is recorded all the same.
        history::tag_in(&mut tx, project, name, version).await?;
    }
    contract_versions::tag(&mut tx, project, record.id, version, &stamped).await?;
    let summary = format!("merged change request #{number} into {}", view.summary.target);
    audit::record(&mut *tx, project.audit("change_request.merge", ("change_request", record.id), summary)).await?;
    let (slug, version_number): (String, i32) = sqlx::query_as(
        "SELECT p.slug, v.number FROM versions v JOIN projects p ON p.id = v.project_id WHERE v.id = $1",
    )
    .bind(version)
    .fetch_one(&mut *tx)
    .await?;
    let data = serde_json::json!({
        "project_id": project_id, "number": number, "title": view.summary.title, "source": view.summary.source,
        "target": view.summary.target, "version": version_number, "path": page(&slug, number),
    });
    webhooks::emit(&mut tx, project_id, WebhookEvent::ChangeRequestMerged, data).await?;
    tx.commit().await?;
    Ok(Merged { version: history::version(db, version).await? })
}

/// Records the branch as it stands now as its next version, with each document's text
/// and the requirements they hold.
async fn record_version(
    tx: &mut sqlx::PgConnection,
    project: &ProjectAccess,
    branch_id: BranchId,
    message: &str,
    change_request: Option<ChangeRequestId>,
) -> Result<Uuid> {
    sqlx::query("SELECT 1 FROM branches WHERE id = $1 FOR UPDATE").bind(branch_id).execute(&mut *tx).await?;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO versions (id, project_id, branch_id, number, message, author_id, change_request_id)
         SELECT $1, $2, $3, coalesce(max(number), 0) + 1, $4, $5, $6 FROM versions WHERE branch_id = $3",
    )
    .bind(id)
    .bind(project.project())
    .bind(branch_id)
    .bind(message)
    .bind(project.actor().user_id)
    .bind(change_request)
    .execute(&mut *tx)
    .await?;
    let documents: Vec<DocumentId> =
        sqlx::query_scalar("SELECT document_id FROM branch_documents WHERE branch_id = $1")
            .bind(branch_id)
            .fetch_all(&mut *tx)
            .await?;
    let keys: Vec<DocKey> = documents.iter().map(|&document_id| DocKey::new(branch_id, document_id)).collect();
    let texts: Vec<String> = content::read_many(&mut *tx, &keys).await?.into_iter().map(|(text, _)| text).collect();
    sqlx::query(
        "INSERT INTO version_documents (version_id, document_id, title, parent_id, position, deleted, content)
         SELECT $1, bd.document_id, bd.title, bd.parent_id, bd.position, bd.deleted_at IS NOT NULL, t.content
         FROM unnest($3::uuid[], $4::text[]) AS t (document_id, content)
         JOIN branch_documents bd ON bd.branch_id = $2 AND bd.document_id = t.document_id",
    )
    .bind(id)
    .bind(branch_id)
    .bind(&documents)
    .bind(&texts)
    .execute(&mut *tx)
    .await?;
    requirements::record(&mut *tx, project.project(), branch_id, id).await?;
    Ok(id)
}

/// Brings one document's addition, deletion, rename or move over to the target, as the
/// source had it when compared.
async fn apply_change(
    tx: &mut PgConnection,
    author: UserId,
    source: BranchId,
    target: BranchId,
    change: &DocumentChange,
    compared: &SourceState,
) -> Result<()> {
    let document_id = change.document_id;
    if change.changes.contains(&ChangeKind::Added) {
        sqlx::query(
            "INSERT INTO branch_documents (branch_id, document_id, title, parent_id, position, updated_by)
             SELECT $1, s.document_id, $3,
                    (SELECT t.document_id FROM branch_documents t
                     WHERE t.branch_id = $1 AND t.document_id = $4 AND t.deleted_at IS NULL),
                    s.position, $5
             FROM branch_documents s WHERE s.branch_id = $2 AND s.document_id = $6",
        )
        .bind(target)
        .bind(source)
        .bind(&compared.title)
        .bind(compared.parent_id)
        .bind(author)
        .bind(document_id)
        .execute(&mut *tx)
        .await?;
        return content::init(tx, DocKey::new(target, document_id), &compared.text).await;
    }
    if change.changes.contains(&ChangeKind::Deleted) {
        sqlx::query(
            "UPDATE branch_documents SET deleted_at = now() WHERE branch_id = $1 AND document_id = $2 AND deleted_at IS NULL",
        )
        .bind(target)
        .bind(document_id)
        .execute(&mut *tx)
        .await?;
    }
    if change.changes.contains(&ChangeKind::Renamed) || change.changes.contains(&ChangeKind::Moved) {
        sqlx::query(
            "UPDATE branch_documents t SET title = $4, position = s.position,
                 parent_id = (SELECT p.document_id FROM branch_documents p
                              WHERE p.branch_id = $1 AND p.document_id = $5 AND p.deleted_at IS NULL)
             FROM branch_documents s
             WHERE t.branch_id = $1 AND t.document_id = $3 AND s.branch_id = $2 AND s.document_id = $3",
        )
        .bind(target)
        .bind(source)
        .bind(document_id)
        .bind(&compared.title)
        .bind(compared.parent_id)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// The error merging answers with when `blocker` stands in its way, given the reason
/// the caller sent to merge despite lint errors, if any.
fn blocked(blocker: &MergeBlocker, view: &ChangeRequest, reason: Option<&str>) -> Error {
    match (blocker, reason) {
        (MergeBlocker::Conflicts { .. }, _) => conflicts_error(&view.conflicts),
        (MergeBlocker::LintErrors { .. }, Some(reason)) => match override_reason(reason) {
            Ok(_) => Error::Forbidden("only an owner can merge despite lint errors".into()),
            Err(err) => err,
        },
        (MergeBlocker::LintErrors { .. }, None) => lint_errors(&view.checks),
        (MergeBlocker::NotOpen { .. } | MergeBlocker::NoChanges, _) => Error::Conflict(blocker.to_string()),
        (
            MergeBlocker::Role { .. }
            | MergeBlocker::ReadOnlyToken
            | MergeBlocker::Approvals { .. }
            | MergeBlocker::BumpUnconfirmed { .. }
            | MergeBlocker::ContractBumpUnconfirmed { .. }
            | MergeBlocker::OwnerApproval,
            _,
        ) => Error::Forbidden(blocker.to_string()),
    }
}

/// A reason to merge despite lint errors, if it is short enough to keep.
fn override_reason(reason: &str) -> Result<&str> {
    if reason.chars().count() > 1000 {
        return Err(Error::Invalid("an override reason may have at most 1,000 characters".into()));
    }
    Ok(reason)
}

fn lint_errors(checks: &Checks) -> Error {
    let errors: Vec<&Finding> = checks.findings.iter().filter(|f| f.severity == Severity::Error).collect();
    Error::ConflictWith {
        message: MergeBlocker::LintErrors { count: checks.errors }.to_string(),
        details: serde_json::json!({ "findings": errors }),
    }
}

/// Confirms (or changes) the version bump of the constitution change, or of a contract
/// the change request changes: reviewers and owners who did not write it.
pub async fn confirm_bump(
    db: &PgPool,
    project: &ProjectAccess,
    number: i32,
    confirmation: BumpConfirmation,
) -> Result<ChangeRequest> {
    let actor = project.actor();
    let record = record(db, project.project(), number).await?;
    if record.author_id == actor.user_id {
        return Err(Error::Forbidden("authors cannot confirm the version bump of their own change".into()));
    }
    if let Some(document_id) = confirmation.document_id {
        let digest = compare(db, record.source_branch_id, record.target_branch_id).await?.digest;
        let view = get(db, project, number).await?;
        let target = (document_id, confirmation.bump);
        contract_versions::confirm(db, project, (&record, number), &view, digest, target).await?;
        return get(db, project, number).await;
    }
    let view = get(db, project, number).await?;
    let change = view
        .constitution
        .as_ref()
        .ok_or_else(|| Error::Conflict("this change request does not change the constitution".into()))?;
    let digest = compare(db, record.source_branch_id, record.target_branch_id).await?.digest;
    let mut tx = project.begin(db).await?;
    ensure_open(&mut tx, record.id, number, "FOR NO KEY UPDATE NOWAIT").await?;
    sqlx::query(
        "UPDATE change_requests SET bump_confirmed = $2, bump_confirmed_by = $3, bump_digest = $4 WHERE id = $1",
    )
    .bind(record.id)
    .bind(confirmation.bump)
    .bind(actor.user_id)
    .bind(digest)
    .execute(&mut *tx)
    .await?;
    let summary = format!(
        "confirmed a {} bump of the constitution in change request #{number} (proposed: {})",
        confirmation.bump, change.proposal.bump
    );
    audit::record(&mut *tx, project.audit("change_request.confirm_bump", ("change_request", record.id), summary))
        .await?;
    tx.commit().await?;
    get(db, project, number).await
}
