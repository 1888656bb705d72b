//! Fills in the index entries' embeddings in the background: the entries still
//! without one are the queue, so a crash loses nothing, and editing and full-text
//! search never wait for the model. One batch at a time per instance (the model uses
//! every core it is given); equal texts are embedded once.

use pgvector::Vector;
use sqlx::PgPool;

use super::entries::meaning;
use super::pace;
use crate::embeddings::Embedder;
use crate::error::Result;

/// Texts embedded at once: large enough to use the cores well, small enough that a
/// query's own embedding never waits long behind a batch.
const BATCH: i64 = 16;

/// Runs the worker for as long as the process does, after making sure the stored
/// embeddings are the model's.
pub fn spawn(db: PgPool, embedder: Embedder) {
    tokio::spawn(async move {
        while let Err(err) = adopt_model(&db, &embedder).await {
            err.log();
            tokio::time::sleep(pace::RETRY).await;
        }
        pace::forever(BATCH as usize, || embed_pending(&db, &embedder)).await;
    });
}

/// Makes `embedder`'s model the one the index's embeddings are of: when they were made
/// by another, they are dropped (full-text search goes on meanwhile) and made again.
pub async fn adopt_model(db: &PgPool, embedder: &Embedder) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("LOCK TABLE search_model IN EXCLUSIVE MODE").execute(&mut *tx).await?;
    let stored: Option<String> = sqlx::query_scalar("SELECT model FROM search_model").fetch_optional(&mut *tx).await?;
    if stored.as_deref() != Some(embedder.model()) {
        tracing::info!(from = ?stored, to = embedder.model(), "embedding model changed: embedding every entry again");
        sqlx::query("UPDATE search_entries SET embedding = NULL WHERE embedding IS NOT NULL").execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO search_model (model) VALUES ($1) ON CONFLICT (only_row) DO UPDATE SET model = excluded.model",
        )
        .bind(embedder.model())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Pending {
    digest: Vec<u8>,
    title: String,
    body: String,
    scenarios: Vec<String>,
}

/// Embeds one batch of distinct texts still lacking an embedding; returns how many.
/// Entries of a document edited in the last two seconds wait: text being typed is
/// embedded once it settles, not at every keystroke.
async fn embed_pending(db: &PgPool, embedder: &Embedder) -> Result<usize> {
    let pending: Vec<Pending> = sqlx::query_as(
        "SELECT DISTINCT ON (digest) digest, title, body, scenarios FROM search_entries e
         WHERE embedding IS NULL
           AND NOT EXISTS (SELECT 1 FROM branch_documents d
                           WHERE d.branch_id = e.branch_id AND d.document_id = e.document_id
                             AND d.updated_at > now() - interval '2 seconds')
         ORDER BY digest LIMIT $1",
    )
    .bind(BATCH)
    .fetch_all(db)
    .await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let texts = pending.iter().map(|row| meaning(&row.title, &row.body, &row.scenarios)).collect();
    let vectors: Vec<Vector> = embedder.embed_in_background(texts).await?;
    let digests: Vec<&[u8]> = pending.iter().map(|row| row.digest.as_slice()).collect();
    // Entries rewritten meanwhile have other digests and wait for the next batch.
    sqlx::query(
        "UPDATE search_entries e SET embedding = v.embedding
         FROM unnest($1::bytea[], $2::vector[]) AS v(digest, embedding)
         WHERE e.digest = v.digest AND e.embedding IS NULL",
    )
    .bind(&digests)
    .bind(&vectors)
    .execute(db)
    .await?;
    Ok(pending.len())
}
