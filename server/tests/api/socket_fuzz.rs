//! Hostile y-websocket traffic over real sockets: mutated messages of every kind (bit
//! flips, truncation, huge lengths, wrong types, updates of impossible structure,
//! oversized frames) on many connections at once. No frame takes the server down,
//! each connection it ends is ended with a protocol error code, and other documents'
//! clients carry on as if nothing happened.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use sqlx::PgPool;
use yrs::sync::{Awareness, Message, SyncMessage};
use yrs::updates::encoder::Encode;
use yrs::{Doc, ReadTxn, StateVector, Text, Transact};

use crate::collab::{spec, stored_text};
use crate::harness::{test_settings, TestApp};
use crate::peer::Peer;

/// Frames sent in all, over this many connections at a time.
const FRAMES: usize = 100_000;
const AT_ONCE: usize = 16;
/// Frames one connection sends at most before it ends.
const MAX_PER_CONNECTION: usize = 60;
/// The server's message limit for the test, well below the library's default.
const LIMIT: usize = 64 * 1024;

/// Client 7 typed "hello world" and deleted "hello ": the whole document as one update,
/// the deletion's delta, and the document.
pub fn hello_world() -> (Vec<u8>, Vec<u8>, Doc) {
    let doc = Doc::with_client_id(7);
    let text = doc.get_or_insert_text("content");
    text.insert(&mut doc.transact_mut(), 0, "hello world");
    let before = doc.transact().state_vector();
    text.remove_range(&mut doc.transact_mut(), 0, 6);
    let whole = doc.transact().encode_state_as_update_v1(&StateVector::default());
    let delta = doc.transact().encode_diff_v1(&before);
    (whole, delta, doc)
}

/// Valid messages of every kind, to mutate.
fn corpus() -> Vec<Vec<u8>> {
    let (whole, delta, doc) = hello_world();
    let mut awareness = Awareness::new(doc.clone());
    awareness.set_local_state(serde_json::json!({ "user": { "name": "x", "color": "#ff0000" } })).unwrap();
    let presence = awareness.update().unwrap();
    let state_vector = doc.transact().state_vector();
    let mut pair = Message::Sync(SyncMessage::SyncStep1(state_vector.clone())).encode_v1();
    pair.extend(Message::Sync(SyncMessage::Update(delta.clone())).encode_v1());
    vec![
        Message::Sync(SyncMessage::SyncStep1(StateVector::default())).encode_v1(),
        Message::Sync(SyncMessage::SyncStep1(state_vector)).encode_v1(),
        Message::Sync(SyncMessage::SyncStep2(whole.clone())).encode_v1(),
        Message::Sync(SyncMessage::Update(whole)).encode_v1(),
        Message::Sync(SyncMessage::Update(delta)).encode_v1(),
        Message::Awareness(presence).encode_v1(),
        Message::AwarenessQuery.encode_v1(),
        Message::Auth(Some("denied".into())).encode_v1(),
        pair,
    ]
}

/// A varint as lib0 writes it.
fn varint(mut n: u64, into: &mut Vec<u8>) {
    while n >= 0x80 {
        into.push((n as u8) | 0x80);
        n >>= 7;
    }
    into.push(n as u8);
}

/// One hostile frame: a valid message damaged in one of several ways.
fn mutate(rng: &mut StdRng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut frame = corpus.choose(rng).unwrap().clone();
    // Mostly small damage; now and then a frame over the limit.
    match rng.gen_range(0..64) {
        0..=11 => {
            for _ in 0..rng.gen_range(1..8) {
                let at = rng.gen_range(0..frame.len());
                frame[at] ^= 1 << rng.gen_range(0..8);
            }
        }
        12..=21 => frame.truncate(rng.gen_range(0..frame.len())),
        22..=31 => {
            // A length far beyond what follows.
            let mut huge = frame[..2.min(frame.len())].to_vec();
            varint(rng.gen_range(1u64 << 20..u64::MAX >> 1), &mut huge);
            huge.extend_from_slice(&frame[2.min(frame.len())..]);
            frame = huge;
        }
        32..=39 => frame[0] = rng.gen(),
        40..=49 => {
            // An update whose counts promise structure that is not there.
            let mut payload = Vec::new();
            for _ in 0..rng.gen_range(1..6) {
                varint(rng.gen_range(0..u64::from(u32::MAX)), &mut payload);
            }
            payload.extend((0..rng.gen_range(0..64)).map(|_| rng.gen::<u8>()));
            frame = vec![0, 2];
            varint(payload.len() as u64, &mut frame);
            frame.extend(payload);
        }
        50..=55 => {
            let other = mutate(rng, corpus);
            frame.extend(other);
        }
        56..=62 => frame = (0..rng.gen_range(0..2048)).map(|_| rng.gen()).collect(),
        _ => frame = vec![0; LIMIT + rng.gen_range(1..LIMIT)],
    }
    frame
}

