//! `ingest` (Charter only, `--database-url`): incidents reported for `seconds` by
//! `clients` concurrent senders, as fast as they are answered or, with `--events`, at that
//! many a second together (a sender answered late sends its next at once), through the generic endpoint with an
//! `incidents:write` token: 30% repeat an incident already reported, 1% replay an
//! earlier delivery (same `Idempotency-Key`), the rest are new. Prints events accepted
//! a second and the `202`'s latency; checks in the database that nothing was lost (every
//! incident there, every firing counted once, no replay counted); then how long matching
//! takes until every incident has candidates (by words at least, while it is behind),
//! and how fast it then matches the backlog by meaning.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use charter_types::{Project, ProjectId};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};
use tokio::sync::Mutex;

use crate::api::{percentile, Api};
use crate::synthetic::{write_specs, Pick};

/// How long matching may take to give every incident candidates before the run counts
/// as failed.
const DRAIN_LIMIT: Duration = Duration::from_secs(600);
/// How long matching by meaning is watched after that, at most.
const MEANING_WINDOW: Duration = Duration::from_secs(60);

/// What the senders did, for checking against the database.
#[derive(Default)]
struct Sent {
    new: u64,
    repeats: u64,
    replays: u64,
    latencies: Vec<Duration>,
    /// Deliveries sent so far: (Idempotency-Key, body), for replays.
    deliveries: Vec<(String, Value)>,
}

