//! Taking in what tools report: each delivery once, each signal folded into the
//! incident of its source and key (opened, repeated, resolved or reopened), in a
//! transaction that also queues new and returning incidents for matching. Answering
//! after the commit means a crash right after a `202` loses nothing.
//!
//! Deliveries that arrive together are stored together: a few writers each take what
//! has queued up meanwhile and store it in one transaction, a handful of statements for
//! the lot (`fold`). Under a storm that costs the database a fraction of a transaction
//! per delivery; on a quiet day a delivery is a batch of one.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use charter_types::{DeliveryAccepted, IncidentAccepted, IncidentEventKind, ProjectId};
use futures_util::FutureExt;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot, Mutex};

use super::fold::{self, Claim};
use super::signal::{Delivery, DeliveryId, Signal};
use crate::authorization::ProjectAccess;
use crate::error::{Error, Result};

/// How long the same bytes from a tool that gives no delivery id count as a retry:
/// tools retry within minutes; Alertmanager re-sends an unchanged group after hours,
/// which is a repeat.
const RETRY_WINDOW: Duration = Duration::from_secs(3600);
/// Transactions storing deliveries at once: one commits while the next gathers.
const WRITERS: usize = 2;
/// Deliveries stored in one transaction at most.
const BATCH: usize = 64;
/// Deliveries waiting for a writer at most; senders beyond wait to hand theirs over.
const WAITING: usize = 1024;
/// How long a sender waits for its delivery to be stored before it is told to retry.
const STORED_WITHIN: Duration = Duration::from_secs(30);

/// Leave to take in deliveries for a project: made only where the caller proved itself.
pub enum Intake {
    /// An API token with the `incidents:write` scope of a member who may write: their
    /// role is confirmed again inside the transaction that stores the delivery.
    Reporter(ProjectAccess),
    /// A tool's signature under the project's secret, just checked.
    Signed(ProjectId),
}

impl Intake {
    fn project(&self) -> ProjectId {
        match self {
            Intake::Reporter(access) => access.project(),
            Intake::Signed(project) => *project,
        }
    }
}

/// A delivery handed to the writers, and where its answer goes.
struct Job {
    intake: Intake,
    /// The tool's name, or the generic sender's source.
    source: String,
    delivery: Delivery,
    answer: oneshot::Sender<Result<DeliveryAccepted>>,
}

/// The writers that store deliveries; cheap to clone.
#[derive(Clone)]
pub struct Ingest {
    jobs: mpsc::Sender<Job>,
}

impl Ingest {
    /// Starts the writers (inside the Tokio runtime); they stop when every handle is gone.
    pub fn start(db: PgPool) -> Ingest {
        let (jobs, waiting) = mpsc::channel(WAITING);
        let waiting = Arc::new(Mutex::new(waiting));
        for _ in 0..WRITERS {
            tokio::spawn(write(db.clone(), Arc::clone(&waiting)));
        }
        Ingest { jobs }
    }

    /// Stores `delivery` (from `source`: the tool's name, or the generic sender's) for
    /// the project `intake` admits, and answers once it is committed. A delivery taken
    /// before changes nothing and answers as it did, every incident deduplicated.
    pub async fn ingest(&self, intake: Intake, source: &str, delivery: Delivery) -> Result<DeliveryAccepted> {
        let (answer, answered) = oneshot::channel();
        let job = Job { intake, source: source.to_owned(), delivery, answer };
        let stored = async {
            self.jobs.send(job).await.map_err(|_| Error::internal("the incident writers have stopped"))?;
            answered.await.map_err(|_| Error::internal("an incident writer dropped a delivery"))?
        };
        // Should it be stored after all, the tool's retry is a replay.
        tokio::time::timeout(STORED_WITHIN, stored)
            .await
            .map_err(|_| Error::internal("storing a delivery took longer than 30 s"))?
    }
}

