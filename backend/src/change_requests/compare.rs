//! What a change request changes: each source document against its fork point (and the
//! target, for conflicts), and other open change requests touching the same sections.

use std::collections::HashMap;

use charter_types::{BranchId, ChangeKind, ChangeRequestId, ContractReview, DocumentId, Kind, ProjectId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::{ConflictView, DocumentChange, Overlap, SectionChanges};
use crate::collab::DocKey;
use crate::error::Result;
use crate::merge::LineChange;
use crate::{budget, content, merge};

impl SectionChanges {
    /// The sections of a document of `kind` (a contract's operations and named parts)
    /// that differ between two texts.
    pub(super) fn between(kind: Kind, old: &str, new: &str) -> SectionChanges {
        // Repeated headings are told apart by their order: "Notes", "Notes (2)".
        let keyed = |text: &str| -> Vec<(String, String)> {
            let mut seen: HashMap<String, usize> = HashMap::new();
            let sections = match kind {
                Kind::Contract => crate::contract::sections(text),
                _ => crate::markdown::sections(text),
            };
            sections
                .into_iter()
                .map(|(heading, body)| {
                    let count = seen.entry(heading.clone()).or_insert(0);
                    *count += 1;
                    let key = if *count == 1 { heading } else { format!("{heading} ({count})") };
                    (key, body)
                })
                .collect()
        };
        let (before, after) = (keyed(old), keyed(new));
        // Looked up by key, so that a document of many sections costs no more than its length.
        let (before_by_key, after_by_key) = (by_key(&before), by_key(&after));
        let mut changes = SectionChanges::default();
        for (key, body) in &after {
            match before_by_key.get(key.as_str()) {
                None => changes.added.push(key.clone()),
                Some(&old_body) if old_body != body => changes.modified.push(key.clone()),
                Some(_) => {}
            }
        }
        changes.removed = before
            .iter()
            .filter(|(key, _)| !after_by_key.contains_key(key.as_str()))
            .map(|(key, _)| key.clone())
            .collect();
        changes
    }

    fn touched(&self) -> impl Iterator<Item = &String> {
        self.added.iter().chain(&self.modified).chain(&self.removed)
    }
}

/// Sections by key. Should two keys still be equal (a heading written "Notes (2)" beside
/// a second "Notes"), the first counts.
fn by_key(sections: &[(String, String)]) -> HashMap<&str, &str> {
    let mut keyed = HashMap::with_capacity(sections.len());
    for (key, body) in sections {
        keyed.entry(key.as_str()).or_insert(body.as_str());
    }
    keyed
}

/// A source document as it stands, with what it was at the fork.
#[derive(sqlx::FromRow)]
struct SourceDocument {
    document_id: DocumentId,
    title: String,
    kind: Kind,
    parent_id: Option<DocumentId>,
    deleted: bool,
    fork_base: Option<String>,
    fork_title: Option<String>,
    fork_parent_id: Option<DocumentId>,
    fork_deleted: Option<bool>,
}

/// A source document exactly as compared (and digested, so as approved): what a merge
/// brings over, whatever is typed on the source meanwhile.
pub(super) struct SourceState {
    pub document_id: DocumentId,
    pub title: String,
    pub parent_id: Option<DocumentId>,
    pub deleted: bool,
    pub text: String,
    /// Its text at the fork.
    pub fork_base: Option<String>,
}

/// The comparison of a source with its fork point and the target.
pub(super) struct Comparison {
    pub documents: Vec<DocumentChange>,
    pub conflicts: Vec<ConflictView>,
    pub digest: Vec<u8>,
    /// Every source document as compared.
    pub sources: Vec<SourceState>,
}

/// Which document changed, and how.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct Header {
    document_id: DocumentId,
    title: String,
    kind: Kind,
    changes: Vec<ChangeKind>,
    renamed_from: Option<String>,
}

impl Header {
    /// The change as shown: `diff`, the line changes from `base` to `text`, its size,
    /// and the sections it touches.
    fn change(self, base: &str, text: &str, diff: Vec<LineChange>) -> DocumentChange {
        let lines_added = diff.iter().map(|change| change.new.len()).sum();
        let lines_removed = diff.iter().map(|change| change.old.len()).sum();
        let now = if self.changes.contains(&ChangeKind::Deleted) { "" } else { text };
        DocumentChange {
            // Worked out for the change request's own view only (`api_reviews`).
            api: None,
            sections: SectionChanges::between(self.kind, base, now),
            document_id: self.document_id,
            title: self.title,
            kind: self.kind,
            changes: self.changes,
            renamed_from: self.renamed_from,
            lines_added,
            lines_removed,
            diff,
        }
    }
}