pub async fn workload(url: &str, database_url: &str, clients: usize, seconds: u64, events: Option<f64>) -> Result<()> {
    let api = Api::sign_up(url, &format!("ingest{}", std::process::id())).await?;
    let mut db = PgConnection::connect(database_url).await.context("--database-url")?;
    let project: Project = api.call(Method::POST, "/projects", Some(json!({ "name": "Ingest benchmark" }))).await?;
    // Something to match against: 5 specs of 20 requirements.
    write_specs(&api, &project, 5, 20, &mut Pick::default()).await?;
    let created: Value =
        api.call(Method::POST, "/tokens", Some(json!({ "name": "ingest", "scopes": ["incidents:write"] }))).await?;
    let token = created["token"].as_str().context("a token")?.to_owned();

    let sent = Arc::new(Mutex::new(Sent::default()));
    let http = reqwest::Client::builder().pool_max_idle_per_host(clients).build()?;
    let endpoint = format!("{url}/api/v1/projects/{}/incidents", project.id);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    // Each sender's turn comes every `clients / events` seconds, the senders spread over it.
    let period = events.map(|events| Duration::from_secs_f64(clients as f64 / events));
    let senders: Vec<_> = (0..clients)
        .map(|client| {
            let (sent, http, endpoint, token) = (Arc::clone(&sent), http.clone(), endpoint.clone(), token.clone());
            let turns = period.map(|period| Turns { first: started + period * client as u32 / clients as u32, period });
            tokio::spawn(async move { send(client, &sent, &http, &endpoint, &token, deadline, turns).await })
        })
        .collect();
    for sender in senders {
        sender.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut sent = Arc::try_unwrap(sent).map_err(|_| anyhow::anyhow!("senders are done"))?.into_inner();
    let accepted = sent.latencies.len();
    sent.latencies.sort();

    let (incidents, occurrences): (i64, i64) =
        sqlx::query_as("SELECT count(*), coalesce(sum(occurrences), 0) FROM incidents WHERE project_id = $1")
            .bind(project.id)
            .fetch_one(&mut db)
            .await?;
    if incidents as u64 != sent.new || occurrences as u64 != sent.new + sent.repeats {
        bail!(
            "lost or doubled: {} new and {} repeats sent, {incidents} incidents with {occurrences} occurrences stored",
            sent.new,
            sent.repeats
        );
    }
    println!("| figure | value |");
    println!("|---|---|");
    let offered =
        events.map_or_else(|| "as fast as answered".to_owned(), |events| format!("{events:.0} a second offered"));
    println!(
        "| accepted | {accepted} events in {elapsed:.1} s from {clients} senders ({offered}): {:.0} events/s |",
        accepted as f64 / elapsed
    );
    println!("| of which new / repeats / replays | {} / {} / {} |", sent.new, sent.repeats, sent.replays);
    println!(
        "| `202` latency p50 / p95 / p99 | {:.1} / {:.1} / {:.1} ms |",
        percentile(&sent.latencies, 0.5),
        percentile(&sent.latencies, 0.95),
        percentile(&sent.latencies, 0.99)
    );
    println!("| stored | {incidents} incidents, {occurrences} occurrences: nothing lost, no replay counted |");
    let started = Instant::now();
    let (behind, _) = waiting(&mut db, project.id).await?;
    loop {
        let (unmatched, _) = waiting(&mut db, project.id).await?;
        if unmatched == 0 {
            break;
        }
        if started.elapsed() > DRAIN_LIMIT {
            bail!("{unmatched} incidents still wait to be matched after {} s", DRAIN_LIMIT.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let drained = started.elapsed().as_secs_f64();
    println!(
        "| every incident matched (by words while behind) | {drained:.1} s after the last event: {behind} were waiting, {:.0}/s |",
        behind as f64 / drained.max(0.001)
    );
    let (_, before) = waiting(&mut db, project.id).await?;
    let watching = Instant::now();
    let left = loop {
        let (_, by_words) = waiting(&mut db, project.id).await?;
        if by_words == 0 || watching.elapsed() > MEANING_WINDOW {
            break by_words;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let pace = (before - left) as f64 / watching.elapsed().as_secs_f64();
    if left == 0 {
        println!(
            "| then matched by meaning too | {:.1} s after the last event ({pace:.0}/s) |",
            started.elapsed().as_secs_f64()
        );
    } else {
        println!(
            "| then matched by meaning too | {pace:.0} incidents/s over {} s, {left} left: about {:.0} s more |",
            MEANING_WINDOW.as_secs(),
            left as f64 / pace.max(0.1)
        );
    }
    Ok(())
}

/// When a sender paced by `--events` sends: at `first`, then every `period`.
#[derive(Clone, Copy)]
struct Turns {
    first: Instant,
    period: Duration,
}

/// One sender: reports until `deadline`, at its `turns` if it has any, choosing new,
/// repeat or replay.
async fn send(
    client: usize,
    sent: &Mutex<Sent>,
    http: &reqwest::Client,
    endpoint: &str,
    token: &str,
    deadline: Instant,
    turns: Option<Turns>,
) -> Result<()> {
    let mut pick = Pick::default();
    for _ in 0..=client {
        pick.next(2);
    }
    let mut n = 0u64;
    loop {
        // A paced sender's latency counts from its turn, so that falling behind shows.
        let turn = turns.map(|Turns { first, period }| first + period * n as u32);
        if let Some(turn) = turn {
            tokio::time::sleep_until(turn.into()).await;
        }
        if Instant::now() >= deadline {
            break;
        }
        n += 1;
        let roll = pick.next(100);
        let (kind, key, body) = {
            let sent = sent.lock().await;
            match (roll, sent.deliveries.len()) {
                (0, known) if known > 0 => {
                    let (key, body) = sent.deliveries[pick.next(known)].clone();
                    (Kind::Replay, key, body)
                }
                (1..=30, known) if known > 0 => {
                    let (_, body) = &sent.deliveries[pick.next(known)];
                    (Kind::Repeat, format!("{client}-{n}"), body.clone())
                }
                _ => (Kind::New, format!("{client}-{n}"), incident(&format!("{client}-{n}"), &mut pick)),
            }
        };
        let started = turn.unwrap_or_else(Instant::now);
        let response =
            http.post(endpoint).bearer_auth(token).header("idempotency-key", &key).json(&body).send().await?;
        let latency = started.elapsed();
        if response.status() != StatusCode::ACCEPTED {
            bail!("{}: {}", response.status(), response.text().await?);
        }
        let mut sent = sent.lock().await;
        sent.latencies.push(latency);
        match kind {
            Kind::New => {
                sent.new += 1;
                sent.deliveries.push((key, body));
            }
            Kind::Repeat => sent.repeats += 1,
            Kind::Replay => sent.replays += 1,
        }
    }
    Ok(())
}

enum Kind {
    New,
    Repeat,
    Replay,
}

fn incident(id: &str, pick: &mut Pick) -> Value {
    json!({
        "source": "bench", "external_id": id, "title": format!("Alert {id}: {}", pick.sentence()),
        "description": pick.sentence(), "severity": "high", "service": "shop", "status": "firing",
        "started_at": "2026-12-01T10:00:00Z"
    })
}

/// The project's incidents waiting to be matched at all, and those matched by words
/// waiting to be matched by meaning.
async fn waiting(db: &mut PgConnection, project: ProjectId) -> Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT count(*) FILTER (WHERE NOT q.by_words), count(*) FILTER (WHERE q.by_words)
         FROM incident_queue q JOIN incidents i ON i.id = q.incident_id WHERE i.project_id = $1",
    )
    .bind(project)
    .fetch_one(db)
    .await?)
}
