//! `charter serve` stops safely on SIGTERM: it stops accepting, closes editor
//! connections with "going away" (1001) once what they sent is stored, brings open
//! documents' Markdown up to date, and exits cleanly within its grace period.

use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::collab::{spec, stored_text};
use crate::harness::TestApp;
use crate::peer::Peer;
use crate::process::serve;

/// How long the process is given to stop.
const GRACE_SECONDS: u64 = 5;

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn sigterm_closes_sockets_as_going_away_after_storing_their_edits(db: PgPool) {
    // Accounts and the document are made through an in-process server on the same database.
    let app = TestApp::spawn(db.clone()).await;
    let (_, cookie, _, doc) = spec(&app, "v1").await;
    let grace = GRACE_SECONDS.to_string();
    let (mut process, base) = serve(&db, &[("CHARTER_SHUTDOWN_SECONDS", &grace)]).await;
    // Its log, read as it is written (a full pipe would stop the server).
    let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
    let log = tokio::spawn(async move {
        let mut log = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            log.push_str(&line);
            log.push('\n');
        }
        log
    });

    let mut editor = Peer::joined_at(&base, &cookie, &doc).await;
    let mut witness = Peer::joined_at(&base, &cookie, &doc).await;
    editor.insert(2, " seen").await;
    witness.until("the edit is seen", |peer| peer.text() == "v1 seen").await;
    // An edit still on its way when the signal comes: stored if the server read it.
    editor.insert(7, " racing").await;

    let pid = process.id().expect("running").to_string();
    let signalled = Instant::now();
    let sent = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success());
    assert_eq!(witness.closed_with().await, 1001, "{:?}", witness.closed);
    assert_eq!(editor.closed_with().await, 1001, "{:?}", editor.closed);
    let status = tokio::time::timeout(Duration::from_secs(GRACE_SECONDS + 10), process.wait())
        .await
        .expect("the server exits within its grace period")
        .unwrap();
    let took = signalled.elapsed();
    assert!(status.success(), "{status:?}");
    let log = log.await.unwrap();
    assert!(log.contains("shut down cleanly"), "{log}");
    println!("SIGTERM to exit: {took:?}");

    // What anyone saw is stored; the racing edit is stored whole or not at all.
    let stored = stored_text(&app, &doc).await;
    assert!(stored == "v1 seen" || stored == "v1 seen racing", "{stored:?}");
    // And the Markdown projection was brought up to date before the process ended.
    let (projected,): (String,) = sqlx::query_as("SELECT content FROM branch_documents WHERE document_id = $1::uuid")
        .bind(&doc)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(projected, stored);
}