/// A document's change as a merged change request keeps it (`change_requests.merged_changes`):
/// merging moves the source's fork point, and the comparison is empty afterwards.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct KeptChange {
    #[serde(flatten)]
    header: Header,
    /// Its text at the fork point (empty when the branch added it).
    base: String,
    /// Its text on the source, as merged.
    text: String,
}

impl KeptChange {
    /// What merging keeps of `change`, shown from `source` as compared.
    pub(super) fn of(change: &DocumentChange, source: &SourceState) -> KeptChange {
        let base = match change.changes.contains(&ChangeKind::Added) {
            true => String::new(),
            false => source.fork_base.clone().unwrap_or_default(),
        };
        let header = Header {
            document_id: change.document_id,
            title: change.title.clone(),
            kind: change.kind,
            changes: change.changes.clone(),
            renamed_from: change.renamed_from.clone(),
        };
        KeptChange { header, base, text: source.text.clone() }
    }

    /// A contract's texts before and after, for its API review (none for others).
    pub(super) fn contract_texts(&self) -> Option<(DocumentId, String, String)> {
        let deleted = self.header.changes.contains(&ChangeKind::Deleted);
        let text = if deleted { String::new() } else { self.text.clone() };
        (self.header.kind == Kind::Contract).then(|| (self.header.document_id, self.base.clone(), text))
    }

    /// The change as the page showed it when it merged.
    pub(super) fn shown(self) -> DocumentChange {
        let diff = if self.text != self.base { merge::line_changes(&self.base, &self.text) } else { Vec::new() };
        self.header.change(&self.base, &self.text, diff)
    }
}

/// A contract's texts before (none when the branch added it) and after (none when it
/// deleted it), for its API review.
pub(super) fn contract_texts(change: &DocumentChange, sources: &[SourceState]) -> Option<(DocumentId, String, String)> {
    if change.kind != Kind::Contract {
        return None;
    }
    let source = find_source(sources, change.document_id)?;
    let base = if change.changes.contains(&ChangeKind::Added) { String::new() } else { source.fork_base.clone()? };
    let text = if change.changes.contains(&ChangeKind::Deleted) { String::new() } else { source.text.clone() };
    Some((change.document_id, base, text))
}

/// The API reviews of the contracts among `texts` (each its id, text at the fork, text
/// on the source, and text on the target) whose text changed, worked out on the
/// blocking pool (not at all when none did: most change requests touch no contract).
pub(super) async fn api_reviews(
    texts: Vec<(DocumentId, String, String, Option<String>)>,
) -> Result<Vec<(DocumentId, ContractReview)>> {
    let changed: Vec<_> = texts.into_iter().filter(|(_, base, text, _)| base != text).collect();
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    crate::budget::run(move |_| {
        Ok(changed
            .into_iter()
            .filter_map(|(id, base, text, target)| {
                Some((id, crate::contract::diff::review(id, &base, &text, target.as_deref())?))
            })
            .collect())
    })
    .await
}

/// One document among those compared.
pub(super) fn find_source(sources: &[SourceState], document_id: DocumentId) -> Option<&SourceState> {
    sources.iter().find(|source| source.document_id == document_id)
}

pub(super) async fn compare(db: &PgPool, source: BranchId, target: BranchId) -> Result<Comparison> {
    let rows: Vec<SourceDocument> = sqlx::query_as(
        "SELECT bd.document_id, bd.title, d.kind, bd.parent_id, bd.deleted_at IS NOT NULL AS deleted,
                bd.fork_base, bd.fork_title, bd.fork_parent_id, bd.fork_deleted
         FROM branch_documents bd JOIN documents d ON d.id = bd.document_id
         WHERE bd.branch_id = $1 ORDER BY bd.document_id",
    )
    .bind(source)
    .fetch_all(db)
    .await?;
    // Texts in batches, not one query per document: the source's, then the target's of
    // those changed since the fork.
    let mut conn = db.acquire().await?;
    let keys: Vec<DocKey> = rows.iter().map(|row| DocKey::new(source, row.document_id)).collect();
    let texts = content::read_many(&mut conn, &keys).await?;
    let changed: Vec<DocKey> = rows
        .iter()
        .zip(&texts)
        .filter(|(row, (text, _))| row.fork_title.is_some() && row.fork_base.as_ref() != Some(text))
        .map(|(row, _)| DocKey::new(target, row.document_id))
        .collect();
    let mut targets: HashMap<DocumentId, String> = changed
        .iter()
        .map(|key| key.document_id)
        .zip(content::read_many(&mut conn, &changed).await?)
        .map(|(document_id, (text, _))| (document_id, text))
        .collect();
    drop(conn);
    let mut hasher = Sha256::new();
    let mut sources = Vec::with_capacity(rows.len());
    let mut work = Vec::with_capacity(rows.len());
    for (row, (text, _)) in rows.into_iter().zip(texts) {
        for part in [
            row.document_id.uuid().as_bytes().as_slice(),
            row.title.as_bytes(),
            &[u8::from(row.deleted)],
            text.as_bytes(),
        ] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        hasher.update(row.parent_id.map(|id| *id.uuid().as_bytes()).unwrap_or_default());
        sources.push(SourceState {
            document_id: row.document_id,
            title: row.title.clone(),
            parent_id: row.parent_id,
            deleted: row.deleted,
            text: text.clone(),
            fork_base: row.fork_base.clone(),
        });
        let ours = targets.remove(&row.document_id);
        work.push((row, text, ours));
    }
    // Line diffs, three-way merges and sections are most of a comparison's time: they
    // run on the blocking pool, spread over the cores.
    let compared = budget::run_each(work, |(row, text, ours)| compare_document(row, &text, ours)).await?;
    let (mut documents, mut conflicts) = (Vec::new(), Vec::new());
    for (change, found) in compared {
        documents.extend(change);
        conflicts.extend(found);
    }
    Ok(Comparison { documents, conflicts, digest: hasher.finalize().to_vec(), sources })
}

