//! Documents of a project: the constitution, specs, plans and task lists, arranged in
//! a tree (a plan under its spec, a spec under the constitution). Deletion is soft and
//! takes the document's subtree with it; restoring brings back that same subtree.

use std::collections::{HashMap, HashSet};

use charter_types::{BranchId, ContractFormat, Document, DocumentId, Kind, TreeEntry};
use chrono::Utc;
use serde::{Deserialize, Deserializer};
use sqlx::{PgConnection, PgPool};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub mod paths;
pub mod raw;
mod routes;

pub(crate) use routes::router;

use crate::access::{self, Change};
use crate::audit;
use crate::authorization::ProjectAccess;
use crate::collab::DocKey;
use crate::error::{Error, Result};
use crate::merge;
use crate::{branches, content, templates, AppState};

#[derive(Deserialize, ToSchema)]
pub struct NewDocument {
    pub title: String,
    pub kind: Kind,
    pub parent_id: Option<DocumentId>,
    pub content: Option<String>,
    /// Start from the kind's template (`GET /projects/{id}/templates`) instead of
    /// `content`.
    #[serde(default)]
    pub template: bool,
    /// A contract's template: `openapi` (the default) or `json-schema`.
    pub format: Option<ContractFormat>,
}

/// Fields left out stay as they are; `"parent_id": null` moves to the top level.
#[derive(Default, Deserialize, ToSchema)]
pub struct DocumentPatch {
    pub title: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DocumentId>)]
    pub parent_id: Option<Option<DocumentId>>,
    pub position: Option<i32>,
}

/// Tells a field that is present (even as `null`) from one that is absent.
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
pub struct ContentBody {
    pub content: String,
    /// The text `content` was written from (what you last read). When given, your change
    /// from it is merged into what the document holds now, by lines with git's rules, so
    /// edits made meanwhile stay; `409` with the conflicting lines when both changed the
    /// same ones. Without it, `content` replaces the text.
    pub base: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct TreeQuery {
    /// `true` lists deleted documents (the trash) instead of live ones.
    #[serde(default)]
    pub deleted: bool,
    /// The branch to look at; `main` when left out.
    pub branch: Option<String>,
}

fn validate_title(title: &str) -> Result<&str> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(Error::Invalid("a document needs a title of 1 to 200 characters".into()));
    }
    Ok(title)
}

/// The project's documents in tree order: each parent before its children, siblings by
/// position, then title.
pub async fn tree(db: &PgPool, project: &ProjectAccess, query: TreeQuery) -> Result<Vec<TreeEntry>> {
    let branch_id = branches::resolve(db, project.project(), query.branch.as_deref().unwrap_or(branches::MAIN)).await?;
    let entries = sqlx::query_as(
        "SELECT d.id, bd.title, d.kind, bd.parent_id, bd.position, bd.deleted_at
         FROM branch_documents bd JOIN documents d ON d.id = bd.document_id
         WHERE bd.branch_id = $1 AND (bd.deleted_at IS NOT NULL) = $2
         ORDER BY bd.position, lower(bd.title), d.id",
    )
    .bind(branch_id)
    .bind(query.deleted)
    .fetch_all(db)
    .await?;
    Ok(depth_first(entries))
}

/// Orders entries sorted among siblings into depth-first tree order. An entry whose
/// parent is not in the list (in the trash, say) counts as a root.
fn depth_first(entries: Vec<TreeEntry>) -> Vec<TreeEntry> {
    let present: HashSet<DocumentId> = entries.iter().map(|entry| entry.id).collect();
    let mut children: HashMap<Option<DocumentId>, Vec<TreeEntry>> = HashMap::new();
    for entry in entries {
        let parent = entry.parent_id.filter(|parent| present.contains(parent));
        children.entry(parent).or_default().push(entry);
    }
    let mut ordered = Vec::with_capacity(present.len());
    let mut stack: Vec<TreeEntry> = children.remove(&None).unwrap_or_default().into_iter().rev().collect();
    while let Some(entry) = stack.pop() {
        stack.extend(children.remove(&Some(entry.id)).unwrap_or_default().into_iter().rev());
        ordered.push(entry);
    }
    ordered
}

/// Whether a document changes only through change requests, in SQL over its document
/// `d`, branch `b` and project `p`.
macro_rules! protected_sql {
    () => {
        "b.name = 'main' AND (p.protect_main OR d.kind = 'constitution')"
    };
}

// After `protected_sql!`, which it uses.
mod live;

pub use live::{collab_access, router as live_router, rules as collab_rules, CollabAccess};

