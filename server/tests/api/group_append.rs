//! The group append (`collab_append_many`), called as the writers call it: several
//! documents' updates in one statement, each document's news since what its caller has
//! applied coming back first, a newer snapshot before the log rows past it.

use charter_backend::collab::{store, DocKey};
use sqlx::PgPool;
use yrs::{Doc, Text, Transact};

use crate::collab::{key_of, spec};
use crate::harness::TestApp;

/// One document's share of a call.
struct Share<'a> {
    key: DocKey,
    /// The caller has applied everything stored up to here.
    after: i64,
    updates: &'a [Vec<u8>],
}

/// One row the call returned: a stored position and, for what others stored, its bytes.
type Row = (i64, Option<Vec<u8>>);

/// Calls the function as instance `instance`; the rows for each share, in their order.
async fn append(db: &PgPool, shares: &[Share<'_>], instance: &str) -> Result<Vec<Vec<Row>>, sqlx::Error> {
    let (mut owners, mut updates) = (Vec::new(), Vec::new());
    for (n, share) in shares.iter().enumerate() {
        for update in share.updates {
            owners.push(n as i32 + 1);
            updates.push(update.clone());
        }
    }
    let rows: Vec<(i32, i64, Option<Vec<u8>>)> =
        sqlx::query_as("SELECT out_document, out_seq, out_update FROM collab_append_many($1, $2, $3, $4, $5, $6)")
            .bind(shares.iter().map(|share| share.key.branch_id).collect::<Vec<_>>())
            .bind(shares.iter().map(|share| share.key.document_id).collect::<Vec<_>>())
            .bind(shares.iter().map(|share| share.after).collect::<Vec<_>>())
            .bind(owners)
            .bind(updates)
            .bind(instance)
            .fetch_all(db)
            .await?;
    let mut per_share: Vec<Vec<Row>> = shares.iter().map(|_| Vec::new()).collect();
    for (n, seq, bytes) in rows {
        per_share[(n - 1) as usize].push((seq, bytes));
    }
    Ok(per_share)
}

/// An update that types `text` at the start, made by its own client.
fn typed(client: u64, text: &str) -> Vec<u8> {
    let doc = Doc::with_client_id(client);
    let content = doc.get_or_insert_text(store::TEXT);
    let mut txn = doc.transact_mut();
    content.insert(&mut txn, 0, text);
    txn.encode_update_v1()
}

fn seqs(rows: &[Row]) -> Vec<i64> {
    rows.iter().map(|(seq, _)| *seq).collect()
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_group_append_returns_each_documents_news_then_stores_its_updates_in_order(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (ada, _, project, first) = spec(&app, "").await;
    let second = app.document(&ada, &project, "Refunds", None).await.id.to_string();
    let (a, b) = (key_of(&app, &first).await, key_of(&app, &second).await);
    let (_, head_a) = store::load(&mut *app.db.acquire().await.unwrap(), a).await.unwrap();

    // Two documents in one call: nothing new for either; ours come back without bytes,
    // in the order given.
    let (a1, a2, b1) = (typed(1, "a1 "), typed(2, "a2 "), typed(3, "b1 "));
    let one = append(
        &app.db,
        &[
            Share { key: a, after: head_a, updates: &[a1.clone(), a2.clone()] },
            Share { key: b, after: 0, updates: &[b1.clone()] },
        ],
        "one",
    )
    .await
    .unwrap();
    assert_eq!(one[0].len(), 2, "{one:?}");
    assert!(one[0][0].0 < one[0][1].0, "updates are stored in the order given: {one:?}");
    assert!(one.iter().flatten().all(|(_, bytes)| bytes.is_none()), "the caller has its own updates: {one:?}");
    assert_eq!(one[1].len(), 1, "{one:?}");

    // Another instance that has applied nothing of them gets each document's news
    // first, then its own.
    let a3 = typed(4, "a3 ");
    let two = append(
        &app.db,
        &[Share { key: a, after: head_a, updates: &[a3] }, Share { key: b, after: 0, updates: &[typed(11, "b2 ")] }],
        "two",
    )
    .await
    .unwrap();
    assert_eq!(two[0][..2], [(one[0][0].0, Some(a1)), (one[0][1].0, Some(a2))], "the news, in order");
    assert_eq!((two[0].len(), &two[0][2].1), (3, &None));
    assert_eq!(two[1][0], (one[1][0].0, Some(b1)), "each document gets its own news");
    assert_eq!((two[1].len(), &two[1][1].1), (2, &None));
    let a3_seq = two[0][2].0;

    // After a compaction, a caller behind it gets the snapshot, then the rows past it.
    store::compact(&app.db, a).await.unwrap();
    let a4 = typed(5, "a4 ");
    let three = append(&app.db, &[Share { key: a, after: a3_seq, updates: &[a4.clone()] }], "three").await.unwrap();
    assert_eq!(three[0].len(), 1, "a caller up to date gets no snapshot: {three:?}");
    let a5 = typed(6, "a5 ");
    let behind = append(&app.db, &[Share { key: a, after: head_a, updates: &[a5] }], "four").await.unwrap();
    assert_eq!(seqs(&behind[0])[..2], [a3_seq, three[0][0].0], "the snapshot, then the row past it: {behind:?}");
    assert!(behind[0][0].1.as_ref().is_some_and(|state| state.len() > a4.len()), "the whole state: {behind:?}");
    assert_eq!(behind[0][1].1, Some(a4));
    assert_eq!(behind[0][2].1, None);
    let text = store::read_text(&app.db, a).await.unwrap();
    for part in ["a1 ", "a2 ", "a3 ", "a4 ", "a5 "] {
        assert!(text.contains(part), "{part:?} is in the stored state: {text:?}");
    }

    // A document deleted meanwhile gets no rows and stores nothing; the others go on.
    sqlx::query("DELETE FROM branch_documents WHERE branch_id = $1 AND document_id = $2")
        .bind(b.branch_id)
        .bind(b.document_id)
        .execute(&app.db)
        .await
        .unwrap();
    let a6 = typed(7, "a6 ");
    let after_delete = append(
        &app.db,
        &[Share { key: a, after: 0, updates: &[a6] }, Share { key: b, after: 0, updates: &[typed(8, "b2 ")] }],
        "one",
    )
    .await
    .unwrap();
    assert!(after_delete[1].is_empty(), "{after_delete:?}");
    let (own, news) = after_delete[0].split_last().unwrap();
    assert_eq!(own.1, None, "the others' updates are stored as ever");
    assert!(!news.is_empty() && news.iter().all(|(_, bytes)| bytes.is_some()), "{after_delete:?}");
    let (stored,): (i64,) = sqlx::query_as("SELECT count(*) FROM document_updates WHERE document_id = $1")
        .bind(b.document_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, 0, "nothing is stored for a deleted document");
}
