//! Fills in the index entries' embeddings in the background: the entries still
//! without one are the queue, so a crash loses nothing, and editing and full-text
//! search never wait for the model. One batch of one project at a time per instance
//! (the local model uses every core it is given), with that project's provider; equal
//! texts are embedded once per model. A project whose provider fails waits longer and
//! longer, and does not hold up the others.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use charter_types::ProjectId;
use pgvector::Vector;
use sqlx::PgPool;
use tokio::time::Instant;

use super::entries::meaning;
use super::{jobs, pace, provider};
use crate::derived;
use crate::embeddings::{Embedder, Embeddings, Meaning};
use crate::error::{Error, Result};

/// Texts embedded at once: large enough to use the cores well, small enough that a
/// query's own embedding never waits long behind a batch.
const BATCH: i64 = 16;
/// Failures in a row after which a project's running re-index job is failed.
const GIVE_UP_AFTER: u32 = 3;
/// The longest a failing project waits before its provider is tried again.
const LONGEST_WAIT: Duration = Duration::from_secs(300);

/// Runs the worker for as long as the process does, after making sure the vectors of
/// projects that use the server's provider are its model's.
pub fn spawn(db: PgPool, embeddings: Embeddings) {
    tokio::spawn(async move {
        while let Err(err) = adopt_model(&db, embeddings.server()).await {
            err.log();
            tokio::time::sleep(pace::RETRY).await;
        }
        let waiting = Waiting::default();
        pace::forever(BATCH as usize, || async {
            embed_pending(&db, &embeddings, &waiting).await.map(pace::Round::of)
        })
        .await;
    });
}

/// Makes the server's model the one the vectors of projects without a provider of their
/// own are of: when another model made them, a re-index job per project embeds them
/// again (full-text search goes on meanwhile, and says how far the job is). Projects
/// that had no model yet simply take it. Without a server model, those projects have none.
pub async fn adopt_model(db: &PgPool, server: &Meaning) -> Result<()> {
    let model = server.embedder().map(Embedder::model);
    if let Some(embedder) = server.embedder() {
        ensure_index(db, embedder.dimensions()).await?;
    }
    let mut tx = db.begin().await?;
    let changed: Vec<(ProjectId, Option<String>)> = sqlx::query_as(
        "SELECT id, embedding_model FROM projects
         WHERE embedding IS NULL AND embedding_model IS DISTINCT FROM $1 FOR NO KEY UPDATE",
    )
    .bind(&model)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query("UPDATE projects SET embedding_model = $1 WHERE id = ANY($2)")
        .bind(&model)
        .bind(changed.iter().map(|(project, _)| *project).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    if let Some(model) = &model {
        let mut jobs = 0;
        for (project, _) in changed.iter().filter(|(_, before)| before.is_some()) {
            jobs::start(&mut tx, *project, model, None).await?;
            jobs += 1;
        }
        if jobs > 0 {
            tracing::info!(projects = jobs, model, "embedding model changed: re-indexing those projects");
        }
    }
    tx.commit().await?;
    Ok(())
}

/// An HNSW index for vectors of `dimensions` (one per length a provider makes; the
/// local model's comes with the schema), made before any such vector is stored. Made
/// concurrently, outside any transaction, so that writes to the index go on meanwhile.
pub(super) async fn ensure_index(db: &PgPool, dimensions: usize) -> Result<()> {
    // A number the provider's settings checked (1 to 2000), never text from a request.
    let dimensions = dimensions.clamp(1, 2000);
    let name = format!("search_entries_embedding_{dimensions}");
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = $1)")
        .bind(&name)
        .fetch_one(db)
        .await?;
    if !exists {
        sqlx::raw_sql(&format!(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON search_entries
             USING hnsw ((embedding::vector({dimensions})) vector_cosine_ops) WHERE vector_dims(embedding) = {dimensions}"
        ))
        .execute(db)
        .await?;
    }
    Ok(())
}

/// Projects whose provider failed lately (when each may be tried again, and how many
/// failures in a row), and whose turn it is.
#[derive(Default)]
struct Waiting {
    failing: Mutex<HashMap<ProjectId, (Instant, u32)>>,
    /// The project served last.
    last: Mutex<Option<ProjectId>>,
}

impl Waiting {
    fn projects(&self) -> MutexGuard<'_, HashMap<ProjectId, (Instant, u32)>> {
        self.failing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now_waiting(&self) -> Vec<ProjectId> {
        let now = Instant::now();
        self.projects().iter().filter(|(_, (until, _))| *until > now).map(|(project, _)| *project).collect()
    }

    /// Notes a failure; returns how many in a row.
    fn failed(&self, project: ProjectId) -> u32 {
        let mut projects = self.projects();
        let (until, failures) = projects.entry(project).or_insert((Instant::now(), 0));
        *failures += 1;
        *until = Instant::now() + (pace::RETRY * 2u32.pow((*failures - 1).min(6))).min(LONGEST_WAIT);
        *failures
    }

