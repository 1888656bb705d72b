//! Keeps the search index in step with the documents: claims queued documents (the
//! projection's trigger queues them), reads each one's Markdown as it is now and
//! rewrites its entries. Any number of instances may run it: a queued row is claimed
//! by one of them (`SKIP LOCKED`), and one document is rewritten by one at a time.

use std::time::Duration;

use charter_types::{BranchId, DocumentId, Kind};
use sqlx::{PgConnection, PgPool};

use super::entries::{entries, Entry};
use super::pace;
use crate::error::Result;
use crate::{budget, derived};

/// Settled queue rows claimed at once, each with every later change queued for its
/// document. Rows another instance holds are skipped, so instances share the queue.
const BATCH: i64 = 32;
/// A document is indexed once its oldest queued change is this old: an edit is
/// searchable within about a second and a half, and a document being typed in is
/// indexed once for several projections.
const SETTLE: Duration = Duration::from_secs(1);

/// Runs the indexer for as long as the process does.
pub fn spawn(db: PgPool) {
    tokio::spawn(async move {
        pace::forever(BATCH as usize, || async { index_queued(&db).await.map(pace::Round::of) }).await
    });
}

/// Indexes one batch of queued documents; returns how many queued rows it took. The
/// claim's transaction holds only the queue rows; each document is rewritten in a
/// transaction of its own, so deleting a branch meanwhile waits for one document at most.
async fn index_queued(db: &PgPool) -> Result<usize> {
    let mut claim = derived::begin(db).await?;
    let claimed: Vec<(i64, BranchId, DocumentId)> = sqlx::query_as(
        "WITH due AS (
             SELECT branch_id, document_id FROM search_queue WHERE queued_at <= now() - $2::interval
             ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         SELECT id, branch_id, document_id FROM search_queue
         WHERE (branch_id, document_id) IN (SELECT branch_id, document_id FROM due)
         FOR UPDATE SKIP LOCKED",
    )
    .bind(BATCH)
    .bind(SETTLE)
    .fetch_all(&mut *claim)
    .await?;
    let mut documents: Vec<(BranchId, DocumentId)> = claimed.iter().map(|(_, branch, doc)| (*branch, *doc)).collect();
    documents.sort_unstable();
    documents.dedup();
    for (branch, document) in documents {
        let mut tx = derived::begin(db).await?;
        reindex(&mut tx, branch, document).await?;
        tx.commit().await?;
    }
    let ids: Vec<i64> = claimed.iter().map(|(id, _, _)| *id).collect();
    sqlx::query("DELETE FROM search_queue WHERE id = ANY($1)").bind(&ids).execute(&mut *claim).await?;
    claim.commit().await?;
    Ok(claimed.len())
}

/// Brings one document's entries up to date with its Markdown as committed now. Whoever takes
/// the document's lock second reads the text after the first has written, so the
/// entries end up matching the latest text whatever order indexers run in. The
/// document's row is held (`FOR KEY SHARE`) before its entries are touched: a branch
/// being deleted then either waits for this or is waited for, never both.
async fn reindex(tx: &mut PgConnection, branch: BranchId, document: DocumentId) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text || $2::text, 15))")
        .bind(branch)
        .bind(document)
        .execute(&mut *tx)
        .await?;
    let text: Option<(String, Kind)> = sqlx::query_as(
        "SELECT bd.content, d.kind FROM branch_documents bd JOIN documents d ON d.id = bd.document_id
         WHERE bd.branch_id = $1 AND bd.document_id = $2 FOR KEY SHARE OF bd",
    )
    .bind(branch)
    .bind(document)
    .fetch_optional(&mut *tx)
    .await?;
    // Gone with its branch: its entries went too.
    let Some((text, kind)) = text else { return Ok(()) };
    let found = match budget::run(move |_| Ok(entries(kind, &text))).await {
        Ok(found) => found,
        Err(err) => {
            // Its old entries stay; the next edit queues it again.
            err.log();
            return Ok(());
        }
    };
    // Vectors are reused only from entries of the model the project's are made by; the
    // project is held meanwhile, so a change of provider drops what is written here.
    let model: Option<String> = sqlx::query_scalar(
        "SELECT p.embedding_model FROM branches b JOIN projects p ON p.id = b.project_id WHERE b.id = $1
         FOR SHARE OF p",
    )
    .bind(branch)
    .fetch_one(&mut *tx)
    .await?;
    store(tx, branch, document, &found, model.as_deref()).await
}

