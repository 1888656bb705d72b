//! A requirement's neighbours by meaning: the requirements of its branch whose
//! embeddings are nearest to its own, those of other documents first (where a second
//! spec saying the same thing is news), then those beside it.

use charter_types::{BranchId, DocumentId, RelatedRequirement, RelatedRequirements};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;
use uuid::Uuid;

use super::fusion::MIN_SIMILARITY;
use crate::authorization::ProjectAccess;
use crate::branches;
use crate::embeddings::Meaning;
use crate::error::{Error, Result};

/// Neighbours in one answer at most, and by default.
const MAX_LIMIT: usize = 50;
const DEFAULT_LIMIT: usize = 10;

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct RelatedQuery {
    /// `main` when left out.
    pub branch: Option<String>,
    /// How many at most (1 to 50; 10 when left out).
    pub limit: Option<usize>,
}

#[derive(sqlx::FromRow)]
struct Row {
    key: String,
    requirement_id: Option<Uuid>,
    document_id: DocumentId,
    document: String,
    title: String,
    line: i32,
    similarity: f32,
    same_document: bool,
}

/// The neighbours of `requirement` (of `project`, which the caller may read).
pub async fn related(
    db: &PgPool,
    meaning: &Meaning,
    project: &ProjectAccess,
    requirement: Uuid,
    query: &RelatedQuery,
) -> Result<RelatedRequirements> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::Invalid(format!("`limit` must be between 1 and {MAX_LIMIT}")));
    }
    let name = query.branch.as_deref().unwrap_or(branches::MAIN);
    let branch = branches::resolve(db, project.project(), name).await?;
    let Some(me) = entry_of(db, branch, requirement).await? else {
        return Err(Error::NotFound(format!(
            "this requirement is not in the documents of branch {name} (it was removed or is elsewhere)"
        )));
    };
    let embedder = match meaning {
        Meaning::Ready(embedder) => embedder,
        Meaning::Off { why } => {
            return Ok(RelatedRequirements {
                related: Vec::new(),
                notice: Some(format!("Related requirements need meaning search, which is off because {why}.")),
            })
        }
    };
    if !me.embedded {
        let notice = "This requirement is still being read for its meaning; its neighbours show in a moment.";
        return Ok(RelatedRequirements { related: Vec::new(), notice: Some(notice.into()) });
    }
    let rows = nearest(db, branch, &me, embedder.dimensions(), limit).await?;
    let mut related: Vec<RelatedRequirement> = rows
        .into_iter()
        .filter(|row| row.similarity >= MIN_SIMILARITY)
        .map(|row| RelatedRequirement {
            key: row.key,
            requirement_id: row.requirement_id,
            document_id: row.document_id,
            document: row.document,
            title: row.title,
            line: usize::try_from(row.line).unwrap_or(0),
            similarity: row.similarity,
            same_document: row.same_document,
        })
        .collect();
    // Other documents first, nearest first within each (the sort is stable).
    related.sort_by_key(|neighbour| neighbour.same_document);
    Ok(RelatedRequirements { related, notice: None })
}

/// A requirement's place in the search index of a branch.
#[derive(sqlx::FromRow)]
struct Entry {
    document_id: DocumentId,
    ordinal: i32,
    key: String,
    embedded: bool,
}

async fn entry_of(db: &PgPool, branch: BranchId, requirement: Uuid) -> Result<Option<Entry>> {
    Ok(sqlx::query_as(
        "SELECT e.document_id, e.ordinal, e.key, e.embedding IS NOT NULL AS embedded
         FROM branch_requirements br
         JOIN search_entries e ON e.branch_id = br.branch_id AND e.document_id = br.document_id
                               AND upper(e.key) = upper(br.key)
         WHERE br.branch_id = $1 AND br.requirement_id = $2 LIMIT 1",
    )
    .bind(branch)
    .bind(requirement)
    .fetch_optional(db)
    .await?)
}

async fn nearest(db: &PgPool, branch: BranchId, me: &Entry, dimensions: usize, limit: usize) -> Result<Vec<Row>> {
    // The dimension is the model's, a number, never text from a request. The key is
    // checked again: the indexer may have renumbered the document's entries since.
    let sql = format!(
        "WITH me AS (
             SELECT branch_id, document_id, ordinal, embedding::vector({dimensions}) AS embedding
             FROM search_entries
             WHERE branch_id = $1 AND document_id = $2 AND ordinal = $3 AND key = $5
               AND vector_dims(embedding) = {dimensions})
         SELECT n.key, br.requirement_id, n.document_id, bd.title AS document, n.title, n.line,
                (1 - (n.embedding::vector({dimensions}) <=> me.embedding))::real AS similarity,
                n.document_id = me.document_id AS same_document
         FROM me CROSS JOIN LATERAL (
             SELECT e.* FROM search_entries e
             WHERE e.branch_id = me.branch_id AND e.kind = 'requirement' AND vector_dims(e.embedding) = {dimensions}
               AND (e.document_id, e.ordinal) <> (me.document_id, me.ordinal)
               AND EXISTS (SELECT 1 FROM branch_documents live WHERE live.branch_id = e.branch_id
                           AND live.document_id = e.document_id AND live.deleted_at IS NULL)
             ORDER BY e.embedding::vector({dimensions}) <=> me.embedding LIMIT $4) n
         JOIN branch_documents bd ON bd.branch_id = n.branch_id AND bd.document_id = n.document_id
         LEFT JOIN branch_requirements br ON br.branch_id = n.branch_id AND br.key = n.key
         ORDER BY similarity DESC"
    );
    let mut tx = db.begin().await?;
    sqlx::query("SET LOCAL hnsw.iterative_scan = relaxed_order").execute(&mut *tx).await?;
    let rows = sqlx::query_as(&sql)
        .bind(branch)
        .bind(me.document_id)
        .bind(me.ordinal)
        .bind(limit as i64)
        .bind(&me.key)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows)
}
