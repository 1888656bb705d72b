//! Durable CRDT state: a snapshot plus an append-only update log per document and
//! branch. Appends for one document run under its log lock (`collab_log_lock`, held to
//! the commit), so within a document the log's order is commit order and a reader that
//! has applied everything up to some `seq` never misses an earlier row. The log lock is
//! not the document's row lock: the Markdown projection updates that row meanwhile.

use charter_types::{BranchId, DocumentId};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, OffsetKind, Options, ReadTxn, StateVector, Text, Transact, Update, WriteTxn};

use super::DocKey;
use crate::error::{Error, Result};

/// The name of the Y.Text that holds a document's Markdown.
pub const TEXT: &str = "content";

/// The notification channel that tells other instances a document has new updates
/// (also named in the `collab_append_many` SQL function, which sends on it).
pub(crate) const CHANNEL: &str = "charter_collab";

/// A Y.Doc whose text offsets count UTF-16 code units, as Yjs in the browser does.
pub fn new_doc() -> Doc {
    Doc::with_options(Options { offset_kind: OffsetKind::Utf16, ..Options::default() })
}

/// The document's Markdown: what the projection, versions, fork bases, merges and the
/// spec index read. A client may have typed U+0000, which Postgres `text` cannot hold;
/// it reads as U+FFFD: visible (the writer sees something to remove, unlike a silent
/// strip), and one UTF-16 unit like the NUL, so positions match the live editor's.
pub fn text_of(doc: &Doc) -> String {
    let text = doc.get_or_insert_text(TEXT);
    let text = text.get_string(&doc.transact());
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text
    }
}

/// Applies a stored update. Stored updates were validated before they were written, so
/// a failure here means corrupt storage.
pub(crate) fn apply_stored(doc: &Doc, update: &[u8]) -> Result<()> {
    let update = Update::decode_v1(update).map_err(|err| Error::internal(format!("corrupt stored update: {err}")))?;
    doc.transact_mut().apply_update(update).map_err(|err| Error::internal(format!("corrupt stored update: {err}")))
}

/// Everything stored after `after`: the snapshot when it covers rows the caller has
/// not seen (compaction may have folded them away), then newer log rows. Returns the
/// updates and the highest `seq` they cover. One statement reads both, so a compaction
/// committing meanwhile cannot fold away rows between a snapshot and the log read after it.
pub(crate) async fn since(conn: &mut PgConnection, key: DocKey, after: i64) -> Result<(Vec<Vec<u8>>, i64)> {
    let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        r#"WITH snapshot AS (
               SELECT seq, state FROM document_snapshots WHERE branch_id = $1 AND document_id = $2)
           SELECT seq, state FROM snapshot WHERE seq > $3
           UNION ALL
           SELECT u.seq, u."update" FROM document_updates u
           WHERE u.branch_id = $1 AND u.document_id = $2 AND u.seq > greatest($3, (SELECT seq FROM snapshot))
           ORDER BY seq"#,
    )
    .bind(key.branch_id)
    .bind(key.document_id)
    .bind(after)
    .fetch_all(&mut *conn)
    .await?;
    let seq = rows.last().map_or(after, |(seq, _)| *seq);
    Ok((rows.into_iter().map(|(_, update)| update).collect(), seq))
}

/// The last log position stored for the document (its snapshot's, or a newer row's).
/// Fails with `NotFound` when the document has no state on the branch.
pub(crate) async fn head(conn: &mut PgConnection, key: DocKey) -> Result<i64> {
    let head: Option<i64> = sqlx::query_scalar(
        "SELECT greatest(s.seq, (SELECT max(u.seq) FROM document_updates u
                                 WHERE u.branch_id = s.branch_id AND u.document_id = s.document_id))
         FROM document_snapshots s WHERE s.branch_id = $1 AND s.document_id = $2",
    )
    .bind(key.branch_id)
    .bind(key.document_id)
    .fetch_optional(&mut *conn)
    .await?;
    head.ok_or_else(|| Error::not_found("document"))
}

