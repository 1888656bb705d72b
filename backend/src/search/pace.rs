//! The pace of the index's background workers: work that can wait never takes the
//! machine from editing. A worker that found a full batch rests as long as the batch
//! took, so it takes at most half of the time it runs (and queued work waits longer
//! under load rather than slowing everyone down); an idle one looks again after a poll.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::Result;

/// How often an idle worker looks for work: an edit is searchable about this long
/// after its document is due.
const POLL: Duration = Duration::from_millis(500);

/// Runs `batch` for as long as the process does; it returns how much it did, and `full`
/// is as much as one batch takes.
pub(crate) async fn forever<F, Fut>(full: usize, mut batch: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<usize>>,
{
    loop {
        let started = Instant::now();
        let pause = match batch().await {
            Ok(done) if done >= full => started.elapsed(),
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