const DOCUMENT_QUERY: &str = concat!(
    "SELECT d.id, d.project_id, bd.title, d.kind, bd.parent_id, bd.position, bd.updated_at, bd.deleted_at, ",
    protected_sql!(),
    " AS protected
     FROM branch_documents bd JOIN documents d ON d.id = bd.document_id
     JOIN branches b ON b.id = bd.branch_id JOIN projects p ON p.id = d.project_id
     WHERE bd.branch_id = $1 AND bd.document_id = $2"
);

/// Loads a document on a branch and locks its row until the transaction ends, so
/// concurrent changes to one document apply one after the other. `NO KEY UPDATE`: a
/// co-editing append holds the row `FOR KEY SHARE`, and a rename must not hold up its
/// whole group of documents.
async fn load(tx: &mut PgConnection, branch_id: BranchId, document_id: DocumentId) -> Result<Document> {
    fetch(tx, &format!("{DOCUMENT_QUERY} FOR NO KEY UPDATE OF bd"), branch_id, document_id).await
}

async fn fetch(tx: &mut PgConnection, query: &str, branch_id: BranchId, document_id: DocumentId) -> Result<Document> {
    let mut document = row(tx, query, branch_id, document_id).await?;
    document.content = content::read(&mut *tx, DocKey::new(branch_id, document_id)).await?;
    Ok(document)
}

/// The document's row, without its text.
async fn row(conn: &mut PgConnection, query: &str, branch_id: BranchId, document_id: DocumentId) -> Result<Document> {
    sqlx::query_as(query)
        .bind(branch_id)
        .bind(document_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::not_found("document"))
}

/// A document with its current text (from its live actor when it is open here).
pub async fn get(state: &AppState, project: &ProjectAccess, document_id: DocumentId, branch: &str) -> Result<Document> {
    let branch_id = branches::resolve(&state.db, project.project(), branch).await?;
    let mut conn = state.db.acquire().await?;
    let mut document = row(&mut conn, DOCUMENT_QUERY, branch_id, document_id).await?;
    let key = DocKey::new(branch_id, document_id);
    document.content = content::read_current(&state.collab, &mut conn, key).await?;
    Ok(document)
}

/// Checks that `parent_id` names a live document on the branch (and so in the project).
async fn check_parent(tx: &mut PgConnection, branch_id: BranchId, parent_id: DocumentId) -> Result<()> {
    let live: Option<(bool,)> =
        sqlx::query_as("SELECT deleted_at IS NULL FROM branch_documents WHERE branch_id = $1 AND document_id = $2")
            .bind(branch_id)
            .bind(parent_id)
            .fetch_optional(&mut *tx)
            .await?;
    match live {
        None => Err(Error::Invalid("the parent document does not exist in this project".into())),
        Some((false,)) => Err(Error::Invalid("the parent document is deleted".into())),
        Some((true,)) => Ok(()),
    }
}

/// A project has one constitution: refuses a second live one on the branch.
async fn check_single_constitution(tx: &mut PgConnection, branch_id: BranchId, except: DocumentId) -> Result<()> {
    // Serialises constitution changes on this branch so two can't slip in together.
    sqlx::query("SELECT 1 FROM branches WHERE id = $1 FOR UPDATE").bind(branch_id).execute(&mut *tx).await?;
    let (exists,): (bool,) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM branch_documents bd JOIN documents d ON d.id = bd.document_id
         WHERE bd.branch_id = $1 AND d.kind = 'constitution' AND bd.deleted_at IS NULL AND d.id <> $2)",
    )
    .bind(branch_id)
    .bind(except)
    .fetch_one(&mut *tx)
    .await?;
    if exists {
        return Err(Error::Conflict("this project already has a constitution".into()));
    }
    Ok(())
}

