//! Transactions that write only what can be worked out again from durable state: a
//! document's Markdown projection (from its CRDT state, checked again whenever the
//! document loads), the search index and its embeddings (from the projection, through
//! the queue the projection's trigger fills). Their commits do not wait for the disk
//! (`synchronous_commit = off`), so the edits' own commits, which do, stop queueing behind
//! theirs. A crash may lose the last fraction of a second of them (Postgres flushes them
//! within three `wal_writer_delay`s, and with any later durable commit); what was lost is
//! worked out again, except what a lost projection said of its editors (their credit in
//! the activity, the document's `updated_by` and `updated_at`), which a crash before the
//! projection loses as well.

use sqlx::{PgPool, Postgres, Transaction};

use crate::error::Result;

/// Begins a transaction whose commit does not wait for the disk.
pub(crate) async fn begin(db: &PgPool) -> Result<Transaction<'static, Postgres>> {
    let mut tx = db.begin().await?;
    sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await?;
    Ok(tx)
}
