//! CPU-heavy work on people's text (rendering, parsing, linting) runs on Tokio's
//! blocking pool within a time budget, and stops at its next check once nobody waits
//! for it: a request that goes away must not keep a thread busy.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How long one request's text work may take. Every stage is linear in the text and the
/// largest document takes well under this; it stops what nobody foresaw.
pub const LIMIT: Duration = Duration::from_secs(10);

/// What a piece of work may still spend, checked between its steps.
#[derive(Clone, Debug)]
pub struct Budget {
    /// None for work whose size the caller's own deadline bounds.
    deadline: Option<Instant>,
    abandoned: Arc<AtomicBool>,
}

impl Budget {
    pub fn new(limit: Duration) -> Budget {
        Budget { deadline: Some(Instant::now() + limit), abandoned: Arc::default() }
    }

    /// An error once the time is up or the caller has gone.
    pub fn check(&self) -> Result<()> {
        if self.abandoned.load(Ordering::Relaxed) {
            return Err(Error::Internal("text work abandoned by its caller".into()));
        }
        if self.deadline.is_some_and(|deadline| Instant::now() > deadline) {
            return Err(Error::Invalid(format!(
                "this text takes too long to process (more than {} seconds); split it or simplify its nesting",
                LIMIT.as_secs()
            )));
        }
        Ok(())
    }
}

/// Runs `work` on the blocking pool with a budget of [`LIMIT`]. Dropping the returned
/// future (the client hung up) spends the budget, so the work ends at its next check.
pub async fn run<T, F>(work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Budget) -> Result<T> + Send + 'static,
{
    let budget = Budget::new(LIMIT);
    let _abandon = AbandonOnDrop(budget.abandoned.clone());
    tokio::task::spawn_blocking(move || work(&budget)).await.map_err(Error::internal)?
}

/// Runs `work` on each of `items` on the blocking pool, the items split into as many
/// parts as there are cores; the results in the items' order. There is no time limit
/// of its own (the work is linear in the items, and the request's deadline bounds it),
/// but dropping the returned future stops every part at its next item.
pub async fn run_each<T, R, F>(items: Vec<T>, work: F) -> Result<Vec<R>>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> R + Clone + Send + 'static,
{
    let budget = Budget { deadline: None, abandoned: Arc::default() };
    let _abandon = AbandonOnDrop(budget.abandoned.clone());
    let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
    let per_part = items.len().div_ceil(cores).max(1);
    let mut items = items.into_iter();
    let mut parts = Vec::new();
    loop {
        let part: Vec<T> = items.by_ref().take(per_part).collect();
        if part.is_empty() {
            break;
        }
        let (work, budget) = (work.clone(), budget.clone());
        parts.push(tokio::task::spawn_blocking(move || {
            part.into_iter()
                .map(|item| {
                    budget.check()?;
                    Ok(work(item))
                })
                .collect::<Result<Vec<R>>>()
        }));
    }
    let mut results = Vec::new();
    for part in parts {
        results.extend(part.await.map_err(Error::internal)??);
    }
    Ok(results)
}

struct AbandonOnDrop(Arc<AtomicBool>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spent_budget_stops_the_work() {
        let budget = Budget::new(Duration::ZERO);
        std::thread::sleep(Duration::from_millis(2));
        assert!(matches!(budget.check(), Err(Error::Invalid(message)) if message.contains("too long")));
        assert!(Budget::new(LIMIT).check().is_ok());
    }

    #[tokio::test]
    async fn work_stops_when_its_caller_goes_away() {
        let (stopped_tx, stopped_rx) = std::sync::mpsc::channel();
        let waiting = run(move |budget| {
            // Busy until told to stop, as a long render would be.
            while budget.check().is_ok() {
                std::thread::sleep(Duration::from_millis(1));
            }
            stopped_tx.send(()).unwrap();
            Ok(())
        });
        assert!(tokio::time::timeout(Duration::from_millis(50), waiting).await.is_err(), "the caller gave up");
        let stopped = tokio::task::spawn_blocking(move || stopped_rx.recv_timeout(Duration::from_secs(5)));
        assert!(stopped.await.unwrap().is_ok(), "the abandoned work ended at its next check");
    }

    #[tokio::test]
    async fn each_result_comes_back_in_its_items_place() {
        let doubled = run_each((0..101).collect(), |n: u32| n * 2).await.unwrap();
        assert_eq!(doubled, (0..101).map(|n| n * 2).collect::<Vec<_>>());
        assert!(run_each(Vec::new(), |n: u32| n).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn every_part_stops_when_its_caller_goes_away() {
        let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = done.clone();
        let waiting = run_each((0..1_000).collect(), move |_: u32| {
            std::thread::sleep(Duration::from_millis(5));
            counted.fetch_add(1, Ordering::SeqCst);
        });
        assert!(tokio::time::timeout(Duration::from_millis(50), waiting).await.is_err(), "the caller gave up");
        let when_left = done.load(Ordering::SeqCst);
        // Each part finishes the item it was on, then stops at its next check; going on,
        // every part would do dozens more in this time.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let parts = std::thread::available_parallelism().map_or(1, |cores| cores.get());
        let after = done.load(Ordering::SeqCst);
        assert!(after <= when_left + parts, "{after} items done, {when_left} when the caller left");
    }
}
