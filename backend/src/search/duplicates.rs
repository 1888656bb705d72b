//! Possible duplicates: pairs of a branch's requirements whose embeddings are nearly the
//! same, found before two specs drift apart while saying one thing. Each requirement's
//! nearest neighbours come from the HNSW index, so the report costs one index probe per
//! requirement, not a comparison of every pair. A pair judged distinct is dismissed
//! with a reason and left out of the report from then on.

use std::collections::HashMap;

use charter_types::{BranchId, DismissDuplicate, Dismissal, DocumentId, DuplicatePair, DuplicateReport, DuplicateSide};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::authorization::ProjectAccess;
use crate::embeddings::Meaning;
use crate::error::{Error, Result};
use crate::structure::requirements;
use crate::{audit, branches};

/// How alike two requirements must be to be listed, unless the request says otherwise.
/// Measured with all-MiniLM-L6-v2 on requirement pairs: rewordings of one rule score
/// 0.72 to 0.78, distinct rules on one topic 0.41 to 0.57.
pub const DEFAULT_MIN_SIMILARITY: f32 = 0.65;
/// Neighbours looked at per requirement: a requirement with more near copies than
/// this shows its nearest ones.
const NEIGHBOURS: i64 = 5;
const MAX_REASON_CHARS: usize = 500;

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct DuplicatesQuery {
    /// `main` when left out.
    pub branch: Option<String>,
    /// How alike a pair must be, from 0.5 to 1 (0.65 when left out).
    pub min_similarity: Option<f32>,
}

#[derive(sqlx::FromRow)]
struct Row {
    a_id: Uuid,
    a_key: String,
    a_document_id: DocumentId,
    a_document: String,
    a_title: String,
    a_text: String,
    a_line: i32,
    b_id: Uuid,
    b_key: String,
    b_document_id: DocumentId,
    b_document: String,
    b_title: String,
    b_text: String,
    b_line: i32,
    similarity: f32,
}

#[derive(sqlx::FromRow)]
struct Dismissed {
    requirement_a: Uuid,
    requirement_b: Uuid,
    reason: String,
    by: Option<String>,
    at: DateTime<Utc>,
}

/// The possible duplicates of a branch of `project`, which the caller may read.
pub async fn report(
    db: &PgPool,
    meaning: &Meaning,
    project: &ProjectAccess,
    query: &DuplicatesQuery,
) -> Result<DuplicateReport> {
    let min_similarity = query.min_similarity.unwrap_or(DEFAULT_MIN_SIMILARITY);
    if !(0.5..=1.0).contains(&min_similarity) {
        return Err(Error::Invalid("`min_similarity` must be between 0.5 and 1".into()));
    }
    let branch = branches::resolve(db, project.project(), query.branch.as_deref().unwrap_or(branches::MAIN)).await?;
    let embedder = match meaning {
        Meaning::Ready(embedder) => embedder,
        Meaning::Off { why } => {
            let notice = format!("Finding duplicates needs meaning search, which is off because {why}.");
            return Ok(DuplicateReport { pairs: vec![], dismissed: vec![], min_similarity, notice: Some(notice) });
        }
    };
    // Pairs name requirements by identity: the branch's must be current.
    requirements::refresh(db, project.project(), branch).await?;
    let rows = pairs(db, branch, embedder.dimensions(), min_similarity).await?;
    let mut dismissals: HashMap<(Uuid, Uuid), Dismissal> = dismissals(db, project).await?;
    let (mut pairs, mut dismissed) = (Vec::new(), Vec::new());
    for row in rows {
        let pair = pair_of(row);
        match dismissals.remove(&ordered(pair.a.requirement_id, pair.b.requirement_id)) {
            Some(dismissal) => dismissed.push(DuplicatePair { dismissal: Some(dismissal), ..pair }),
            None => pairs.push(pair),
        }
    }
    let notice = super::catching_up(db, branch).await?;
    Ok(DuplicateReport { pairs, dismissed, min_similarity, notice })
}

/// Records that two requirements of `project` are distinct, and why.
pub async fn dismiss(db: &PgPool, project: &ProjectAccess, request: DismissDuplicate) -> Result<Dismissal> {
    let reason = request.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(Error::Invalid(format!("say why they are distinct, in 1 to {MAX_REASON_CHARS} characters")));
    }
    if request.a == request.b {
        return Err(Error::Invalid("a requirement cannot duplicate itself".into()));
    }
    let (a, b) = ordered(request.a, request.b);
    let mut tx = project.begin(db).await?;
    let known: i64 = sqlx::query_scalar("SELECT count(*) FROM requirements WHERE project_id = $1 AND id IN ($2, $3)")
        .bind(project.project())
        .bind(a)
        .bind(b)
        .fetch_one(&mut *tx)
        .await?;
    if known != 2 {
        return Err(Error::not_found("requirement"));
    }
    let at: DateTime<Utc> = sqlx::query_scalar(
        "INSERT INTO duplicate_dismissals (project_id, requirement_a, requirement_b, reason, dismissed_by)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (project_id, requirement_a, requirement_b)
         DO UPDATE SET reason = excluded.reason, dismissed_by = excluded.dismissed_by, dismissed_at = now()
         RETURNING dismissed_at",
    )
    .bind(project.project())
    .bind(a)
    .bind(b)
    .bind(reason)
    .bind(project.actor().user_id)
    .fetch_one(&mut *tx)
    .await?;
    let summary = format!("judged two requirements distinct: {reason}");
    let entry = project.audit("duplicate.dismiss", ("requirement", a), summary);
    audit::record(&mut *tx, entry.details(serde_json::json!({ "a": a, "b": b }))).await?;
    tx.commit().await?;
    Ok(Dismissal { reason: reason.to_owned(), by: Some(project.actor().username.clone()), at })
}

