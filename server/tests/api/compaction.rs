//! Compaction folds a document's log into its snapshot while the document is edited:
//! the state is rebuilt without the log lock, and a fold replaces the snapshot only if
//! it covers more of the log than the snapshot does.

use std::time::Duration;

use charter_backend::collab::{store, DocKey};
use sqlx::PgPool;

use crate::collab::{key_of, spec, stored_text};
use crate::harness::TestApp;
use crate::peer::Peer;

async fn log_rows(app: &TestApp, document: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM document_updates WHERE document_id = $1::uuid")
        .bind(document)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// Types `text` at the start; it is stored once the witness has it (the server relays an
/// edit only once it is committed).
async fn typed(editor: &mut Peer, witness: &mut Peer, text: &str) {
    editor.insert(0, text).await;
    witness.until(text, |peer| peer.text().starts_with(text)).await;
}

/// A spec with "one " and "two " typed into it and stored, its editor and a witness.
struct Edited {
    doc: String,
    key: DocKey,
    cookie: String,
    editor: Peer,
    witness: Peer,
}

impl Edited {
    async fn start(app: &TestApp) -> Edited {
        let (_, cookie, _, doc) = spec(app, "start").await;
        let key = key_of(app, &doc).await;
        let mut editor = Peer::joined(app, &cookie, &doc).await;
        let mut witness = Peer::joined(app, &cookie, &doc).await;
        typed(&mut editor, &mut witness, "one ").await;
        typed(&mut editor, &mut witness, "two ").await;
        Edited { doc, key, cookie, editor, witness }
    }
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn edits_stored_while_a_fold_is_under_way_survive_it(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let Edited { doc, key, cookie, mut editor, mut witness } = Edited::start(&app).await;

    let early = store::fold(&app.db, key).await.unwrap();
    // A fold not yet stored holds nothing up: the document takes edits meanwhile.
    typed(&mut editor, &mut witness, "three ").await;
    let later = store::fold(&app.db, key).await.unwrap();
    typed(&mut editor, &mut witness, "four ").await;
    let before = log_rows(&app, &doc).await;

    let dropped = later.store(&app.db).await.unwrap();
    assert!(dropped >= 3, "the rows the later fold covers go ({dropped} of {before})");
    let left = log_rows(&app, &doc).await;
    assert_eq!(left, before - dropped as i64, "the rows past it stay");
    assert!(left >= 1, "\"four\" was stored after the fold");
    assert_eq!(early.store(&app.db).await.unwrap(), 0, "an older fold leaves the newer snapshot in place");
    assert_eq!(log_rows(&app, &doc).await, left);

    let expected = "four three two one start";
    assert_eq!(witness.text(), expected);
    assert_eq!(stored_text(&app, &doc).await, expected, "nothing stored meanwhile is lost");
    let late = Peer::joined(&app, &cookie, &doc).await;
    assert_eq!(late.text(), expected);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn compaction_does_not_wait_for_the_indexer_holding_the_document_s_row(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let Edited { doc, key, cookie: _, mut editor, mut witness } = Edited::start(&app).await;

    // Held as the search indexer holds it for a whole reindex, which can take a while:
    // a compaction waiting for it under the log lock would hold up every edit.
    let mut indexing = app.db.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM branch_documents WHERE document_id = $1::uuid FOR KEY SHARE")
        .bind(&doc)
        .execute(&mut *indexing)
        .await
        .unwrap();
    let folded = tokio::time::timeout(Duration::from_secs(5), store::compact(&app.db, key))
        .await
        .expect("the compaction went ahead beside the indexer")
        .unwrap();
    assert!(folded >= 2, "{folded} rows folded");
    typed(&mut editor, &mut witness, "three ").await;
    indexing.rollback().await.unwrap();
    assert_eq!(stored_text(&app, &doc).await, "three two one start");
}