/// One writer: takes whatever waits (at most a batch) and stores it. A panic costs the
/// batch (its senders hear of a failure), never the writer.
async fn write(db: PgPool, waiting: Arc<Mutex<mpsc::Receiver<Job>>>) {
    let mut jobs = Vec::with_capacity(BATCH);
    loop {
        if waiting.lock().await.recv_many(&mut jobs, BATCH).await == 0 {
            return;
        }
        if AssertUnwindSafe(store(&db, std::mem::take(&mut jobs))).catch_unwind().await.is_err() {
            tracing::error!("storing a batch of deliveries panicked");
        }
    }
}

/// Stores `jobs` in one transaction and answers each. Should the database refuse the
/// transaction (a deadlock with another instance, a row it will not take), each is
/// stored alone, so that only a failing delivery's sender hears of it; should it not be
/// reached, every sender hears so at once.
async fn store(db: &PgPool, jobs: Vec<Job>) {
    match stored(db, &jobs).await {
        Ok(answers) => {
            for (job, answer) in jobs.into_iter().zip(answers) {
                // A sender that hung up meanwhile has nobody to tell.
                let _ = job.answer.send(answer);
            }
        }
        Err(err) if jobs.len() > 1 && err.is_refusal() => {
            tracing::debug!(%err, deliveries = jobs.len(), "a batch of deliveries was refused; storing each alone");
            for job in jobs {
                Box::pin(store(db, vec![job])).await;
            }
        }
        Err(err) => {
            err.log();
            for job in jobs {
                let _ = job.answer.send(Err(Error::internal("the delivery could not be stored")));
            }
        }
    }
}

/// The id that tells a delivery's retries, and whether it may be taken afresh later.
fn delivery_id(id: &DeliveryId) -> Option<(&str, bool)> {
    match id {
        DeliveryId::Sent(id) => Some((id, false)),
        DeliveryId::Digest(digest) => Some((digest, true)),
        DeliveryId::Unknown => None,
    }
}