/// The document's current state, and the `seq` it includes.
pub async fn load(conn: &mut PgConnection, key: DocKey) -> Result<(Doc, i64)> {
    // Below every seq: a first snapshot has seq 0.
    let (updates, seq) = since(conn, key, -1).await?;
    Ok((doc_of(&updates)?, seq))
}

/// A document made of stored updates, in log order.
fn doc_of(updates: &[Vec<u8>]) -> Result<Doc> {
    let doc = new_doc();
    for update in updates {
        apply_stored(&doc, update)?;
    }
    drop_pending(&doc);
    Ok(doc)
}

/// Drops what waits in `doc` for changes it lacks. A live document holds none (see
/// `integrate`), but rows stored before writers' updates had to be placed whole, by
/// this version or an older one, may leave some: kept, it would reach joining clients
/// in the document's encoding, and refuse every writer's update.
pub(super) fn drop_pending(doc: &Doc) {
    if doc.transact_mut().prune_pending().is_some() {
        tracing::warn!("dropped parts of stored updates that wait for changes the log lacks");
    }
}

/// Documents read by one statement of [`texts`]: enough to save the round trips, few
/// enough that their states need not all be held at once.
const TEXTS_AT_ONCE: usize = 256;

/// The current text of each of `keys` (in their order) and the `seq` each includes, as
/// [`load`] gives them, a few hundred documents to a statement: a merge, a comparison or
/// a version reads hundreds at once. The states are rebuilt on the blocking pool.
pub(crate) async fn texts(conn: &mut PgConnection, keys: &[DocKey]) -> Result<Vec<(String, i64)>> {
    let mut texts = Vec::with_capacity(keys.len());
    for keys in keys.chunks(TEXTS_AT_ONCE) {
        let branches: Vec<BranchId> = keys.iter().map(|key| key.branch_id).collect();
        let documents: Vec<DocumentId> = keys.iter().map(|key| key.document_id).collect();
        // One statement reads snapshots and log rows from one snapshot of the database,
        // as `since` does.
        let rows: Vec<(i64, i64, Vec<u8>)> = sqlx::query_as(
            r#"WITH keys AS (
                   SELECT * FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS k (branch_id, document_id, at))
               SELECT k.at, s.seq, s.state FROM keys k
               JOIN document_snapshots s ON s.branch_id = k.branch_id AND s.document_id = k.document_id
               UNION ALL
               SELECT k.at, u.seq, u."update" FROM keys k
               LEFT JOIN document_snapshots s ON s.branch_id = k.branch_id AND s.document_id = k.document_id
               JOIN document_updates u ON u.branch_id = k.branch_id AND u.document_id = k.document_id
                   AND u.seq > coalesce(s.seq, -1)
               ORDER BY 1, 2"#,
        )
        .bind(&branches)
        .bind(&documents)
        .fetch_all(&mut *conn)
        .await?;
        let count = keys.len();
        let rebuilt = tokio::task::spawn_blocking(move || rebuild(count, rows)).await.map_err(Error::internal)??;
        texts.extend(rebuilt);
    }
    Ok(texts)
}

/// The texts of `count` documents from their stored rows (`at`, counted from 1, `seq`,
/// state or update), in `at` and `seq` order; each is turned into text once its rows end.
fn rebuild(count: usize, rows: Vec<(i64, i64, Vec<u8>)>) -> Result<Vec<(String, i64)>> {
    let mut texts = Vec::with_capacity(count);
    let mut rows = rows.into_iter().peekable();
    for at in 1..=count as i64 {
        let (doc, mut seq) = (new_doc(), -1);
        while let Some((_, row_seq, update)) = rows.next_if(|(row_at, _, _)| *row_at == at) {
            apply_stored(&doc, &update)?;
            seq = row_seq;
        }
        texts.push((text_of(&doc), seq));
    }
    Ok(texts)
}

/// The document's current Markdown, read from its CRDT state.
pub async fn read_text(db: &PgPool, key: DocKey) -> Result<String> {
    let mut conn = db.acquire().await?;
    let (doc, _) = load(&mut conn, key).await?;
    Ok(text_of(&doc))
}

