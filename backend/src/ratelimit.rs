//! Fixed-window counters: sign-up and log-in attempts, unknown API tokens, token
//! requests, mock calls. In memory: each server instance limits on its own, which bounds
//! a single attacker per instance without a shared store.
//!
//! A log-in attempt is reserved before the password is checked (so concurrent guesses
//! cannot all slip under the limit) and given back when it succeeds: only failures count.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

pub struct RateLimiter {
    window: Duration,
    buckets: Mutex<Buckets>,
}

struct Buckets {
    counts: HashMap<String, (Instant, u32)>,
    /// No sweep before this: a sweep leaves only live windows, so another before the
    /// next window would find nothing to remove and only hold the lock.
    next_sweep: Instant,
}

/// Above this many keys, expired windows are swept (at most once a window).
const SWEEP_THRESHOLD: usize = 10_000;

/// Attempts reserved against some keys; [`Attempt::succeeded`] gives them back.
#[must_use = "an attempt counts as failed unless it is marked as succeeded"]
pub struct Attempt<'a> {
    limiter: &'a RateLimiter,
    keys: Vec<String>,
}

impl Attempt<'_> {
    /// The attempt did not fail: it no longer counts against its keys.
    pub fn succeeded(self) {
        let mut buckets = self.limiter.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for key in &self.keys {
            if let Some((_, count)) = buckets.counts.get_mut(key) {
                *count = count.saturating_sub(1);
            }
        }
    }
}

impl RateLimiter {
    pub fn new(window: Duration) -> Self {
        RateLimiter { window, buckets: Mutex::new(Buckets { counts: HashMap::new(), next_sweep: Instant::now() }) }
    }

    /// Reserves one attempt against every `(key, limit)`, all or none: refused when any
    /// key already has `limit` attempts in its window.
    pub fn reserve(&self, limits: &[(String, u32)]) -> Result<Attempt<'_>> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.counts.len() > SWEEP_THRESHOLD && now >= buckets.next_sweep {
            buckets.counts.retain(|_, (start, _)| now.duration_since(*start) < self.window);
            buckets.next_sweep = now + self.window;
        }
        for (key, limit) in limits {
            let (start, count) = buckets.counts.entry(key.clone()).or_insert((now, 0));
            if now.duration_since(*start) >= self.window {
                *start = now;
                *count = 0;
            }
            if *count >= *limit {
                let retry_after = self.window.saturating_sub(now.duration_since(*start)).as_secs().max(1);
                return Err(Error::RateLimited { retry_after });
            }
        }
        for (key, _) in limits {
            if let Some((_, count)) = buckets.counts.get_mut(key) {
                *count += 1;
            }
        }
        Ok(Attempt { limiter: self, keys: limits.iter().map(|(key, _)| key.clone()).collect() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(key: &str, limit: u32) -> Vec<(String, u32)> {
        vec![(key.to_owned(), limit)]
    }

    #[test]
    fn refuses_past_the_limit_and_keeps_keys_apart() {
        let limiter = RateLimiter::new(Duration::from_secs(60));
        for _ in 0..3 {
            let _failed = limiter.reserve(&limit("ip:1", 3)).unwrap();
        }
        let err = limiter.reserve(&limit("ip:1", 3)).err().unwrap();
        assert!(matches!(err, Error::RateLimited { retry_after } if (1..=60).contains(&retry_after)));
        let _other = limiter.reserve(&limit("ip:2", 3)).unwrap();
    }

    #[test]
    fn successes_do_not_count() {
        let limiter = RateLimiter::new(Duration::from_secs(60));
        for _ in 0..10 {
            limiter.reserve(&limit("ip:1", 2)).unwrap().succeeded();
        }
        let _failed = limiter.reserve(&limit("ip:1", 2)).unwrap();
        let _failed = limiter.reserve(&limit("ip:1", 2)).unwrap();
        assert!(limiter.reserve(&limit("ip:1", 2)).is_err());
    }

    #[test]
    fn a_refusal_reserves_nothing() {
        let limiter = RateLimiter::new(Duration::from_secs(60));
        let _failed = limiter.reserve(&limit("pair:ada@1", 1)).unwrap();
        let both = vec![("ip:1".to_owned(), 5), ("pair:ada@1".to_owned(), 1)];
        assert!(limiter.reserve(&both).is_err());
        for _ in 0..5 {
            let _failed = limiter.reserve(&limit("ip:1", 5)).unwrap();
        }
        assert!(limiter.reserve(&limit("ip:1", 5)).is_err(), "the refused pair took nothing from the address");
    }

    #[test]
    fn a_new_window_starts_afresh() {
        let limiter = RateLimiter::new(Duration::from_millis(20));
        let _failed = limiter.reserve(&limit("user:ada", 1)).unwrap();
        assert!(limiter.reserve(&limit("user:ada", 1)).is_err());
        std::thread::sleep(Duration::from_millis(30));
        let _failed = limiter.reserve(&limit("user:ada", 1)).unwrap();
    }
}
