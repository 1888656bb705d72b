//! Real-time co-editing at the protocol level.

use std::collections::HashMap;
use std::time::Duration;

use charter_backend::collab::{store, DocKey};
use charter_types::{BranchId, Document, Project, Role};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;
use yrs::sync::awareness::AwarenessUpdateEntry;
use yrs::sync::{AwarenessUpdate, Message};
use yrs::{ClientID, IndexedSequence, ReadTxn, Text, Transact};

use crate::harness::{call, eventually, expect, read, test_settings, TestApp};
use crate::peer::{closed_by_server, raw_socket, Peer};

/// A project owned by "ada" with one spec: ada's client and cookie, the project, the document id.
pub async fn spec(app: &TestApp, content: &str) -> (reqwest::Client, String, Project, String) {
    let (ada, cookie) = app.signup_with_cookie("ada").await;
    let project = app.project(&ada, "Payments").await;
    let body = json!({ "title": "Login", "kind": "spec", "content": content });
    let doc: Document = expect(&ada, Method::POST, &app.tree_url(&project), Some(body)).await;
    (ada, cookie, project, doc.id.to_string())
}

pub async fn key_of(app: &TestApp, document: &str) -> DocKey {
    let branch_id: BranchId = sqlx::query_scalar(
        "SELECT b.id FROM branches b JOIN documents d ON d.project_id = b.project_id WHERE d.id = $1::uuid AND b.name = 'main'",
    )
    .bind(document)
    .fetch_one(&app.db)
    .await
    .unwrap();
    DocKey { branch_id, document_id: document.parse().unwrap() }
}

