//! Open editor connections lose what their holders lose: removing a member, revoking a
//! token, logging out, ending sessions, deleting a document or a branch closes their
//! sockets or makes them read-only at once, on every instance, and what they send after
//! that is not stored.

use std::time::Duration;

use charter_types::{Project, Role};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::collab::{spec, stored_text};
use crate::harness::{call, test_settings, TestApp};
use crate::peer::Peer;

/// Closed because the credential no longer authenticates, or because access is gone.
const SIGNED_OUT: u16 = 4401;
const NO_ACCESS: u16 = 4403;

/// ada's spec "base" with bob as an editor of the project.
async fn shared_spec(app: &TestApp) -> (Client, String, Project, String, Client, String) {
    let (ada, ada_cookie, project, doc) = spec(app, "base").await;
    let (bob, bob_cookie) = app.signup_with_cookie("bob").await;
    app.add_member(&ada, &project, "bob", Role::Editor).await;
    (ada, ada_cookie, project, doc, bob, bob_cookie)
}

fn project_url(app: &TestApp, project: &Project, rest: &str) -> String {
    app.url(&format!("/api/v1/projects/{}{rest}", project.id))
}

/// Has `peer` show its presence and waits until `witness` sees it; returns its client id.
async fn present(peer: &mut Peer, witness: &mut Peer) -> u64 {
    peer.announce(json!({ "user": { "color": "#30bced" }, "cursor": null })).await;
    let client = peer.doc.client_id().get();
    witness.until("the presence arrives", |w| w.awareness.get(&client).is_some_and(|state| state != "null")).await;
    client
}

/// Waits until the server has let `peer` go (its presence is cleared for `witness`),
/// then has `peer`, which has not read the close yet, send an edit anyway: the server
/// closed it with `code`, and nothing of the edit reaches anyone or is stored.
async fn cut_off(app: &TestApp, doc: &str, peer: &mut Peer, client: u64, witness: &mut Peer, code: u16) {
    witness
        .until("the server lets the peer go", |w| w.awareness.get(&client).is_some_and(|state| state == "null"))
        .await;
    let before = stored_text(app, doc).await;
    peer.insert(0, "LATE ").await;
    assert_eq!(peer.closed_with().await, code, "{:?}", peer.closed);
    assert!(witness.quiet_for(Duration::from_millis(300)).await, "the late edit reaches no one");
    assert_eq!(stored_text(app, doc).await, before, "and is not stored");
}

