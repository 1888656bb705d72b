//! A contract's version through review, as the constitution's goes: its API changes
//! propose a bump from the version the target holds, a reviewer who did not write the
//! change confirms it (for the source as it was then), and merging writes the version
//! into `info.version` and tags the merged version `<contract>@x.y.z`.

use std::cmp::Ordering;

use charter_types::{
    BranchId, Bump, ChangeKind, ChangeRequestId, ConfirmedBump, ContractReview, DocumentId, Kind, MergeBlocker, UserId,
};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::compare::{api_reviews, contract_texts, find_source, KeptChange, SourceState};
use super::{ensure_open, ChangeRequest, DocumentChange, Record};
use crate::authorization::ProjectAccess;
use crate::collab::DocKey;
use crate::contract::{self, version, Contract};
use crate::error::{Error, Result};
use crate::{audit, content, history, AppState};

/// A reviewer's confirmation of a contract's bump, as recorded.
#[derive(sqlx::FromRow)]
struct Confirmation {
    document_id: DocumentId,
    bump: Bump,
    confirmed_by: String,
    source_digest: Vec<u8>,
    stamped_version: Option<String>,
}

/// Puts each changed contract's API review on its change: its changes, the bump they
/// propose from the target's version, the confirmation, and the version merging gives
/// (or gave). A merged change request is reviewed from the texts it kept.
pub(super) async fn review(
    db: &PgPool,
    record: &Record,
    shown: &mut [DocumentChange],
    sources: &[SourceState],
    digest: &[u8],
) -> Result<()> {
    let texts: Vec<(DocumentId, String, String)> = match &record.merged_changes {
        Some(kept) => kept.0.iter().filter_map(KeptChange::contract_texts).collect(),
        None => shown.iter().filter_map(|change| contract_texts(change, sources)).collect(),
    };
    let merged = record.merged_changes.is_some();
    let mut with_targets = Vec::with_capacity(texts.len());
    for (id, base, text) in texts {
        let target = match merged {
            // Its own version counts: what the target became since is another story.
            true => None,
            false => match content::read(&mut *db.acquire().await?, DocKey::new(record.target_branch_id, id)).await {
                Ok(target) => Some(target),
                Err(Error::NotFound(_)) => None,
                Err(err) => return Err(err),
            },
        };
        with_targets.push((id, base, text, target));
    }
    let reviews = api_reviews(with_targets).await?;
    if reviews.is_empty() {
        return Ok(());
    }
    let confirmations: Vec<Confirmation> = sqlx::query_as(
        "SELECT b.document_id, b.bump, u.username AS confirmed_by, b.source_digest, b.stamped_version
         FROM contract_bumps b JOIN users u ON u.id = b.confirmed_by WHERE b.change_request_id = $1",
    )
    .bind(record.id)
    .fetch_all(db)
    .await?;
    for (id, mut review) in reviews {
        let deleted =
            shown.iter().any(|change| change.document_id == id && change.changes.contains(&ChangeKind::Deleted));
        if deleted {
            // A contract the change deletes has no next version to confirm or write.
            review.proposed_version = None;
        }
        let confirmation = confirmations.iter().find(|confirmation| confirmation.document_id == id);
        review.confirmed = confirmation.map(|confirmation| ConfirmedBump {
            bump: confirmation.bump,
            by: confirmation.confirmed_by.clone(),
            stale: !merged && confirmation.source_digest != digest,
        });
        review.next_version = match merged {
            true => confirmation.and_then(|confirmation| confirmation.stamped_version.clone()),
            false => next_version(&review),
        };
        if let Some(change) = shown.iter_mut().find(|change| change.document_id == id) {
            change.api = Some(review);
        }
    }
    Ok(())
}

/// The version merging writes: the confirmed bump applied to the target's version, or
/// the version the change writes when that is larger.
fn next_version(review: &ContractReview) -> Option<String> {
    let bumped = version::bumped(review.current_version.as_deref()?, review.confirmed_bump()?)?;
    Some(larger(review.written_version.as_deref(), bumped))
}

/// `written` when it is a larger semantic version than `bumped`, else `bumped`.
fn larger(written: Option<&str>, bumped: String) -> String {
    match written {
        Some(written) if version::compare(written, &bumped) == Some(Ordering::Greater) => written.to_owned(),
        _ => bumped,
    }
}

