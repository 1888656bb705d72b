//! The one place document content is read and written. Callers see Markdown text; how
//! it is stored (a column today, CRDT state with a Markdown projection later) is this
//! module's business alone.

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::error::{Error, Result};

/// The largest document Charter accepts, in bytes of UTF-8.
pub const MAX_CONTENT_BYTES: usize = 2 * 1024 * 1024;

pub fn validate(text: &str) -> Result<()> {
    if text.len() > MAX_CONTENT_BYTES {
        return Err(Error::Invalid(format!(
            "a document may hold at most {} MiB of text",
            MAX_CONTENT_BYTES / (1024 * 1024)
        )));
    }
    Ok(())
}

pub async fn read<'e>(db: impl PgExecutor<'e>, branch_id: Uuid, document_id: Uuid) -> Result<String> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT content FROM branch_documents WHERE branch_id = $1 AND document_id = $2")
            .bind(branch_id)
            .bind(document_id)
            .fetch_optional(db)
            .await?;
    row.map(|(content,)| content).ok_or_else(|| Error::not_found("document"))
}

/// Replaces the document's text on a branch. Validation is the caller's first step;
/// this checks again so no path can store an oversized document.
pub async fn write(tx: &mut PgConnection, branch_id: Uuid, document_id: Uuid, text: &str, author: Uuid) -> Result<()> {
    validate(text)?;
    sqlx::query(
        "UPDATE branch_documents SET content = $3, updated_at = now(), updated_by = $4
         WHERE branch_id = $1 AND document_id = $2",
    )
    .bind(branch_id)
    .bind(document_id)
    .bind(text)
    .bind(author)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