pub(super) fn ordered(a: Uuid, b: Uuid) -> (Uuid, Uuid) {
    if a < b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Each requirement with its nearest neighbours above the threshold, every pair once.
async fn pairs(db: &PgPool, branch: BranchId, dimensions: usize, min_similarity: f32) -> Result<Vec<Row>> {
    // The dimension is the model's, a number, never text from a request. A pair is
    // found from either side (one may be among the other's nearest and not the other
    // way round); `DISTINCT ON` keeps it once. Trashed documents are left out inside the
    // index scan, so that they do not use up a requirement's neighbours.
    let sql = format!(
        "WITH mine AS (
             SELECT e.document_id, e.ordinal, e.embedding::vector({dimensions}) AS embedding, br.requirement_id,
                    br.key, br.title, br.body, br.line, bd.title AS document
             FROM search_entries e
             JOIN branch_requirements br ON br.branch_id = e.branch_id AND br.document_id = e.document_id
                                        AND upper(br.key) = upper(e.key)
             JOIN branch_documents bd ON bd.branch_id = e.branch_id AND bd.document_id = e.document_id
             WHERE e.branch_id = $1 AND e.kind = 'requirement' AND vector_dims(e.embedding) = {dimensions}
               AND bd.deleted_at IS NULL),
         near AS (
             SELECT a.requirement_id AS a_id, b.requirement_id AS b_id, n.similarity
             FROM mine a CROSS JOIN LATERAL (
                 SELECT e.document_id, e.ordinal, (1 - (e.embedding::vector({dimensions}) <=> a.embedding))::real AS similarity
                 FROM search_entries e
                 WHERE e.branch_id = $1 AND e.kind = 'requirement' AND vector_dims(e.embedding) = {dimensions}
                   AND (e.document_id, e.ordinal) <> (a.document_id, a.ordinal)
                   AND EXISTS (SELECT 1 FROM branch_documents live WHERE live.branch_id = e.branch_id
                               AND live.document_id = e.document_id AND live.deleted_at IS NULL)
                 ORDER BY e.embedding::vector({dimensions}) <=> a.embedding LIMIT $3) n
             JOIN mine b ON (b.document_id, b.ordinal) = (n.document_id, n.ordinal)
             WHERE n.similarity >= $2 AND b.requirement_id <> a.requirement_id),
         unique_pairs AS (
             SELECT DISTINCT ON (least(a_id, b_id), greatest(a_id, b_id))
                    least(a_id, b_id) AS a_id, greatest(a_id, b_id) AS b_id, similarity
             FROM near ORDER BY least(a_id, b_id), greatest(a_id, b_id), similarity DESC)
         SELECT p.similarity,
                a.requirement_id AS a_id, a.key AS a_key, a.document_id AS a_document_id, a.document AS a_document,
                a.title AS a_title, a.body AS a_text, a.line AS a_line,
                b.requirement_id AS b_id, b.key AS b_key, b.document_id AS b_document_id, b.document AS b_document,
                b.title AS b_title, b.body AS b_text, b.line AS b_line
         FROM unique_pairs p
         JOIN LATERAL (SELECT * FROM mine WHERE requirement_id = p.a_id LIMIT 1) a ON true
         JOIN LATERAL (SELECT * FROM mine WHERE requirement_id = p.b_id LIMIT 1) b ON true
         ORDER BY p.similarity DESC, a.key, b.key"
    );
    let mut tx = db.begin().await?;
    sqlx::query("SET LOCAL hnsw.iterative_scan = relaxed_order").execute(&mut *tx).await?;
    let rows = sqlx::query_as(&sql).bind(branch).bind(min_similarity).bind(NEIGHBOURS).fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(rows)
}

pub(super) async fn dismissals(db: &PgPool, project: &ProjectAccess) -> Result<HashMap<(Uuid, Uuid), Dismissal>> {
    let rows: Vec<Dismissed> = sqlx::query_as(
        "SELECT d.requirement_a, d.requirement_b, d.reason, u.username AS by, d.dismissed_at AS at
         FROM duplicate_dismissals d LEFT JOIN users u ON u.id = d.dismissed_by
         WHERE d.project_id = $1",
    )
    .bind(project.project())
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| ((row.requirement_a, row.requirement_b), Dismissal { reason: row.reason, by: row.by, at: row.at }))
        .collect())
}

fn pair_of(row: Row) -> DuplicatePair {
    let line = |line: i32| usize::try_from(line).unwrap_or(0);
    DuplicatePair {
        a: DuplicateSide {
            key: row.a_key,
            requirement_id: row.a_id,
            document_id: row.a_document_id,
            document: row.a_document,
            title: row.a_title,
            text: row.a_text,
            line: line(row.a_line),
        },
        b: DuplicateSide {
            key: row.b_key,
            requirement_id: row.b_id,
            document_id: row.b_document_id,
            document: row.b_document,
            title: row.b_title,
            text: row.b_text,
            line: line(row.b_line),
        },
        similarity: row.similarity,
        dismissal: None,
    }
}