/// A strange but well-formed frame, which the server takes without closing: a state
/// vector of made-up clients, a query, a message type of another server (skipped), or
/// presence that names nobody the connection speaks for.
fn benign(rng: &mut StdRng) -> Vec<u8> {
    let mut frame = Vec::new();
    match rng.gen_range(0..4) {
        0 => {
            let mut vector = Vec::new();
            let clients = rng.gen_range(0..4u64);
            varint(clients, &mut vector);
            for _ in 0..clients {
                varint(rng.gen_range(0..u64::from(u32::MAX)), &mut vector);
                varint(rng.gen_range(0..1_000_000), &mut vector);
            }
            frame.extend([0, 0]);
            varint(vector.len() as u64, &mut frame);
            frame.extend(vector);
        }
        1 => frame.push(3),
        2 => {
            let payload: Vec<u8> = (0..rng.gen_range(0..64)).map(|_| rng.gen()).collect();
            varint(rng.gen_range(4..200), &mut frame);
            varint(payload.len() as u64, &mut frame);
            frame.extend(payload);
        }
        _ => {
            let update =
                serde_json::json!({ "user": { "name": format!("n{}", rng.gen::<u16>()), "color": "#00ff00" } })
                    .to_string();
            let mut payload = Vec::new();
            varint(1, &mut payload);
            varint(rng.gen_range(1..u64::from(u32::MAX)), &mut payload);
            varint(rng.gen_range(0..100), &mut payload);
            varint(update.len() as u64, &mut payload);
            payload.extend(update.as_bytes());
            frame.push(1);
            varint(payload.len() as u64, &mut frame);
            frame.extend(payload);
        }
    }
    frame
}

/// How one hostile connection ended: the server's close code, or how it did not.
async fn attack(app: &TestApp, cookie: &str, doc: &str, frames: Vec<Vec<u8>>) -> u16 {
    let mut peer = Peer::joined(app, cookie, doc).await;
    for frame in frames {
        if peer.send_frame(frame).await.is_err() {
            break;
        }
    }
    // Ours, in case every frame was taken: the server then answers with a close of its own.
    let _ = peer.send_close().await;
    peer.closed_with().await
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn mutated_messages_on_many_sockets_close_only_their_own_connections(db: PgPool) {
    let mut settings = test_settings();
    settings.collab.max_message_bytes = LIMIT;
    settings.auth_attempts_per_ip = u32::MAX;
    let app = TestApp::spawn_with(db, settings).await;
    let (ada, cookie, project, doc) = spec(&app, "target").await;
    let other = app.document(&ada, &project, "Other", None).await;

    // Two people editing another document the whole time.
    let done = AtomicBool::new(false);
    let bystanders = {
        let (app, cookie, done) = (&app, cookie.clone(), &done);
        async move {
            let mut writer = Peer::joined(app, &cookie, other.id).await;
            let mut reader = Peer::joined(app, &cookie, other.id).await;
            let initial = reader.text();
            let mut slowest = Duration::ZERO;
            let mut edits = 0;
            while !done.load(Ordering::Relaxed) {
                let started = Instant::now();
                writer.insert(0, "a").await;
                edits += 1;
                let expected = format!("{}{initial}", "a".repeat(edits));
                reader.until("the bystander's edit arrives", |peer| peer.text() == expected).await;
                slowest = slowest.max(started.elapsed());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(writer.closed.is_none() && reader.closed.is_none(), "bystanders stay connected");
            (format!("{}{initial}", "a".repeat(edits)), edits, slowest, reader.text())
        }
    };

    // The frames follow from the seed; how they interleave across connections does not,
    // so a failing seed, given again, makes the failure likely rather than certain.
    let seed: u64 = std::env::var("CHARTER_SOCKET_FUZZ_SEED")
        .map_or_else(|_| rand::random(), |seed| seed.parse().expect("CHARTER_SOCKET_FUZZ_SEED is a number"));
    println!("socket fuzz seed {seed} (CHARTER_SOCKET_FUZZ_SEED)");
    let corpus = corpus();
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let storm = async {
        let mut codes: BTreeMap<u16, usize> = BTreeMap::new();
        let (mut sent, mut connections) = (0usize, 0usize);
        let mut running = futures_util::stream::FuturesUnordered::new();
        while sent < FRAMES || !running.is_empty() {
            while sent < FRAMES && running.len() < AT_ONCE {
                // Strange but well-formed frames, then (mostly) a damaged one.
                let count = rng.gen_range(1..=MAX_PER_CONNECTION).min(FRAMES - sent);
                let mut frames: Vec<Vec<u8>> = (1..count).map(|_| benign(&mut rng)).collect();
                frames.push(if rng.gen_bool(0.9) { mutate(&mut rng, &corpus) } else { benign(&mut rng) });
                sent += frames.len();
                connections += 1;
                running.push(attack(&app, &cookie, &doc, frames));
            }
            if let Some(code) = running.next().await {
                *codes.entry(code).or_default() += 1;
            }
        }
        done.store(true, Ordering::Relaxed);
        (sent, connections, codes)
    };
    let ((sent, connections, codes), (expected, edits, slowest, other_text)) = tokio::join!(storm, bystanders);
    println!(
        "{sent} hostile frames over {connections} connections in {:?}; close codes {codes:?}; \
         a bystander's {edits} edits on another document each arrived within {slowest:?}",
        started.elapsed()
    );
    // 1005: every frame taken (harmless after all) and our close answered; 1007 malformed,
    // 1009 too big. Never 1011 (the server failed), 1013 (it fell behind) or 1006 (the
    // connection dropped without a close frame).
    let unexpected: Vec<_> = codes.keys().filter(|code| ![1005, 1007, 1009].contains(*code)).collect();
    assert!(unexpected.is_empty(), "connections ended otherwise: {codes:?}");
    assert!(codes.get(&1007).copied().unwrap_or(0) > connections / 2, "most mutations are refused: {codes:?}");
    assert!(codes.get(&1005).copied().unwrap_or(0) > 0, "well-formed frames are taken: {codes:?}");

    // The server stands; the attacked document still converges; the other kept every edit.
    let health = app.bare().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let check = Peer::joined(&app, &cookie, &doc).await;
    assert_eq!(check.text(), stored_text(&app, &doc).await, "what the server holds is what it stored");
    assert_eq!(other_text, expected);
    assert_eq!(stored_text(&app, &other.id.to_string()).await, other_text);
}
