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
                drop(inner);
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
                    } else if let Some((from, key)) = parse(notification.payload()) {
                        if from != instance {
                            inner.catch_up(key);
                        }
                    }
                }
                // The connection dropped: listen afresh, then catch up.
                Ok(None) => break,
                Err(err) => {
                    tracing::warn!(error = %err, "collab relay lost its connection");
                    break;
                }
            }
        }
    }
}

fn parse(payload: &str) -> Option<(Uuid, DocKey)> {
    let mut parts = payload.split(':');
    let instance = parts.next()?.parse().ok()?;
    let branch_id = parts.next()?.parse().ok()?;
    let document_id = parts.next()?.parse().ok()?;
    Some((instance, DocKey { branch_id, document_id }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use charter_types::{BranchId, DocumentId};

    #[test]
    fn payloads_name_the_instance_and_the_document() {
        let instance = Uuid::new_v4();
        let (branch, document) = (BranchId::from_uuid(Uuid::new_v4()), DocumentId::from_uuid(Uuid::new_v4()));
        let parsed = parse(&format!("{instance}:{branch}:{document}")).unwrap();
        assert_eq!(parsed, (instance, DocKey { branch_id: branch, document_id: document }));
        assert!(parse("garbage").is_none());
        assert!(parse(&format!("{instance}:{branch}")).is_none());
    }
}
