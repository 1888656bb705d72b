//! A co-editing WebSocket, once its holder is admitted: one task reading (and
//! decoding) the client's messages and one writing what the document's actor sends.
//! The server pings; a connection that stops answering, or sends a message too slowly,
//! is closed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tracing::Instrument;
use yrs::encoding::read::{Cursor, Read};
use yrs::sync::AwarenessUpdate;
use yrs::updates::decoder::Decode;
use yrs::{StateVector, Update};

use super::actor::OUTBOX;
use super::command::{Command, ConnId, Incoming, Join, Outgoing};
use super::gate::NO_ACCESS;
use super::Admission;
use crate::error::Error;

/// Takes over an admitted connection's WebSocket: the document's messages flow until
/// either side closes, the connection falls silent, or its access ends.
pub fn accept(upgrade: WebSocketUpgrade, admission: Admission) -> Response {
    let limit = admission.hub.settings().max_message_bytes;
    // The socket lives on in tasks of its own: its log lines keep the request's id.
    let span = tracing::Span::current();
    upgrade
        // Twice the limit: larger frames and messages are cut off by the codec; up to it
        // we read the message and close with a clear reason.
        .max_message_size(limit * 2)
        .max_frame_size(limit * 2)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .on_upgrade(move |socket| serve(socket, admission, limit).instrument(span))
}

/// The socket's read buffer, which stays resident for each connection and is zero-filled
/// up to its size before every read: the codec's default (128 KiB) was most of what a
/// connection cost. y-websocket messages are mostly tens of bytes; a larger frame grows
/// the buffer to its own length (for the rest of the connection) and is read 4 KiB a call.
const READ_BUFFER: usize = 4 * 1024;

/// How much the socket's write buffer takes in before it writes to the socket (every
/// batch also ends with a flush). The buffer never gives back what it grew to: at the
/// codec's default (128 KiB), a burst of queued frames left a connection holding up to
/// that much for the rest of its life. It now holds about this much plus one frame; a
/// larger frame (a whole document's first sync) still grows it to that frame's length.
const WRITE_BUFFER: usize = 8 * 1024;

/// How long a client has to answer a close before its connection is dropped anyway.
const CLOSE_ANSWER: Duration = Duration::from_secs(5);
/// How long a client that sends nothing after our close is waited for.
const CLOSE_QUIET: Duration = Duration::from_secs(1);

/// Close codes (RFC 6455).
const GOING_AWAY: u16 = 1001;
const UNSUPPORTED: u16 = 1003;
const INVALID: u16 = 1007;
const TOO_BIG: u16 = 1009;
const UNAVAILABLE: u16 = 1011;
const TRY_AGAIN: u16 = 1013;

async fn serve(socket: WebSocket, admission: Admission, limit: usize) {
    let hub = admission.hub.clone();
    let (mut sink, mut stream) = socket.split();
    let (out, outgoing) = mpsc::channel(OUTBOX);
    let conn = admission.conn;
    // The actor holds the only sender: when it lets go of a connection too slow to keep
    // up, the writer sends what is queued and closes, rather than leaving a socket open
    // whose edits the document no longer takes.
    let closer = out.downgrade();
    let actor = match hub.join(admission.key, Join { conn, out }).await {
        Ok(actor) => actor,
        Err(err) => {
            let (code, reason) = match err {
                Error::Conflict(why) => (TRY_AGAIN, why),
                Error::Forbidden(why) => (NO_ACCESS, why),
                _ => (TRY_AGAIN, "the document could not be opened".into()),
            };
            let _ = timeout(CLOSE_ANSWER, sink.send(close(code, reason))).await;
            close_answered(&mut stream).await;
            return;
        }
    };
    let settings = hub.settings();
    let mut writer =
        tokio::spawn(write(sink, outgoing, settings.ping_interval, settings.idle_timeout).in_current_span());
    let reader =
        Reader { actor: &actor, conn, can_write: admission.can_write, limit, idle_timeout: settings.idle_timeout };
    let (ending, writer_done) = reader.run(&mut stream, &mut writer, hub.inner.closing.started()).await;
    // Taken before leaving, so that the close below still has a way out.
    let out = closer.upgrade();
    let _ = actor.send(Command::Leave { conn }).await;
    let closed_here = writer_done || ending.is_some();
    if let (Some((code, reason)), Some(out)) = (ending, &out) {
        tracing::debug!(code, %reason, "closing collab connection");
        // Bounded: a full outbox waits for a writer that may be stalled itself.
        let _ = timeout(CLOSE_ANSWER, out.send(Outgoing::Close { code, reason })).await;
    }
    // The writer ends once the close is sent or every sender (ours, the actor's) is gone.
    drop(out);
    if !writer_done {
        let _ = writer.await;
    }
    if closed_here {
        close_answered(&mut stream).await;
    }
    drop(admission);
}

