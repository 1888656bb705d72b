//! Edits made through other instances, and access changes made anywhere: one LISTEN
//! connection per instance. An edit's notification names a document (never the update
//! itself: NOTIFY payloads are small); the document's actor reads the new rows from the
//! log. An access change goes to the gate. After any reconnect every open document
//! catches up and every connection's access is checked, so nothing announced while the
//! listener was away is missed.

use std::sync::Weak;
use std::time::Duration;

use sqlx::postgres::PgListener;
use uuid::Uuid;

use super::gate::Target;
use super::store::CHANNEL;
use super::{DocKey, Inner};
use crate::access::{self, Change};

pub(super) async fn run(hub: Weak<Inner>) {
    // Nothing is relayed once the hub shuts down; its connection goes back.
    let Some(closing) = hub.upgrade().map(|inner| inner.closing.started()) else { return };
    let mut closing = std::pin::pin!(closing);
    loop {
        let Some(inner) = hub.upgrade() else { return };
        let listener = async {
            let mut listener = PgListener::connect_with(&inner.db).await?;
            // A lost connection is reported at once, not after trying to connect again
            // (up to the pool's acquire timeout): the outage is news for `availability`.
            listener.eager_reconnect(false);
            listener.listen_all([CHANNEL, access::CHANNEL]).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let listener = tokio::select! {
            biased;
            () = &mut closing => return,
            listener = listener => listener,
        };
        let mut listener = match listener {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(error = %err, "collab relay cannot listen; retrying");
                // The check may take a while; the hub may shut down meanwhile.
                let availability = inner.availability.clone();
                drop(inner);
                availability.note(&err.into()).await;
                tokio::select! {
                    () = &mut closing => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        // Listening again: whatever was notified meanwhile is in the log or the grants.
        inner.catch_up_all();
        inner.gate.recheck(Target::All);
        let instance = inner.instance;
        drop(inner);
        loop {
            let received = tokio::select! {
                biased;
                () = &mut closing => return,
                received = listener.try_recv() => received,
            };
            match received {
                Ok(Some(notification)) => {
                    let Some(inner) = hub.upgrade() else { return };
                    if notification.channel() == access::CHANNEL {
                        if let Some(change) = Change::parse(notification.payload()) {
                            inner.gate.recheck(Target::Change(change));
                        }
                    } else if let Some(news) = parse(notification.payload()) {
                        if news.from != instance {
                            if let Some(stored_at) = news.stored_at {
                                metrics::histogram!("charter_collab_relay_lag_seconds").record(lag_since(stored_at));
                            }
                            inner.catch_up(news.key);
                        }
                    }
                }
                // The connection dropped: listen afresh, then catch up. Most often the
                // database went away, and requests need not wait to find that out.
                Ok(None) => {
                    lost(&hub).await;
                    break;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "collab relay lost its connection");
                    lost(&hub).await;
                    break;
                }
            }
        }
    }
}

async fn lost(hub: &Weak<Inner>) {
    let Some(availability) = hub.upgrade().map(|inner| inner.availability.clone()) else { return };
    availability.suspect().await;
}

/// A notification of stored edits: from which instance, to which document, and when
/// (by the database's clock, in microseconds since the epoch; absent from instances
/// that predate it).
#[derive(Debug, PartialEq)]
struct News {
    from: Uuid,
    key: DocKey,
    stored_at: Option<i64>,
}

fn parse(payload: &str) -> Option<News> {
    let mut parts = payload.split(':');
    let from = parts.next()?.parse().ok()?;
    let branch_id = parts.next()?.parse().ok()?;
    let document_id = parts.next()?.parse().ok()?;
    let stored_at = parts.next().and_then(|micros| micros.parse().ok());
    Some(News { from, key: DocKey { branch_id, document_id }, stored_at })
}

/// Seconds from `stored_at` to now: the relay lag, counting the clocks' difference too
/// (never below zero).
fn lag_since(stored_at: i64) -> f64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (now.as_micros() as i64).saturating_sub(stored_at).max(0) as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;
    use charter_types::{BranchId, DocumentId};

    #[test]
    fn payloads_name_the_instance_and_the_document() {
        let instance = Uuid::new_v4();
        let (branch, document) = (BranchId::from_uuid(Uuid::new_v4()), DocumentId::from_uuid(Uuid::new_v4()));
        let key = DocKey { branch_id: branch, document_id: document };
        let parsed = parse(&format!("{instance}:{branch}:{document}:1765000000000000")).unwrap();
        assert_eq!(parsed, News { from: instance, key, stored_at: Some(1_765_000_000_000_000) });
        // An instance from before the time was sent.
        let parsed = parse(&format!("{instance}:{branch}:{document}")).unwrap();
        assert_eq!(parsed, News { from: instance, key, stored_at: None });
        assert!(parse("garbage").is_none());
        assert!(parse(&format!("{instance}:{branch}")).is_none());
    }

    #[test]
    fn lag_is_measured_from_the_time_stored_and_never_below_zero() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as i64;
        let lag = lag_since(now - 250_000);
        assert!((0.25..1.0).contains(&lag), "{lag}");
        assert_eq!(lag_since(now + 60_000_000), 0.0, "a database clock ahead of ours");
    }
}