    fn succeeded(&self, project: ProjectId) {
        self.projects().remove(&project);
    }

    /// The project after the one served last, in `due`'s order (round and round).
    fn next_of(&self, due: &[ProjectId]) -> Option<ProjectId> {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let next = due.iter().find(|project| Some(**project) > *last).or(due.first()).copied();
        *last = next;
        next
    }
}

#[derive(sqlx::FromRow)]
struct Pending {
    digest: Vec<u8>,
    title: String,
    body: String,
    scenarios: Vec<String>,
}

/// Embeds one batch of distinct texts of one project still lacking an embedding;
/// returns how many. Entries of a document edited in the last two seconds wait: text
/// being typed is embedded once it settles, not at every keystroke.
async fn embed_pending(db: &PgPool, embeddings: &Embeddings, waiting: &Waiting) -> Result<usize> {
    let server_on = embeddings.server().embedder().is_some();
    // Projects with entries due, taken in turn: a large re-index does not hold up the
    // others' fresh edits.
    let due: Vec<ProjectId> = sqlx::query_scalar(
        "SELECT DISTINCT b.project_id FROM search_entries e JOIN branches b ON b.id = e.branch_id
         JOIN projects p ON p.id = b.project_id
         WHERE e.embedding IS NULL AND NOT b.project_id = ANY($1)
           AND CASE WHEN p.embedding IS NULL THEN $2 ELSE p.embedding->>'provider' <> 'off' END
           AND NOT EXISTS (SELECT 1 FROM branch_documents d
                           WHERE d.branch_id = e.branch_id AND d.document_id = e.document_id
                             AND d.updated_at > now() - interval '2 seconds')
         ORDER BY 1 LIMIT 64",
    )
    .bind(waiting.now_waiting())
    .bind(server_on)
    .fetch_all(db)
    .await?;
    let Some(project) = waiting.next_of(&due) else { return Ok(0) };
    let embedder = match provider::meaning(db, embeddings, project).await? {
        Meaning::Ready(embedder) => embedder,
        Meaning::Off { .. } => {
            waiting.failed(project);
            return Ok(0);
        }
    };
    let model = embedder.model();
    // A project new since the server adopted its model takes it now.
    sqlx::query("UPDATE projects SET embedding_model = $2 WHERE id = $1 AND embedding_model IS NULL")
        .bind(project)
        .bind(&model)
        .execute(db)
        .await?;
    let pending: Vec<Pending> = sqlx::query_as(
        "SELECT DISTINCT ON (e.digest) e.digest, e.title, e.body, e.scenarios
         FROM search_entries e JOIN branches b ON b.id = e.branch_id
         WHERE b.project_id = $1 AND e.embedding IS NULL
           AND NOT EXISTS (SELECT 1 FROM branch_documents d
                           WHERE d.branch_id = e.branch_id AND d.document_id = e.document_id
                             AND d.updated_at > now() - interval '2 seconds')
         ORDER BY e.digest LIMIT $2",
    )
    .bind(project)
    .bind(BATCH)
    .fetch_all(db)
    .await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let texts = pending.iter().map(|row| meaning(&row.title, &row.body, &row.scenarios)).collect();
    let vectors: Vec<Vector> = match embedder.embed_in_background(texts).await {
        Ok(vectors) => vectors,
        Err(Error::Provider(why)) => {
            let failures = waiting.failed(project);
            tracing::warn!(%project, %why, failures, "an embedding provider failed; its project waits");
            jobs::failed(db, project, &why, failures >= GIVE_UP_AFTER).await?;
            return Ok(0);
        }
        Err(err) => return Err(err),
    };
    waiting.succeeded(project);
    let digests: Vec<&[u8]> = pending.iter().map(|row| row.digest.as_slice()).collect();
    // The project is held while its vectors are written: a change of provider either
    // came first (then these are another model's and are dropped) or waits, and drops
    // them itself. Entries rewritten meanwhile have other digests and wait their turn.
    let mut tx = derived::begin(db).await?;
    let current: Option<String> = sqlx::query_scalar("SELECT embedding_model FROM projects WHERE id = $1 FOR SHARE")
        .bind(project)
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
    if current.as_deref() != Some(model.as_str()) {
        return Ok(0);
    }
    sqlx::query(
        "UPDATE search_entries e SET embedding = v.embedding, model = $3
         FROM unnest($1::bytea[], $2::vector[]) AS v(digest, embedding), branches b
         WHERE e.digest = v.digest AND e.embedding IS NULL AND b.id = e.branch_id AND b.project_id = $4",
    )
    .bind(&digests)
    .bind(&vectors)
    .bind(&model)
    .bind(project)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(pending.len())
}
