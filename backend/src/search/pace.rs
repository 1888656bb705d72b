//! The pace of the background workers: work that can wait never takes the machine
//! from editing. A worker that found a full batch of heavy work rests as long as the
//! batch took, so it takes at most half of the time it runs (and queued work waits
//! longer under load rather than slowing everyone down); one that found a full batch of
//! light work rests a quarter as long as it took; an idle one looks again after a poll.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::Result;

/// How often an idle worker looks for work: an edit is searchable about this long
/// after its document is due.
const POLL: Duration = Duration::from_millis(500);

/// What one batch of background work did.
pub(crate) struct Round {
    /// How much it did.
    pub done: usize,
    /// Whether that was light work (a few indexed queries an item, no model), which a
    /// worker rests only a quarter as long after.
    pub light: bool,
}

impl Round {
    pub(crate) fn of(done: usize) -> Round {
        Round { done, light: false }
    }
}

/// Runs `batch` for as long as the process does; it says what it did, and `full` is as
/// much as one batch takes.
pub(crate) async fn forever<F, Fut>(full: usize, mut batch: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Round>>,
{
    loop {
        let started = Instant::now();
        let pause = match batch().await {
            Ok(Round { done, light: true }) if done >= full => started.elapsed() / 4,
            Ok(Round { done, .. }) if done >= full => started.elapsed(),
            Ok(_) => POLL,
            Err(err) => {
                err.log();
                POLL
            }
        };
        tokio::time::sleep(pause).await;
    }
}

/// How long a worker waits before trying again after a failure at start.
pub(crate) const RETRY: Duration = Duration::from_secs(5);