/// Reads on after our close until the client answers it or falls quiet, so that it
/// reads the close frame before the connection goes (closing a socket with unread input
/// resets it, and the client's kernel drops the frame). What it sends is dropped.
async fn close_answered(stream: &mut SplitStream<WebSocket>) {
    let _ =
        timeout(CLOSE_ANSWER, async { while let Ok(Some(Ok(_))) = timeout(CLOSE_QUIET, stream.next()).await {} }).await;
}

struct Reader<'a> {
    actor: &'a mpsc::Sender<Command>,
    conn: ConnId,
    /// As when the connection opened; the actor drops updates of those who lost it since.
    can_write: bool,
    limit: usize,
    idle_timeout: Duration,
}

impl Reader<'_> {
    /// Passes the client's messages to the actor until the connection ends (or, between
    /// two messages, the server starts shutting down); returns why it ends from this
    /// side (if it does), and whether the writer has already stopped.
    async fn run(
        &self,
        stream: &mut SplitStream<WebSocket>,
        writer: &mut JoinHandle<()>,
        shutting_down: impl std::future::Future<Output = ()>,
    ) -> (Option<(u16, String)>, bool) {
        let Reader { actor, conn, can_write, limit, idle_timeout } = *self;
        let mut shutting_down = std::pin::pin!(shutting_down);
        loop {
            let next = tokio::select! {
                // Any whole message, a pong included, shows the client is there.
                next = timeout(idle_timeout, stream.next()) => next,
                // The writer stopped: the connection was closed from this side, or broke.
                _ = &mut *writer => return (None, true),
                () = &mut shutting_down => {
                    return (Some((GOING_AWAY, "the server is restarting; reconnect".into())), false);
                }
            };
            let frame = match next {
                Err(_) => {
                    let silence = format!("nothing heard for {} s", idle_timeout.as_secs_f32());
                    return (Some((GOING_AWAY, silence)), false);
                }
                Ok(None | Some(Ok(WsMessage::Close(_)))) => return (None, false),
                Ok(Some(Err(_))) => return (Some((TOO_BIG, format!("message over {limit} bytes, or broken"))), false),
                Ok(Some(Ok(WsMessage::Binary(bytes)))) => bytes,
                Ok(Some(Ok(WsMessage::Text(_)))) => {
                    return (Some((UNSUPPORTED, "binary y-websocket messages only".into())), false)
                }
                Ok(Some(Ok(_))) => continue,
            };
            if frame.len() > limit {
                return (Some((TOO_BIG, format!("message over {limit} bytes"))), false);
            }
            let messages = match decode(&frame, can_write) {
                Ok(messages) => messages,
                Err(why) => return (Some((INVALID, why)), false),
            };
            for message in messages {
                if actor.send(Command::Incoming { conn, message }).await.is_err() {
                    return (Some((UNAVAILABLE, "the document closed; reconnect".into())), false);
                }
            }
        }
    }
}

