//! One open document: its Y.Doc, its awareness and its connections, owned by one task.
//! Commands are handled in batches; a batch's accepted updates are committed together
//! before any of the batch's replies or broadcasts leave.

use std::collections::{HashMap, HashSet};
use std::sync::Weak;
use std::time::Duration;

use bytes::Bytes;
use charter_types::UserId;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use yrs::sync::{Awareness, Message, SyncMessage};
use yrs::updates::encoder::Encode;
use yrs::{Doc, ReadTxn, StateVector, Transact};

use super::command::{Command, ConnId, Outgoing, Refusal};
use super::projection::{self, Refresh};
use super::{diff, lock, store, DocKey, Inner};

mod connections;
use crate::error::Error;

/// At most this many commands are handled (and committed) together.
const MAX_BATCH: usize = 512;
/// Frames waiting for one slow connection before it is dropped.
pub(super) const OUTBOX: usize = 1024;

struct Conn {
    user: UserId,
    username: String,
    can_write: bool,
    out: mpsc::Sender<Outgoing>,
    /// Awareness client ids this connection speaks for.
    clients: HashSet<u64>,
    /// The document's version when the client was last asked for what it lacks (sync
    /// step 1), and whether an update of its was set aside since, as building on what
    /// the document lacked. Its answer brings that update, unless the answer could not be
    /// placed either: then it is asked again once the document has changed, so a client
    /// that cannot answer is not asked forever.
    asked: u64,
    waiting: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum To {
    One(ConnId),
    AllBut(ConnId),
    All,
}

pub(super) fn spawn(hub: Weak<Inner>, key: DocKey) -> mpsc::Sender<Command> {
    let (sender, receiver) = mpsc::channel(4096);
    tokio::spawn(async move {
        let Some(inner) = hub.upgrade() else { return };
        let mut conn = match inner.db.acquire().await {
            Ok(conn) => conn,
            Err(err) => return refuse_all(receiver, Error::from(err)).await,
        };
        let loaded = store::load(&mut conn, key).await;
        drop(conn);
        drop(inner);
        match loaded {
            Ok((doc, seq)) => {
                let actor = Actor {
                    key,
                    hub,
                    awareness: Awareness::new(doc),
                    seq,
                    version: 0,
                    held: None,
                    conns: HashMap::new(),
                    // The stored projection may lag the state it is made from (a crash
                    // before a refresh, or one lost with the database): check it once.
                    dirty: Some(Instant::now()),
                    authors: Vec::new(),
                    projecting: None,
                    idle_since: Instant::now(),
                };
                actor.run(receiver).await;
            }
            Err(err) => refuse_all(receiver, err).await,
        }
    });
    sender
}

/// Answers everything waiting with `err` (the document could not be loaded).
async fn refuse_all(mut receiver: mpsc::Receiver<Command>, err: Error) {
    err.log();
    receiver.close();
    while let Some(command) = receiver.recv().await {
        let failure = || Refusal::Failed(Error::internal("the document could not be loaded"));
        match command {
            Command::Join { reply, .. } | Command::Replace { reply, .. } | Command::Apply { reply, .. } => {
                let _ = reply.send(Err(failure()));
            }
            Command::Incoming { .. }
            | Command::Leave { .. }
            | Command::Revise { .. }
            | Command::Read { .. }
            | Command::CatchUp
            | Command::Stop => {}
        }
    }
}

struct Actor {
    key: DocKey,
    hub: Weak<Inner>,
    awareness: Awareness,
    /// Every logged update up to here is applied.
    seq: i64,
    /// Counts the doc's changes, so that whether it changed since a client was asked
    /// is a comparison of two numbers.
    version: u64,
    /// The doc's state vector, kept up to date by `integrate` and dropped by other
    /// changes: yrs computes one with a step per client that ever edited the document.
    held: Option<StateVector>,
    conns: HashMap<ConnId, Conn>,
    /// When the Markdown projection fell behind the CRDT state.
    dirty: Option<Instant>,
    /// Who edited since the projection was last refreshed.
    authors: Vec<UserId>,
    projecting: Option<Refresh>,
    idle_since: Instant,
}

/// What one batch produced, sent only after the batch is stored.
#[derive(Default)]
struct Batch {
    updates: Vec<Vec<u8>>,
    frames: Vec<(To, Bytes)>,
    replies: Vec<oneshot::Sender<Result<(), Refusal>>>,
    reads: Vec<oneshot::Sender<(String, i64)>>,
    closes: Vec<(ConnId, u16, String)>,
    catch_up: bool,
    /// An update was refused, perhaps after yrs placed part of it: the in-memory doc is
    /// suspect and the batch ends there.
    poisoned: bool,
}

/// The doc's state vector as kept, computed if it is not.
fn kept<'a>(held: &'a mut Option<StateVector>, doc: &Doc) -> &'a mut StateVector {
    held.get_or_insert_with(|| doc.transact().state_vector())
}

