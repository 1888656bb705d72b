//! Matching: each queued incident against the requirements of its project's `main`,
//! by meaning and by words (the search index), its best candidates stored with their
//! scores. The queue lives in Postgres (`incident_queue`), so a crash between accepting
//! and matching loses nothing; instances share it: a matcher leases what it takes, and
//! an incident that fails waits longer each time without holding up the others. Each
//! round also notices regressions and announces merged drafts (`regression`).
//!
//! The model embeds a few dozen texts a second on a small machine, and a storm of
//! alerts brings thousands: while matching is behind, incidents are matched by their
//! words alone (cheap, so every incident has candidates within seconds), and matched
//! again by meaning too once every incident has been matched at least that way.

use std::time::Duration;

use charter_types::{IncidentId, ProjectId};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::regression;
use crate::embeddings::Embeddings;
use crate::error::Result;
use crate::search::{self, pace, MatchBy};

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
/// An incident due this long before it is taken means matching is behind.
const BEHIND: Duration = Duration::from_secs(10);
/// How long incidents wait to be matched by meaning again when the provider failed.
const MEANING_RETRY: Duration = Duration::from_secs(60);
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
    /// It was due longer than `BEHIND` before it was taken.
    overdue: bool,
    /// Matched by words already; waits to be matched by meaning.
    by_words: bool,
}

impl Taken {
    /// What it is matched by.
    fn text(&self) -> String {
        format!("{}. {}", self.title, self.description).chars().take(MAX_TEXT).collect()
    }
}

/// Matches due incidents, a project at a time, until it has taken a round's worth or
/// none are due; says how many it took, and whether by words alone (light work, after
/// which the matcher rests only a quarter as long while it is behind).
async fn match_queued(db: &PgPool, embeddings: &Embeddings) -> Result<pace::Round> {
    let mut taken = 0;
    let mut light = true;
    while taken < BATCH {
        let incidents = take(db, BATCH - taken).await?;
        if incidents.is_empty() {
            break;
        }
        taken += incidents.len() as i64;
        light &= match_project(db, embeddings, &incidents).await == MatchBy::Words;
    }
    regression::announce_merged(db).await?;
    sqlx::query("DELETE FROM incident_deliveries WHERE received_at < now() - $1::interval")
        .bind(FORGET_DELIVERIES_AFTER)
        .execute(db)
        .await?;
    Ok(pace::Round { done: taken as usize, light })
}

/// Leases up to `limit` due incidents of one project: that of the incident due longest,
/// those not matched at all before those matched by words, never both kinds in one
/// round. One project's at a time, each leased just before it is matched, so that a
/// slow provider of one project neither lets the lease of another's run out nor holds
/// it up.
async fn take(db: &PgPool, limit: i64) -> Result<Vec<Taken>> {
    Ok(sqlx::query_as(
        "WITH first AS (SELECT i.project_id, q.by_words FROM incident_queue q JOIN incidents i ON i.id = q.incident_id
                        WHERE q.not_before <= now() ORDER BY q.by_words, q.not_before LIMIT 1
                        FOR UPDATE OF q SKIP LOCKED),
              due AS (SELECT q.incident_id, q.not_before FROM incident_queue q JOIN incidents i ON i.id = q.incident_id
                      WHERE q.not_before <= now() AND (i.project_id, q.by_words) = (SELECT project_id, by_words FROM first)
                      ORDER BY q.not_before LIMIT $1 FOR UPDATE OF q SKIP LOCKED),
              leased AS (UPDATE incident_queue q SET not_before = now() + $2::interval FROM due
                         WHERE q.incident_id = due.incident_id
                         RETURNING q.incident_id, q.queued_at, q.attempts, due.not_before < now() - $3::interval AS overdue,
                                   q.by_words)
         SELECT i.id, i.project_id, i.title, i.description, l.queued_at, l.attempts, l.overdue, l.by_words
         FROM leased l JOIN incidents i ON i.id = l.incident_id",
    )
    .bind(limit)
    .bind(LEASE)
    .bind(BEHIND)
    .fetch_all(db)
    .await?)
}

/// Matches one project's incidents and stores what it found; those it could not match
/// wait to be tried again, and the others go on. Says how it matched them.
async fn match_project(db: &PgPool, embeddings: &Embeddings, incidents: &[Taken]) -> MatchBy {
    let by = depth(incidents);
    let Some(first) = incidents.first() else { return by };
    let texts: Vec<String> = incidents.iter().map(Taken::text).collect();
    let found = match search::matching(db, embeddings, first.project_id, &texts, CANDIDATES, by).await {
        Ok(found) => found,
        Err(err) => {
            err.log();
            tracing::warn!(project = %first.project_id, incidents = incidents.len(),
                           "matching a project's incidents failed; they wait to be tried again");
            for incident in incidents {
                later(db, incident).await;
            }
            return by;
        }
    };
    let mut stored = Vec::new();
    for (incident, best) in incidents.iter().zip(found.best) {
        let Some(candidates) = best else {
            later(db, incident).await;
            continue;
        };
        let next = match by {
            MatchBy::Words => Next::ByMeaning(Duration::ZERO),
            // The provider failed: words are all it has, for now.
            MatchBy::WordsAndMeaning if found.meaning_failed => Next::ByMeaning(MEANING_RETRY),
            // Matched again soon while the index catches up with recent edits, for a
            // while, waiting longer each time.
            MatchBy::WordsAndMeaning => {
                let waited = Utc::now() - incident.queued_at;
                match !found.settled && waited < UNSETTLED_FOR {
                    true => Next::Again(unsettled_wait(waited)),
                    false => Next::Done,
                }
            }
        };
        stored.push(Found { incident, candidates, next });
    }
    store_all(db, &stored, found.settled).await;
    by
}