/// Creates a document on a branch inside the caller's transaction.
pub(crate) async fn insert(
    tx: &mut PgConnection,
    project: &ProjectAccess,
    branch_id: BranchId,
    new: NewDocument,
) -> Result<DocumentId> {
    let title = validate_title(&new.title)?;
    if let Some(parent_id) = new.parent_id {
        check_parent(tx, branch_id, parent_id).await?;
    }
    if new.format.is_some() && !(new.template && new.kind == Kind::Contract) {
        return Err(Error::Invalid(
            "a format chooses a contract's template: give it with kind contract and template".into(),
        ));
    }
    let text = match (new.template, new.content) {
        (true, Some(_)) => return Err(Error::Invalid("give either content or a template, not both".into())),
        (true, None) => {
            let parent: Option<(String,)> =
                sqlx::query_as("SELECT title FROM branch_documents WHERE branch_id = $1 AND document_id = $2")
                    .bind(branch_id)
                    .bind(new.parent_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let parent = parent.map(|(title,)| title);
            templates::render(new.kind, new.format, title, parent.as_deref(), Utc::now().date_naive())
        }
        (false, content) => content.unwrap_or_default(),
    };
    content::validate(&text)?;
    let id = DocumentId::from_uuid(Uuid::now_v7());
    if new.kind == Kind::Constitution {
        check_single_constitution(tx, branch_id, id).await?;
    }
    sqlx::query("INSERT INTO documents (id, project_id, kind, created_by) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(project.project())
        .bind(new.kind)
        .bind(project.actor().user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO branch_documents (branch_id, document_id, title, parent_id, position, updated_by)
         SELECT $1, $2, $3, $4, coalesce(max(position) + 1, 0), $5 FROM branch_documents
         WHERE branch_id = $1 AND parent_id IS NOT DISTINCT FROM $4 AND deleted_at IS NULL",
    )
    .bind(branch_id)
    .bind(id)
    .bind(title)
    .bind(new.parent_id)
    .bind(project.actor().user_id)
    .execute(&mut *tx)
    .await?;
    content::init(tx, DocKey::new(branch_id, id), &text).await?;
    let summary = format!("created {} {title}", new.kind);
    audit::record(&mut *tx, project.audit("document.create", ("document", id), summary).on_branch(branch_id)).await?;
    Ok(id)
}

pub async fn create(db: &PgPool, project: &ProjectAccess, new: NewDocument, branch: &str) -> Result<Document> {
    let branch_id = branches::resolve(db, project.project(), branch).await?;
    let mut tx = project.begin(db).await?;
    let protect_main: bool = sqlx::query_scalar("SELECT protect_main FROM projects WHERE id = $1")
        .bind(project.project())
        .fetch_one(&mut *tx)
        .await?;
    if branch == branches::MAIN && (protect_main || new.kind == Kind::Constitution) {
        return Err(protected_error());
    }
    let id = insert(&mut tx, project, branch_id, new).await?;
    let document = load(&mut tx, branch_id, id).await?;
    tx.commit().await?;
    Ok(document)
}

fn protected_error() -> Error {
    Error::Forbidden(
        "this changes only through change requests: make the change on a branch and open a change request".into(),
    )
}

/// Refuses direct changes to protected documents.
fn ensure_unprotected(document: &Document) -> Result<()> {
    if document.protected {
        return Err(protected_error());
    }
    Ok(())
}

/// Loads a document for a change, refusing deleted and protected ones.
async fn load_live(tx: &mut PgConnection, branch_id: BranchId, document_id: DocumentId) -> Result<Document> {
    let document = load(tx, branch_id, document_id).await?;
    ensure_unprotected(&document)?;
    if document.deleted_at.is_some() {
        return Err(Error::Conflict("this document is deleted; restore it first".into()));
    }
    Ok(document)
}

/// Makes changes to the shape of a branch's tree (moves, a merge's moves) one at a time
/// until the transaction ends: two moves, each checked alone, could otherwise close a
/// cycle together. Taken before any document's row, by everyone who takes it.
pub(crate) async fn lock_tree(tx: &mut PgConnection, branch_id: BranchId) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 13))")
        .bind(branch_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// True when `ancestor` is `document_id` or above it in the tree.
async fn is_within(
    tx: &mut PgConnection,
    branch_id: BranchId,
    document_id: DocumentId,
    ancestor: DocumentId,
) -> Result<bool> {
    let (found,): (bool,) = sqlx::query_as(
        "WITH RECURSIVE up AS (
             SELECT document_id, parent_id FROM branch_documents WHERE branch_id = $1 AND document_id = $2
             UNION ALL
             SELECT bd.document_id, bd.parent_id FROM branch_documents bd
             JOIN up ON bd.document_id = up.parent_id WHERE bd.branch_id = $1)
         SELECT EXISTS (SELECT 1 FROM up WHERE document_id = $3)",
    )
    .bind(branch_id)
    .bind(document_id)
    .bind(ancestor)
    .fetch_one(&mut *tx)
    .await?;
    Ok(found)
}

