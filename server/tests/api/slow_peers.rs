//! Peers that stop reading, or come and go by the thousand: the document drops a peer
//! that cannot keep up without the others noticing, tells it so once it reads again,
//! and connections that end leave nothing behind.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sqlx::PgPool;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::WebSocketStream;
use yrs::{Text, Transact};

use crate::collab::spec;
use crate::harness::{test_settings, TestApp};
use crate::peer::{raw_socket, Peer};

/// Each edit replaces the text with this many bytes, so a peer that does not read
/// fills its socket's buffers quickly.
const EDIT_BYTES: usize = 32 * 1024;

/// Sends `count` edits one after another, each waiting until every reader has it;
/// returns how long each took to reach them all, sorted.
async fn edits(writer: &mut Peer, readers: &mut [Peer], first: usize, count: usize) -> Vec<Duration> {
    let mut took = Vec::with_capacity(count);
    for n in first..first + count {
        let marker = format!("{n:08}");
        let text = format!("{marker}{}", "x".repeat(EDIT_BYTES));
        let started = Instant::now();
        writer
            .edit(|doc, content| {
                let mut txn = doc.transact_mut();
                let length = content.len(&txn);
                content.remove_range(&mut txn, 0, length);
                content.insert(&mut txn, 0, &text);
            })
            .await;
        for reader in readers.iter_mut() {
            reader.until("the edit arrives", |peer| peer.text().starts_with(&marker)).await;
        }
        took.push(started.elapsed());
    }
    took.sort();
    took
}

fn p99(sorted: &[Duration]) -> Duration {
    sorted[(sorted.len() * 99 / 100).min(sorted.len() - 1)]
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_peer_that_stops_reading_is_dropped_without_slowing_the_others(db: PgPool) {
    // Silence would end the stalled peer too, in time: here only its full queue may.
    let mut settings = test_settings();
    settings.collab.idle_timeout = Duration::from_secs(600);
    let app = TestApp::spawn_with(db, settings).await;
    let (_, cookie, _, doc) = spec(&app, "").await;
    let mut writer = Peer::joined(&app, &cookie, &doc).await;
    let mut readers = Vec::new();
    for _ in 0..3 {
        readers.push(Peer::joined(&app, &cookie, &doc).await);
    }
    let without = edits(&mut writer, &mut readers, 0, 200).await;

    // A peer joins and never reads: its buffers fill, then its queue (1,024 frames).
    let stalled = raw_socket(&app, &cookie, &doc).await;
    let with = edits(&mut writer, &mut readers, 200, 1_400).await;
    println!(
        "edit to 3 readers: p99 {:?} without a stalled peer, {:?} with one ({:.2}x); median {:?} / {:?}",
        p99(&without),
        p99(&with),
        p99(&with).as_secs_f64() / p99(&without).as_secs_f64(),
        without[without.len() / 2],
        with[with.len() / 2],
    );

    // Once it reads again it gets what was queued for it, then a close saying why.
    let mut stalled = WebSocketStream::from_raw_socket(stalled, Role::Client, None).await;
    let closed = tokio::time::timeout(Duration::from_secs(30), async {
        let mut frames = 0usize;
        while let Some(message) = stalled.next().await {
            match message {
                Ok(Ws::Close(frame)) => return (frames, frame.map(|frame| u16::from(frame.code))),
                Ok(_) => frames += 1,
                Err(err) => panic!("the stalled peer's connection broke: {err}"),
            }
        }
        (frames, None)
    })
    .await
    .expect("the stalled peer is closed");
    println!("the stalled peer got {} frames, then close {:?}", closed.0, closed.1);
    assert_eq!(closed.1, Some(1013), "too slow; reconnect");
    assert!(closed.0 < 1_400, "it was dropped before the end: {} frames", closed.0);

    // The others kept everything, and keep editing.
    let after = edits(&mut writer, &mut readers, 1_600, 5).await;
    assert_eq!(after.len(), 5);
}

/// This process's resident memory, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_thousand_connections_that_come_and_go_leave_nothing_behind(db: PgPool) {
    let mut settings = test_settings();
    settings.collab.idle_unload = Duration::from_millis(200);
    let app = TestApp::spawn_with(db, settings).await;
    let (_, cookie, _, doc) = spec(&app, "shared").await;
    let cycle = |n: usize| {
        let (app, cookie, doc) = (&app, &cookie, &doc);
        async move {
            let mut peer = Peer::joined(app, cookie, doc).await;
            if n.is_multiple_of(10) {
                peer.insert(0, "+").await;
            }
            peer.close().await;
        }
    };
    for n in 0..50 {
        cycle(n).await;
    }
    let before = rss_kib();
    let started = Instant::now();
    for n in 0..1_000 {
        cycle(n).await;
    }
    let took = started.elapsed();
    // Nothing of theirs stays open: every grant is gone and the document unloads.
    crate::harness::eventually("every connection is let go", Duration::from_secs(10), || async {
        app.collab.open_connections() == 0
    })
    .await;
    crate::harness::eventually("the document leaves memory", Duration::from_secs(10), || async {
        app.collab.open_documents() == 0
    })
    .await;
    let after = rss_kib();
    println!(
        "1,000 connect/edit/disconnect cycles in {took:?}: RSS {before} KiB before, {after} KiB after ({:+} KiB)",
        after as i64 - before as i64
    );
    let reader = Peer::joined(&app, &cookie, &doc).await;
    assert_eq!(reader.text(), format!("{}shared", "+".repeat(105)));
}