/// What matching found for an incident, and what becomes of its queue row.
struct Found<'a> {
    incident: &'a Taken,
    candidates: Vec<search::Match>,
    next: Next,
}

/// How a round of `incidents` is matched: by words alone while matching is behind (one
/// of them waited too long to be taken, other than for meaning), else by meaning too.
fn depth(incidents: &[Taken]) -> MatchBy {
    match incidents.iter().any(|incident| !incident.by_words && incident.overdue) {
        true => MatchBy::Words,
        false => MatchBy::WordsAndMeaning,
    }
}

/// What becomes of an incident's queue row once its candidates are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    /// Off the queue.
    Done,
    /// Matched again after this long (the index was catching up).
    Again(Duration),
    /// Matched by words: queued to be matched by meaning after this long, and after
    /// every incident not matched at all.
    ByMeaning(Duration),
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

/// Stores a round's findings in one transaction, a single commit for the lot; should
/// that fail, each in its own, so that only an incident that cannot be stored waits to
/// be tried again.
async fn store_all(db: &PgPool, found: &[Found<'_>], settled: bool) {
    let Err(err) = stored(db, found, settled).await else { return };
    if found.len() > 1 {
        tracing::debug!(%err, incidents = found.len(), "storing a round of matches failed; storing each alone");
        for each in found {
            if let Err(err) = stored(db, std::slice::from_ref(each), settled).await {
                err.log();
                later(db, each.incident).await;
            }
        }
    } else if let Some(each) = found.first() {
        err.log();
        later(db, each.incident).await;
    }
}

/// Stores `found` in one transaction. Their incidents are locked first, in the order
/// ingest locks them (project, source, key, byte by byte), so that the two never wait
/// on each other in a circle.
async fn stored(db: &PgPool, found: &[Found<'_>], settled: bool) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        r#"SELECT 1 FROM incidents WHERE id = ANY($1)
           ORDER BY project_id, source COLLATE "C", key COLLATE "C" FOR UPDATE"#,
    )
    .bind(found.iter().map(|each| each.incident.id).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    for each in found {
        store(&mut tx, each, settled).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Stores an incident's candidates and does with its queue row what `next` says,
/// unless it was queued again meanwhile (it reopened): then it is matched again.
async fn store(tx: &mut sqlx::PgConnection, found: &Found<'_>, settled: bool) -> Result<()> {
    let Found { incident, candidates, next } = found;
    let (id, queued_at) = (incident.id, incident.queued_at);
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
    regression::notice(tx, id, candidates.first(), settled).await?;
    sqlx::query(
        "WITH gone AS (DELETE FROM incident_queue WHERE incident_id = $1 AND queued_at = $2 AND $3::interval IS NULL)
         UPDATE incident_queue SET not_before = now() + $3::interval, by_words = $4
         WHERE incident_id = $1 AND queued_at = $2 AND $3::interval IS NOT NULL",
    )
    .bind(id)
    .bind(queued_at)
    .bind(match *next {
        Next::Done => None,
        Next::Again(wait) => Some(wait),
        Next::ByMeaning(wait) => Some(wait),
    })
    .bind(matches!(next, Next::ByMeaning(_)))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(overdue: bool, by_words: bool) -> Taken {
        Taken {
            id: IncidentId::from_uuid(uuid::Uuid::now_v7()),
            project_id: ProjectId::from_uuid(uuid::Uuid::now_v7()),
            title: "Checkout slow".into(),
            description: String::new(),
            queued_at: Utc::now(),
            attempts: 0,
            overdue,
            by_words,
        }
    }

    #[test]
    fn a_round_is_matched_by_words_alone_while_an_incident_waited_too_long_to_be_taken() {
        assert_eq!(depth(&[taken(false, false), taken(false, false)]), MatchBy::WordsAndMeaning);
        assert_eq!(depth(&[taken(false, false), taken(true, false)]), MatchBy::Words, "one waited too long");
        // Those matched by words wait behind the others: their wait says nothing.
        assert_eq!(depth(&[taken(true, true), taken(true, true)]), MatchBy::WordsAndMeaning);
    }

    #[test]
    fn waits_grow_by_half_within_bounds_in_whole_milliseconds() {
        let wait = |waited_ns: i64| unsettled_wait(chrono::TimeDelta::nanoseconds(waited_ns));
        assert_eq!(wait(0), Duration::from_secs(3));
        assert_eq!(wait(13_000_000_123), Duration::from_millis(6_500), "no nanoseconds left over");
        assert_eq!(wait(500_000_000_000), Duration::from_secs(60));
    }
}