/// Records a reviewer's confirmation of a contract's bump, for the source as it is now
/// (`digest`, taken before `view` was, so an edit in between makes it stale at once).
pub(super) async fn confirm(
    db: &PgPool,
    project: &ProjectAccess,
    (record, number): (&Record, i32),
    view: &ChangeRequest,
    digest: Vec<u8>,
    (document_id, bump): (DocumentId, Bump),
) -> Result<()> {
    let change = view
        .documents
        .iter()
        .find(|change| change.document_id == document_id && change.api.as_ref().is_some_and(proposes))
        .ok_or_else(|| {
            Error::Conflict(
                "this change request proposes no version bump for that document: only a contract whose API \
                 changes, and whose info.version is a semantic version, has one"
                    .into(),
            )
        })?;
    let proposed = change.api.as_ref().and_then(|api| api.bump).unwrap_or(bump);
    let mut tx = project.begin(db).await?;
    ensure_open(&mut tx, record.id, number, "FOR NO KEY UPDATE NOWAIT").await?;
    sqlx::query(
        "INSERT INTO contract_bumps (change_request_id, document_id, bump, confirmed_by, source_digest)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (change_request_id, document_id)
         DO UPDATE SET bump = $3, confirmed_by = $4, source_digest = $5",
    )
    .bind(record.id)
    .bind(document_id)
    .bind(bump)
    .bind(project.actor().user_id)
    .bind(digest)
    .execute(&mut *tx)
    .await?;
    let summary = format!(
        "confirmed a {bump} bump of the contract {} in change request #{number} (proposed: {proposed})",
        change.title
    );
    audit::record(&mut *tx, project.audit("change_request.confirm_bump", ("change_request", record.id), summary))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Its bump is for a reviewer to confirm.
fn proposes(review: &ContractReview) -> bool {
    review.proposed_version.is_some()
}

/// A contract's version as merging writes it.
pub(super) struct Stamped {
    document_id: DocumentId,
    title: String,
    version: String,
}

/// The versions merging will write, read before anything is written (and with the
/// target's tree locked, so merges into it go one at a time): each confirmed bump
/// applied to the version the target holds now, or the larger version the change
/// writes. Refused, before any write, when a contract's `info.version` is not written
/// so that it can be rewritten in place.
pub(super) async fn plan(
    state: &AppState,
    target: BranchId,
    view: &ChangeRequest,
    sources: &[SourceState],
) -> Result<Vec<Stamped>> {
    let mut planned = Vec::new();
    for change in view.documents.iter().filter(|change| change.kind == Kind::Contract) {
        let Some(api) = change.api.as_ref() else { continue };
        let Some(bump) = api.confirmed_bump().filter(|_| api.proposed_version.is_some()) else { continue };
        let key = DocKey::new(target, change.document_id);
        let now = content::read(&mut *state.db.acquire().await?, key).await?;
        let source = find_source(sources, change.document_id).map(|source| source.text.clone()).unwrap_or_default();
        let written = api.written_version.clone();
        let title = change.title.clone();
        let version = crate::budget::run(move |_| {
            let current = Contract::read(&now);
            let current = current.readable().and_then(|readable| readable.version()).map(str::to_owned);
            let next = current.as_deref().and_then(|current| version::bumped(current, bump));
            let Some(next) = next else { return Ok(None) };
            let next = larger(written.as_deref(), next);
            match version::stamp(&source, &next) {
                Some(_) => Ok(Some(next)),
                None => Err(Error::Conflict(format!(
                    "merging cannot write {next} into the contract {title}: its info.version is not written as a \
                     plain or quoted value (such as `version: 1.2.0`); write it so, and merge again"
                ))),
            }
        })
        .await?;
        if let Some(version) = version {
            planned.push(Stamped { document_id: change.document_id, title: change.title.clone(), version });
        }
    }
    Ok(planned)
}

/// Writes each planned version into its contract on the target (the text merged a
/// moment ago), unless the merged text holds a larger one.
pub(super) async fn stamp(
    state: &AppState,
    target: BranchId,
    planned: Vec<Stamped>,
    author: UserId,
) -> Result<Vec<Stamped>> {
    let mut stamped = Vec::with_capacity(planned.len());
    for Stamped { document_id, title, version } in planned {
        let key = DocKey::new(target, document_id);
        let text = content::read(&mut *state.db.acquire().await?, key).await?;
        let merged = Contract::read(&text);
        let written = merged.readable().and_then(|readable| readable.version()).map(str::to_owned);
        let version = larger(written.as_deref(), version);
        if written.as_deref() != Some(version.as_str()) {
            let text = version::stamp(&text, &version).ok_or_else(|| {
                Error::Conflict(format!("merging could not write {version} into the contract {title}: merge again"))
            })?;
            content::replace(&state.collab, key, &text, author).await?;
        }
        stamped.push(Stamped { document_id, title, version });
    }
    Ok(stamped)
}

/// Keeps the versions merging wrote and tags the merged version with each,
/// `<contract>@x.y.z` (a tag of that name made earlier keeps its place).
pub(super) async fn tag(
    tx: &mut PgConnection,
    project: &ProjectAccess,
    id: ChangeRequestId,
    version_id: Uuid,
    stamped: &[Stamped],
) -> Result<()> {
    for Stamped { document_id, title, version } in stamped {
        sqlx::query("UPDATE contract_bumps SET stamped_version = $3 WHERE change_request_id = $1 AND document_id = $2")
            .bind(id)
            .bind(document_id)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        history::tag_in(&mut *tx, project, &format!("{}@{version}", contract::slug(title)), version_id).await?;
    }
    Ok(())
}

/// A blocker for each contract whose bump still waits for a reviewer.
pub(super) fn unconfirmed(documents: &[DocumentChange]) -> impl Iterator<Item = MergeBlocker> + '_ {
    documents.iter().filter_map(|change| {
        let api = change.api.as_ref().filter(|api| api.needs_confirmation())?;
        Some(MergeBlocker::ContractBumpUnconfirmed {
            contract: change.title.clone(),
            proposed: api.bump?,
            to_version: api.proposed_version.clone()?,
        })
    })
}

/// Whether some contract's bump is for a reviewer to confirm.
pub(super) fn any_proposed(documents: &[DocumentChange]) -> bool {
    documents.iter().filter_map(|change| change.api.as_ref()).any(proposes)
}

/// Whether the change breaks some contract's callers.
pub(super) fn breaking(documents: &[DocumentChange]) -> bool {
    documents.iter().filter_map(|change| change.api.as_ref()).any(ContractReview::breaking)
}
