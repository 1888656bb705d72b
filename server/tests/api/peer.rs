//! A y-websocket client at the protocol level: a WebSocket and a Y.Doc, speaking the
//! same messages a stock Yjs client does.

use std::collections::HashMap;
use std::fmt::Display;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use yrs::sync::{Awareness, AwarenessUpdate, Message, MessageReader, SyncMessage};
use yrs::updates::decoder::{Decode, DecoderV1};
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Text, Transact, Update};

use crate::harness::TestApp;

pub struct Peer {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub doc: Doc,
    /// The latest awareness state (JSON) of every other client, by client id.
    pub awareness: HashMap<u64, String>,
    /// The close frame the server sent, if it closed.
    pub closed: Option<(u16, String)>,
    /// Why the server said this client may no longer edit, if it did.
    pub denied: Option<String>,
    /// How often the server asked for what it lacks (sync step 1), each answered.
    pub questions: usize,
}

pub const WAIT: Duration = Duration::from_secs(5);

impl Peer {
    /// Connects with a session cookie, from the site's own origin unless told otherwise.
    pub async fn connect(
        app: &TestApp,
        cookie: &str,
        document: impl Display,
        origin: Option<&str>,
    ) -> Result<Peer, String> {
        Peer::connect_to(app, cookie, &format!("/collab/{document}"), origin).await
    }

    pub async fn connect_to(app: &TestApp, cookie: &str, path: &str, origin: Option<&str>) -> Result<Peer, String> {
        let origin = origin.map_or_else(|| app.base.clone(), str::to_owned);
        Peer::open(&app.base, path, &[("cookie", cookie.to_owned()), ("origin", origin)]).await
    }

    /// Connects to the server at `base` (another process) and completes the initial sync.
    pub async fn joined_at(base: &str, cookie: &str, document: impl Display) -> Peer {
        let headers = [("cookie", cookie.to_owned()), ("origin", base.to_owned())];
        let mut peer = Peer::open(base, &format!("/collab/{document}"), &headers).await.expect("the socket opens");
        peer.sync().await;
        peer
    }

    /// Connects again to the server at `base` with the document it had, as a client
    /// that lost its connection does: what it has that the server lacks goes up in
    /// the sync.
    pub async fn rejoined_at(base: &str, cookie: &str, document: impl Display, doc: Doc) -> Peer {
        let headers = [("cookie", cookie.to_owned()), ("origin", base.to_owned())];
        let mut peer = Peer::open(base, &format!("/collab/{document}"), &headers).await.expect("the socket opens");
        peer.doc = doc;
        peer.sync().await;
        peer
    }

    /// Connects with an API token, as a script does (no cookie, no Origin).
    pub async fn with_token(app: &TestApp, token: &str, document: impl Display) -> Result<Peer, String> {
        Peer::open(&app.base, &format!("/collab/{document}"), &[("authorization", format!("Bearer {token}"))]).await
    }

