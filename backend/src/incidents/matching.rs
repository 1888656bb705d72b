//! Matching: each queued incident against the requirements of its project's `main`,
//! by meaning and by words (the search index), its best candidates stored with their
//! scores. The queue lives in Postgres (`incident_queue`), so a crash between accepting
//! and matching loses nothing; instances share it: a matcher leases what it takes, and
//! an incident that fails waits longer each time without holding up the others. Each
//! round also notices regressions and announces merged drafts (`regression`).

use std::time::Duration;

use charter_types::{IncidentId, ProjectId};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::regression;
use crate::embeddings::Embeddings;
use crate::error::Result;
use crate::search::{self, pace};

/// Incidents taken per round at most: a project's are embedded in one batch.
const BATCH: i64 = 64;
/// Candidates kept per incident.
const CANDIDATES: usize = 5;
/// What an incident's text is cut to: the title and the start of the description say
/// what it is about.
const MAX_TEXT: usize = 480;
/// How long a matcher holds what it took before another instance may take it: what a
/// crashed one held waits this long. A round that outlasts it (a slow provider) only has
/// its incidents matched twice, which stores the same.
const LEASE: Duration = Duration::from_secs(30);
/// How long an incident is matched again while the index catches up with recent edits
/// (a handful of times: see `unsettled_wait`).
const UNSETTLED_FOR: chrono::TimeDelta = chrono::TimeDelta::minutes(3);
/// How long deliveries are remembered for telling retries.
const FORGET_DELIVERIES_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

/// Runs the matcher for as long as the process does.
pub fn spawn(db: PgPool, embeddings: Embeddings) {
    tokio::spawn(async move { pace::forever(BATCH as usize, || match_queued(&db, &embeddings)).await });
}

/// An incident taken off the queue to be matched.
#[derive(sqlx::FromRow)]
struct Taken {
    id: IncidentId,
    project_id: ProjectId,
    title: String,
    description: String,
    queued_at: DateTime<Utc>,
    attempts: i32,
}

impl Taken {
    /// What it is matched by.
    fn text(&self) -> String {
        format!("{}. {}", self.title, self.description).chars().take(MAX_TEXT).collect()
    }
}

/// Matches due incidents, a project at a time, until it has taken a round's worth or
/// none are due; returns how many it took.
pub async fn match_queued(db: &PgPool, embeddings: &Embeddings) -> Result<usize> {
    let mut taken = 0;
    while taken < BATCH {
        let incidents = take(db, BATCH - taken).await?;
        if incidents.is_empty() {
            break;
        }
        taken += incidents.len() as i64;
        match_project(db, embeddings, &incidents).await;
    }
    regression::announce_merged(db).await?;
    sqlx::query("DELETE FROM incident_deliveries WHERE received_at < now() - $1::interval")
        .bind(FORGET_DELIVERIES_AFTER)
        .execute(db)
        .await?;
    Ok(taken as usize)
}

/// Leases up to `limit` due incidents of one project: that of the incident due longest.
/// One project's at a time, each leased just before it is matched, so that a slow
/// provider of one project neither lets the lease of another's run out nor holds it up.
async fn take(db: &PgPool, limit: i64) -> Result<Vec<Taken>> {
    Ok(sqlx::query_as(
        "WITH first AS (SELECT i.project_id FROM incident_queue q JOIN incidents i ON i.id = q.incident_id
                        WHERE q.not_before <= now() ORDER BY q.not_before LIMIT 1 FOR UPDATE OF q SKIP LOCKED),
              due AS (SELECT q.incident_id FROM incident_queue q JOIN incidents i ON i.id = q.incident_id
                      WHERE q.not_before <= now() AND i.project_id = (SELECT project_id FROM first)
                      ORDER BY q.not_before LIMIT $1 FOR UPDATE OF q SKIP LOCKED),
              leased AS (UPDATE incident_queue q SET not_before = now() + $2::interval FROM due
                         WHERE q.incident_id = due.incident_id RETURNING q.incident_id, q.queued_at, q.attempts)
         SELECT i.id, i.project_id, i.title, i.description, l.queued_at, l.attempts
         FROM leased l JOIN incidents i ON i.id = l.incident_id",
    )
    .bind(limit)
    .bind(LEASE)
    .fetch_all(db)
    .await?)
}