/// Makes the document's entries `found`: entries that did not change stay as they
/// are, with their embeddings; changed ones take the embedding `model` made of an entry
/// with the same text where there is one (a fork's copies, a moved requirement), or
/// wait for one.
async fn store(
    tx: &mut PgConnection,
    branch: BranchId,
    document: DocumentId,
    found: &[Entry],
    model: Option<&str>,
) -> Result<()> {
    let column = |pick: fn(&Entry) -> String| found.iter().map(pick).collect::<Vec<_>>();
    let ordinals: Vec<i32> = (0..found.len() as i32).collect();
    let kinds = column(|entry| entry.kind.as_str().to_owned());
    let keys: Vec<Option<String>> = found.iter().map(|entry| entry.key.clone()).collect();
    let titles = column(|entry| entry.title.clone());
    let bodies = column(|entry| entry.body.clone());
    // Postgres arrays are rectangular: each entry's scenarios travel as one JSON array.
    let scenarios: Vec<sqlx::types::Json<&[String]>> =
        found.iter().map(|entry| sqlx::types::Json(entry.scenarios.as_slice())).collect();
    let priorities: Vec<Option<String>> = found.iter().map(|entry| entry.priority.clone()).collect();
    let sections = column(|entry| entry.section.clone());
    let lines: Vec<i32> = found.iter().map(|entry| i32::try_from(entry.line).unwrap_or(i32::MAX)).collect();
    let digests: Vec<Vec<u8>> = found.iter().map(Entry::digest).collect();
    sqlx::query(
        "INSERT INTO search_entries
             (branch_id, document_id, ordinal, kind, key, title, body, scenarios, priority, section, line,
              digest, embedding, model)
         SELECT $1, $2, e.ordinal, e.kind, e.key, e.title, e.body,
                ARRAY(SELECT jsonb_array_elements_text(e.scenarios)), e.priority, e.section, e.line, e.digest,
                same.embedding, same.model
         FROM unnest($3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::text[],
                     $10::text[], $11::int[], $12::bytea[])
              AS e(ordinal, kind, key, title, body, scenarios, priority, section, line, digest)
         LEFT JOIN LATERAL (SELECT s.embedding, s.model FROM search_entries s
                            WHERE s.digest = e.digest AND s.embedding IS NOT NULL AND s.model = $13 LIMIT 1) same
                ON true
         ON CONFLICT (branch_id, document_id, ordinal) DO UPDATE SET
             kind = excluded.kind, key = excluded.key, title = excluded.title, body = excluded.body,
             scenarios = excluded.scenarios, priority = excluded.priority, section = excluded.section,
             line = excluded.line, digest = excluded.digest,
             embedding = CASE WHEN search_entries.digest = excluded.digest THEN search_entries.embedding
                              ELSE excluded.embedding END,
             model = CASE WHEN search_entries.digest = excluded.digest THEN search_entries.model
                          ELSE excluded.model END
         WHERE (search_entries.kind, search_entries.key, search_entries.title, search_entries.body,
                search_entries.scenarios, search_entries.priority, search_entries.section, search_entries.line)
               IS DISTINCT FROM
               (excluded.kind, excluded.key, excluded.title, excluded.body, excluded.scenarios, excluded.priority,
                excluded.section, excluded.line)",
    )
    .bind(branch)
    .bind(document)
    .bind(&ordinals)
    .bind(&kinds)
    .bind(&keys)
    .bind(&titles)
    .bind(&bodies)
    .bind(&scenarios)
    .bind(&priorities)
    .bind(&sections)
    .bind(&lines)
    .bind(&digests)
    .bind(model)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM search_entries WHERE branch_id = $1 AND document_id = $2 AND ordinal >= $3")
        .bind(branch)
        .bind(document)
        .bind(found.len() as i32)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
