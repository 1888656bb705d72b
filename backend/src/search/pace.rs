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
        let round = batch().await;
        tokio::time::sleep(pause(round, started.elapsed(), full)).await;
    }
}

/// How long to rest after a round that took `took`.
fn pause(round: Result<Round>, took: Duration, full: usize) -> Duration {
    match round {
        Ok(Round { done, light: true }) if done >= full => took / 4,
        Ok(Round { done, .. }) if done >= full => took,
        Ok(_) => POLL,
        Err(err) => {
            err.log();
            POLL
        }
    }
}

/// How long a worker waits before trying again after a failure at start.
pub(crate) const RETRY: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_rests_as_its_round_says_and_polls_when_idle_or_failing() {
        let took = Duration::from_millis(400);
        let pause = |round| pause(round, took, 4);
        assert_eq!(pause(Ok(Round::of(4))), took, "heavy work: as long as it took");
        assert_eq!(pause(Ok(Round { done: 4, light: true })), Duration::from_millis(100));
        assert_eq!(pause(Ok(Round { done: 3, light: true })), POLL, "not a full batch: nothing waits");
        assert_eq!(pause(Ok(Round::of(0))), POLL);
        assert_eq!(pause(Err(crate::error::Error::internal("down"))), POLL);
    }
}
