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
use yrs::{ClientID, ReadTxn, StateVector, Transact};

use super::command::{Command, ConnId, Incoming, Join, Outgoing, Refusal, Revision};
use super::integrate::{integrate, Integration};
use super::projection::{self, Refresh};
use super::{diff, lock, presence, store, DocKey, Grant, Inner};
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

    fn join(&mut self, join: Join, reply: oneshot::Sender<Result<(), Refusal>>, batch: &mut Batch) {
        let conn = join.conn;
        let grant = match self.room_for(conn) {
            Ok(grant) => grant,
            Err(err) => {
                let _ = reply.send(Err(Refusal::Failed(err)));
                return;
            }
        };
        let connection = Conn {
            user: grant.holder.user_id,
            username: grant.username,
            can_write: grant.can_write,
            out: join.out,
            clients: HashSet::new(),
            asked: self.version,
            waiting: false,
        };
        // The server's state vector: the client answers with what the server lacks.
        let state_vector = self.held();
        self.conns.insert(conn, connection);
        batch.frames.push((To::One(conn), frame(Message::Sync(SyncMessage::SyncStep1(state_vector)))));
        if let Ok(update) = self.awareness.update() {
            if !update.clients.is_empty() {
                batch.frames.push((To::One(conn), frame(Message::Awareness(update))));
            }
        }
        batch.replies.push(reply);
    }

    /// The connection's grant as it is now, if the document has room for it: one person
    /// cannot take all of a document's connections, nor can those who may only read, so
    /// that writers and owners can always join.
    fn room_for(&self, conn: ConnId) -> Result<Grant, Error> {
        let inner = self.hub.upgrade().ok_or_else(|| Error::internal("shutting down"))?;
        let grant = lock(&inner.grants).get(&conn).cloned();
        let grant = grant.ok_or_else(|| Error::Forbidden("you no longer have access to this document".into()))?;
        let settings = &inner.settings;
        let full = |why: &str| Err(Error::Conflict(why.into()));
        if self.conns.len() >= settings.max_connections_per_document {
            return full("this document has too many connections");
        }
        if self.conns.values().filter(|other| other.user == grant.holder.user_id).count()
            >= settings.max_connections_per_user_per_document
        {
            return full("you have too many connections to this document; close some tabs");
        }
        if !grant.can_write
            && self.conns.values().filter(|other| !other.can_write).count() >= settings.max_read_only_per_document
        {
            return full("this document has too many read-only connections");
        }
        Ok(grant)
    }

    fn revise(&mut self, conn: ConnId, revision: Revision, batch: &mut Batch) {
        match revision {
            Revision::ReadOnly => {
                if let Some(connection) = self.conns.get_mut(&conn) {
                    connection.can_write = false;
                    // y-protocols' "permission denied": clients may show it; their edits
                    // are dropped from here on whether they do or not.
                    let denied = Message::Auth(Some("you may no longer edit this document".into()));
                    batch.frames.push((To::One(conn), frame(denied)));
                }
            }
            Revision::Close { code, reason } => {
                if let Some(connection) = self.leave(conn, batch) {
                    let _ = connection.out.try_send(Outgoing::Close { code, reason });
                }
            }
        }
    }

    fn incoming(&mut self, conn: ConnId, message: Incoming, batch: &mut Batch) {
        let Some(connection) = self.conns.get(&conn) else { return };
        match message {
            Incoming::SyncStep1(state_vector) => {
                let update = self.awareness.doc().transact().encode_diff_v1(&state_vector);
                batch.frames.push((To::One(conn), frame(Message::Sync(SyncMessage::SyncStep2(update)))));
            }
            // Viewers may listen, never write: their updates are dropped unread.
            Incoming::Update { .. } if !connection.can_write => {}
            Incoming::Update { raw, update, answer } => {
                if update.is_empty() {
                    return;
                }
                let user = connection.user;
                let doc = self.awareness.doc();
                let held = self.held.get_or_insert_with(|| doc.transact().state_vector());
                let outcome = integrate(doc, update, held);
                if let Integration::Applied = outcome {
                    self.version += 1;
                }
                let version = self.version;
                let Some(connection) = self.conns.get_mut(&conn) else { return };
                match outcome {
                    Integration::Applied => {
                        // An answer holds whatever of the client's was set aside before it.
                        connection.waiting &= !answer;
                        batch.frames.push((To::AllBut(conn), frame(Message::Sync(SyncMessage::Update(raw.clone())))));
                        batch.updates.push(raw);
                        self.credit(user);
                    }
                    // Its sender is asked for everything past what the document holds,
                    // unless it was asked so already and its answer is to come.
                    Integration::Ahead if connection.asked == version => connection.waiting = true,
                    Integration::Ahead => {
                        connection.asked = version;
                        connection.waiting = false;
                        let held = self.held();
                        batch.frames.push((To::One(conn), frame(Message::Sync(SyncMessage::SyncStep1(held)))));
                    }
                    // yrs places block by block, so part of it may have stayed: the doc
                    // is rebuilt from storage before anything else is handled.
                    Integration::Refused(reason) => {
                        batch.poisoned = true;
                        batch.closes.push((conn, 1007, reason));
                    }
                }
            }
            Incoming::Awareness(update) => {
                let taken: HashSet<u64> = self
                    .conns
                    .iter()
                    .filter(|(id, _)| **id != conn)
                    .flat_map(|(_, other)| other.clients.iter().copied())
                    .collect();
                let Some(connection) = self.conns.get_mut(&conn) else { return };
                let Some(update) = presence::own(update, &taken, &mut connection.clients, &connection.username) else {
                    return;
                };
                if self.awareness.apply_update(update.clone()).is_ok() {
                    batch.frames.push((To::AllBut(conn), frame(Message::Awareness(update))));
                }
            }
            Incoming::AwarenessQuery => {
                if let Ok(update) = self.awareness.update() {
                    batch.frames.push((To::One(conn), frame(Message::Awareness(update))));
                }
            }
        }
    }

    /// Removes a connection and its presence; returns it.
    fn leave(&mut self, conn: ConnId, batch: &mut Batch) -> Option<Conn> {
        let mut connection = self.conns.remove(&conn)?;
        let clients: Vec<u64> = connection.clients.drain().collect();
        for client in &clients {
            self.awareness.remove_state(ClientID::new(*client));
        }
        if let Ok(update) = self.awareness.update_with_clients(clients.iter().map(|client| ClientID::new(*client))) {
            if !update.clients.is_empty() {
                batch.frames.push((To::All, frame(Message::Awareness(update))));
            }
        }
        Some(connection)
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
            let before = self.awareness.doc().transact().state_vector();
            for update in &external {
                if let Err(err) = store::apply_stored(self.awareness.doc(), update) {
                    err.log();
                }
            }
            store::drop_pending(self.awareness.doc());
            self.changed();
            let doc = self.awareness.doc().transact();
            if doc.state_vector() != before {
                batch.frames.push((To::All, frame(Message::Sync(SyncMessage::Update(doc.encode_diff_v1(&before))))));
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

    /// Asks clients with an update set aside for what they have, once the document has
    /// changed since they were last asked: what it lacked may have arrived meanwhile.
    fn ask_waiting(&mut self, batch: &mut Batch) {
        if !self.conns.values().any(|connection| connection.waiting) {
            return;
        }
        let (held, version) = (self.held(), self.version);
        for (conn, connection) in &mut self.conns {
            if connection.waiting && connection.asked != version {
                connection.asked = version;
                connection.waiting = false;
                batch.frames.push((To::One(*conn), frame(Message::Sync(SyncMessage::SyncStep1(held.clone())))));
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
        let doc = self.awareness.doc();
        self.held.get_or_insert_with(|| doc.transact().state_vector()).clone()
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
