//! Clients spread over two `charter serve` processes on one database, one of them
//! killed (SIGKILL) mid-way: its clients reconnect to the other, as y-websocket does,
//! and every client and the stored state end with every edit anyone made.

use std::time::Duration;

use sqlx::PgPool;

use crate::collab::{spec, stored_text};
use crate::harness::{eventually, TestApp};
use crate::peer::Peer;
use crate::process::serve;

const PEERS: usize = 6;
const ROUNDS: usize = 30;
const KILLED_AFTER: usize = 15;

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_killed_instance_loses_no_edit_its_clients_made(db: PgPool) {
    // Accounts and the document are made through an in-process server on the same database.
    let app = TestApp::spawn(db.clone()).await;
    let (_, cookie, _, doc) = spec(&app, "").await;
    let (mut doomed, doomed_base) = serve(&db, &[]).await;
    let (_survivor, survivor_base) = serve(&db, &[]).await;
    let mut peers = Vec::new();
    for n in 0..PEERS {
        let base = if n % 2 == 0 { &doomed_base } else { &survivor_base };
        peers.push(Peer::joined_at(base, &cookie, &doc).await);
    }

    let mut tokens = Vec::new();
    for round in 0..ROUNDS {
        for (n, peer) in peers.iter_mut().enumerate() {
            let token = format!("<{round}.{n}>");
            peer.insert(0, &token).await;
            tokens.push(token);
        }
        if round + 1 == KILLED_AFTER {
            // Mid-stream: the last round's edits may still be on their way.
            doomed.start_kill().unwrap();
            doomed.wait().await.unwrap();
            for n in (0..PEERS).step_by(2) {
                let kept = peers[n].doc.clone();
                peers[n] = Peer::rejoined_at(&survivor_base, &cookie, &doc, kept).await;
            }
        }
    }

    let everything = |peer: &Peer| {
        let text = peer.text();
        tokens.iter().all(|token| text.contains(token.as_str()))
    };
    for peer in &mut peers {
        peer.until("every edit arrives", everything).await;
    }
    let text = peers[0].text();
    assert!(peers.iter().all(|peer| peer.text() == text), "the clients converge");
    eventually("every edit is stored", Duration::from_secs(5), || async { stored_text(&app, &doc).await == text })
        .await;
    println!(
        "two instances, one killed after round {KILLED_AFTER} of {ROUNDS}: {} edits by {PEERS} clients, 0 lost",
        tokens.len()
    );
}