/// The socket stays open but `peer` may no longer write: it is told, and what it sends
/// is dropped, while it still sees others' edits.
async fn made_read_only(app: &TestApp, doc: &str, peer: &mut Peer, witness: &mut Peer) {
    peer.until("the client is told it may no longer edit", |p| p.denied.is_some()).await;
    let before = stored_text(app, doc).await;
    peer.insert(0, "LATE ").await;
    assert!(witness.quiet_for(Duration::from_millis(300)).await, "the edit reaches no one");
    assert_eq!(stored_text(app, doc).await, before, "and is not stored");
    witness.insert(0, "still ").await;
    peer.until("it still follows along", |p| p.text().contains("still ")).await;
    assert!(peer.closed.is_none());
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn removing_a_member_closes_their_sockets(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (ada, ada_cookie, project, doc, _, bob_cookie) = shared_spec(&app).await;
    let mut witness = Peer::joined(&app, &ada_cookie, &doc).await;
    let mut bob = Peer::joined(&app, &bob_cookie, &doc).await;
    let client = present(&mut bob, &mut witness).await;

    let (status, _) = call(&ada, Method::DELETE, &project_url(&app, &project, "/members/bob"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    cut_off(&app, &doc, &mut bob, client, &mut witness, NO_ACCESS).await;
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_member_made_viewer_keeps_reading_but_no_longer_writes(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (ada, ada_cookie, project, doc, _, bob_cookie) = shared_spec(&app).await;
    let mut witness = Peer::joined(&app, &ada_cookie, &doc).await;
    let mut bob = Peer::joined(&app, &bob_cookie, &doc).await;
    bob.insert(0, "ok ").await;
    witness.until("an editor's edit lands", |w| w.text() == "ok base").await;

    app.add_member(&ada, &project, "bob", Role::Viewer).await;
    made_read_only(&app, &doc, &mut bob, &mut witness).await;
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn revoking_a_token_closes_its_sockets(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (ada, ada_cookie, _, doc) = spec(&app, "base").await;
    let body = json!({ "name": "agent", "scopes": ["read", "write"] });
    let (status, created) = call(&ada, Method::POST, &app.url("/api/v1/tokens"), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED);
    let mut witness = Peer::joined(&app, &ada_cookie, &doc).await;
    let mut agent = Peer::with_token(&app, created["token"].as_str().unwrap(), &doc).await.unwrap();
    agent.sync().await;
    let client = present(&mut agent, &mut witness).await;

    let url = app.url(&format!("/api/v1/tokens/{}", created["id"].as_str().unwrap()));
    let (status, _) = call(&ada, Method::DELETE, &url, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    cut_off(&app, &doc, &mut agent, client, &mut witness, SIGNED_OUT).await;
    assert!(witness.closed.is_none(), "the session that revoked it stays");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn logging_out_closes_the_sessions_sockets(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (_, ada_cookie, _, doc, bob, bob_cookie) = shared_spec(&app).await;
    let mut witness = Peer::joined(&app, &ada_cookie, &doc).await;
    let mut bob_peer = Peer::joined(&app, &bob_cookie, &doc).await;
    let client = present(&mut bob_peer, &mut witness).await;

    let (status, _) = call(&bob, Method::POST, &app.url("/api/v1/auth/logout"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    cut_off(&app, &doc, &mut bob_peer, client, &mut witness, SIGNED_OUT).await;
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn ending_a_users_sessions_closes_their_sockets_and_signs_them_out(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (_, ada_cookie, _, doc, bob, bob_cookie) = shared_spec(&app).await;
    let mut witness = Peer::joined(&app, &ada_cookie, &doc).await;
    let mut bob_peer = Peer::joined(&app, &bob_cookie, &doc).await;
    let client = present(&mut bob_peer, &mut witness).await;

    // What a password change does.
    let bob_id: charter_types::UserId =
        sqlx::query_scalar("SELECT id FROM users WHERE username = 'bob'").fetch_one(&app.db).await.unwrap();
    let mut tx = app.db.begin().await.unwrap();
    charter_backend::accounts::end_other_sessions(&mut tx, bob_id).await.unwrap();
    tx.commit().await.unwrap();
    cut_off(&app, &doc, &mut bob_peer, client, &mut witness, SIGNED_OUT).await;
    let (status, _) = call(&bob, Method::GET, &app.url("/api/v1/me"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the session no longer signs bob in");
    let (status, _) = call(&app.browser(), Method::GET, &app.url("/api/v1/me"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn deleting_a_document_makes_its_sockets_read_only(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (ada, ada_cookie, _, doc, _, bob_cookie) = shared_spec(&app).await;
    let mut witness = Peer::joined(&app, &ada_cookie, &doc).await;
    let mut bob = Peer::joined(&app, &bob_cookie, &doc).await;

    let (status, _) = call(&ada, Method::DELETE, &app.url(&format!("/api/v1/documents/{doc}")), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // The deleted document is read-only for everyone, as it is to a new connection.
    witness.until("the deleter is told too", |w| w.denied.is_some()).await;
    bob.until("bob is told", |p| p.denied.is_some()).await;
    let before = stored_text(&app, &doc).await;
    bob.insert(0, "LATE ").await;
    witness.insert(0, "LATE ").await;
    assert!(bob.quiet_for(Duration::from_millis(300)).await);
    assert_eq!(stored_text(&app, &doc).await, before, "nothing is stored");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn deleting_a_branch_closes_its_sockets(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (ada, ada_cookie, project, doc, _, bob_cookie) = shared_spec(&app).await;
    let (status, _) =
        call(&ada, Method::POST, &project_url(&app, &project, "/branches"), Some(json!({ "name": "draft" }))).await;
    assert_eq!(status, StatusCode::CREATED);
    let path = format!("/collab/{doc}?branch=draft");
    let mut bob = Peer::connect_to(&app, &bob_cookie, &path, None).await.unwrap();
    bob.sync().await;
    let mut on_main = Peer::joined(&app, &ada_cookie, &doc).await;

    let (status, _) = call(&ada, Method::DELETE, &project_url(&app, &project, "/branches/draft"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(bob.closed_with().await, NO_ACCESS);
    assert!(on_main.quiet_for(Duration::from_millis(300)).await && on_main.closed.is_none(), "main is untouched");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_change_on_one_instance_closes_sockets_on_another(db: PgPool) {
    let one = TestApp::spawn(db).await;
    let two = one.another(test_settings()).await;
    let (ada, ada_cookie, project, doc, _, bob_cookie) = shared_spec(&one).await;
    let mut witness = Peer::joined(&two, &ada_cookie, &doc).await;
    let mut bob = Peer::joined(&two, &bob_cookie, &doc).await;
    let client = present(&mut bob, &mut witness).await;

    let (status, _) = call(&ada, Method::DELETE, &project_url(&one, &project, "/members/bob"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    cut_off(&two, &doc, &mut bob, client, &mut witness, NO_ACCESS).await;
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn access_lost_without_an_announcement_is_found_by_the_periodic_check(db: PgPool) {
    let mut settings = test_settings();
    settings.collab.access_recheck_interval = Duration::from_millis(200);
    let app = TestApp::spawn_with(db, settings).await;
    let (_, ada_cookie, _, doc, _, bob_cookie) = shared_spec(&app).await;
    let mut witness = Peer::joined(&app, &ada_cookie, &doc).await;
    let mut bob = Peer::joined(&app, &bob_cookie, &doc).await;
    let client = present(&mut bob, &mut witness).await;

    // As if the announcement were lost: the row goes, nobody is told.
    sqlx::query("DELETE FROM project_members WHERE user_id = (SELECT id FROM users WHERE username = 'bob')")
        .execute(&app.db)
        .await
        .unwrap();
    cut_off(&app, &doc, &mut bob, client, &mut witness, NO_ACCESS).await;
}