/// Locks the document's log for compacting until the transaction ends, and keeps its row
/// from going (`FOR KEY SHARE`, as appends hold it). The row lock conflicts with the
/// `FOR UPDATE` of compactions by binaries from before the log lock (their appends take
/// it, through the replaced SQL function), and not with the search indexer or the
/// projection, which hold the row while appends would wait on the log lock.
async fn lock(tx: &mut PgConnection, key: DocKey) -> Result<()> {
    sqlx::query("SELECT collab_log_lock($1, $2)").bind(key.branch_id).bind(key.document_id).execute(&mut *tx).await?;
    let found: Option<(i32,)> =
        sqlx::query_as("SELECT 1 FROM branch_documents WHERE branch_id = $1 AND document_id = $2 FOR KEY SHARE")
            .bind(key.branch_id)
            .bind(key.document_id)
            .fetch_optional(&mut *tx)
            .await?;
    found.map(|_| ()).ok_or_else(|| Error::not_found("document"))
}

/// One document's share of a group append.
pub(crate) struct Pending {
    pub key: DocKey,
    /// The caller has applied everything stored up to here.
    pub after: i64,
    pub updates: Vec<Vec<u8>>,
}

/// What an append found and did, for one document.
pub(crate) struct Appended {
    /// Updates other instances committed since `after`, to apply as well.
    pub external: Vec<Vec<u8>>,
    /// Everything up to here is now applied by the caller.
    pub seq: i64,
}

/// Appends several documents' updates in one call and one transaction (group commit;
/// see the `collab_append_many` function) and tells other instances. Results come in
/// the order of `batch`; a document deleted meanwhile gets `NotFound`.
pub(crate) async fn append_many(db: &PgPool, batch: &[Pending], instance: Uuid) -> Result<Vec<Result<Appended>>> {
    // Every batch, in every instance, locks documents in the same order.
    let mut order: Vec<usize> = (0..batch.len()).collect();
    order.sort_by_key(|&i| (batch[i].key.branch_id, batch[i].key.document_id));
    let branches: Vec<BranchId> = order.iter().map(|&i| batch[i].key.branch_id).collect();
    let documents: Vec<DocumentId> = order.iter().map(|&i| batch[i].key.document_id).collect();
    let afters: Vec<i64> = order.iter().map(|&i| batch[i].after).collect();
    let (mut owners, mut updates) = (Vec::new(), Vec::new());
    for (position, &i) in order.iter().enumerate() {
        for update in &batch[i].updates {
            owners.push(position as i32 + 1);
            updates.push(update.as_slice());
        }
    }
    let rows: Vec<(i32, i64, Option<Vec<u8>>)> =
        sqlx::query_as("SELECT out_document, out_seq, out_update FROM collab_append_many($1, $2, $3, $4, $5, $6)")
            .bind(&branches)
            .bind(&documents)
            .bind(&afters)
            .bind(&owners)
            .bind(&updates)
            .bind(instance.to_string())
            .fetch_all(db)
            .await?;
    let mut results: Vec<Option<Appended>> = batch.iter().map(|_| None).collect();
    for (position, seq, update) in rows {
        let i = order[(position - 1) as usize];
        let result = results[i].get_or_insert_with(|| Appended { external: Vec::new(), seq: batch[i].after });
        result.seq = result.seq.max(seq);
        result.external.extend(update);
    }
    Ok(results.into_iter().map(|result| result.ok_or_else(|| Error::not_found("document"))).collect())
}

/// Gives a new document (or one from before real-time editing) its first CRDT state.
pub(crate) async fn seed(tx: &mut PgConnection, key: DocKey, text: &str) -> Result<()> {
    let doc = new_doc();
    {
        let content = doc.get_or_insert_text(TEXT);
        let mut txn = doc.transact_mut();
        content.insert(&mut txn, 0, text);
    }
    seed_state(tx, key, &doc).await
}

