//! Re-index jobs: every entry of a project embedded again, after its provider (or the
//! model behind it) changed. Starting one drops the project's vectors in the same
//! transaction that records the job; the embedding worker then fills them in as it does
//! for any new entry, so a crash loses nothing and the job's progress is simply how
//! many of the project's entries have a vector again.

use charter_types::{Job, JobId, JobState, Permission, ProjectId, Role, UserId};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::access::Actor;
use crate::authorization::{self, ProjectAccess};
use crate::error::{Error, Result};

#[derive(sqlx::FromRow)]
struct Row {
    id: JobId,
    project_id: ProjectId,
    state: JobState,
    error: Option<String>,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, project_id, state, error, started_at, finished_at";

/// Starts re-embedding the project's entries with `model`, inside the transaction that
/// changed its provider (with the project's row held), for `started_by` (`None`: the
/// server, whose own model changed); a job still running is superseded.
pub(super) async fn start(
    tx: &mut PgConnection,
    project: ProjectId,
    model: &str,
    started_by: Option<UserId>,
) -> Result<JobId> {
    sqlx::query(
        "UPDATE jobs SET state = 'superseded', finished_at = now() WHERE project_id = $1 AND state = 'running'",
    )
    .bind(project)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE search_entries e SET embedding = NULL, model = NULL FROM branches b
         WHERE b.id = e.branch_id AND b.project_id = $1 AND e.embedding IS NOT NULL",
    )
    .bind(project)
    .execute(&mut *tx)
    .await?;
    let id = JobId::from_uuid(uuid::Uuid::now_v7());
    sqlx::query(
        "INSERT INTO jobs (id, project_id, kind, state, model, started_by) VALUES ($1, $2, 'reindex', 'running', $3, $4)",
    )
    .bind(id)
    .bind(project)
    .bind(model)
    .bind(started_by)
    .execute(&mut *tx)
    .await?;
    Ok(id)
}

/// A job, for a reader of its project (of another project, it does not exist).
pub async fn get(db: &PgPool, actor: &Actor, id: JobId) -> Result<Job> {
    let row: Row = sqlx::query_as(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or_else(|| Error::not_found("job"))?;
    let project =
        authorization::authorize(db, actor, row.project_id, Permission::Read).await.map_err(|err| match err {
            Error::NotFound(_) => Error::not_found("job"),
            other => other,
        })?;
    view(db, row, &project).await
}

/// The project's latest job.
pub(super) async fn latest(db: &PgPool, project: &ProjectAccess) -> Result<Option<Job>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE project_id = $1 ORDER BY started_at DESC, id DESC LIMIT 1"
    ))
    .bind(project.project())
    .fetch_optional(db)
    .await?;
    match row {
        Some(row) => Ok(Some(view(db, row, project).await?)),
        None => Ok(None),
    }
}

/// The project's running job, if any (progress is counted only when there is one).
pub(super) async fn running(db: &PgPool, project: &ProjectAccess) -> Result<Option<Job>> {
    let row: Option<Row> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM jobs WHERE project_id = $1 AND state = 'running'"))
            .bind(project.project())
            .fetch_optional(db)
            .await?;
    match row {
        Some(row) => Ok(Some(view(db, row, project).await?).filter(|job| job.state == JobState::Running)),
        None => Ok(None),
    }
}

/// What a reader should know of a job: how far a running one is, why a failed one
/// stopped.
pub(super) fn notice(job: &Job) -> Option<String> {
    match job.state {
        JobState::Running => Some(format!(
            "Re-indexing for a new embedding model: {} of {} entries done; the others are found by their words \
             for now.",
            job.done, job.total
        )),
        JobState::Failed => Some(format!(
            "Re-indexing stopped: {}. Entries without a vector are found by their words only.",
            job.error.as_deref().unwrap_or("the provider failed")
        )),
        JobState::Done | JobState::Superseded => None,
    }
}

/// Notes the latest failure of the project's provider on its running job; after
/// `give_up`, the job is failed (the worker goes on trying, more slowly).
pub(super) async fn failed(db: &PgPool, project: ProjectId, error: &str, give_up: bool) -> Result<()> {
    sqlx::query(
        "UPDATE jobs SET error = $2,
             state = CASE WHEN $3 THEN 'failed' ELSE state END,
             finished_at = CASE WHEN $3 THEN now() END
         WHERE project_id = $1 AND state = 'running'",
    )
    .bind(project)
    .bind(error)
    .bind(give_up)
    .execute(db)
    .await?;
    Ok(())
}

/// The job with its progress, counted now (vectors of its model only); a job whose
/// entries all have theirs is done (recorded once, whoever sees it first), also one that
/// failed before its provider came back. The provider's own words (an address, what it
/// answered) are for the project's owners; others read that it failed.
async fn view(db: &PgPool, row: Row, project: &ProjectAccess) -> Result<Job> {
    let (done, total): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE e.model = j.model), count(*)
         FROM jobs j JOIN branches b ON b.project_id = j.project_id JOIN search_entries e ON e.branch_id = b.id
         WHERE j.id = $1",
    )
    .bind(row.id)
    .fetch_one(db)
    .await?;
    let error = row.error.map(|error| match project.role() {
        Role::Owner => error,
        _ => "the embedding provider failed (the project's owners see why on Search settings)".to_owned(),
    });
    let mut job = Job {
        id: row.id,
        state: row.state,
        done,
        total,
        error,
        started_at: row.started_at,
        finished_at: row.finished_at,
    };
    if matches!(job.state, JobState::Running | JobState::Failed) && done == total {
        let finished: Option<DateTime<Utc>> = sqlx::query_scalar(
            "UPDATE jobs SET state = 'done', error = NULL, finished_at = now()
             WHERE id = $1 AND state IN ('running', 'failed') RETURNING finished_at",
        )
        .bind(job.id)
        .fetch_optional(db)
        .await?;
        if let Some(finished) = finished {
            (job.state, job.error, job.finished_at) = (JobState::Done, None, Some(finished));
        }
    }
    Ok(job)
}
