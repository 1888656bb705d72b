//! `charter serve` stops safely on SIGTERM: it stops accepting, closes editor
//! connections with "going away" (1001) once what they sent is stored, and exits
//! cleanly within its grace period.

use std::process::Stdio;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::collab::{spec, stored_text};
use crate::harness::TestApp;
use crate::peer::Peer;

/// How long the process is given to stop.
const GRACE_SECONDS: u64 = 5;

/// `charter serve` on the test's database, ready to answer.
async fn serve(db: &PgPool) -> (Child, String) {
    let server = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let server = server.rsplit_once('/').map_or(server.as_str(), |(server, _)| server);
    let database = db.connect_options().get_database().expect("the test's database").to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_charter"))
        .arg("serve")
        .env("DATABASE_URL", format!("{server}/{database}"))
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_OUTPUT_NAME", "charter")
        .env("CHARTER_EMBEDDINGS", "off")
        .env("CHARTER_SHUTDOWN_SECONDS", GRACE_SECONDS.to_string())
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("charter serve starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return (child, base);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("charter serve did not become ready");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn sigterm_closes_sockets_as_going_away_after_storing_their_edits(db: PgPool) {
    // Accounts and the document are made through an in-process server on the same database.
    let app = TestApp::spawn(db.clone()).await;
    let (_, cookie, _, doc) = spec(&app, "v1").await;
    let (mut process, base) = serve(&db).await;

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
    let mut log = String::new();
    let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        log.push_str(&line);
        log.push('\n');
    }
    assert!(log.contains("shut down cleanly"), "{log}");
    println!("SIGTERM to exit: {took:?}");

    // What anyone saw is stored; the racing edit is stored whole or not at all.
    let stored = stored_text(&app, &doc).await;
    assert!(stored == "v1 seen" || stored == "v1 seen racing", "{stored:?}");
}