    async fn open(base: &str, path: &str, headers: &[(&'static str, String)]) -> Result<Peer, String> {
        let url = format!("{}{path}", base.replace("http://", "ws://"));
        let mut request = url.into_client_request().unwrap();
        for (name, value) in headers {
            request.headers_mut().insert(*name, value.parse().unwrap());
        }
        // Without Nagle's algorithm, as browsers send: a small frame is not held back
        // waiting for the previous one's (delayed) acknowledgement.
        let (ws, _) =
            tokio_tungstenite::connect_async_with_config(request, None, true).await.map_err(|err| err.to_string())?;
        Ok(Peer { ws, doc: Doc::new(), awareness: HashMap::new(), closed: None, denied: None, questions: 0 })
    }

    /// Connects and completes the initial sync.
    pub async fn joined(app: &TestApp, cookie: &str, document: impl Display) -> Peer {
        let mut peer = Peer::connect(app, cookie, document, None).await.expect("the socket opens");
        peer.sync().await;
        peer
    }

    pub async fn send(&mut self, message: Message) {
        self.send_raw(message.encode_v1()).await;
    }

    pub async fn send_raw(&mut self, bytes: Vec<u8>) {
        let sent = self.ws.send(Ws::Binary(bytes.into())).await;
        // Once the server has closed, sending fails; tests that try check nothing arrived.
        assert!(sent.is_ok() || self.closed.is_some(), "send: {sent:?}");
    }

    /// Sends sync step 1 and waits for the server's step 2.
    pub async fn sync(&mut self) {
        let state_vector = self.doc.transact().state_vector();
        self.send(Message::Sync(SyncMessage::SyncStep1(state_vector))).await;
        let mut synced = false;
        tokio::time::timeout(WAIT, async {
            while !synced {
                for message in self.next_messages().await {
                    synced |= matches!(message, Message::Sync(SyncMessage::SyncStep2(_)));
                    self.handle(message).await;
                }
            }
        })
        .await
        .expect("the server answers sync step 1");
    }

    pub fn text(&self) -> String {
        let text = self.doc.get_or_insert_text("content");
        text.get_string(&self.doc.transact())
    }

    /// Edits the local doc and sends the edit as an update.
    pub async fn edit(&mut self, change: impl FnOnce(&Doc, &yrs::TextRef)) -> Vec<u8> {
        let before = self.doc.transact().state_vector();
        let text = self.doc.get_or_insert_text("content");
        change(&self.doc, &text);
        let update = self.doc.transact().encode_diff_v1(&before);
        self.send(Message::Sync(SyncMessage::Update(update.clone()))).await;
        update
    }

    pub async fn insert(&mut self, index: u32, chunk: &str) -> Vec<u8> {
        let chunk = chunk.to_owned();
        self.edit(move |doc, text| text.insert(&mut doc.transact_mut(), index, &chunk)).await
    }

    pub async fn announce(&mut self, state: serde_json::Value) {
        let mut awareness = Awareness::new(self.doc.clone());
        awareness.set_local_state(state).unwrap();
        let update = awareness.update().unwrap();
        self.send(Message::Awareness(update)).await;
    }

    /// Handles incoming messages until `done` holds (or fails after a while).
    pub async fn until(&mut self, what: &str, done: impl Fn(&Peer) -> bool) {
        let reached = tokio::time::timeout(WAIT, async {
            while !done(self) {
                if self.closed.is_some() {
                    return;
                }
                for message in self.next_messages().await {
                    self.handle(message).await;
                }
            }
        })
        .await;
        assert!(reached.is_ok() && done(self), "{what}: text is {:?}, closed {:?}", self.text(), self.closed);
    }

    /// Reads for a while and reports whether anything changed the text.
    pub async fn quiet_for(&mut self, duration: Duration) -> bool {
        let before = self.text();
        let _ = tokio::time::timeout(duration, async {
            loop {
                for message in self.next_messages().await {
                    self.handle(message).await;
                }
                if self.closed.is_some() {
                    return;
                }
            }
        })
        .await;
        self.text() == before
    }

    /// Waits for the server's next question (sync step 1) and leaves it unanswered.
    pub async fn question(&mut self) -> StateVector {
        let asked = tokio::time::timeout(WAIT, async {
            loop {
                for message in self.next_messages().await {
                    match message {
                        Message::Sync(SyncMessage::SyncStep1(state_vector)) => return state_vector,
                        other => self.handle(other).await,
                    }
                }
            }
        })
        .await;
        asked.expect("the server asks")
    }

    /// Sends a binary frame as it is: an error once the connection is gone.
    pub async fn send_frame(&mut self, bytes: Vec<u8>) -> Result<(), String> {
        self.ws.send(Ws::Binary(bytes.into())).await.map_err(|err| err.to_string())
    }

    /// Starts closing from this side (the server answers with a close of its own).
    pub async fn send_close(&mut self) -> Result<(), String> {
        self.ws.close(None).await.map_err(|err| err.to_string())
    }

    /// Closes the connection as a client does, and waits for the server's answer.
    pub async fn close(mut self) {
        self.ws.close(None).await.expect("the close is sent");
        let answered = tokio::time::timeout(WAIT, async { while let Some(Ok(_)) = self.ws.next().await {} }).await;
        assert!(answered.is_ok(), "the server answers the close");
    }

    /// Waits for the server to close the connection; returns its close code.
    pub async fn closed_with(&mut self) -> u16 {
        tokio::time::timeout(WAIT, async {
            while self.closed.is_none() {
                self.next_messages().await;
            }
        })
        .await
        .expect("the server closes the connection");
        self.closed.as_ref().unwrap().0
    }

    async fn next_messages(&mut self) -> Vec<Message> {
        match self.ws.next().await {
            Some(Ok(Ws::Binary(bytes))) => {
                let mut decoder = DecoderV1::from(bytes.as_ref());
                MessageReader::new(&mut decoder)
                    .map(|message| message.expect("the server sends valid messages"))
                    .collect()
            }
            Some(Ok(Ws::Close(frame))) => {
                let (code, reason) = frame
                    .map(|f| (u16::from(f.code), f.reason.to_string()))
                    .unwrap_or((u16::from(CloseCode::Status), String::new()));
                self.closed = Some((code, reason));
                Vec::new()
            }
            Some(Ok(_)) => Vec::new(),
            None | Some(Err(_)) => {
                self.closed.get_or_insert((1006, "connection dropped".into()));
                Vec::new()
            }
        }
    }

    async fn handle(&mut self, message: Message) {
        match message {
            Message::Sync(SyncMessage::SyncStep1(state_vector)) => {
                self.questions += 1;
                let update = self.doc.transact().encode_diff_v1(&state_vector);
                self.send(Message::Sync(SyncMessage::SyncStep2(update))).await;
            }
            Message::Sync(SyncMessage::SyncStep2(update) | SyncMessage::Update(update)) => {
                self.doc.transact_mut().apply_update(Update::decode_v1(&update).unwrap()).unwrap();
            }
            Message::Awareness(AwarenessUpdate { clients }) => {
                for (client, entry) in clients {
                    self.awareness.insert(client.get(), entry.json.to_string());
                }
            }
            Message::Auth(reason) => self.denied = reason,
            _ => {}
        }
    }
}

/// A WebSocket opened by hand, for writing frames no client library would: the
/// handshake is done and the server's answer read; the stream is at the first frame.
pub async fn raw_socket(app: &TestApp, cookie: &str, document: impl Display) -> TcpStream {
    let host = app.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).await.unwrap();
    let request = format!(
        "GET /collab/{document} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Cookie: {cookie}\r\nOrigin: {}\r\n\r\n",
        app.base
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    stream
}

/// Reads until the server closes the TCP connection (or times out): true if it did.
pub async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buffer = [0u8; 4096];
    tokio::time::timeout(WAIT, async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}