pub async fn stored_text(app: &TestApp, document: &str) -> String {
    store::read_text(&app.db, key_of(app, document).await).await.unwrap()
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_late_joiner_syncs_and_edits_fan_out(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (_, cookie, _, doc) = spec(&app, "# Login\n").await;

    let mut first = Peer::joined(&app, &cookie, &doc).await;
    assert_eq!(first.text(), "# Login\n", "the initial sync brings the stored text");
    let mut second = Peer::joined(&app, &cookie, &doc).await;

    first.insert(8, "\nThe system SHALL log users in.").await;
    second.until("the edit fans out", |peer| peer.text().ends_with("SHALL log users in.")).await;
    second.insert(0, "<!-- draft -->\n").await;
    first.until("and back", |peer| peer.text().starts_with("<!-- draft -->")).await;

    let late = Peer::joined(&app, &cookie, &doc).await;
    assert_eq!(late.text(), first.text(), "a late joiner gets everything");
    assert_eq!(stored_text(&app, &doc).await, first.text(), "every edit is stored");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn awareness_is_shared_under_the_users_own_name_and_cleared_on_leave(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (_, cookie, _, doc) = spec(&app, "").await;
    let mut watcher = Peer::joined(&app, &cookie, &doc).await;
    let mut typist = Peer::joined(&app, &cookie, &doc).await;

    // A client may claim any name; the server shows who it really is.
    typist.announce(json!({ "user": { "name": "Mallory", "color": "#30bced" }, "cursor": null })).await;
    let client = typist.doc.client_id().get();
    watcher.until("the awareness state arrives", |peer| peer.awareness.contains_key(&client)).await;
    let state: Value = serde_json::from_str(&watcher.awareness[&client]).unwrap();
    assert_eq!(state["user"]["name"], "ada");
    assert_eq!(state["user"]["color"], "#30bced");

    let mut late = Peer::joined(&app, &cookie, &doc).await;
    late.send(Message::AwarenessQuery).await;
    late.until("a newcomer learns who is here", |peer| peer.awareness.contains_key(&client)).await;

    drop(typist);
    watcher
        .until("leaving clears the state", |peer| peer.awareness.get(&client).is_some_and(|json| json == "null"))
        .await;
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn viewers_follow_along_but_their_updates_are_dropped(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (ada, cookie, project, doc) = spec(&app, "base").await;
    let (_, viewer_cookie) = app.signup_with_cookie("vera").await;
    app.add_member(&ada, &project, "vera", Role::Viewer).await;

    let mut editor = Peer::joined(&app, &cookie, &doc).await;
    let mut viewer = Peer::joined(&app, &viewer_cookie, &doc).await;
    assert_eq!(viewer.text(), "base", "viewers read");

    viewer.insert(0, "VANDALISM ").await;
    assert!(editor.quiet_for(Duration::from_millis(500)).await, "a viewer's edit reaches no one");
    assert_eq!(stored_text(&app, &doc).await, "base", "and is not stored");

    editor.insert(4, "!").await;
    viewer.until("viewers see live changes", |peer| peer.text().contains("base!")).await;
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn strangers_anonymous_and_cross_site_pages_get_no_socket(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (_, cookie, _, doc) = spec(&app, "secret").await;
    let (_, stranger) = app.signup_with_cookie("mallory").await;

    let refused = Peer::connect(&app, &stranger, &doc, None).await.err().expect("non-members are refused");
    assert!(refused.contains("404"), "{refused}");
    let refused = Peer::connect(&app, "charter_session=forged", &doc, None).await.err().expect("anonymous is refused");
    assert!(refused.contains("401"), "{refused}");
    let refused =
        Peer::connect(&app, &cookie, &doc, Some("https://evil.example")).await.err().expect("cross-site refused");
    assert!(refused.contains("403"), "{refused}");
    let refused =
        Peer::connect(&app, &cookie, &Uuid::new_v4().to_string(), None).await.err().expect("unknown document");
    assert!(refused.contains("404"), "{refused}");
    let path = format!("/collab/{doc}?branch=nope");
    let refused = Peer::connect_to(&app, &cookie, &path, None).await.err().expect("unknown branch");
    assert!(refused.contains("404"), "{refused}");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn hostile_frames_close_only_their_own_connection(db: PgPool) {
    let mut settings = test_settings();
    settings.collab.max_message_bytes = 64 * 1024;
    let app = TestApp::spawn_with(db, settings).await;
    let (ada, cookie, project, doc) = spec(&app, "steady").await;
    let other = app.document(&ada, &project, "Other", None).await;
    let mut elsewhere = Peer::joined(&app, &cookie, other.id).await;
    let mut bystander = Peer::joined(&app, &cookie, &doc).await;

    let frames: Vec<(&str, Vec<u8>)> = vec![
        ("a truncated sync message", vec![0, 2, 200]),
        ("an update that is not one", {
            let mut bytes = vec![0, 2, 6];
            bytes.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
            bytes
        }),
        ("an unknown sync step", vec![0, 9, 0]),
        ("a huge length prefix", vec![0, 2, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        ("an oversized message", vec![1; 100 * 1024]),
    ];
    for (what, frame) in frames {
        let mut attacker = Peer::joined(&app, &cookie, &doc).await;
        attacker.send_raw(frame).await;
        let code = attacker.closed_with().await;
        assert!([1007, 1009, 1006].contains(&code), "{what} closes the connection (code {code})");
    }

    // The document, its other editors and other documents carry on.
    bystander.insert(0, "still ").await;
    let mut check = Peer::joined(&app, &cookie, &doc).await;
    check.until("the bystander's edit lands", |peer| peer.text() == "still steady").await;
    elsewhere.insert(0, "fine").await;
    let mut other_check = Peer::joined(&app, &cookie, other.id).await;
    other_check.until("other documents keep working", |peer| peer.text().starts_with("fine")).await;
    let (status, _) = call(&app.bare(), Method::GET, &app.url("/healthz"), None).await;
    assert_eq!(status, StatusCode::OK, "the server stays up");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn edits_survive_a_restart(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (_, cookie, _, doc) = spec(&app, "v1").await;
    let mut editor = Peer::joined(&app, &cookie, &doc).await;
    let mut witness = Peer::joined(&app, &cookie, &doc).await;
    editor.insert(2, " then v2").await;
    witness.until("the edit is seen", |peer| peer.text() == "v1 then v2").await;

    // A fresh server process on the same database knows nothing but what was stored.
    let restarted = app.another(test_settings()).await;
    let after = Peer::joined(&restarted, &cookie, &doc).await;
    assert_eq!(after.text(), "v1 then v2");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn compaction_folds_the_log_without_changing_the_state(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (_, cookie, _, doc) = spec(&app, "start").await;
    let mut editor = Peer::joined(&app, &cookie, &doc).await;
    for n in 0..30 {
        editor.insert(0, &format!("{n} ")).await;
    }
    editor.edit(|doc, text| text.remove_range(&mut doc.transact_mut(), 0, 3)).await;
    let expected = editor.text();
    let mut witness = Peer::joined(&app, &cookie, &doc).await;
    witness.until("all edits arrive", |peer| peer.text() == expected).await;

    let key = key_of(&app, &doc).await;
    let before = {
        let mut conn = app.db.acquire().await.unwrap();
        let (doc, _) = store::load(&mut conn, key).await.unwrap();
        let state_vector = doc.transact().state_vector();
        (store::text_of(&doc), state_vector)
    };
    let folded = store::compact(&app.db, key).await.unwrap();
    assert!(folded >= 31, "the log is folded ({folded} rows)");
    let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM document_updates WHERE document_id = $1::uuid")
        .bind(&doc)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    let mut conn = app.db.acquire().await.unwrap();
    let (after, _) = store::load(&mut conn, key).await.unwrap();
    assert_eq!(store::text_of(&after), before.0);
    assert_eq!(after.transact().state_vector(), before.1, "the same CRDT state, not just the same text");

    // Editing goes on across the compaction, for open and new connections alike.
    editor.insert(0, "after ").await;
    witness.until("edits after compaction arrive", |peer| peer.text().starts_with("after ")).await;
    let late = Peer::joined(&app, &cookie, &doc).await;
    assert_eq!(late.text(), witness.text());
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn two_instances_converge(db: PgPool) {
    let one = TestApp::spawn(db).await;
    let two = one.another(test_settings()).await;
    let (_, cookie, _, doc) = spec(&one, "").await;
    let mut on_one = Peer::joined(&one, &cookie, &doc).await;
    let mut on_two = Peer::joined(&two, &cookie, &doc).await;

    on_one.insert(0, "from one. ").await;
    on_two.until("instance two relays instance one's edit", |peer| peer.text() == "from one. ").await;
    on_two.insert(10, "from two.").await;
    on_one.until("and back", |peer| peer.text() == "from one. from two.").await;

    // Concurrent edits on both sides converge to one text.
    for n in 0..10 {
        on_one.insert(0, &format!("a{n}")).await;
        on_two.insert(0, &format!("b{n}")).await;
    }
    let settled = |peer: &Peer| peer.text().matches('a').count() == 10 && peer.text().matches('b').count() == 10;
    on_one.until("one has everything", settled).await;
    on_two.until("two has everything", settled).await;
    assert_eq!(on_one.text(), on_two.text());
    assert_eq!(stored_text(&one, &doc).await, on_one.text());
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn api_writes_arrive_live_as_minimal_edits(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (ada, cookie, _, doc) = spec(&app, "# Login\n\nUsers log in.\n").await;
    let mut editor = Peer::joined(&app, &cookie, &doc).await;
    // The editor's cursor sits inside "Users"; a minimal edit elsewhere keeps it there.
    let cursor = {
        let text = editor.doc.get_or_insert_text("content");
        let txn = editor.doc.transact();
        text.sticky_index(&txn, 11, yrs::Assoc::After).unwrap()
    };

    let url = app.url(&format!("/api/v1/documents/{doc}"));
    let (status, _) =
        call(&ada, Method::PUT, &format!("{url}/content"), Some(json!({ "content": "# Sign in\n\nUsers log in.\n" })))
            .await;
    assert_eq!(status, StatusCode::OK);
    editor.until("the API edit arrives live", |peer| peer.text() == "# Sign in\n\nUsers log in.\n").await;
    let offset = cursor.get_offset(&editor.doc.transact()).unwrap().index;
    assert_eq!(offset, 13, "the cursor stays on its letter, two characters on (\"Login\" became \"Sign in\")");

    let (_, body) = call(&ada, Method::GET, &url, None).await;
    assert_eq!(body["content"], "# Sign in\n\nUsers log in.\n");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn documents_from_before_real_time_editing_are_converted_once(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (_, cookie, _, doc) = spec(&app, "").await;
    let key = key_of(&app, &doc).await;
    // Make the document look like one written before CRDT state existed.
    sqlx::query("DELETE FROM document_snapshots WHERE document_id = $1")
        .bind(key.document_id)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("DELETE FROM document_updates WHERE document_id = $1")
        .bind(key.document_id)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE branch_documents SET content = 'legacy text' WHERE document_id = $1")
        .bind(key.document_id)
        .execute(&app.db)
        .await
        .unwrap();

    assert_eq!(charter_backend::content::convert_legacy(&app.db).await.unwrap(), 1);
    assert_eq!(charter_backend::content::convert_legacy(&app.db).await.unwrap(), 0, "never twice");
    let restarted = app.another(test_settings()).await;
    let mut peer = Peer::joined(&restarted, &cookie, &doc).await;
    assert_eq!(peer.text(), "legacy text");
    peer.insert(0, "new ").await;
    let mut again = Peer::joined(&restarted, &cookie, &doc).await;
    again.until("no duplicated text after reconnecting", |p| p.text() == "new legacy text").await;
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn the_markdown_projection_follows_live_edits_and_credits_the_editor(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (ada, cookie, project, doc) = spec(&app, "one").await;
    let mut editor = Peer::joined(&app, &cookie, &doc).await;
    editor.insert(3, " two").await;
    eventually("the projection catches up", Duration::from_secs(5), || async {
        let (content,): (String,) = sqlx::query_as("SELECT content FROM branch_documents WHERE document_id = $1::uuid")
            .bind(&doc)
            .fetch_one(&app.db)
            .await
            .unwrap();
        content == "one two"
    })
    .await;
    let activity = app.url(&format!("/api/v1/projects/{}/activity", project.id));
    let (_, entries) = call(&ada, Method::GET, &activity, None).await;
    assert_eq!(entries[0]["action"], "document.edit");
    assert_eq!(entries[0]["actor"], "ada");

    // More typing within the window adds no entry per keystroke.
    editor.insert(0, "zero ").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (_, again) = call(&ada, Method::GET, &activity, None).await;
    assert_eq!(again.as_array().unwrap().len(), entries.as_array().unwrap().len());
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn connections_are_limited_per_document(db: PgPool) {
    let mut settings = test_settings();
    settings.collab.max_connections_per_document = 2;
    let app = TestApp::spawn_with(db, settings).await;
    let (_, cookie, _, doc) = spec(&app, "").await;
    let _one = Peer::joined(&app, &cookie, &doc).await;
    let _two = Peer::joined(&app, &cookie, &doc).await;
    let mut three = Peer::connect(&app, &cookie, &doc, None).await.unwrap();
    assert_eq!(three.closed_with().await, 1013);
    assert!(three.closed.as_ref().unwrap().1.contains("too many"), "{:?}", three.closed);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn connections_are_limited_per_user(db: PgPool) {
    let mut settings = test_settings();
    settings.collab.max_connections_per_user = 2;
    let app = TestApp::spawn_with(db, settings).await;
    let (_, cookie, _, doc) = spec(&app, "").await;
    let first = Peer::joined(&app, &cookie, &doc).await;
    let _second = Peer::joined(&app, &cookie, &doc).await;
    let refused = Peer::connect(&app, &cookie, &doc, None).await.err().expect("a third connection is refused");
    assert!(refused.contains("409"), "{refused}");
    // Closing one frees its place.
    drop(first);
    eventually("a place frees up", Duration::from_secs(5), || async {
        Peer::connect(&app, &cookie, &doc, None).await.is_ok()
    })
    .await;
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn logs_of_documents_nobody_has_open_are_compacted_too(db: PgPool) {
    let mut settings = test_settings();
    settings.collab.compaction_interval = Duration::from_millis(200);
    settings.collab.compaction_threshold = 5;
    settings.collab.idle_unload = Duration::from_millis(100);
    let app = TestApp::spawn_with(db, settings).await;
    let (_, cookie, _, doc) = spec(&app, "").await;
    {
        let mut editor = Peer::joined(&app, &cookie, &doc).await;
        for n in 0..12 {
            editor.insert(0, &format!("{n}.")).await;
        }
        let mut witness = Peer::joined(&app, &cookie, &doc).await;
        witness.until("every edit is stored", |peer| peer.text().starts_with("11.")).await;
    }
    eventually("the background task folds the log", Duration::from_secs(10), || async {
        let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM document_updates WHERE document_id = $1::uuid")
            .bind(&doc)
            .fetch_one(&app.db)
            .await
            .unwrap();
        rows == 0
    })
    .await;
    let reader = Peer::joined(&app, &cookie, &doc).await;
    assert!(reader.text().starts_with("11.10.9."), "{}", reader.text());
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_document_nobody_has_open_leaves_memory_and_comes_back_on_the_next_join(db: PgPool) {
    let mut settings = test_settings();
    settings.collab.idle_unload = Duration::from_millis(300);
    let app = TestApp::spawn_with(db, settings).await;
    let (_, cookie, _, doc) = spec(&app, "").await;
    let key = key_of(&app, &doc).await;
    {
        let mut editor = Peer::joined(&app, &cookie, &doc).await;
        editor.insert(0, "kept").await;
        let mut witness = Peer::joined(&app, &cookie, &doc).await;
        witness.until("the edit arrives", |peer| peer.text() == "kept").await;
        assert!(app.collab.text_if_open(key).await.is_some(), "open while people are in it");
    }
    // Asking is using it (it stays another delay): ask less often than the delay.
    let mut unloaded = false;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if app.collab.text_if_open(key).await.is_none() {
            unloaded = true;
            break;
        }
    }
    assert!(unloaded, "the document stays in memory with nobody in it");
    // The next join loads it again, as it was.
    let reader = Peer::joined(&app, &cookie, &doc).await;
    assert_eq!(reader.text(), "kept");
    assert_eq!(app.collab.text_if_open(key).await.map(|(text, _)| text).as_deref(), Some("kept"));
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn viewers_cannot_lock_writers_out_of_a_document(db: PgPool) {
    let mut settings = test_settings();
    settings.collab.max_connections_per_document = 4;
    settings.collab.max_read_only_per_document = 2;
    settings.collab.max_connections_per_user_per_document = 3;
    let app = TestApp::spawn_with(db, settings).await;
    let (ada, cookie, project, doc) = spec(&app, "").await;
    let mut viewers = Vec::new();
    for name in ["vera", "wendy"] {
        let (_, viewer_cookie) = app.signup_with_cookie(name).await;
        app.add_member(&ada, &project, name, Role::Viewer).await;
        viewers.push(viewer_cookie);
    }

    let _vera = [Peer::joined(&app, &viewers[0], &doc).await, Peer::joined(&app, &viewers[0], &doc).await];
    for cookie in [&viewers[0], &viewers[1]] {
        let mut refused = Peer::connect(&app, cookie, &doc, None).await.unwrap();
        assert_eq!(refused.closed_with().await, 1013);
        assert!(refused.closed.as_ref().unwrap().1.contains("read-only"), "{:?}", refused.closed);
    }
    // The rest is kept for those who may write, the owner first among them.
    let mut owner = Peer::joined(&app, &cookie, &doc).await;
    let mut second = Peer::joined(&app, &cookie, &doc).await;
    owner.insert(0, "still mine").await;
    second.until("the owner edits", |peer| peer.text() == "still mine").await;
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn one_person_cannot_take_all_of_a_documents_connections(db: PgPool) {
    let mut settings = test_settings();
    settings.collab.max_connections_per_user_per_document = 2;
    let app = TestApp::spawn_with(db, settings).await;
    let (ada, cookie, project, doc) = spec(&app, "").await;
    let _tabs = [Peer::joined(&app, &cookie, &doc).await, Peer::joined(&app, &cookie, &doc).await];
    let mut third = Peer::connect(&app, &cookie, &doc, None).await.unwrap();
    assert_eq!(third.closed_with().await, 1013);
    assert!(third.closed.as_ref().unwrap().1.contains("too many connections to this document"), "{:?}", third.closed);
    // Another document, and another person, still get in.
    let other = app.document(&ada, &project, "Other", None).await;
    Peer::joined(&app, &cookie, other.id).await;
    let (_, bob) = app.signup_with_cookie("bob").await;
    app.add_member(&ada, &project, "bob", Role::Editor).await;
    Peer::joined(&app, &bob, &doc).await;
}

/// Timings short enough for a test: pings every 100 ms, silence ends a connection after 600 ms.
fn quick_timeouts() -> charter_backend::Settings {
    let mut settings = test_settings();
    settings.collab.ping_interval = Duration::from_millis(100);
    settings.collab.idle_timeout = Duration::from_millis(600);
    settings
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn silent_connections_are_closed_and_answering_ones_kept(db: PgPool) {
    let settings = quick_timeouts();
    let idle_timeout = settings.collab.idle_timeout;
    let app = TestApp::spawn_with(db, settings).await;
    let (_, cookie, _, doc) = spec(&app, "").await;
    let mut silent = raw_socket(&app, &cookie, &doc).await;
    let mut answering = Peer::joined(&app, &cookie, &doc).await;

    // Reading answers the server's pings; the silent client answers nothing.
    answering.quiet_for(idle_timeout * 4).await;
    assert!(answering.closed.is_none(), "a client that answers pings stays: {:?}", answering.closed);
    assert!(closed_by_server(&mut silent).await, "a client that does not answer is closed");
    answering.insert(0, "alive").await;
    let mut check = Peer::joined(&app, &cookie, &doc).await;
    check.until("the answering client still edits", |peer| peer.text() == "alive").await;
}

/// A frame header for a masked binary frame of `len` bytes (client frames are masked).
fn frame_header(len: u64) -> Vec<u8> {
    let mut header = vec![0x82, 0x80 | 127];
    header.extend_from_slice(&len.to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    header
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_message_that_never_finishes_arriving_closes_its_connection(db: PgPool) {
    let app = TestApp::spawn_with(db, quick_timeouts()).await;
    let (_, cookie, _, doc) = spec(&app, "").await;

    // Within the size limit, but the rest never comes.
    let mut slow = raw_socket(&app, &cookie, &doc).await;
    slow.write_all(&frame_header(1_000_000)).await.unwrap();
    slow.write_all(&[0; 100]).await.unwrap();
    assert!(closed_by_server(&mut slow).await, "a half-sent message does not hold its socket open");

    // Announcing 10 MB, far over the limit: refused from the header alone.
    let mut huge = raw_socket(&app, &cookie, &doc).await;
    huge.write_all(&frame_header(10 * 1024 * 1024)).await.unwrap();
    assert!(closed_by_server(&mut huge).await, "an oversized header closes its socket");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn hostile_presence_reaches_others_sanitized_or_not_at_all(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (ada, cookie, project, doc) = spec(&app, "").await;
    let (_, viewer_cookie) = app.signup_with_cookie("vera").await;
    app.add_member(&ada, &project, "vera", Role::Viewer).await;
    let mut watcher = Peer::joined(&app, &cookie, &doc).await;
    let mut mallory = Peer::joined(&app, &viewer_cookie, &doc).await;

    // Not JSON at all: the stock y-protocols client would throw on it.
    let garbage = AwarenessUpdate {
        clients: HashMap::from([(ClientID::new(4242), AwarenessUpdateEntry { clock: 1, json: "{not json".into() })]),
    };
    mallory.send(Message::Awareness(garbage)).await;
    // CSS in the colour, and fields the editor does not use.
    mallory
        .announce(json!({
            "user": { "name": "Admin", "color": "red; position:fixed; background-image:url(https://evil.example/x)",
                      "colorLight": "url(https://evil.example/y)" },
            "cursor": { "anchor": { "evil": "<script>" }, "head": null },
            "html": "<img src=x onerror=alert(1)>",
        }))
        .await;
    let client = mallory.doc.client_id().get();
    watcher.until("the presence arrives", |peer| peer.awareness.contains_key(&client)).await;
    let state: Value = serde_json::from_str(&watcher.awareness[&client]).unwrap();
    assert_eq!(state["user"]["name"], "vera");
    let color = state["user"]["color"].as_str().unwrap();
    assert!(color.len() == 7 && color.starts_with('#') && color[1..].chars().all(|c| c.is_ascii_hexdigit()), "{color}");
    assert_eq!(state["user"]["colorLight"], format!("{color}33"));
    assert_eq!(state["cursor"], Value::Null);
    assert!(state.get("html").is_none(), "{state}");
    // Messages are relayed in order: the garbage, sent first, would have come first.
    assert!(!watcher.awareness.contains_key(&4242), "a state that is not JSON is not relayed");

    let mut late = Peer::joined(&app, &cookie, &doc).await;
    late.send(Message::AwarenessQuery).await;
    late.until("a newcomer learns who is here", |peer| peer.awareness.contains_key(&client)).await;
    assert!(!late.awareness.contains_key(&4242));
    assert!(!late.awareness[&client].contains("evil"), "{}", late.awareness[&client]);
}

/// A document open for editing is read from its live state, not rebuilt from storage,
/// and never older than what is stored, whichever instance stored it.
#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn an_open_document_is_read_from_its_live_state(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (ada, cookie, _, doc) = spec(&app, "one").await;
    let _editor = Peer::joined(&app, &cookie, &doc).await;
    let url = app.url(&format!("/api/v1/documents/{doc}"));

    // With its stored state unreadable, the open document still reads: from memory.
    let key = key_of(&app, &doc).await;
    let snapshot = "UPDATE document_snapshots SET state = $3 WHERE branch_id = $1 AND document_id = $2";
    let (stored,): (Vec<u8>,) =
        sqlx::query_as("SELECT state FROM document_snapshots WHERE branch_id = $1 AND document_id = $2")
            .bind(key.branch_id)
            .bind(key.document_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    let garbage = vec![0xff_u8; 8];
    sqlx::query(snapshot).bind(key.branch_id).bind(key.document_id).bind(&garbage).execute(&app.db).await.unwrap();
    let (status, body) = call(&ada, Method::GET, &url, None).await;
    assert_eq!((status, body["content"].as_str()), (StatusCode::OK, Some("one")), "{body}");
    sqlx::query(snapshot).bind(key.branch_id).bind(key.document_id).bind(&stored).execute(&app.db).await.unwrap();

    // Written through another instance (by a script with a token), it reads back at once here.
    let other = app.another(test_settings()).await;
    let token = app.token(&ada, &["read", "write"]).await;
    for text in ["two", "three", "four"] {
        let other_url = other.url(&format!("/api/v1/documents/{doc}/content"));
        let put = other.bare().put(other_url).bearer_auth(&token).json(&json!({ "content": text }));
        let (status, body) = read(put.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, body) = call(&ada, Method::GET, &url, None).await;
        assert_eq!(body["content"], text, "read right after another instance stored it");
    }
}
