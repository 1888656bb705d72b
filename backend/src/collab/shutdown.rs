//! Stopping the engine without losing what clients sent: every connection is told the
//! server is going away (close code 1001, so clients reconnect to whichever instance
//! answers next), and every open document stores what its connections sent before it
//! and brings its Markdown projection up to date.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use super::command::Command;
use super::{lock, Hub};

/// How long [`Hub::close`] waits for connections and documents before it closes the
/// pools regardless.
const CLOSE_WITHIN: Duration = Duration::from_secs(10);

/// Whether the engine is shutting down, and who waits for its connections to end.
pub(super) struct Closing {
    started: watch::Sender<bool>,
    /// Signalled whenever a connection's grant goes.
    connection_ended: Notify,
}

impl Default for Closing {
    fn default() -> Self {
        Closing { started: watch::Sender::new(false), connection_ended: Notify::new() }
    }
}

impl Closing {
    /// Resolves once shutting down starts (at once if it has).
    pub(super) fn started(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut started = self.started.subscribe();
        async move {
            let _ = started.wait_for(|started| *started).await;
        }
    }

    pub(super) fn connection_ended(&self) {
        self.connection_ended.notify_waiters();
    }
}

impl Hub {
    /// Closes every co-editing connection with "going away" and returns once each has
    /// ended and every open document has stored what was sent to it. Connections that
    /// open meanwhile are closed the same way.
    pub async fn shut_down(&self) {
        let inner = Arc::clone(&self.inner);
        inner.closing.started.send_replace(true);
        loop {
            // Registered before looking, so an end between the look and the wait is seen.
            let ended = inner.closing.connection_ended.notified();
            let mut ended = std::pin::pin!(ended);
            ended.as_mut().enable();
            let open = lock(&inner.grants).len();
            if open == 0 {
                break;
            }
            tracing::debug!(open, "waiting for editor connections to close");
            ended.await;
        }
        // Each open document stores what came before the stop in its queue (the closed
        // connections' last updates), brings its Markdown projection up to date, and ends.
        let actors: Vec<_> = lock(&inner.docs).drain().map(|(_, actor)| actor).collect();
        for actor in &actors {
            let _ = actor.send(Command::Stop).await;
        }
        for actor in actors {
            actor.closed().await;
        }
    }

    /// Shuts down as [`Hub::shut_down`] does, and closes the engine's own database
    /// connections (the relay stops listening once shutting down starts), so that its
    /// database can be dropped: a test's, say.
    pub async fn close(&self) {
        let _ = tokio::time::timeout(CLOSE_WITHIN, self.shut_down()).await;
        self.inner.db.close().await;
        self.inner.writer_db.close().await;
    }
}
