//! Group commit across documents: the actors hand their pending updates to a few writer
//! tasks, and each writer stores whatever has queued up meanwhile, for any number of
//! documents, in one call and one transaction. Under load a commit carries many
//! documents' edits; when quiet, an edit is stored at once.

use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot, Mutex};
use uuid::Uuid;

use super::store::{self, Appended, Pending};
use crate::availability::Availability;
use crate::error::{Error, Result};

/// Writers working at once: one fills its next group while another commits.
pub(super) const WRITERS: usize = 2;
/// Documents in one group at most.
const MAX_GROUP: usize = 256;

pub(super) struct Request {
    pub pending: Pending,
    pub reply: oneshot::Sender<Result<Appended>>,
}

pub(super) fn spawn(db: PgPool, instance: Uuid, availability: Availability) -> mpsc::Sender<Request> {
    let (sender, receiver) = mpsc::channel(4096);
    let receiver = Arc::new(Mutex::new(receiver));
    for _ in 0..WRITERS {
        tokio::spawn(run(db.clone(), instance, receiver.clone(), availability.clone()));
    }
    sender
}

async fn run(db: PgPool, instance: Uuid, receiver: Arc<Mutex<mpsc::Receiver<Request>>>, availability: Availability) {
    loop {
        let group = {
            let mut receiver = receiver.lock().await;
            let Some(first) = receiver.recv().await else { return };
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match receiver.try_recv() {
                    Ok(request) => group.push(request),
                    Err(_) => break,
                }
            }
            group
        };
        let (pendings, replies): (Vec<Pending>, Vec<_>) =
            group.into_iter().map(|request| (request.pending, request.reply)).unzip();
        let updates: usize = pendings.iter().map(|pending| pending.updates.len()).sum();
        metrics::histogram!("charter_collab_group_commit_updates").record(updates as f64);
        let started = std::time::Instant::now();
        let appended = store::append_many(&db, &pendings, instance).await;
        metrics::histogram!("charter_collab_append_seconds").record(started.elapsed().as_secs_f64());
        match appended {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(err) => {
                err.log();
                availability.note(&err).await;
                for reply in replies {
                    let _ = reply.send(Err(Error::internal("the edit could not be stored")));
                }
            }
        }
    }
}
