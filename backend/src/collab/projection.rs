//! Refreshing an open document's Markdown projection in a task of its own, so that an
//! actor goes on storing and relaying edits while its projection is written: at most one
//! refresh per document at a time, and a few across the hub, so that projections never
//! take the connections that loads and catch-ups need.

use std::sync::Arc;

use charter_types::UserId;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use super::{DocKey, Inner};
use crate::error::{Error, Result};

/// Projections written at once by one hub.
const AT_ONCE: usize = 4;

/// A refresh under way, and whom it credits (given back if it fails).
pub(super) struct Refresh {
    task: JoinHandle<Result<()>>,
    authors: Vec<UserId>,
}

impl Refresh {
    pub(super) fn start(inner: &Inner, key: DocKey, text: String, authors: Vec<UserId>) -> Refresh {
        let (project, db, slots) = (inner.rules.project, inner.db.clone(), inner.projections.clone());
        let credited = authors.clone();
        let task = tokio::spawn(async move {
            let _slot = slots.acquire_owned().await.map_err(|_| Error::internal("the hub stopped"))?;
            project(db, key, text, credited).await
        });
        Refresh { task, authors }
    }
}

/// Waits for the refresh in `slot`, if any (forever otherwise), and empties the slot.
/// Failed ones are logged and give back the authors to credit again.
pub(super) async fn finished(slot: &mut Option<Refresh>) -> std::result::Result<(), Vec<UserId>> {
    let Some(refresh) = slot.as_mut() else { return std::future::pending().await };
    let outcome = (&mut refresh.task).await;
    let authors = slot.take().map(|refresh| refresh.authors).unwrap_or_default();
    let failure = match outcome {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(err)) => err,
        Err(panicked) => Error::internal(format!("the projection task failed: {panicked}")),
    };
    failure.log();
    Err(authors)
}

/// The hub's slots for projections.
pub(super) fn slots() -> Arc<Semaphore> {
    Arc::new(Semaphore::new(AT_ONCE))
}