/// Sends what the actor has for the client, and a ping now and then. A write that
/// makes no progress for `stall` (a client that stopped reading) ends the connection.
async fn write(
    mut sink: SplitSink<WebSocket, WsMessage>,
    mut outgoing: mpsc::Receiver<Outgoing>,
    ping_interval: Duration,
    stall: Duration,
) {
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_interval, ping_interval);
    loop {
        let first = tokio::select! {
            message = outgoing.recv() => match message {
                Some(message) => message,
                // Every sender is gone: the actor let go of a connection that fell too
                // far behind, which is told so, or the client closed, whose close is
                // answered when the sink closes (a close of our own is refused then).
                None => {
                    let _ = timeout(stall, sink.send(close(TRY_AGAIN, "too slow; reconnect".into()))).await;
                    let _ = timeout(stall, sink.close()).await;
                    return;
                }
            },
            _ = ping.tick() => {
                let sent = timeout(stall, sink.send(WsMessage::Ping(Bytes::new()))).await;
                if !went_out(&mut sink, sent, stall).await {
                    return;
                }
                continue;
            }
        };
        // Everything already waiting goes out with one flush (one write, under load).
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Outgoing::Frame(bytes) => {
                    let fed = timeout(stall, sink.feed(WsMessage::Binary(bytes))).await;
                    if !went_out(&mut sink, fed, stall).await {
                        return;
                    }
                }
                Outgoing::Close { code, reason } => {
                    // Refused if the client's close was read first: closing the sink
                    // then sends the answer to it, which would otherwise be lost.
                    let sent = timeout(stall, sink.send(close(code, reason))).await;
                    went_out(&mut sink, sent, stall).await;
                    return;
                }
            }
            next = outgoing.try_recv().ok();
        }
        let flushed = timeout(stall, sink.flush()).await;
        if !went_out(&mut sink, flushed, stall).await {
            return;
        }
    }
}

/// Whether the connection goes on after a write. A write the socket refused (most
/// likely the client's close was read meanwhile) ends it once the sink is closed, which
/// sends the close's answer; one that stalled ends it at once.
async fn went_out(
    sink: &mut SplitSink<WebSocket, WsMessage>,
    outcome: Result<Result<(), axum::Error>, tokio::time::error::Elapsed>,
    stall: Duration,
) -> bool {
    match outcome {
        Ok(Ok(())) => true,
        Ok(Err(_)) => {
            let _ = timeout(stall, sink.close()).await;
            false
        }
        Err(_) => false,
    }
}

fn close(code: u16, reason: String) -> WsMessage {
    // Close reasons are limited to 123 bytes.
    let mut reason = reason;
    while reason.len() > 120 {
        reason.pop();
    }
    WsMessage::Close(Some(CloseFrame { code, reason: reason.into() }))
}

/// y-protocol message types and sync steps.
const SYNC: u8 = 0;
const AWARENESS: u8 = 1;
const AUTH: u8 = 2;
const QUERY_AWARENESS: u8 = 3;
const STEP_1: u8 = 0;
const STEP_2: u8 = 1;
const UPDATE: u8 = 2;