/// Matches one project's incidents and stores what it found; those it could not match
/// wait to be tried again, and the others go on.
async fn match_project(db: &PgPool, embeddings: &Embeddings, incidents: &[Taken]) {
    let Some(first) = incidents.first() else { return };
    let texts: Vec<String> = incidents.iter().map(Taken::text).collect();
    let found = match search::matching(db, embeddings, first.project_id, &texts, CANDIDATES).await {
        Ok(found) => found,
        Err(err) => {
            err.log();
            tracing::warn!(project = %first.project_id, incidents = incidents.len(),
                           "matching a project's incidents failed; they wait to be tried again");
            for incident in incidents {
                later(db, incident).await;
            }
            return;
        }
    };
    for (incident, best) in incidents.iter().zip(found.best) {
        let Some(best) = best else {
            later(db, incident).await;
            continue;
        };
        // Matched again soon while the index catches up with recent edits, for a while,
        // waiting longer each time.
        let waited = Utc::now() - incident.queued_at;
        let again = (!found.settled && waited < UNSETTLED_FOR).then(|| unsettled_wait(waited));
        if let Err(err) = store(db, incident, &best, found.settled, again).await {
            err.log();
            later(db, incident).await;
        }
    }
}

/// Puts back an incident whose matching failed, to be tried again after a minute,
/// doubling each time, at most a day; should even that fail, its lease runs out.
async fn later(db: &PgPool, incident: &Taken) {
    tracing::warn!(incident = %incident.id, attempts = incident.attempts + 1,
                   "matching an incident failed; it waits to be tried again");
    let put_back = sqlx::query(
        "UPDATE incident_queue SET attempts = attempts + 1,
                not_before = now() + least(interval '1 minute' * power(2, attempts), interval '1 day')
         WHERE incident_id = $1 AND queued_at = $2",
    )
    .bind(incident.id)
    .bind(incident.queued_at)
    .execute(db)
    .await;
    if let Err(err) = put_back {
        crate::error::Error::from(err).log();
    }
}

/// How long to wait before matching again an incident matched against an index still
/// catching up, `waited` after it was queued: half as long again, from 3 s to a minute.
fn unsettled_wait(waited: chrono::TimeDelta) -> Duration {
    let wait = (waited.to_std().unwrap_or_default() / 2).clamp(Duration::from_secs(3), Duration::from_secs(60));
    // Whole milliseconds: an `interval` holds no nanoseconds, and sqlx refuses to round.
    Duration::from_millis(wait.as_millis() as u64)
}

/// Stores an incident's candidates and takes it off the queue, unless it was queued
/// again meanwhile (it reopened): then it is matched again. With `again`, it stays
/// queued, to be matched again after that long.
async fn store(
    db: &PgPool,
    incident: &Taken,
    candidates: &[search::Match],
    settled: bool,
    again: Option<Duration>,
) -> Result<()> {
    let (id, queued_at) = (incident.id, incident.queued_at);
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM incident_candidates WHERE incident_id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query(
        "INSERT INTO incident_candidates (incident_id, requirement_id, rank, score)
         SELECT $1, requirement_id, rank, score FROM unnest($2::uuid[], $3::real[]) WITH ORDINALITY AS c(requirement_id, score, rank)
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(candidates.iter().map(|candidate| candidate.requirement_id).collect::<Vec<_>>())
    .bind(candidates.iter().map(|candidate| candidate.score).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    regression::notice(&mut tx, id, candidates.first(), settled).await?;
    sqlx::query(
        "WITH gone AS (DELETE FROM incident_queue WHERE incident_id = $1 AND queued_at = $2 AND $3::interval IS NULL)
         UPDATE incident_queue SET not_before = now() + $3::interval
         WHERE incident_id = $1 AND queued_at = $2 AND $3::interval IS NOT NULL",
    )
    .bind(id)
    .bind(queued_at)
    .bind(again)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_by_half_within_bounds_in_whole_milliseconds() {
        let wait = |waited_ns: i64| unsettled_wait(chrono::TimeDelta::nanoseconds(waited_ns));
        assert_eq!(wait(0), Duration::from_secs(3));
        assert_eq!(wait(13_000_000_123), Duration::from_millis(6_500), "no nanoseconds left over");
        assert_eq!(wait(500_000_000_000), Duration::from_secs(60));
    }
}
