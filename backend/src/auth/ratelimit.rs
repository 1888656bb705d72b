//! A fixed-window attempt counter for sign-up and log-in, keyed per client IP and per
//! username. In memory: each server instance limits on its own, which bounds a single
//! attacker per instance without a shared store.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

pub struct RateLimiter {
    window: Duration,
    buckets: Mutex<HashMap<String, (Instant, u32)>>,
}

/// Above this many keys, expired windows are swept on the next attempt.
const SWEEP_THRESHOLD: usize = 10_000;

impl RateLimiter {
    pub fn new(window: Duration) -> Self {
        RateLimiter { window, buckets: Mutex::new(HashMap::new()) }
    }

    /// Counts one attempt against `key`; refuses once `limit` attempts fall in the window.
    pub fn check(&self, key: &str, limit: u32) -> Result<()> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() > SWEEP_THRESHOLD {
            buckets.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let (start, count) = buckets.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(*start) >= self.window {
            *start = now;
            *count = 0;
        }
        if *count >= limit {
            let retry_after = self.window.saturating_sub(now.duration_since(*start)).as_secs().max(1);
            return Err(Error::RateLimited { retry_after });
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_limit_and_keeps_keys_apart() {
        let limiter = RateLimiter::new(Duration::from_secs(60));
        for _ in 0..3 {
            limiter.check("ip:1", 3).unwrap();
        }
        let err = limiter.check("ip:1", 3).unwrap_err();
        assert!(matches!(err, Error::RateLimited { retry_after } if (1..=60).contains(&retry_after)));
        limiter.check("ip:2", 3).unwrap();
    }

    #[test]
    fn a_new_window_starts_afresh() {
        let limiter = RateLimiter::new(Duration::from_millis(20));
        limiter.check("user:ada", 1).unwrap();
        assert!(limiter.check("user:ada", 1).is_err());
        std::thread::sleep(Duration::from_millis(30));
        limiter.check("user:ada", 1).unwrap();
    }
}
