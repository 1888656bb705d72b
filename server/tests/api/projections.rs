//! The Markdown projection of a co-edited document is made from its stored CRDT state;
//! one that lags that state (a crash before a refresh, a refresh lost with the database)
//! is put right when the document next opens.

use std::time::Duration;

use sqlx::PgPool;

use crate::collab::spec;
use crate::harness::{eventually, TestApp};
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
    let (_, cookie, _, doc) = spec(&app, "# Login\n").await;
    let before = projection(&app, &doc).await;
    let edits = || async {
        let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM audit_log WHERE action = 'document.edit'")
            .fetch_one(&app.db)
            .await
            .unwrap();
        count
    };
    let edits_before = edits().await;

    let _peer = Peer::joined(&app, &cookie, &doc).await;
    // Longer than the projection's delay: the check at load has run.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(projection(&app, &doc).await, before, "neither the text nor its time changed");
    assert_eq!(edits().await, edits_before, "and nobody is credited with an edit");
}
