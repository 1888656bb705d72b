//! The actor's side of its connections: joining, access changes, what a client says,
//! leaving, and asking clients for what the document lacks.

use std::collections::HashSet;

use tokio::sync::oneshot;
use yrs::sync::{Message, SyncMessage};
use yrs::{ClientID, ReadTxn, Transact};

use super::{frame, kept, Actor, Batch, Conn, To};
use crate::collab::command::{ConnId, Incoming, Join, Outgoing, Refusal, Revision};
use crate::collab::integrate::{integrate, Integration};
use crate::collab::{lock, presence, Grant};
use crate::error::Error;

impl Actor {
    pub(super) fn join(&mut self, join: Join, reply: oneshot::Sender<Result<(), Refusal>>, batch: &mut Batch) {
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

    pub(super) fn revise(&mut self, conn: ConnId, revision: Revision, batch: &mut Batch) {
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

    pub(super) fn incoming(&mut self, conn: ConnId, message: Incoming, batch: &mut Batch) {
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
                let outcome = integrate(doc, update, kept(&mut self.held, doc));
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
    pub(super) fn leave(&mut self, conn: ConnId, batch: &mut Batch) -> Option<Conn> {
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

    /// Asks clients with an update set aside for what they have, once the document has
    /// changed since they were last asked: what it lacked may have arrived meanwhile.
    pub(super) fn ask_waiting(&mut self, batch: &mut Batch) {
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
}
