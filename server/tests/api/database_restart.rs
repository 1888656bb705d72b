//! The database restarts under a running server: while it is gone the server stays up
//! and answers 503 with `Retry-After` (no hang, no crash); afterwards its pool and its
//! notification listener reconnect, and clients converge with every edit that was
//! acknowledged. The database is a private cluster of the test's own (`scripts/pg`),
//! so that stopping it touches no other test.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::header::RETRY_AFTER;
use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::harness::{read, PASSWORD};
use crate::peer::Peer;
use crate::process::serve_on;

const CLUSTER: &str = "restart-test";

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg")
}

/// Runs `scripts/pg` with `args`; its output.
async fn pg(args: &[&str]) -> String {
    let mut command = std::process::Command::new(script());
    command.args(args);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    assert!(out.status.success(), "scripts/pg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Stops the cluster however the test ends: left running, its server would keep
/// whatever the test process had open (it inherits it).
struct Cluster;

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new(script()).args(["stop", CLUSTER]).status();
    }
}

/// Signs up at `base`: a client holding the session, and its cookie.
async fn sign_up(base: &str, username: &str) -> (Client, String) {
    let client = Client::builder().cookie_store(true).timeout(Duration::from_secs(60)).build().unwrap();
    let answer = client
        .post(format!("{base}/api/v1/auth/signup"))
        .header("origin", base)
        .json(&json!({ "username": username, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED);
    let cookie = answer.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    (client, cookie)
}

#[tokio::test]
async fn a_database_restart_is_a_503_meanwhile_and_loses_nothing_acknowledged() {
    let _cluster = Cluster;
    let url = pg(&["start", CLUSTER]).await;
    let server = url.rsplit_once('/').unwrap().0.to_owned();
    let database = format!("restart_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&format!("{server}/postgres")).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {database}")).execute(&admin).await.unwrap();
    let url = format!("{server}/{database}");
    let (mut first, first_base) = serve_on(&url, &[]).await;
    let (mut second, second_base) = serve_on(&url, &[]).await;

    let (ada, cookie) = sign_up(&first_base, "ada").await;
    let (status, project) = read(
        ada.post(format!("{first_base}/api/v1/projects"))
            .header("origin", &first_base)
            .json(&json!({ "name": "P" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let body = json!({ "title": "Spec", "kind": "spec", "content": "" });
    let documents = format!("{first_base}/api/v1/projects/{}/documents", project["id"].as_str().unwrap());
    let (status, doc) =
        read(ada.post(&documents).header("origin", &first_base).json(&body).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED);
    let doc = doc["id"].as_str().unwrap().to_owned();

    let mut editor = Peer::joined_at(&first_base, &cookie, &doc).await;
    let mut witness = Peer::joined_at(&second_base, &cookie, &doc).await;
    editor.insert(0, "before;").await;
    witness.until("the edit crosses instances", |peer| peer.text() == "before;").await;

    // The database goes away.
    pg(&["stop", CLUSTER]).await;
    editor.insert(0, "during;").await;
    let started = Instant::now();
    let answer = ada.get(format!("{first_base}/api/v1/projects")).send().await.unwrap();
    let waited = started.elapsed();
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.headers()[RETRY_AFTER], "5");
    // The instance knew already (its listener lost its connection): the call did not
    // wait out the pool's 10 s acquire timeout.
    assert!(waited < Duration::from_secs(5), "answered after {waited:?}");
    let health = Client::new().get(format!("{second_base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    // Pages and editors' sockets as well.
    let page = Client::new().get(format!("{second_base}/")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(page.headers()[RETRY_AFTER], "5");
    assert!(page.text().await.unwrap().contains("cannot reach its database"), "a page a person can read");
    let socket = Client::new().get(format!("{second_base}/collab/{doc}")).send().await.unwrap();
    assert_eq!(socket.status(), StatusCode::SERVICE_UNAVAILABLE);
    println!("with the database down, an API call was answered 503 after {waited:?}");

    // It comes back: both servers (still the same processes) answer again, and their
    // listeners relay again.
    pg(&["start", CLUSTER]).await;
    let back = Instant::now();
    for base in [&first_base, &second_base] {
        let mut healthy = false;
        for _ in 0..100 {
            if Client::new().get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
                healthy = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(healthy, "{base} answers again");
    }
    println!("both servers healthy {:?} after the database was back", back.elapsed());
    assert!(first.try_wait().unwrap().is_none() && second.try_wait().unwrap().is_none(), "neither server exited");
    let answer = ada.get(format!("{first_base}/api/v1/projects")).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);

    // Editors whose connections dropped reconnect with what they have; all converge, and
    // an edit on one instance reaches the other through the reconnected listener.
    let (kept_editor, kept_witness) = (editor.doc.clone(), witness.doc.clone());
    let mut editor = Peer::rejoined_at(&first_base, &cookie, &doc, kept_editor).await;
    let mut witness = Peer::rejoined_at(&second_base, &cookie, &doc, kept_witness).await;
    editor.insert(0, "after;").await;
    witness.until("everything arrives", |peer| peer.text() == "after;during;before;").await;
    let fresh = Peer::joined_at(&second_base, &cookie, &doc).await;
    assert_eq!(fresh.text(), "after;during;before;");
    first.kill().await.unwrap();
    second.kill().await.unwrap();
    drop((editor, witness, fresh));
    let admin = sqlx::PgPool::connect(&format!("{server}/postgres")).await.unwrap();
    sqlx::query(&format!("DROP DATABASE {database} WITH (FORCE)")).execute(&admin).await.unwrap();
    admin.close().await;
}