/// Renames or moves a document.
pub async fn update(
    db: &PgPool,
    project: &ProjectAccess,
    document_id: DocumentId,
    patch: DocumentPatch,
    branch: &str,
) -> Result<Document> {
    let branch_id = branches::resolve(db, project.project(), branch).await?;
    let mut tx = project.begin(db).await?;
    if patch.parent_id.is_some() {
        lock_tree(&mut tx, branch_id).await?;
    }
    let before = load_live(&mut tx, branch_id, document_id).await?;
    let object = ("document", document_id);

    if let Some(title) = &patch.title {
        let title = validate_title(title)?;
        if title != before.title {
            sqlx::query("UPDATE branch_documents SET title = $3 WHERE branch_id = $1 AND document_id = $2")
                .bind(branch_id)
                .bind(document_id)
                .bind(title)
                .execute(&mut *tx)
                .await?;
            let summary = format!("renamed {} to {title}", before.title);
            audit::record(&mut *tx, project.audit("document.rename", object, summary).on_branch(branch_id)).await?;
        }
    }

    let parent_id = patch.parent_id.unwrap_or(before.parent_id);
    let position = patch.position.unwrap_or(before.position);
    if parent_id != before.parent_id || position != before.position {
        if let Some(parent_id) = parent_id {
            check_parent(&mut tx, branch_id, parent_id).await?;
            if is_within(&mut tx, branch_id, parent_id, document_id).await? {
                return Err(Error::Invalid("a document cannot move under itself or one of its children".into()));
            }
        }
        sqlx::query(
            "UPDATE branch_documents SET parent_id = $3, position = $4 WHERE branch_id = $1 AND document_id = $2",
        )
        .bind(branch_id)
        .bind(document_id)
        .bind(parent_id)
        .bind(position)
        .execute(&mut *tx)
        .await?;
        let summary = format!("moved {}", patch.title.as_deref().map(str::trim).unwrap_or(&before.title));
        let details = serde_json::json!({ "parent_id": parent_id, "position": position });
        audit::record(&mut *tx, project.audit("document.move", object, summary).details(details).on_branch(branch_id))
            .await?;
    }
    let document = load(&mut tx, branch_id, document_id).await?;
    tx.commit().await?;
    Ok(document)
}

/// Replaces the document's Markdown, or with a `base` merges the change from it (see
/// [`ContentBody`]). Applied as a minimal CRDT edit, so people editing it live see the
/// change arrive and keep their cursors. The document answered holds the text as the
/// edit left it.
pub async fn set_content(
    state: &AppState,
    project: &ProjectAccess,
    document_id: DocumentId,
    edit: &ContentBody,
    branch: &str,
) -> Result<Document> {
    let text = edit.content.as_str();
    content::validate(text)?;
    let db = &state.db;
    let branch_id = branches::resolve(db, project.project(), branch).await?;
    // The role is confirmed in this transaction and held (a demotion waits) until the
    // edit is stored and credited. The edit itself is stored by the document's actor,
    // which locks the document; this transaction locks nothing the actor takes.
    let mut tx = project.begin(db).await?;
    let before = fetch(&mut tx, DOCUMENT_QUERY, branch_id, document_id).await?;
    ensure_unprotected(&before)?;
    if before.deleted_at.is_some() {
        return Err(Error::Conflict("this document is deleted; restore it first".into()));
    }
    let key = DocKey::new(branch_id, document_id);
    let author = project.actor().user_id;
    let after = match &edit.base {
        Some(base) => {
            content::validate(base)?;
            match state.collab.merge_text(key, base, text, author).await? {
                Ok(merged) => merged,
                Err(conflicts) => return Err(conflicts_error(&conflicts)),
            }
        }
        None if before.content != text => {
            content::replace(&state.collab, key, text, author).await?;
            text.to_owned()
        }
        None => text.to_owned(),
    };
    if before.content != after {
        let summary = format!("edited {}", before.title);
        audit::record(
            &mut *tx,
            project.audit("document.edit", ("document", document_id), summary).on_branch(branch_id),
        )
        .await?;
    }
    tx.commit().await?;
    // The projection follows the edit a moment later.
    let document = fetch(&mut *db.acquire().await?, DOCUMENT_QUERY, branch_id, document_id).await?;
    Ok(Document { content: after, ..document })
}

/// The places where an edit and the document's changes since its base collide.
fn conflicts_error(conflicts: &[merge::Conflict]) -> Error {
    let places: Vec<serde_json::Value> = conflicts
        .iter()
        .map(|conflict| serde_json::json!({ "base": conflict.base, "document": conflict.ours, "yours": conflict.theirs }))
        .collect();
    Error::ConflictWith {
        message: format!(
            "the document changed the same lines as your edit since its base ({} place(s)); read it again and redo \
             your change there",
            conflicts.len()
        ),
        details: serde_json::json!({ "conflicts": places }),
    }
}

