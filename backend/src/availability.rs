//! Whether the database can be reached, as this instance last found. While it cannot,
//! the routes that need it answer 503 with `Retry-After` at once (the server's gate),
//! instead of each request waiting out the pool's acquire timeout (sqlx retries a
//! refused connection until then). The mark is set by whoever meets the outage first
//! (the co-editing relay's listener losing its connection, an edit's commit, an answer
//! marked [`DatabaseUnreachable`]) and cleared by a probe that gets a working
//! connection from the pool, tried every half second.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::response::Response;
use sqlx::PgPool;

use crate::error::{DatabaseUnreachable, Error};

/// How often the probe tries to connect while the database is unreachable.
const PROBE_EVERY: Duration = Duration::from_millis(500);
/// How long one attempt of the probe may wait for a connection.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Shared by everything one server instance runs; cheap to clone.
#[derive(Clone)]
pub struct Availability(Arc<Inner>);

struct Inner {
    unreachable: AtomicBool,
    /// Whether a probe is running. Taken with `unreachable` changing under it, so that
    /// an outage noticed as a probe succeeds starts a new probe rather than none.
    probing: Mutex<bool>,
    /// The pool's own connections (not a new one of the probe's: a database that is up
    /// but has no connection slot left still serves the pool).
    db: PgPool,
}

impl Availability {
    /// Reachable until something finds otherwise; probes through `db`.
    pub fn new(db: &PgPool) -> Self {
        Availability(Arc::new(Inner {
            unreachable: AtomicBool::new(false),
            probing: Mutex::new(false),
            db: db.clone(),
        }))
    }

    pub fn is_reachable(&self) -> bool {
        !self.0.unreachable.load(Ordering::Acquire)
    }

    /// Marks the database unreachable and, unless one is running, starts the probe that
    /// clears the mark. Call it inside the Tokio runtime.
    pub fn lost(&self) {
        let mut probing = self.0.probing.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !self.0.unreachable.swap(true, Ordering::AcqRel) {
            tracing::warn!("the database is unreachable; requests that need it are answered 503 until it is back");
        }
        if !*probing {
            *probing = true;
            tokio::spawn(probe(Arc::downgrade(&self.0)));
        }
    }

    /// After an error: marks the database unreachable when the error says it is.
    pub fn note(&self, err: &Error) {
        if matches!(err, Error::DatabaseUnavailable(_)) {
            self.lost();
        }
    }

    /// After an answer: marks the database unreachable when the answer says it found so.
    pub fn note_response(&self, response: &Response) {
        if response.extensions().get::<DatabaseUnreachable>().is_some() {
            self.lost();
        }
    }
}

/// Ends once the database answers, or once the instance is gone.
async fn probe(availability: Weak<Inner>) {
    loop {
        let Some(inner) = availability.upgrade() else { return };
        // The pool pings a connection before handing it out, and replaces a broken one.
        let attempt = tokio::time::timeout(PROBE_TIMEOUT, inner.db.acquire()).await;
        if let Ok(Ok(_connection)) = attempt {
            let mut probing = inner.probing.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            inner.unreachable.store(false, Ordering::Release);
            *probing = false;
            tracing::info!("the database is reachable again");
            return;
        }
        drop(inner);
        tokio::time::sleep(PROBE_EVERY).await;
    }
}