/// Stores `doc`'s whole state as the first snapshot of `key`.
pub(crate) async fn seed_state(tx: &mut PgConnection, key: DocKey, doc: &Doc) -> Result<()> {
    let state = doc.transact().encode_state_as_update_v1(&StateVector::default());
    sqlx::query("INSERT INTO document_snapshots (branch_id, document_id, state, seq) VALUES ($1, $2, $3, 0)")
        .bind(key.branch_id)
        .bind(key.document_id)
        .bind(state)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Folds the log into the snapshot: the state before equals the state after. Returns
/// how many log rows were folded.
pub async fn compact(db: &PgPool, key: DocKey) -> Result<u64> {
    fold(db, key).await?.store(db).await
}

/// A document's whole state up to a point of its log, to become its snapshot.
pub struct Folded {
    key: DocKey,
    state: Vec<u8>,
    seq: i64,
}

/// Rebuilds the document's state (on the blocking pool) from what one statement reads
/// without the log lock: the log up to some `seq` (see the module's comment). Appends
/// go on meanwhile.
pub async fn fold(db: &PgPool, key: DocKey) -> Result<Folded> {
    let (updates, seq) = since(&mut *db.acquire().await?, key, -1).await?;
    let state = tokio::task::spawn_blocking(move || {
        doc_of(&updates).map(|doc| doc.transact().encode_state_as_update_v1(&StateVector::default()))
    })
    .await
    .map_err(Error::internal)??;
    Ok(Folded { key, state, seq })
}

impl Folded {
    /// Makes this the snapshot, unless a compaction elsewhere got further meanwhile, and
    /// drops the log rows it covers. The log lock is held only for the snapshot's row.
    /// Returns how many rows were dropped.
    pub async fn store(self, db: &PgPool) -> Result<u64> {
        let Folded { key, state, seq } = self;
        let mut tx = db.begin().await?;
        lock(&mut tx, key).await?;
        sqlx::query(
            "INSERT INTO document_snapshots (branch_id, document_id, state, seq) VALUES ($1, $2, $3, $4)
             ON CONFLICT (branch_id, document_id) DO UPDATE SET state = excluded.state, seq = excluded.seq, updated_at = now()
             WHERE document_snapshots.seq < excluded.seq",
        )
        .bind(key.branch_id)
        .bind(key.document_id)
        .bind(state)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        // The snapshot covers `seq` now, and every reader starts after the snapshot's
        // position (in one statement, or under the log lock): the rows up to it are read
        // by nobody, and go without the lock. This also clears rows left by a compaction
        // that stopped between its two steps.
        let dropped =
            sqlx::query("DELETE FROM document_updates WHERE branch_id = $1 AND document_id = $2 AND seq <= $3")
                .bind(key.branch_id)
                .bind(key.document_id)
                .bind(seq)
                .execute(db)
                .await?
                .rows_affected();
        Ok(dropped)
    }
}

/// Documents whose logs have grown past `threshold` rows, whether open or not.
pub(crate) async fn compaction_candidates(db: &PgPool, threshold: i64) -> Result<Vec<DocKey>> {
    let rows: Vec<(BranchId, DocumentId)> = sqlx::query_as(
        "SELECT branch_id, document_id FROM document_updates
         GROUP BY branch_id, document_id HAVING count(*) > $1",
    )
    .bind(threshold)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(branch_id, document_id)| DocKey { branch_id, document_id }).collect())
}

/// Gives every document that has no CRDT state yet (written before real-time editing)
/// its state from the stored Markdown. Runs once per database in effect: afterwards
/// every document has state and this finds nothing. Never reseeds existing state.
pub async fn convert_legacy(db: &PgPool) -> Result<u64> {
    let mut tx = db.begin().await?;
    // One converter at a time across instances.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('charter.collab.convert_legacy'))").execute(&mut *tx).await?;
    let legacy: Vec<(BranchId, DocumentId, String)> = sqlx::query_as(
        "SELECT bd.branch_id, bd.document_id, bd.content FROM branch_documents bd
         WHERE NOT EXISTS (SELECT 1 FROM document_snapshots s WHERE s.branch_id = bd.branch_id AND s.document_id = bd.document_id)
           AND NOT EXISTS (SELECT 1 FROM document_updates u WHERE u.branch_id = bd.branch_id AND u.document_id = bd.document_id)",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (branch_id, document_id, content) in &legacy {
        seed(&mut tx, DocKey { branch_id: *branch_id, document_id: *document_id }, content).await?;
    }
    tx.commit().await?;
    Ok(legacy.len() as u64)
}
