//! The one place document content is read and written. Callers see Markdown text; the
//! state behind it is yrs CRDT state (`collab::store`: update log and snapshots), with
//! `branch_documents.content` as a projection refreshed from it, never the reverse.

use charter_types::UserId;
use sqlx::{PgConnection, PgPool};

use crate::collab::{store, DocKey, Hub};
use crate::error::{Error, Result};

/// The largest document Charter accepts, in bytes of UTF-8.
pub const MAX_CONTENT_BYTES: usize = 2 * 1024 * 1024;

/// Refuses text too long to keep, or holding U+0000 (what reaches the CRDT state from a
/// socket anyway reads as U+FFFD: see [`store::text_of`]).
pub fn validate(text: &str) -> Result<()> {
    if text.contains('\0') {
        return Err(Error::nul_character());
    }
    if text.len() > MAX_CONTENT_BYTES {
        return Err(Error::Invalid(format!(
            "a document may hold at most {} MiB of text",
            MAX_CONTENT_BYTES / (1024 * 1024)
        )));
    }
    Ok(())
}

/// The document's current text, from its CRDT state.
pub async fn read(conn: &mut PgConnection, key: DocKey) -> Result<String> {
    Ok(read_at(conn, key).await?.0)
}

/// The document's current text, from its live actor when it is open on this instance
/// and holds everything stored (no rebuilding of the CRDT state from the log), else
/// from storage.
pub async fn read_current(hub: &Hub, conn: &mut PgConnection, key: DocKey) -> Result<String> {
    if let Some((text, seq)) = hub.text_if_open(key).await {
        if seq >= store::head(conn, key).await? {
            return Ok(text);
        }
    }
    read(conn, key).await
}

/// The document's current text and the last update-log position its state includes:
/// two reads at the same position give the same text.
pub async fn read_at(conn: &mut PgConnection, key: DocKey) -> Result<(String, i64)> {
    let (doc, seq) = store::load(conn, key).await?;
    Ok((store::text_of(&doc), seq))
}

/// Each document's current text and log position, as [`read_at`] gives them, read a few
/// hundred documents to a statement.
pub async fn read_many(conn: &mut PgConnection, keys: &[DocKey]) -> Result<Vec<(String, i64)>> {
    store::texts(conn, keys).await
}

/// Gives a new document its first content, inside the caller's transaction.
pub(crate) async fn init(tx: &mut PgConnection, key: DocKey, text: &str) -> Result<()> {
    validate(text)?;
    store::seed(tx, key, text).await?;
    set_projection(tx, key, text).await
}

/// Sets a document's Markdown projection to what its new state holds.
async fn set_projection(tx: &mut PgConnection, key: DocKey, text: &str) -> Result<()> {
    sqlx::query("UPDATE branch_documents SET content = $3 WHERE branch_id = $1 AND document_id = $2")
        .bind(key.branch_id)
        .bind(key.document_id)
        .bind(text)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Makes the document's text `text` with a minimal edit that live editors receive.
pub async fn replace(hub: &Hub, key: DocKey, text: &str, author: UserId) -> Result<()> {
    validate(text)?;
    hub.replace_text(key, text.to_owned(), author).await
}

/// Gives the document `to` (on a new branch) the state `from` has now, as its starting
/// point, and its Markdown; returns the text at that point.
pub(crate) async fn fork(tx: &mut PgConnection, from: DocKey, to: DocKey) -> Result<String> {
    let (doc, _) = store::load(tx, from).await?;
    store::seed_state(tx, to, &doc).await?;
    let text = store::text_of(&doc);
    set_projection(tx, to, &text).await?;
    Ok(text)
}

/// Stores the Markdown projection used by lists, rendering and (later) search. True
/// when it changed.
pub(crate) async fn project(db: &mut PgConnection, key: DocKey, text: &str, author: Option<UserId>) -> Result<bool> {
    let changed = sqlx::query(
        "UPDATE branch_documents SET content = $3, updated_at = now(), updated_by = coalesce($4, updated_by)
         WHERE branch_id = $1 AND document_id = $2 AND content <> $3",
    )
    .bind(key.branch_id)
    .bind(key.document_id)
    .bind(text)
    .bind(author)
    .execute(db)
    .await?
    .rows_affected();
    Ok(changed > 0)
}

/// Gives documents written before real-time editing their CRDT state (once).
pub async fn convert_legacy(db: &PgPool) -> Result<u64> {
    store::convert_legacy(db).await
}