/// One source document beside its fork point and, when the target changed it since
/// the fork (`ours`), the target: its change, if any, and the conflicts a merge would meet.
fn compare_document(
    row: SourceDocument,
    text: &str,
    ours: Option<String>,
) -> (Option<DocumentChange>, Vec<ConflictView>) {
    let mut changes = Vec::new();
    let base = match (&row.fork_title, &row.fork_base) {
        (Some(_), Some(base)) => base.clone(),
        // Made on the branch: everything in it is new.
        _ => {
            if row.deleted {
                return (None, Vec::new());
            }
            changes.push(ChangeKind::Added);
            String::new()
        }
    };
    if row.deleted && row.fork_deleted == Some(false) {
        changes.push(ChangeKind::Deleted);
    }
    let renamed_from = row.fork_title.clone().filter(|before| *before != row.title);
    if renamed_from.is_some() {
        changes.push(ChangeKind::Renamed);
    }
    if row.fork_title.is_some() && row.parent_id != row.fork_parent_id {
        changes.push(ChangeKind::Moved);
    }
    let diff = if text != base { merge::line_changes(&base, text) } else { Vec::new() };
    let mut conflicts = Vec::new();
    if !diff.is_empty() && row.fork_title.is_some() {
        changes.push(ChangeKind::Modified);
        // The target may have moved on since the fork: where both changed the same
        // lines differently, the merge cannot decide.
        for conflict in
            ours.iter().flat_map(|ours| merge::merge3(&base, ours, text).conflicts().cloned().collect::<Vec<_>>())
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
        return (None, conflicts);
    }
    let header = Header { document_id: row.document_id, title: row.title, kind: row.kind, changes, renamed_from };
    (Some(header.change(&base, text, diff)), conflicts)
}

/// The other open change requests of the project that touch a document section this
/// one touches (or the same document, when either changes its place or existence).
pub(super) async fn overlaps(
    db: &PgPool,
    project_id: ProjectId,
    this: ChangeRequestId,
    documents: &[DocumentChange],
) -> Result<Vec<Overlap>> {
    let others: Vec<(i32, String, BranchId, BranchId)> = sqlx::query_as(
        "SELECT number, title, source_branch_id, target_branch_id FROM change_requests
         WHERE project_id = $1 AND state = 'open' AND id <> $2 ORDER BY number",
    )
    .bind(project_id)
    .bind(this)
    .fetch_all(db)
    .await?;
    let structural = |change: &DocumentChange| {
        change.changes.iter().any(|c| matches!(c, ChangeKind::Deleted | ChangeKind::Renamed | ChangeKind::Moved))
    };
    let mut found = Vec::new();
    for (number, title, source, target) in others {
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

#[cfg(test)]
mod tests {
    use charter_types::Kind;

    use super::SectionChanges;

    #[test]
    fn sections_added_modified_and_removed() {
        let before = "# Spec\nintro\n## AUTH-001\nold rule\n## AUTH-002\nkept\n## Notes\na\n## Notes\nb\n";
        let after = "# Spec\nintro\n## AUTH-001\nnew rule\n## AUTH-003\nadded\n## Notes\na\n## Notes\nB\n";
        assert_eq!(
            SectionChanges::between(Kind::Spec, before, after),
            SectionChanges {
                added: vec!["AUTH-003".into()],
                modified: vec!["AUTH-001".into(), "Notes (2)".into()],
                removed: vec!["AUTH-002".into()],
            }
        );
    }
}