/// Stores `jobs` in one transaction: each one's answer, or the failure of all.
async fn stored(db: &PgPool, jobs: &[Job]) -> Result<Vec<Result<DeliveryAccepted>>> {
    let mut tx = db.begin().await?;
    let mut answers: Vec<Option<Result<DeliveryAccepted>>> = jobs.iter().map(|_| None).collect();

    // Leave confirmed inside the transaction, once per member and project; what a
    // refusal says is the sender's alone.
    let mut confirmed = HashSet::new();
    for (at, job) in jobs.iter().enumerate() {
        if let Intake::Reporter(access) = &job.intake {
            let grant = (access.actor().user_id, access.project());
            if !confirmed.contains(&grant) {
                match access.confirm(&mut *tx).await {
                    Ok(()) => {
                        confirmed.insert(grant);
                    }
                    Err(refused) => answers[at] = Some(Err(refused)),
                }
            }
        }
    }

    // Each delivery id is claimed once; the same id again in this batch is that
    // delivery's retry, answered as it is.
    let mut claims: Vec<Claim> = Vec::new();
    let mut claimed_by: Vec<usize> = Vec::new();
    let mut retry_of: HashMap<usize, usize> = HashMap::new();
    let mut firsts: HashMap<(ProjectId, &str, &str), usize> = HashMap::new();
    for (at, job) in jobs.iter().enumerate().filter(|(at, _)| answers[*at].is_none()) {
        let Some((id, retakable)) = delivery_id(&job.delivery.id) else { continue };
        match firsts.entry((job.intake.project(), job.source.as_str(), id)) {
            Entry::Occupied(first) => {
                retry_of.insert(at, *first.get());
            }
            Entry::Vacant(first) => {
                first.insert(at);
                claims.push(Claim { project: job.intake.project(), source: &job.source, id, retakable });
                claimed_by.push(at);
            }
        }
    }
    let free = fold::claim(&mut *tx, &claims, RETRY_WINDOW).await?;
    let mut fresh: HashMap<usize, &Claim> = HashMap::new();
    let mut taken: Vec<(usize, &Claim)> = Vec::new();
    for ((at, claim), free) in claimed_by.iter().zip(&claims).zip(free) {
        if free {
            fresh.insert(*at, claim);
        } else {
            taken.push((*at, claim));
        }
    }
    let made_before = fold::made_before(&mut *tx, &taken.iter().map(|(_, claim)| *claim).collect::<Vec<_>>()).await?;
    for ((at, _), incidents) in taken.iter().zip(made_before) {
        let incidents = incidents.into_iter().map(|id| IncidentAccepted { id, deduplicated: true }).collect();
        answers[*at] = Some(Ok(DeliveryAccepted { replay: true, incidents }));
    }

    // Everything else is folded in, each signal once.
    let folding: Vec<usize> =
        (0..jobs.len()).filter(|at| answers[*at].is_none() && !retry_of.contains_key(at)).collect();
    let folded = fold_all(&mut *tx, jobs, &folding).await?;
    let mut made = Vec::new();
    for (at, incidents) in folding.iter().zip(folded) {
        if let Some(claim) = fresh.get(at) {
            made.push((*claim, incidents.iter().map(|accepted| accepted.id).collect()));
        }
        answers[*at] = Some(Ok(DeliveryAccepted { replay: false, incidents }));
    }
    fold::note_made(&mut *tx, &made).await?;
    tx.commit().await?;

    for (retry, first) in retry_of {
        answers[retry] = Some(match &answers[first] {
            Some(Ok(first)) => Ok(DeliveryAccepted {
                replay: true,
                incidents: first
                    .incidents
                    .iter()
                    .map(|made| IncidentAccepted { id: made.id, deduplicated: true })
                    .collect(),
            }),
            _ => Err(Error::internal("a retry's first delivery has no answer")),
        });
    }
    Ok(answers
        .into_iter()
        .map(|answer| answer.unwrap_or_else(|| Err(Error::internal("a delivery went unanswered"))))
        .collect())
}

/// Folds the signals of the jobs at `folding` and answers for each job in that order,
/// its signals' incidents in its order. Signals of one incident are folded one after
/// another in the order they came, a statement each time.
async fn fold_all(tx: &mut sqlx::PgConnection, jobs: &[Job], folding: &[usize]) -> Result<Vec<Vec<IncidentAccepted>>> {
    // Round `n` folds the `n`th signal of each incident.
    let mut rounds: Vec<Vec<(usize, usize)>> = Vec::new();
    let mut seen: HashMap<(ProjectId, &str, &str), usize> = HashMap::new();
    for (job, at) in folding.iter().enumerate() {
        let project = jobs[*at].intake.project();
        for (signal, value) in jobs[*at].delivery.signals.iter().enumerate() {
            let round = seen.entry((project, value.source.as_str(), &value.key)).or_default();
            if rounds.len() == *round {
                rounds.push(Vec::new());
            }
            rounds[*round].push((job, signal));
            *round += 1;
        }
    }
    let mut answers: Vec<Vec<Option<IncidentAccepted>>> =
        folding.iter().map(|at| vec![None; jobs[*at].delivery.signals.len()]).collect();
    for round in rounds {
        let signals: Vec<(ProjectId, &Signal)> = round
            .iter()
            .map(|(job, signal)| (jobs[folding[*job]].intake.project(), &jobs[folding[*job]].delivery.signals[*signal]))
            .collect();
        for ((job, signal), folded) in round.iter().zip(fold::fold(tx, &signals).await?) {
            answers[*job][*signal] =
                Some(IncidentAccepted { id: folded.id, deduplicated: folded.event != IncidentEventKind::Opened });
        }
    }
    Ok(answers.into_iter().map(|incidents| incidents.into_iter().flatten().collect()).collect())
}