/// Soft-deletes a document and every live document below it, marking all of them with
/// one timestamp so that restoring brings back exactly this subtree.
pub async fn delete(db: &PgPool, project: &ProjectAccess, document_id: DocumentId, branch: &str) -> Result<()> {
    let branch_id = branches::resolve(db, project.project(), branch).await?;
    let mut tx = project.begin(db).await?;
    let document = load(&mut tx, branch_id, document_id).await?;
    ensure_unprotected(&document)?;
    if document.deleted_at.is_some() {
        return Ok(());
    }
    let deleted = sqlx::query(
        "WITH RECURSIVE below AS (
             SELECT $2::uuid AS document_id
             UNION ALL
             SELECT bd.document_id FROM branch_documents bd JOIN below ON bd.parent_id = below.document_id
             WHERE bd.branch_id = $1 AND bd.deleted_at IS NULL)
         UPDATE branch_documents SET deleted_at = now()
         WHERE branch_id = $1 AND document_id IN (SELECT document_id FROM below)",
    )
    .bind(branch_id)
    .bind(document_id)
    .execute(&mut *tx)
    .await?;
    let summary = match deleted.rows_affected() {
        1 => format!("deleted {}", document.title),
        n => format!("deleted {} and {} documents under it", document.title, n - 1),
    };
    audit::record(&mut *tx, project.audit("document.delete", ("document", document_id), summary).on_branch(branch_id))
        .await?;
    // Its open editors (and those of the documents under it) may only read now.
    access::changed(&mut tx, Change::Branch(branch_id)).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn restore(db: &PgPool, project: &ProjectAccess, document_id: DocumentId, branch: &str) -> Result<Document> {
    let branch_id = branches::resolve(db, project.project(), branch).await?;
    let mut tx = project.begin(db).await?;
    let document = load(&mut tx, branch_id, document_id).await?;
    ensure_unprotected(&document)?;
    let Some(deleted_at) = document.deleted_at else {
        return Ok(document);
    };
    if let Some(parent_id) = document.parent_id {
        check_parent(&mut tx, branch_id, parent_id)
            .await
            .map_err(|_| Error::Conflict("the document's parent is deleted; restore the parent first".into()))?;
    }
    if document.kind == Kind::Constitution {
        check_single_constitution(&mut tx, branch_id, document_id).await?;
    }
    let restored = sqlx::query(
        "WITH RECURSIVE below AS (
             SELECT $2::uuid AS document_id
             UNION ALL
             SELECT bd.document_id FROM branch_documents bd JOIN below ON bd.parent_id = below.document_id
             WHERE bd.branch_id = $1 AND bd.deleted_at = $3)
         UPDATE branch_documents SET deleted_at = NULL
         WHERE branch_id = $1 AND document_id IN (SELECT document_id FROM below)",
    )
    .bind(branch_id)
    .bind(document_id)
    .bind(deleted_at)
    .execute(&mut *tx)
    .await?;
    let summary = match restored.rows_affected() {
        1 => format!("restored {}", document.title),
        n => format!("restored {} and {} documents under it", document.title, n - 1),
    };
    audit::record(&mut *tx, project.audit("document.restore", ("document", document_id), summary).on_branch(branch_id))
        .await?;
    let document = load(&mut tx, branch_id, document_id).await?;
    tx.commit().await?;
    Ok(document)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: u128, parent: Option<u128>, position: i32) -> TreeEntry {
        TreeEntry {
            id: DocumentId::from_uuid(Uuid::from_u128(id)),
            title: format!("doc {id}"),
            kind: Kind::Spec,
            parent_id: parent.map(|parent| DocumentId::from_uuid(Uuid::from_u128(parent))),
            position,
            deleted_at: None,
        }
    }

    #[test]
    fn tree_order_puts_parents_before_children_and_keeps_sibling_order() {
        // As the query returns them: by position, across parents.
        let rows = vec![
            entry(1, None, 0),
            entry(3, Some(2), 0),
            entry(5, Some(1), 0),
            entry(2, None, 1),
            entry(4, Some(2), 1),
        ];
        let ids: Vec<u128> = depth_first(rows).iter().map(|e| e.id.uuid().as_u128()).collect();
        assert_eq!(ids, vec![1, 5, 2, 3, 4]);
    }

    #[test]
    fn entries_whose_parent_is_absent_are_roots() {
        let rows = vec![entry(7, Some(99), 0), entry(8, Some(7), 0)];
        let ids: Vec<u128> = depth_first(rows).iter().map(|e| e.id.uuid().as_u128()).collect();
        assert_eq!(ids, vec![7, 8]);
    }
}