/// Decodes one WebSocket message: any number of y-protocol messages back to back. The
/// framing is read here so that a truncated message is an error, not a quiet end; the
/// payloads are decoded by yrs. Viewers' document updates are dropped undecoded.
pub(super) fn decode(frame: &[u8], can_write: bool) -> std::result::Result<Vec<Incoming>, String> {
    let decoded = catch_unwind(AssertUnwindSafe(|| {
        let malformed = |err: yrs::encoding::read::Error| format!("malformed message: {err}");
        let mut cursor = Cursor::new(frame);
        let mut messages = Vec::new();
        while cursor.has_content() {
            let tag: u8 = cursor.read_var().map_err(malformed)?;
            match tag {
                SYNC => {
                    let step: u8 = cursor.read_var().map_err(malformed)?;
                    let payload = cursor.read_buf().map_err(malformed)?;
                    match step {
                        STEP_1 => {
                            messages.push(Incoming::SyncStep1(StateVector::decode_v1(payload).map_err(malformed)?))
                        }
                        STEP_2 | UPDATE if can_write => {
                            let update =
                                Update::decode_v1(payload).map_err(|err| format!("malformed update: {err}"))?;
                            messages.push(Incoming::Update { raw: payload.to_vec(), update, answer: step == STEP_2 });
                        }
                        STEP_2 | UPDATE => {}
                        other => return Err(format!("unknown sync step {other}")),
                    }
                }
                AWARENESS => {
                    let payload = cursor.read_buf().map_err(malformed)?;
                    messages.push(Incoming::Awareness(AwarenessUpdate::decode_v1(payload).map_err(malformed)?));
                }
                QUERY_AWARENESS => messages.push(Incoming::AwarenessQuery),
                // Permission messages go from server to client; nothing to do with one.
                AUTH => {
                    let denied: u8 = cursor.read_var().map_err(malformed)?;
                    if denied == 0 {
                        cursor.read_string().map_err(malformed)?;
                    }
                }
                // Extensions of other servers: skipped whole.
                _ => {
                    cursor.read_buf().map_err(malformed)?;
                }
            }
        }
        Ok(messages)
    }));
    decoded.unwrap_or_else(|_| Err("malformed message".into()))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use yrs::sync::{Message, SyncMessage};
    use yrs::updates::encoder::Encode;
    use yrs::{Doc, ReadTxn, Text, Transact};

    use super::*;

    fn an_update() -> Vec<u8> {
        let doc = Doc::new();
        let text = doc.get_or_insert_text("content");
        text.insert(&mut doc.transact_mut(), 0, "hello");
        let update = doc.transact().encode_state_as_update_v1(&StateVector::default());
        update
    }

    #[test]
    fn reads_back_to_back_messages() {
        let mut frame = Message::Sync(SyncMessage::SyncStep1(StateVector::default())).encode_v1();
        frame.extend(Message::Sync(SyncMessage::Update(an_update())).encode_v1());
        frame.extend(Message::AwarenessQuery.encode_v1());
        let messages = decode(&frame, true).unwrap();
        assert!(matches!(
            messages.as_slice(),
            [Incoming::SyncStep1(_), Incoming::Update { .. }, Incoming::AwarenessQuery]
        ));
        let as_viewer = decode(&frame, false).unwrap();
        assert_eq!(as_viewer.len(), 2, "a viewer's update is dropped");
    }

    #[test]
    fn truncated_and_unknown_messages_are_errors() {
        let whole = Message::Sync(SyncMessage::Update(an_update())).encode_v1();
        for cut in 1..whole.len() {
            assert!(decode(&whole[..cut], true).is_err(), "cut at {cut}");
        }
        assert!(decode(&[SYNC, 9, 0], true).is_err());
        assert!(decode(&[], true).unwrap().is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Hostile bytes never panic the decoder, and whatever it accepts applies to a
        /// document without panicking either.
        #[test]
        fn arbitrary_frames_decode_and_apply_without_panicking(frame in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(messages) = decode(&frame, true) {
                let doc = crate::collab::store::new_doc();
                for message in messages {
                    if let Incoming::Update { update, .. } = message {
                        let _ = catch_unwind(AssertUnwindSafe(|| doc.transact_mut().apply_update(update)));
                    }
                }
            }
        }

        /// Valid updates with bytes flipped: still no panic escapes the decoder.
        #[test]
        fn corrupted_updates_never_panic_the_decoder(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
            let mut frame = Message::Sync(SyncMessage::Update(an_update())).encode_v1();
            for (at, byte) in flips {
                let len = frame.len();
                frame[at % len] = byte;
            }
            let _ = decode(&frame, true);
        }
    }
}
