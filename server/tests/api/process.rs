//! `charter serve` as a process of its own, on a test's database: what can be killed,
//! signalled and run twice, as in production.

use std::process::Stdio;
use std::time::Duration;

use sqlx::PgPool;
use tokio::process::{Child, Command};

/// `charter serve` on the test's database with `env` besides, ready to answer: the
/// process (its log on stdout, piped) and its address.
pub async fn serve(db: &PgPool, env: &[(&str, &str)]) -> (Child, String) {
    let server = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let server = server.rsplit_once('/').map_or(server.as_str(), |(server, _)| server);
    let database = db.connect_options().get_database().expect("the test's database").to_owned();
    serve_on(&format!("{server}/{database}"), env).await
}

/// `charter serve` on the database at `url`, as [`serve`].
pub async fn serve_on(url: &str, env: &[(&str, &str)]) -> (Child, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_charter"))
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_OUTPUT_NAME", "charter")
        .env("CHARTER_EMBEDDINGS", "off")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
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

/// A loopback port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