fn frame(message: Message) -> Bytes {
    Bytes::from(message.encode_v1())
}

impl Actor {
    async fn run(mut self, mut receiver: mpsc::Receiver<Command>) {
        loop {
            let deadline = self.deadline();
            let command = tokio::select! {
                command = receiver.recv() => match command {
                    Some(command) => command,
                    None => break,
                },
                outcome = projection::finished(&mut self.projecting) => {
                    self.projected(outcome);
                    continue;
                }
                _ = tokio::time::sleep_until(deadline) => {
                    if self.dirty.is_some() {
                        self.start_projection();
                    } else if self.conns.is_empty() && self.projecting.is_none() && self.idle_for() && self.unload(&mut receiver)
                    {
                        break;
                    }
                    continue;
                }
            };
            let mut commands = vec![command];
            while commands.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(command) => commands.push(command),
                    Err(_) => break,
                }
            }
            if !self.process(commands).await {
                break;
            }
            if self.conns.is_empty() {
                self.idle_since = Instant::now();
            }
        }
        // Leaving: what the projection lacks is written before the actor goes.
        if self.projecting.is_some() {
            let outcome = projection::finished(&mut self.projecting).await;
            self.projected(outcome);
        }
        if self.dirty.is_some() || !self.authors.is_empty() {
            self.start_projection();
        }
        if self.projecting.is_some() {
            let _ = projection::finished(&mut self.projecting).await;
        }
    }

    fn settings(&self) -> Option<(Duration, Duration)> {
        self.hub.upgrade().map(|inner| (inner.settings.projection_delay, inner.settings.idle_unload))
    }

    fn deadline(&self) -> Instant {
        let Some((projection_delay, idle_unload)) = self.settings() else { return Instant::now() };
        // While a refresh is under way, its end is what the actor waits for.
        match self.dirty {
            _ if self.projecting.is_some() => Instant::now() + Duration::from_secs(3600),
            Some(since) => since + projection_delay,
            None if self.conns.is_empty() => self.idle_since + idle_unload,
            None => Instant::now() + Duration::from_secs(3600),
        }
    }

    fn idle_for(&self) -> bool {
        self.settings().is_none_or(|(_, idle_unload)| self.idle_since.elapsed() >= idle_unload)
    }

    /// Leaves the hub if nothing is waiting. Commands that slipped in are told to retry.
    fn unload(&mut self, receiver: &mut mpsc::Receiver<Command>) -> bool {
        let Some(inner) = self.hub.upgrade() else { return true };
        let mut docs = lock(&inner.docs);
        if !receiver.is_empty() {
            return false;
        }
        docs.remove(&self.key);
        receiver.close();
        drop(docs);
        while let Ok(command) = receiver.try_recv() {
            if let Command::Join { reply, .. } | Command::Replace { reply, .. } | Command::Apply { reply, .. } = command
            {
                let _ = reply.send(Err(Refusal::Unloading));
            }
        }
        true
    }

    fn credit(&mut self, author: UserId) {
        if !self.authors.contains(&author) {
            self.authors.push(author);
        }
    }

    /// Starts refreshing the Markdown projection with the text as it is now, crediting
    /// whoever edited since the last refresh.
    fn start_projection(&mut self) {
        let Some(inner) = self.hub.upgrade() else { return };
        let text = store::text_of(self.awareness.doc());
        self.dirty = None;
        self.projecting = Some(Refresh::start(&inner, self.key, text, std::mem::take(&mut self.authors)));
    }

    /// A failed refresh is retried at the next deadline, its authors credited first (the
    /// CRDT state itself is safe).
    fn projected(&mut self, outcome: Result<(), Vec<UserId>>) {
        if let Err(authors) = outcome {
            let later = std::mem::replace(&mut self.authors, authors);
            later.into_iter().for_each(|author| self.credit(author));
            self.dirty.get_or_insert_with(Instant::now);
        }
    }

    /// Handles commands in batches; false when the actor must stop (its state could not
    /// be stored, or it was told to). A batch ends early where an update is refused, so
    /// that nothing after it is checked against, or applied to, a doc in doubt.
    async fn process(&mut self, commands: Vec<Command>) -> bool {
        let mut commands = commands.into_iter();
        let mut stopping = false;
        loop {
            let mut batch = Batch::default();
            for command in commands.by_ref() {
                stopping |= self.handle(command, &mut batch);
                if batch.poisoned {
                    break;
                }
            }
            if !self.store(&mut batch).await {
                return false;
            }
            let poisoned = batch.poisoned;
            if poisoned && !self.reload().await {
                // What was stored goes out; the doc itself stays in doubt, so the actor
                // ends and its connections sync again with the next one.
                self.deliver(batch);
                self.close_all("the document could not be reloaded; reconnect");
                return false;
            }
            self.ask_waiting(&mut batch);
            self.deliver(batch);
            if !poisoned || commands.as_slice().is_empty() {
                return !stopping;
            }
        }
    }

    /// Handles one command into the batch; true when it tells the actor to stop.
    fn handle(&mut self, command: Command, batch: &mut Batch) -> bool {
        match command {
            Command::Join { join, reply } => self.join(join, reply, batch),
            Command::Incoming { conn, message } => self.incoming(conn, message, batch),
            Command::Leave { conn } => {
                self.leave(conn, batch);
            }
            Command::Revise { conn, revision } => self.revise(conn, revision, batch),
            Command::Replace { text, author, reply } => {
                if let Some(update) = diff::replace_text(self.awareness.doc(), &text) {
                    self.changed();
                    batch.frames.push((To::All, frame(Message::Sync(SyncMessage::Update(update.clone())))));
                    batch.updates.push(update);
                    self.credit(author);
                }
                batch.replies.push(reply);
            }
            Command::Apply { update, author, reply } => {
                let applied = store::apply_stored(self.awareness.doc(), &update);
                // Even a refused update may have changed the doc.
                self.changed();
                match applied {
                    Ok(()) => {
                        batch.frames.push((To::All, frame(Message::Sync(SyncMessage::Update(update.clone())))));
                        batch.updates.push(update);
                        self.credit(author);
                        batch.replies.push(reply);
                    }
                    Err(err) => {
                        let _ = reply.send(Err(Refusal::Failed(err)));
                    }
                }
            }
            Command::Read { reply } => batch.reads.push(reply),
            Command::CatchUp => batch.catch_up = true,
            Command::Stop => return true,
        }
        false
    }

    /// Commits the batch's updates, taking in what other instances stored meanwhile.
    async fn store(&mut self, batch: &mut Batch) -> bool {
        if batch.updates.is_empty() && !batch.catch_up {
            return true;
        }
        let Some(inner) = self.hub.upgrade() else { return false };
        let stored_any = !batch.updates.is_empty();
        let external = if batch.updates.is_empty() {
            let caught_up = match inner.db.acquire().await {
                Ok(mut conn) => store::since(&mut conn, self.key, self.seq).await,
                Err(err) => Err(Error::from(err)),
            };
            match caught_up {
                Ok((updates, seq)) => {
                    self.seq = seq;
                    updates
                }
                // A missed catch-up is retried with the next notification or append.
                Err(err) => {
                    err.log();
                    Vec::new()
                }
            }
        } else {
            let pending =
                store::Pending { key: self.key, after: self.seq, updates: std::mem::take(&mut batch.updates) };
            match inner.append(pending).await {
                Ok(appended) => {
                    self.seq = appended.seq;
                    appended.external
                }
                Err(err) => {
                    // Nothing of this batch may leave: clients keep their edits and send
                    // them again when they reconnect.
                    err.log();
                    self.fail(batch);
                    return false;
                }
            }
        };
        if !external.is_empty() {
            let before = self.held();
            for update in &external {
                if let Err(err) = store::apply_stored(self.awareness.doc(), update) {
                    err.log();
                }
            }
            store::drop_pending(self.awareness.doc());
            self.changed();
            let after = self.held();
            if after != before {
                let news = self.awareness.doc().transact().encode_diff_v1(&before);
                batch.frames.push((To::All, frame(Message::Sync(SyncMessage::Update(news)))));
            }
        }
        if !external.is_empty() || stored_any {
            self.dirty.get_or_insert_with(Instant::now);
        }
        true
    }

    fn fail(&mut self, batch: &mut Batch) {
        for reply in batch.replies.drain(..) {
            let _ = reply.send(Err(Refusal::Failed(Error::internal("the edit could not be stored"))));
        }
        self.close_all("could not save; reconnect");
    }

    fn close_all(&mut self, reason: &str) {
        for (_, connection) in self.conns.drain() {
            let _ = connection.out.try_send(Outgoing::Close { code: 1011, reason: reason.into() });
        }
    }

    /// Rebuilds the doc from storage after a refused update left it in doubt; false if
    /// it could not be read.
    async fn reload(&mut self) -> bool {
        let Some(inner) = self.hub.upgrade() else { return false };
        let loaded = match inner.db.acquire().await {
            Ok(mut conn) => store::load(&mut conn, self.key).await,
            Err(err) => Err(Error::from(err)),
        };
        match loaded {
            Ok((doc, seq)) => {
                self.awareness = Awareness::new(doc);
                self.seq = seq;
                self.changed();
                true
            }
            Err(err) => {
                err.log();
                false
            }
        }
    }

    /// The doc changed other than through `integrate`.
    fn changed(&mut self) {
        self.version += 1;
        self.held = None;
    }

    /// The doc's state vector.
    fn held(&mut self) -> StateVector {
        kept(&mut self.held, self.awareness.doc()).clone()
    }

    fn deliver(&mut self, batch: Batch) {
        for (conn, code, reason) in batch.closes {
            if let Some(connection) = self.conns.remove(&conn) {
                let _ = connection.out.try_send(Outgoing::Close { code, reason });
            }
        }
        let mut slow = Vec::new();
        for (to, bytes) in batch.frames {
            for (id, connection) in &self.conns {
                let wanted = match to {
                    To::One(target) => *id == target,
                    To::AllBut(source) => *id != source,
                    To::All => true,
                };
                if wanted && connection.out.try_send(Outgoing::Frame(bytes.clone())).is_err() {
                    slow.push(*id);
                }
            }
        }
        for id in slow {
            if let Some(connection) = self.conns.remove(&id) {
                let _ = connection.out.try_send(Outgoing::Close { code: 1013, reason: "too slow; reconnect".into() });
            }
        }
        if !batch.reads.is_empty() {
            let text = store::text_of(self.awareness.doc());
            for read in batch.reads {
                let _ = read.send((text.clone(), self.seq));
            }
        }
        for reply in batch.replies {
            let _ = reply.send(Ok(()));
        }
    }
}
