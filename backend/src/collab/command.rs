//! What is said to a document's actor, and what it says back to its connections.

use bytes::Bytes;
use charter_types::UserId;
use tokio::sync::{mpsc, oneshot};
use yrs::sync::AwarenessUpdate;
use yrs::{StateVector, Update};

use crate::error::Error;

pub(super) type ConnId = u64;

/// Why a request to the actor did not succeed.
#[derive(Debug)]
pub(super) enum Refusal {
    /// The actor was shutting down; ask again (a fresh actor will answer).
    Unloading,
    Failed(Error),
}

/// A connection joining; who it is and what it may do are in its grant.
#[derive(Clone)]
pub(super) struct Join {
    pub conn: ConnId,
    pub out: mpsc::Sender<Outgoing>,
}

/// Access a connection lost while open.
#[derive(Clone, Debug)]
pub(super) enum Revision {
    /// It may follow along but no longer write; the client is told.
    ReadOnly,
    Close {
        code: u16,
        reason: String,
    },
}

pub(super) enum Command {
    Join {
        join: Join,
        reply: oneshot::Sender<Result<(), Refusal>>,
    },
    Incoming {
        conn: ConnId,
        message: Incoming,
    },
    Leave {
        conn: ConnId,
    },
    Revise {
        conn: ConnId,
        revision: Revision,
    },
    Replace {
        text: String,
        author: UserId,
        reply: oneshot::Sender<Result<(), Refusal>>,
    },
    /// An update made elsewhere (a merge) to apply, store and pass on like a client's.
    Apply {
        update: Vec<u8>,
        author: UserId,
        reply: oneshot::Sender<Result<(), Refusal>>,
    },
    /// The text and its log position, answered once its batch is stored (never unstored text).
    Read {
        reply: oneshot::Sender<(String, i64)>,
    },
    /// The log may have rows from other instances.
    CatchUp,
    /// The server is stopping: store what came before, bring the Markdown projection up
    /// to date, and end.
    Stop,
}

/// A decoded client message. Updates arrive decoded (decoding happens on the
/// connection's task) along with their bytes, which are what gets stored and relayed.
pub(super) enum Incoming {
    SyncStep1(StateVector),
    /// `answer`: sync step 2, everything the client had past what it was asked with.
    Update {
        raw: Vec<u8>,
        update: Update,
        answer: bool,
    },
    Awareness(AwarenessUpdate),
    AwarenessQuery,
}

pub(super) enum Outgoing {
    Frame(Bytes),
    Close { code: u16, reason: String },
}
