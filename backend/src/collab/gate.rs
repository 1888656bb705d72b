//! Keeps open connections within their holders' access. A change to access (a token
//! revoked, a session ended, a member removed or made a viewer, a document or branch
//! deleted) is announced on `access::CHANNEL` and heard by every instance's relay; the
//! connections it may affect are checked again, in one batch, and closed or made
//! read-only. Every connection is also checked every `access_recheck_interval`, in case
//! an announcement was missed while the listener reconnected.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::command::{Command, ConnId, Revision};
use super::{lock, Grant, Inner, Standing};
use crate::access::Change;
use crate::error::Result;

/// Close codes (private range) a client can tell apart: sign in again, or give up.
pub(super) const SIGNED_OUT: u16 = 4401;
pub(super) const NO_ACCESS: u16 = 4403;

/// Connections to check again.
#[derive(Clone, Copy, Debug)]
pub(super) enum Target {
    Change(Change),
    Connection(ConnId),
    All,
}

impl Target {
    fn covers(self, conn: ConnId, grant: &Grant) -> bool {
        match self {
            Target::All => true,
            Target::Connection(id) => id == conn,
            Target::Change(Change::User(user)) => grant.holder.user_id == user,
            Target::Change(Change::Project(project)) => grant.project == project,
            Target::Change(Change::Branch(branch)) => grant.holder.key.branch_id == branch,
        }
    }
}

#[derive(Default)]
pub(super) struct Gate {
    /// Counts the access changes heard of: a connection whose access was checked across
    /// a change is checked again (the change may have committed after its check read,
    /// and been heard before its grant was there to be found).
    generation: AtomicU64,
    pending: Mutex<Vec<Target>>,
    wake: Arc<Notify>,
}

impl Gate {
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Queues a check of `target`'s connections.
    pub(super) fn recheck(&self, target: Target) {
        if !matches!(target, Target::Connection(_)) {
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
        lock(&self.pending).push(target);
        self.wake.notify_one();
    }
}

/// Checks queued targets as they come, and every connection now and then.
pub(super) async fn run(hub: Weak<Inner>) {
    let Some((interval, wake)) =
        hub.upgrade().map(|inner| (inner.settings.access_recheck_interval, inner.gate.wake.clone()))
    else {
        return;
    };
    let mut next_sweep = Instant::now() + interval;
    loop {
        let woken = tokio::time::timeout_at(next_sweep, wake.notified()).await.is_ok();
        let Some(inner) = hub.upgrade() else { return };
        let mut targets = if woken { std::mem::take(&mut *lock(&inner.gate.pending)) } else { Vec::new() };
        if Instant::now() >= next_sweep {
            targets = vec![Target::All];
            next_sweep = Instant::now() + interval;
        }
        if let Err(err) = enforce(&inner, &targets).await {
            // Tried again shortly: a revocation must not wait for the next sweep.
            err.log();
            lock(&inner.gate.pending).extend(targets);
            drop(inner);
            tokio::time::sleep(Duration::from_secs(1)).await;
            wake.notify_one();
        }
    }
}

/// Checks the targets' connections (by the hub's rules, in one batch) and closes or
/// restricts those that lost access. Access is never raised on an open
/// connection: its page was drawn for what it had.
async fn enforce(inner: &Inner, targets: &[Target]) -> Result<()> {
    let selected: Vec<(ConnId, Grant)> = lock(&inner.grants)
        .iter()
        .filter(|(conn, grant)| targets.iter().any(|target| target.covers(**conn, grant)))
        .map(|(conn, grant)| (*conn, grant.clone()))
        .collect();
    if selected.is_empty() {
        return Ok(());
    }
    let holders = selected.iter().map(|(_, grant)| grant.holder.clone()).collect();
    let standings = (inner.rules.standing)(inner.db.clone(), holders).await?;
    for ((conn, grant), standing) in selected.into_iter().zip(standings) {
        let revision = match standing {
            Standing::SignedOut => {
                Revision::Close { code: SIGNED_OUT, reason: "your sign-in ended; sign in again".into() }
            }
            Standing::NoAccess => {
                Revision::Close { code: NO_ACCESS, reason: "you no longer have access to this document".into() }
            }
            Standing::ReadOnly if grant.can_write => Revision::ReadOnly,
            Standing::ReadOnly | Standing::Write => continue,
        };
        revise(inner, conn, &grant, revision).await;
    }
    Ok(())
}

/// Lowers the grant (the actor reads it when the connection joins), then tells the
/// document's actor, if it is open (the connection may have joined already).
async fn revise(inner: &Inner, conn: ConnId, grant: &Grant, revision: Revision) {
    {
        let mut grants = lock(&inner.grants);
        match &revision {
            Revision::Close { .. } => {
                grants.remove(&conn);
            }
            Revision::ReadOnly => {
                if let Some(grant) = grants.get_mut(&conn) {
                    grant.can_write = false;
                }
            }
        }
    }
    tracing::debug!(conn, user = %grant.holder.user_id, ?revision, "access to an open document changed");
    let actor = lock(&inner.docs).get(&grant.holder.key).cloned();
    if let Some(actor) = actor {
        let _ = actor.send(Command::Revise { conn, revision }).await;
    }
}
