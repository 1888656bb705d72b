//! Real-time co-editing over the y-websocket protocol.
//!
//! Each open document (on a branch) has one actor task holding its Y.Doc and awareness.
//! The actor drains whatever messages are waiting, applies them, appends the accepted
//! updates to Postgres in one transaction (group commit), and only then sends anything
//! out: an edit that reached another client is always on disk. Instances relay through
//! Postgres: an append notifies (`pg_notify`, ids only) and other instances read the new
//! rows from the log. Every open connection holds a grant that is checked again when
//! access changes (`gate`), on any instance.

mod actor;
mod command;
mod diff;
mod gate;
mod integrate;
mod presence;
mod projection;
mod relay;
mod shutdown;
mod socket;
pub mod store;
mod writer;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use charter_types::{BranchId, DocumentId, ProjectId, UserId};
use futures_util::future::BoxFuture;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgConnection, PgPool};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::access::Credential;
use crate::availability::Availability;
use crate::error::{Error, Result};
use crate::merge::Conflict;
use command::{Command, ConnId, Join, Refusal};
pub use socket::accept;

/// One document's content on one branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DocKey {
    pub branch_id: BranchId,
    pub document_id: DocumentId,
}

impl DocKey {
    pub fn new(branch_id: BranchId, document_id: DocumentId) -> DocKey {
        DocKey { branch_id, document_id }
    }
}

/// Limits and timings of co-editing.
#[derive(Clone, Debug)]
pub struct CollabSettings {
    /// Largest WebSocket message accepted; a larger one closes that connection.
    pub max_message_bytes: usize,
    pub max_connections_per_document: usize,
    pub max_connections_per_user: usize,
    /// One person's connections to one document (tabs, a script's sockets).
    pub max_connections_per_user_per_document: usize,
    /// Read-only connections (viewers, read-only tokens) of one document: the rest of
    /// its connections are kept for those who may write.
    pub max_read_only_per_document: usize,
    /// How often the server pings each connection.
    pub ping_interval: Duration,
    /// A connection from which no whole message (a pong included) arrives for this long
    /// is closed: the peer is gone, or sends a message too slowly.
    pub idle_timeout: Duration,
    /// How often every connection's access is checked again, besides when access changes.
    pub access_recheck_interval: Duration,
    /// How long a document with no connections stays loaded.
    pub idle_unload: Duration,
    /// How soon after an edit the Markdown projection is refreshed.
    pub projection_delay: Duration,
    /// How often logs are checked for compaction, and how long a log may grow.
    pub compaction_interval: Duration,
    pub compaction_threshold: i64,
}

impl Default for CollabSettings {
    fn default() -> Self {
        CollabSettings {
            max_message_bytes: 4 * 1024 * 1024,
            max_connections_per_document: 200,
            max_connections_per_user: 100,
            max_connections_per_user_per_document: 20,
            max_read_only_per_document: 150,
            ping_interval: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(45),
            access_recheck_interval: Duration::from_secs(30),
            idle_unload: Duration::from_secs(30),
            projection_delay: Duration::from_millis(300),
            compaction_interval: Duration::from_secs(30),
            compaction_threshold: 500,
        }
    }
}

/// Whose open connection to which document, for checking their access again.
#[derive(Clone, Debug)]
pub struct Holder {
    pub user_id: UserId,
    pub credential: Credential,
    pub key: DocKey,
    /// Their credential lets them write (a token without the `write` scope does not).
    pub may_write: bool,
}

/// What the holder of an open connection may do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Their credential no longer authenticates them.
    SignedOut,
    /// They may no longer read the document on its branch.
    NoAccess,
    ReadOnly,
    Write,
}

/// What the engine needs from the rest of Charter and does not decide itself: who may
/// do what, and what becomes of a document's text besides its CRDT state. Handed to
/// the hub when it starts.
#[derive(Clone, Copy)]
pub struct Rules {
    /// The standing of each holder, in order.
    pub standing: fn(PgPool, Vec<Holder>) -> BoxFuture<'static, Result<Vec<Standing>>>,
    /// Keeps the Markdown projection of a document in step with its text, crediting
    /// whoever edited it since the last call (in the order they first edited).
    pub project: fn(PgPool, DocKey, String, Vec<UserId>) -> BoxFuture<'static, Result<()>>,
}

/// An open connection's standing: who holds it, with which credential, and what it may
/// do. The actor of its document reads it when the connection joins; `gate` lowers it.
#[derive(Clone, Debug)]
pub struct Grant {
    pub holder: Holder,
    pub username: String,
    pub project: ProjectId,
    pub can_write: bool,
}

/// The open documents of this instance.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    db: PgPool,
    settings: CollabSettings,
    /// Tells this instance's notifications from other instances'.
    instance: Uuid,
    docs: Mutex<HashMap<DocKey, mpsc::Sender<Command>>>,
    /// The group-commit writers every actor stores its updates through, and their pool.
    writer: mpsc::Sender<writer::Request>,
    writer_db: PgPool,
    /// Slots for Markdown projections being written.
    projections: Arc<tokio::sync::Semaphore>,
    /// Every open connection's grant; a revoked connection's is gone.
    grants: Mutex<HashMap<ConnId, Grant>>,
    next_connection: AtomicU64,
    rules: Rules,
    gate: gate::Gate,
    closing: shutdown::Closing,
    /// Told when the relay's listener or a commit finds the database gone.
    availability: Availability,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How many times an operation retries on an actor that was just unloading.
