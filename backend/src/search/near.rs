//! Requirements being written that nearly repeat one of another document: what the
//! `near-duplicate` lint reports as the author types, before two specs drift apart.
//! A wording the index has embedded already (anywhere: equal texts share a digest) is
//! not embedded again; a few new wordings per check are embedded on the spot, so the
//! warning shows while the author is still writing.

use std::collections::HashMap;

use charter_types::{BranchId, DocumentId, Permission};
use pgvector::Vector;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use super::duplicates::{dismissals, ordered, DEFAULT_MIN_SIMILARITY};
use super::entries::meaning;
use crate::authorization::ProjectAccess;
use crate::embeddings::Embedder;
use crate::error::Result;
use crate::structure::parse::Requirement;

/// New wordings embedded per check at most; the others wait for the index (seconds).
const FRESH: usize = 8;
/// Neighbours looked at per requirement, past those dismissed.
const NEIGHBOURS: i64 = 3;

/// The requirement of another document nearest in meaning to one being written.
#[derive(Clone, Debug, PartialEq)]
pub struct NearDuplicate {
    /// Its index among the requirements checked.
    pub index: usize,
    pub key: String,
    pub document: String,
    pub similarity: f32,
}

#[derive(sqlx::FromRow)]
struct Embedded {
    digest: Vec<u8>,
    embedding: Vector,
}

#[derive(sqlx::FromRow)]
struct Neighbour {
    at: i64,
    key: String,
    document: String,
    requirement_id: Option<Uuid>,
    similarity: f32,
}

/// For each of `requirements` (written in `document` on `branch` of `project`) that
/// nearly duplicates a requirement of another live document of the branch, the nearest
/// such one; pairs judged distinct are left out.
pub async fn near_duplicates(
    db: &PgPool,
    embedder: &Embedder,
    project: &ProjectAccess,
    branch: BranchId,
    document: DocumentId,
    requirements: &[Requirement],
) -> Result<Vec<NearDuplicate>> {
    if requirements.is_empty() {
        return Ok(Vec::new());
    }
    let dimensions = embedder.dimensions();
    let texts: Vec<String> = requirements.iter().map(|r| meaning(&r.title, &r.text, &r.acceptance)).collect();
    let digests: Vec<Vec<u8>> = texts.iter().map(|text| Sha256::digest(text.as_bytes()).to_vec()).collect();
    let stored: Vec<Embedded> = sqlx::query_as(
        "SELECT DISTINCT ON (digest) digest, embedding FROM search_entries
         WHERE digest = ANY($1) AND embedding IS NOT NULL AND model = $2",
    )
    .bind(&digests)
    .bind(embedder.model())
    .fetch_all(db)
    .await?;
    let mut vectors: HashMap<Vec<u8>, Vector> = stored.into_iter().map(|row| (row.digest, row.embedding)).collect();
    // Only those who write spend the provider on text nobody stored; a reader's check
    // uses what the index holds.
    let may_embed = if project.role().allows(Permission::Write) { FRESH } else { 0 };
    let fresh: Vec<usize> =
        (0..texts.len()).filter(|&at| !vectors.contains_key(&digests[at])).take(may_embed).collect();
    if !fresh.is_empty() {
        let embedded = embedder.embed(fresh.iter().map(|&at| texts[at].clone()).collect()).await?;
        vectors.extend(fresh.iter().map(|&at| digests[at].clone()).zip(embedded));
    }
    let (checked, probes): (Vec<usize>, Vec<Vector>) =
        (0..texts.len()).filter_map(|at| Some((at, vectors.get(&digests[at])?.clone()))).unzip();
    if checked.is_empty() {
        return Ok(Vec::new());
    }

    // The dimension is the model's, a number, never text from a request. Trashed
    // documents are left out inside the index scan, so they use up no neighbours.
    let sql = format!(
        "SELECT q.at, n.key, bd.title AS document, br.requirement_id, n.similarity
         FROM unnest($2::vector[]) WITH ORDINALITY AS q(probe, at)
         CROSS JOIN LATERAL (
             SELECT e.key, e.document_id,
                    (1 - (e.embedding::vector({dimensions}) <=> q.probe::vector({dimensions})))::real AS similarity
             FROM search_entries e
             WHERE e.branch_id = $1 AND e.kind = 'requirement' AND vector_dims(e.embedding) = {dimensions}
               AND e.document_id <> $3
               AND EXISTS (SELECT 1 FROM branch_documents live WHERE live.branch_id = e.branch_id
                           AND live.document_id = e.document_id AND live.deleted_at IS NULL)
             ORDER BY e.embedding::vector({dimensions}) <=> q.probe::vector({dimensions}) LIMIT $5) n
         JOIN branch_documents bd ON bd.branch_id = $1 AND bd.document_id = n.document_id
         LEFT JOIN branch_requirements br ON br.branch_id = $1 AND br.document_id = n.document_id
                                         AND upper(br.key) = upper(n.key)
         WHERE n.similarity >= $4
         ORDER BY q.at, n.similarity DESC"
    );
    let mut tx = db.begin().await?;
    sqlx::query("SET LOCAL hnsw.iterative_scan = relaxed_order").execute(&mut *tx).await?;
    let neighbours: Vec<Neighbour> = sqlx::query_as(&sql)
        .bind(branch)
        .bind(&probes)
        .bind(document)
        .bind(DEFAULT_MIN_SIMILARITY)
        .bind(NEIGHBOURS)
        .fetch_all(&mut *tx)
        .await?;
    // The identities of this document's requirements as last indexed: what a
    // dismissal names.
    let mine: HashMap<String, Uuid> = sqlx::query_as::<_, (String, Uuid)>(
        "SELECT upper(key), requirement_id FROM branch_requirements WHERE branch_id = $1 AND document_id = $2",
    )
    .bind(branch)
    .bind(document)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    tx.commit().await?;
    let dismissed = dismissals(db, project).await?;

    let mut found: Vec<NearDuplicate> = Vec::new();
    for neighbour in neighbours {
        // `at` counts the probes from 1.
        let Some(&index) = usize::try_from(neighbour.at - 1).ok().and_then(|at| checked.get(at)) else { continue };
        if found.last().is_some_and(|near| near.index == index) {
            continue;
        }
        let me = mine.get(&requirements[index].key.to_uppercase());
        let judged_distinct =
            me.zip(neighbour.requirement_id).is_some_and(|(&me, other)| dismissed.contains_key(&ordered(me, other)));
        if !judged_distinct {
            found.push(NearDuplicate {
                index,
                key: neighbour.key,
                document: neighbour.document,
                similarity: neighbour.similarity,
            });
        }
    }
    Ok(found)
}
