//! Updates that build on what the document does not hold. An honest client's edit that
//! overtook its sync reply is kept; forged ones never set the server's text, a joining
//! client's and the stored state apart, and nothing sent after a refused one is taken.

use std::time::Duration;

use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use yrs::sync::{Message, SyncMessage};
use yrs::types::text::TextPrelim;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Array, ClientID, Doc, Out, ReadTxn, StateVector, Text, Transact, Update};

use crate::collab::{spec, stored_text};
use crate::harness::TestApp;
use crate::peer::{raw_socket, Peer, WAIT};
use crate::socket_fuzz::hello_world;

/// Ada edits offline, comes back, and types once more before she answers the server's
/// question; that edit reaches the server first. With `busy`, someone else edits after
/// the question and before that edit. Returns how many questions she answered.
async fn overtaking_edit(busy: bool, db: PgPool) -> usize {
    let app = TestApp::spawn(db).await;
    let (_, cookie, _, doc) = spec(&app, "# Login\n").await;
    let mut watcher = Peer::joined(&app, &cookie, &doc).await;
    let ada = Peer::joined(&app, &cookie, &doc).await;
    let kept = ada.doc.clone();
    ada.close().await;
    let text = kept.get_or_insert_text("content");
    text.insert(&mut kept.transact_mut(), 8, "Offline. ");

    let mut ada = Peer::connect(&app, &cookie, &doc, None).await.expect("the socket opens");
    ada.doc = kept;
    let mut expected = "# Login\nOffline. Online.".to_owned();
    if busy {
        // The question asked at joining, left unanswered for now.
        ada.question().await;
        watcher.insert(0, "> ").await;
        let mut third = Peer::joined(&app, &cookie, &doc).await;
        third.until("the other edit is in", |peer| peer.text().starts_with("> ")).await;
        expected.insert_str(0, "> ");
    }
    ada.insert(17, "Online.").await;

    ada.until("a question is answered", |peer| peer.questions == 1).await;
    watcher.until("both of Ada's edits arrive", |peer| peer.text() == expected).await;
    ada.quiet_for(Duration::from_millis(200)).await;
    assert!(ada.closed.is_none(), "Ada stays connected: {:?}", ada.closed);
    assert_eq!(stored_text(&app, &doc).await, expected);
    ada.questions
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn an_edit_that_overtakes_its_sync_reply_is_kept(db: PgPool) {
    // The answer to the question asked at joining brings it: no second question.
    assert_eq!(overtaking_edit(false, db).await, 1);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_client_is_asked_again_once_the_document_changed(db: PgPool) {
    // The first answer is not coming: only the second question brings her edits.
    assert_eq!(overtaking_edit(true, db).await, 1);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn an_edit_set_aside_is_asked_for_once_what_it_builds_on_arrives(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (_, cookie, _, doc) = spec(&app, "# Login\n").await;
    let mut watcher = Peer::joined(&app, &cookie, &doc).await;
    let mut first = Peer::joined(&app, &cookie, &doc).await;
    let mut second = Peer::joined(&app, &cookie, &doc).await;
    let asked = second.questions;

    // Two tabs of one browser: the first's edit reaches the second over their broadcast
    // channel before it reaches the server, and the second deletes part of it.
    let text = first.doc.get_or_insert_text("content");
    let before = first.doc.transact().state_vector();
    text.insert(&mut first.doc.transact_mut(), 8, "Draft: log in.");
    let typed = first.doc.transact().encode_diff_v1(&before);
    second.doc.transact_mut().apply_update(Update::decode_v1(&typed).unwrap()).unwrap();
    second.edit(|doc, text| text.remove_range(&mut doc.transact_mut(), 8, 7)).await;
    // Nothing of it can be placed, and the second tab's answer is in: set aside.
    assert!(second.quiet_for(Duration::from_millis(200)).await);
    assert_eq!(second.questions, asked, "not asked while nothing changed");

    first.send(Message::Sync(SyncMessage::Update(typed))).await;
    second.until("asked once the first tab's edit is in", |peer| peer.questions == asked + 1).await;
    watcher.until("the deletion arrives", |peer| peer.text() == "# Login\nlog in.").await;
    assert_eq!(stored_text(&app, &doc).await, "# Login\nlog in.");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn forged_clocks_leave_what_joiners_get_as_stored(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (_, cookie, _, doc) = spec(&app, "target").await;
    let mut watcher = Peer::joined(&app, &cookie, &doc).await;
    let mut forger = Peer::joined(&app, &cookie, &doc).await;

    // Client 7's update, then its blocks claimed again at clocks 16 and 9. Taken as yrs
    // takes them, the one at 16 left a hole in client 7's clock: the server held
    // "wworldworldtarget" while a joining client decoded "worldwworldtarget".
    let (whole, _, _) = hello_world();
    // One client with two blocks, client 7, then the first block's clock.
    assert_eq!(whole[..4], [1, 2, 7, 0]);
    for clock in [0, 16, 9] {
        let mut update = whole.clone();
        update[3] = clock;
        forger.send(Message::Sync(SyncMessage::Update(update))).await;
    }
    // An edit of its own after them shows that all three were handled.
    forger.insert(0, "!").await;
    watcher.until("the forger's last edit arrives", |peer| peer.text().contains('!')).await;

    let joiner = Peer::joined(&app, &cookie, &doc).await;
    assert!(watcher.text().contains("worldworld"), "the forged text was taken: {}", watcher.text());
    assert_eq!(joiner.text(), watcher.text(), "a joiner gets what the others hold");
    assert_eq!(stored_text(&app, &doc).await, watcher.text(), "and what is stored");
}

fn typed(doc: &Doc, at: u32, chunk: &str) -> Update {
    let before = doc.transact().state_vector();
    doc.get_or_insert_text("content").insert(&mut doc.transact_mut(), at, chunk);
    Update::decode_v1(&doc.transact().encode_diff_v1(&before)).unwrap()
}

/// Client 7's letters, which a document can place, and client 8's letter inside a text
/// that client 7 is said to have made where its letters are. yrs places the letters,
/// finds that the container is not one and refuses the rest: part of the update stays
/// (nothing waits as pending). Also client 7's doc, to go on typing.
fn refused_update() -> (Update, Doc) {
    let seven = Doc::with_client_id(7);
    let letters = typed(&seven, 0, "abc");
    let (other_seven, eight) = (Doc::with_client_id(7), Doc::with_client_id(8));
    let list = other_seven.get_or_insert_array("list");
    list.insert(&mut other_seven.transact_mut(), 0, TextPrelim::new(""));
    eight
        .transact_mut()
        .apply_update(Update::decode_v1(&other_seven.transact().encode_diff_v1(&StateVector::default())).unwrap())
        .unwrap();
    let before = eight.transact().state_vector();
    let nested = eight.get_or_insert_array("list").get(&eight.transact(), 0);
    let Some(Out::YText(nested)) = nested else { panic!("a text in the list") };
    nested.insert(&mut eight.transact_mut(), 0, "x");
    let letter = Update::decode_v1(&eight.transact().encode_diff_v1(&before)).unwrap();
    (Update::merge_updates(vec![letters, letter]), seven)
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn nothing_sent_after_a_refused_update_is_taken(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (_, cookie, _, doc) = spec(&app, "target").await;
    let mut forger = Peer::joined(&app, &cookie, &doc).await;
    let logged = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM document_updates WHERE document_id = $1::uuid")
            .bind(&doc)
            .fetch_one(&app.db)
            .await
            .unwrap()
    };
    let before = logged().await;

    // In the same frame as the refused update, client 7's next letter, which builds
    // only on the part of it that yrs placed.
    let (refused, seven) = refused_update();
    let next = typed(&seven, 3, "d");
    let mut frame = Message::Sync(SyncMessage::Update(refused.encode_v1())).encode_v1();
    frame.extend(Message::Sync(SyncMessage::Update(next.encode_v1())).encode_v1());
    forger.send_raw(frame).await;

    assert_eq!(forger.closed_with().await, 1007);
    assert_eq!(logged().await, before, "neither update is stored");
    let joiner = Peer::joined(&app, &cookie, &doc).await;
    assert_eq!(joiner.text(), "target");
    assert_eq!(stored_text(&app, &doc).await, "target");
    assert_eq!(joiner.doc.transact().state_vector().get(&ClientID::new(7)), 0, "nothing of client 7 is held");
}

/// A masked client frame (with a zero mask, which leaves the payload as it is).
fn masked(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x80 | opcode];
    match u8::try_from(payload.len()) {
        Ok(len) if len < 126 => frame.push(0x80 | len),
        _ => {
            frame.push(0x80 | 126);
            frame.extend(u16::try_from(payload.len()).unwrap().to_be_bytes());
        }
    }
    frame.extend([0; 4]);
    frame.extend(payload);
    frame
}

/// Reads the server's frames until the connection ends; whether one was a close.
async fn closed_with_a_frame(stream: &mut TcpStream) -> bool {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    let ended = tokio::time::timeout(WAIT, async {
        while let Ok(read @ 1..) = stream.read(&mut buffer).await {
            bytes.extend_from_slice(&buffer[..read]);
        }
    })
    .await;
    assert!(ended.is_ok(), "the server ends the connection");
    let mut at = 0;
    while at + 2 <= bytes.len() {
        let (opcode, len) = (bytes[at] & 0x0f, u64::from(bytes[at + 1] & 0x7f));
        let (len, header) = match len {
            126 => (u64::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]])), 4),
            127 => (u64::from_be_bytes(bytes[at + 2..at + 10].try_into().unwrap()), 10),
            len => (len, 2),
        };
        if opcode == 0x8 {
            return true;
        }
        at += header + usize::try_from(len).unwrap();
    }
    false
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_client_closing_as_its_update_is_refused_gets_an_answer(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (_, cookie, _, doc) = spec(&app, "target").await;
    for _ in 0..5 {
        let mut stream = raw_socket(&app, &cookie, &doc).await;
        // The refused update and the client's close in one write. The server, on this
        // test's single thread, reads both before its actor refuses the update, so the
        // client's close comes first and must still be answered.
        let (refused, _) = refused_update();
        let mut frames = masked(0x2, &Message::Sync(SyncMessage::Update(refused.encode_v1())).encode_v1());
        frames.extend(masked(0x8, &1000u16.to_be_bytes()));
        stream.write_all(&frames).await.unwrap();
        assert!(closed_with_a_frame(&mut stream).await, "a close frame before the connection ends");
    }
}