const RETRIES: usize = 3;
/// The engine's connections besides the writers': the relay's listener, loads,
/// catch-ups, access checks, projections and compaction.
const ENGINE_CONNECTIONS: u32 = 8;

/// A merge worked out against a document's stored state and not yet applied: the edit
/// that makes the merged text (none when it changes nothing), for [`Hub::apply_merge`].
pub struct MergePlan {
    key: DocKey,
    update: Option<Vec<u8>>,
    text: String,
}

/// Works out the merge of `theirs` into the document with `base` as their common
/// ancestor, using git's rules on lines, against its stored state as `conn` reads it:
/// the edit to apply, or (inside `Ok`) the conflicts. Nothing changes until it is applied.
pub async fn plan_merge(
    conn: &mut PgConnection,
    key: DocKey,
    base: &str,
    theirs: &str,
) -> Result<std::result::Result<MergePlan, Vec<Conflict>>> {
    let (doc, _) = store::load(conn, key).await?;
    let merged = crate::merge::merge3(base, &store::text_of(&doc), theirs);
    let Some(text) = merged.clean() else {
        return Ok(Err(merged.conflicts().cloned().collect()));
    };
    Ok(Ok(MergePlan { key, update: diff::replace_text(&doc, &text), text }))
}

impl Hub {
    /// Starts the hub with its relay (other instances' edits and access changes), access
    /// checks (by `rules`) and compaction tasks; it tells `availability` of outages it meets.
    pub fn start(db: PgPool, settings: CollabSettings, rules: Rules, availability: Availability) -> Hub {
        // The engine keeps connections of its own: a request may hold a transaction
        // (its caller's role) until its edit is stored, and requests holding every
        // connection of their pool must not leave the writer without one.
        // The writers have theirs: every edit waits for its commit, and nothing else
        // the engine does may stand in the way of one.
        let pool = |size: u32| {
            PgPoolOptions::new()
                .max_connections(size)
                .acquire_timeout(Duration::from_secs(10))
                .connect_lazy_with((*db.connect_options()).clone())
        };
        let instance = Uuid::new_v4();
        let writer_db = pool(writer::WRITERS as u32);
        let hub = Hub {
            inner: Arc::new(Inner {
                writer: writer::spawn(writer_db.clone(), instance, availability.clone()),
                writer_db,
                projections: projection::slots(),
                db: pool(ENGINE_CONNECTIONS),
                settings,
                instance,
                docs: Mutex::new(HashMap::new()),
                grants: Mutex::new(HashMap::new()),
                next_connection: AtomicU64::new(1),
                rules,
                gate: gate::Gate::default(),
                closing: shutdown::Closing::default(),
                availability,
            }),
        };
        tokio::spawn(relay::run(Arc::downgrade(&hub.inner)));
        tokio::spawn(gate::run(Arc::downgrade(&hub.inner)));
        tokio::spawn(compactor(Arc::downgrade(&hub.inner)));
        hub
    }

    pub fn settings(&self) -> &CollabSettings {
        &self.inner.settings
    }

    /// How many co-editing connections this instance holds open.
    pub fn open_connections(&self) -> usize {
        lock(&self.inner.grants).len()
    }

    /// How many documents this instance holds in memory.
    pub fn open_documents(&self) -> usize {
        lock(&self.inner.docs).len()
    }

    /// The actor of `key`, started (and loading) if the document is not open yet.
    fn actor(&self, key: DocKey) -> mpsc::Sender<Command> {
        let mut docs = lock(&self.inner.docs);
        docs.entry(key).or_insert_with(|| actor::spawn(Arc::downgrade(&self.inner), key)).clone()
    }

