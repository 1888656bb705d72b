//! The Markdown projection of a co-edited document is made from its stored CRDT state;
//! one that lags that state (a crash before a refresh, a refresh lost with the database)
//! is put right when the document next opens. Refreshing it never holds up the edits.

use std::time::Duration;

use charter_types::Document;
use reqwest::Method;
use serde_json::json;
use sqlx::PgPool;

use crate::collab::spec;
use crate::harness::{eventually, expect, TestApp};
use crate::peer::Peer;

/// The stored projection and when it last changed.
async fn projection(app: &TestApp, document: &str) -> (String, chrono::DateTime<chrono::Utc>) {
    sqlx::query_as("SELECT content, updated_at FROM branch_documents WHERE document_id = $1::uuid")
        .bind(document)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_projection_behind_the_stored_state_is_rewritten_when_the_document_opens(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (_, cookie, _, doc) = spec(&app, "# Login\n").await;
    // As if the last refresh had been lost: the projection holds older text.
    sqlx::query("UPDATE branch_documents SET content = '# Log' WHERE document_id = $1::uuid")
        .bind(&doc)
        .execute(&app.db)
        .await
        .unwrap();

    let peer = Peer::joined(&app, &cookie, &doc).await;
    assert_eq!(peer.text(), "# Login\n", "the state is what counts");
    eventually("the projection is rewritten from the state", Duration::from_secs(5), || async {
        projection(&app, &doc).await.0 == "# Login\n"
    })
    .await;
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn opening_a_document_whose_projection_is_current_writes_nothing(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (ada, cookie, project, current) = spec(&app, "# Login\n").await;
    let body = json!({ "title": "Logout", "kind": "spec", "content": "# Logout\n" });
    let stale: Document = expect(&ada, Method::POST, &app.tree_url(&project), Some(body)).await;
    let stale = stale.id.to_string();
    sqlx::query("UPDATE branch_documents SET content = '# Log' WHERE document_id = $1::uuid")
        .bind(&stale)
        .execute(&app.db)
        .await
        .unwrap();
    let before = projection(&app, &current).await;
    let edits = || async {
        let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM audit_log WHERE action = 'document.edit'")
            .fetch_one(&app.db)
            .await
            .unwrap();
        count
    };
    let edits_before = edits().await;

    // The current one opens first, so its check comes due first: once the stale one,
    // opened after it, is put right, the current one's check has had its turn.
    let _current = Peer::joined(&app, &cookie, &current).await;
    let _stale = Peer::joined(&app, &cookie, &stale).await;
    eventually("the stale one is rewritten", Duration::from_secs(5), || async {
        projection(&app, &stale).await.0 == "# Logout\n"
    })
    .await;
    assert_eq!(projection(&app, &current).await, before, "neither the text nor its time changed");
    assert_eq!(edits().await, edits_before, "and nobody is credited with an edit");
}

/// The document's row held as a projection holds it while it writes: `UPDATE … content`,
/// not yet committed.
async fn projection_under_way(app: &TestApp, document: &str) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query("UPDATE branch_documents SET content = content || ' ' WHERE document_id = $1::uuid")
        .bind(document)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn edits_are_stored_and_relayed_while_a_projection_holds_the_document_s_row(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (_, cookie, _, doc) = spec(&app, "# Login\n").await;
    let mut writer = Peer::joined(&app, &cookie, &doc).await;
    let mut witness = Peer::joined(&app, &cookie, &doc).await;

    let projecting = projection_under_way(&app, &doc).await;
    // An edit reaches the others only once it is committed: it is not waiting for the row.
    writer.insert(0, "typed ").await;
    witness.until("the edit arrives while the row is held", |peer| peer.text() == "typed # Login\n").await;
    projecting.rollback().await.unwrap();
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn appends_wait_for_the_document_s_log_lock(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (_, cookie, _, doc) = spec(&app, "# Login\n").await;
    let mut writer = Peer::joined(&app, &cookie, &doc).await;
    let mut witness = Peer::joined(&app, &cookie, &doc).await;

    // Held as compaction holds it while it replaces the snapshot.
    let mut compacting = app.db.begin().await.unwrap();
    sqlx::query("SELECT collab_log_lock(branch_id, document_id) FROM branch_documents WHERE document_id = $1::uuid")
        .bind(&doc)
        .execute(&mut *compacting)
        .await
        .unwrap();
    writer.insert(0, "typed ").await;
    assert!(witness.quiet_for(Duration::from_secs(1)).await, "nothing is relayed before it is stored");
    compacting.commit().await.unwrap();
    witness.until("the edit arrives once the lock is free", |peer| peer.text() == "typed # Login\n").await;
}
