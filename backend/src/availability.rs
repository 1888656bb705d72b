//! Whether the database can be reached, as this instance last found. While it cannot,
//! the routes that need it answer 503 with `Retry-After` at once (the server's gate),
//! instead of each request waiting out the pool's acquire timeout (sqlx retries a
//! refused connection until then). The mark is set by whoever meets the outage first:
//! the co-editing relay's listener losing its connection, an edit's commit or an
//! answer (marked [`DatabaseTrouble`]) that broke a connection or got none. A pool
//! that gave no connection in time may only be busy: a connection of the check's own
//! tells. A probe that gets a working connection from the pool, tried every half
//! second, clears the mark.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgPool};

use crate::error::{DatabaseTrouble, Error};

/// How often the probe tries to connect while the database is unreachable.
const PROBE_EVERY: Duration = Duration::from_millis(500);
/// How long one attempt of the probe, or one check, may wait for a connection.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Postgres's "too many connections": the server is up, only full.
const TOO_MANY_CONNECTIONS: &str = "53300";

/// Shared by everything one server instance runs; cheap to clone.
#[derive(Clone)]
pub struct Availability(Arc<Inner>);

struct Inner {
    unreachable: AtomicBool,
    probe: Mutex<Probe>,
    /// One check at a time: the others meanwhile take the database to be up.
    checking: tokio::sync::Mutex<()>,
    /// The pool's own connections, for the probe: a database that is up but has no
    /// connection slot left still serves the pool.
    db: PgPool,
    /// How the check makes a connection of its own.
    options: PgConnectOptions,
}

#[derive(Default)]
struct Probe {
    running: bool,
    /// Outages noticed so far: a probe that connected clears the mark only when none
    /// was noticed since its attempt began.
    noticed: u64,
}

impl Availability {
    /// Reachable until something finds otherwise; probes through `db`.
    pub fn new(db: &PgPool) -> Self {
        Availability(Arc::new(Inner {
            unreachable: AtomicBool::new(false),
            probe: Mutex::default(),
            checking: tokio::sync::Mutex::new(()),
            options: (*db.connect_options()).clone(),
            db: db.clone(),
        }))
    }

    pub fn is_reachable(&self) -> bool {
        !self.0.unreachable.load(Ordering::Acquire)
    }

    /// Marks the database unreachable and, unless one is running, starts the probe that
    /// clears the mark. Call it inside the Tokio runtime.
    pub fn lost(&self) {
        let mut probe = self.0.probe();
        probe.noticed += 1;
        if !self.0.unreachable.swap(true, Ordering::AcqRel) {
            tracing::warn!("the database is unreachable; requests that need it are answered 503 until it is back");
        }
        if !probe.running {
            probe.running = true;
            tokio::spawn(run_probe(Arc::downgrade(&self.0)));
        }
    }

    /// After an error: marks the database unreachable when the error shows it is.
    pub async fn note(&self, err: &Error) {
        if let Some(trouble) = err.trouble() {
            self.note_trouble(trouble).await;
        }
    }

    /// After an answer marked [`DatabaseTrouble`]: marks the database unreachable when
    /// the trouble shows it is.
    pub async fn note_trouble(&self, trouble: DatabaseTrouble) {
        self.noticed(trouble.connection_lost).await;
    }

    /// After a connection was lost where that may have another cause (an idle timeout,
    /// a terminated backend): marks the database unreachable when a connection of its
    /// own fails as well.
    pub async fn suspect(&self) {
        self.noticed(false).await;
    }

    async fn noticed(&self, connection_lost: bool) {
        if self.is_reachable() && (connection_lost || !self.connects().await) {
            self.lost();
        }
    }

    /// Whether a connection of its own can be made now.
    async fn connects(&self) -> bool {
        let Ok(_one_at_a_time) = self.0.checking.try_lock() else { return true };
        let attempt = async {
            let connection = self.0.options.connect().await?;
            connection.close().await
        };
        match tokio::time::timeout(PROBE_TIMEOUT, attempt).await {
            Ok(Ok(())) => true,
            Ok(Err(sqlx::Error::Database(err))) => err.code().as_deref() == Some(TOO_MANY_CONNECTIONS),
            _ => false,
        }
    }
}

impl Inner {
    fn probe(&self) -> std::sync::MutexGuard<'_, Probe> {
        self.probe.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Ends once the database answers, or once the instance is gone.
async fn run_probe(availability: Weak<Inner>) {
    loop {
        let Some(inner) = availability.upgrade() else { return };
        let noticed = inner.probe().noticed;
        // The pool pings a connection before handing it out, and replaces a broken one.
        let attempt = tokio::time::timeout(PROBE_TIMEOUT, inner.db.acquire()).await;
        if let Ok(Ok(_connection)) = attempt {
            let mut probe = inner.probe();
            if probe.noticed == noticed {
                inner.unreachable.store(false, Ordering::Release);
                probe.running = false;
                tracing::info!("the database is reachable again");
                return;
            }
            // Another outage was noticed meanwhile: this connection may predate it.
            continue;
        }
        drop(inner);
        tokio::time::sleep(PROBE_EVERY).await;
    }
}