    /// Sends a command that answers, retrying when the actor was on its way out.
    async fn request<T>(
        &self,
        key: DocKey,
        make: impl Fn(oneshot::Sender<Result<T, Refusal>>) -> Command,
    ) -> Result<T> {
        for _ in 0..RETRIES {
            let (reply, answer) = oneshot::channel();
            if self.actor(key).send(make(reply)).await.is_err() {
                self.forget(key);
                continue;
            }
            match answer.await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(Refusal::Unloading)) | Err(_) => continue,
                Ok(Err(Refusal::Failed(err))) => return Err(err),
            }
        }
        Err(Error::internal("the document could not be opened"))
    }

    /// Drops a stale entry whose actor has stopped.
    fn forget(&self, key: DocKey) {
        let mut docs = lock(&self.inner.docs);
        if docs.get(&key).is_some_and(|sender| sender.is_closed()) {
            docs.remove(&key);
        }
    }

    /// Replaces the document's text with `text` as a minimal edit that connected
    /// editors see arrive live. Returns once the edit is stored.
    pub async fn replace_text(&self, key: DocKey, text: String, author: UserId) -> Result<()> {
        self.request(key, |reply| Command::Replace { text: text.clone(), author, reply }).await
    }

    /// The text of a document open on this instance and the log position it includes;
    /// `None` when it is not open here (nothing is loaded for the asking).
    pub async fn text_if_open(&self, key: DocKey) -> Option<(String, i64)> {
        let sender = lock(&self.inner.docs).get(&key).cloned()?;
        let (reply, answer) = oneshot::channel();
        sender.send(Command::Read { reply }).await.ok()?;
        answer.await.ok()
    }

    /// Merges `theirs` into the document with `base` as their common ancestor (see
    /// [`plan_merge`]) and applies the result at once. Returns the merged text, or
    /// (inside `Ok`) the conflicts.
    pub async fn merge_text(
        &self,
        key: DocKey,
        base: &str,
        theirs: &str,
        author: UserId,
    ) -> Result<std::result::Result<String, Vec<Conflict>>> {
        let planned = {
            let mut conn = self.inner.db.acquire().await?;
            plan_merge(&mut conn, key, base, theirs).await?
        };
        match planned {
            Ok(plan) => Ok(Ok(self.apply_merge(plan, author).await?)),
            Err(conflicts) => Ok(Err(conflicts)),
        }
    }

    /// Applies a planned merge to the live document as a CRDT update, so that anything
    /// typed since the plan was made stays. Returns the merged text.
    pub async fn apply_merge(&self, plan: MergePlan, author: UserId) -> Result<String> {
        let MergePlan { key, update, text } = plan;
        if let Some(update) = update {
            self.request(key, |reply| Command::Apply { update: update.clone(), author, reply }).await?;
        }
        Ok(text)
    }

    /// How many access changes this instance has heard of: read before a new
    /// connection's access is checked, and given to [`Hub::admit`].
    pub fn access_generation(&self) -> u64 {
        self.inner.gate.generation()
    }

    /// Registers a connection's grant, within the user's limit; the admission gives it
    /// back when dropped. If access changed since `generation`, it is checked again.
    pub fn admit(&self, grant: Grant, generation: u64) -> Result<Admission> {
        let conn = self.inner.next_connection.fetch_add(1, Ordering::Relaxed);
        let (key, can_write) = (grant.holder.key, grant.can_write);
        {
            let mut grants = lock(&self.inner.grants);
            let open = grants.values().filter(|other| other.holder.user_id == grant.holder.user_id).count();
            if open >= self.inner.settings.max_connections_per_user {
                return Err(Error::Conflict("you have too many open editor connections; close some tabs".into()));
            }
            grants.insert(conn, grant);
        }
        if self.inner.gate.generation() != generation {
            self.inner.gate.recheck(gate::Target::Connection(conn));
        }
        Ok(Admission { hub: self.clone(), conn, key, can_write })
    }

    async fn join(&self, key: DocKey, join: Join) -> Result<mpsc::Sender<Command>> {
        self.request(key, |reply| Command::Join { join: join.clone(), reply }).await?;
        Ok(self.actor(key))
    }
}

/// An admitted connection; its grant goes when this is dropped.
pub struct Admission {
    hub: Hub,
    conn: ConnId,
    key: DocKey,
    can_write: bool,
}

impl Drop for Admission {
    fn drop(&mut self) {
        lock(&self.hub.inner.grants).remove(&self.conn);
        self.hub.inner.closing.connection_ended();
    }
}

impl Inner {
    /// Stores a document's updates with whatever else is being stored meanwhile.
    async fn append(&self, pending: store::Pending) -> Result<store::Appended> {
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(writer::Request { pending, reply })
            .await
            .map_err(|_| Error::internal("the collab writer stopped"))?;
        answer.await.map_err(|_| Error::internal("the collab writer stopped"))?
    }

    /// Tells an open document that the log has rows it may not have applied.
    fn catch_up(&self, key: DocKey) {
        let docs = lock(&self.docs);
        if let Some(sender) = docs.get(&key) {
            let _ = sender.try_send(Command::CatchUp);
        }
    }

    fn catch_up_all(&self) {
        let keys: Vec<DocKey> = lock(&self.docs).keys().copied().collect();
        for key in keys {
            self.catch_up(key);
        }
    }
}

/// Folds long logs into snapshots, for open and closed documents alike.
async fn compactor(hub: Weak<Inner>) {
    loop {
        let Some(interval) = hub.upgrade().map(|inner| inner.settings.compaction_interval) else { return };
        tokio::time::sleep(interval).await;
        let Some(inner) = hub.upgrade() else { return };
        let candidates = match store::compaction_candidates(&inner.db, inner.settings.compaction_threshold).await {
            Ok(candidates) => candidates,
            Err(err) => {
                err.log();
                continue;
            }
        };
        for key in candidates {
            match store::compact(&inner.db, key).await {
                Ok(folded) => tracing::debug!(?key, folded, "compacted document log"),
                Err(err) => err.log(),
            }
        }
    }
}
