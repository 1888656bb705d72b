//! `search` (Charter only): how fast the index embeds, and how search answers at scale.
//!
//! 1. **Embedding**: `docs` specs of 20 requirements each are written through the API;
//!    the time from the first write until every requirement has its embedding gives
//!    texts a second, as the paced, low-priority background worker manages them.
//! 2. **Scale**: `entries` more requirements are written straight into the index (SQL),
//!    with words from a fixed vocabulary and unit vectors clustered around 200 random
//!    centres, as if indexed and embedded; then queries by words, by meaning and by both
//!    go through the API (p50 / p95 of 40 each, the query's own embedding included).
//! 3. **Recall**: for 50 query vectors near random entries, the HNSW index's top 10
//!    against the exact top 10 (a sequential scan), at several `hnsw.ef_search` values.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use charter_types::{BranchId, Document, DocumentId, Kind, Project, SearchResults};
use reqwest::Method;
use sqlx::{Connection, PgConnection};

use crate::api::{percentiles, Api};
use crate::synthetic::{write_specs, Pick, NOUNS, VERBS};

/// Requirements per spec in the embedding phase.
const PER_SPEC: usize = 20;
/// Queries per mode, and recall probes.
const QUERIES: usize = 40;
const PROBES: usize = 50;
const EF_SEARCH: [u32; 5] = [40, 100, 200, 400, 800];
/// The local model's dimension: the synthetic vectors must fit its index.
const DIMENSIONS: usize = 384;

pub async fn workload(url: &str, database_url: &str, docs: usize, entries: usize) -> Result<()> {
    let api = Api::sign_up(url, &format!("search{}", std::process::id())).await?;
    let mut db = PgConnection::connect(database_url).await.context("--database-url")?;
    let project: Project =
        api.call(Method::POST, "/projects", Some(serde_json::json!({ "name": "Search benchmark" }))).await?;
    let branch: BranchId = sqlx::query_scalar("SELECT id FROM branches WHERE project_id = $1 AND name = 'main'")
        .bind(project.id)
        .fetch_one(&mut db)
        .await?;
    let mut pick = Pick::default();

    let (texts, seconds) = embedding(&api, &mut db, &project, branch, docs, &mut pick).await?;
    println!("| phase | figure |");
    println!("|---|---|");
    println!(
        "| embedding in the background | {texts} distinct texts in {seconds:.1} s: {:.0} texts/s |",
        texts as f64 / seconds
    );
    let (total, seconds) = scale(&api, &mut db, &project, branch, entries).await?;
    println!(
        "| synthetic entries written (SQL, indexes maintained) | {entries} in {seconds:.0} s; {total} in the index |"
    );
    println!();
    println!("| search over {total} entries | p50 ms | p95 ms |");
    println!("|---|---|---|");
    for mode in ["text", "meaning", "hybrid"] {
        let mut times = Vec::with_capacity(QUERIES);
        for _ in 0..QUERIES {
            let q = format!(
                "{} {} {}",
                VERBS[pick.next(VERBS.len())],
                NOUNS[pick.next(NOUNS.len())],
                NOUNS[pick.next(NOUNS.len())]
            );
            let path = format!("/projects/{}/search?q={}&mode={mode}", project.id, q.replace(' ', "%20"));
            let started = Instant::now();
            let results: SearchResults = api.call(Method::GET, &path, None).await?;
            times.push(started.elapsed());
            if mode != "text" && !results.meaning_search {
                bail!("meaning search is off on this server: {:?}", results.notice);
            }
        }
        let (p50, p95) = percentiles(&mut times);
        println!("| {mode} | {p50:.1} | {p95:.1} |");
    }
    println!();
    recall(&mut db, branch).await
}

/// Writes `docs` specs and waits until each of their requirements is embedded; returns
/// how many distinct texts that was and how long it took.
async fn embedding(
    api: &Api,
    db: &mut PgConnection,
    project: &Project,
    branch: BranchId,
    docs: usize,
    pick: &mut Pick,
) -> Result<(i64, f64)> {
    let started = Instant::now();
    write_specs(api, project, docs, PER_SPEC, pick).await?;
    let expected = (docs * PER_SPEC) as i64;
    loop {
        let (requirements, unembedded, texts): (i64, i64, i64) = sqlx::query_as(
            // The specs' requirements (`AAA-001`), not the constitution's principles (`P-01`).
            "SELECT count(*) FILTER (WHERE key ~ '^[A-Z]{3}-[0-9]{3}$'), count(*) FILTER (WHERE embedding IS NULL),
                    count(DISTINCT digest)
             FROM search_entries WHERE branch_id = $1",
        )
        .bind(branch)
        .fetch_one(&mut *db)
        .await?;
        if requirements == expected && unembedded == 0 {
            return Ok((texts, started.elapsed().as_secs_f64()));
        }
        if started.elapsed() > Duration::from_secs(1800) {
            bail!("{unembedded} entries still without an embedding after 30 minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Adds `entries` synthetic requirements to the index, a thousand per document of their
/// own; returns the index's size for the branch and how long the writing took.
async fn scale(
    api: &Api,
    db: &mut PgConnection,
    project: &Project,
    branch: BranchId,
    entries: usize,
) -> Result<(i64, f64)> {
    const PER_DOCUMENT: usize = 1000;
    let mut documents = Vec::new();
    for n in 0..entries.div_ceil(PER_DOCUMENT) {
        let body = serde_json::json!({ "title": format!("Synthetic {n}"), "kind": Kind::Spec, "content": "" });
        let document: Document =
            api.call(Method::POST, &format!("/projects/{}/documents", project.id), Some(body)).await?;
        documents.push(document.id);
    }
    // The indexer rewrites a queued document's entries: let it finish with these first.
    let waiting = Instant::now();
    while sqlx::query_scalar::<_, i64>("SELECT count(*) FROM search_queue").fetch_one(&mut *db).await? > 0 {
        if waiting.elapsed() > Duration::from_secs(300) {
            bail!("the search queue did not empty");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let words: Vec<&str> = VERBS.iter().chain(NOUNS.iter()).copied().collect();
    let started = Instant::now();
    sqlx::query(&format!(
        "CREATE TEMP TABLE centres AS
         SELECT c, ARRAY(SELECT (random() * 2 - 1)::real FROM generate_series(1, {DIMENSIONS}) WHERE c >= 0) AS v
         FROM generate_series(0, 199) c"
    ))
    .execute(&mut *db)
    .await?;
    for (n, document) in documents.iter().enumerate() {
        let count = PER_DOCUMENT.min(entries - n * PER_DOCUMENT) as i32;
        // Ordinals after the document's own entries (an empty document has one section).
        sqlx::query(
            "INSERT INTO search_entries (branch_id, document_id, ordinal, kind, key, title, body, scenarios, section,
                                         line, digest, embedding, model)
             SELECT $1, $2, 1000 + o, 'requirement', format('SYN-%s', $3::int * 1000 + o), body, body, '{}', 'Synthetic',
                    o, sha256(convert_to(body, 'UTF8')), vec,
                    (SELECT p.embedding_model FROM branches b JOIN projects p ON p.id = b.project_id WHERE b.id = $1)
             FROM generate_series(1, $4::int) o
             CROSS JOIN LATERAL (
                 SELECT 'The system SHALL ' || string_agg(($5::text[])[1 + floor(random() * cardinality($5::text[]))::int], ' ')
                        AS body
                 FROM generate_series(1, 10) WHERE o > 0) words
             CROSS JOIN LATERAL (
                 SELECT l2_normalize(ARRAY(SELECT x + ((random() * 2 - 1) * 0.5)::real FROM unnest(c.v) x)::vector)
                        AS vec
                 FROM centres c WHERE c.c = (o * 7919 + $3::int) % 200) near",
        )
        .bind(branch)
        .bind(document)
        .bind(n as i32)
        .bind(count)
        .bind(&words)
        .execute(&mut *db)
        .await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM search_entries WHERE branch_id = $1")
        .bind(branch)
        .fetch_one(&mut *db)
        .await?;
    Ok((total, seconds))
}

/// Recall@10 of the HNSW index against an exact scan, per `ef_search`.
async fn recall(db: &mut PgConnection, branch: BranchId) -> Result<()> {
    let probes: Vec<String> = sqlx::query_scalar(
        "SELECT l2_normalize(ARRAY(SELECT x + ((random() * 2 - 1) * 0.05)::real
                                   FROM unnest(embedding::real[]) x)::vector)::text
         FROM search_entries WHERE branch_id = $1 AND embedding IS NOT NULL ORDER BY random() LIMIT $2",
    )
    .bind(branch)
    .bind(PROBES as i64)
    .fetch_all(&mut *db)
    .await?;
    let nearest = format!(
        "SELECT document_id, ordinal FROM search_entries
         WHERE branch_id = $1 AND vector_dims(embedding) = {DIMENSIONS}
         ORDER BY embedding::vector({DIMENSIONS}) <=> $2::vector({DIMENSIONS}) LIMIT 10"
    );
    let mut exact = Vec::with_capacity(probes.len());
    let mut exact_times = Vec::with_capacity(probes.len());
    for probe in &probes {
        let mut tx = db.begin().await?;
        // A plan cached under one setting would serve the other: plan each query afresh.
        sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan").execute(&mut *tx).await?;
        sqlx::query("SET LOCAL enable_indexscan = off").execute(&mut *tx).await?;
        let started = Instant::now();
        let ids: Vec<(DocumentId, i32)> = sqlx::query_as(&nearest).bind(branch).bind(probe).fetch_all(&mut *tx).await?;
        exact_times.push(started.elapsed());
        tx.commit().await?;
        exact.push(ids);
    }
    let (exact_p50, _) = percentiles(&mut exact_times);
    // Below some size the planner scans instead, and recall is trivially 1.
    let mut tx = db.begin().await?;
    sqlx::query("SET LOCAL hnsw.iterative_scan = relaxed_order").execute(&mut *tx).await?;
    let plan: Vec<String> =
        sqlx::query_scalar(&format!("EXPLAIN {nearest}")).bind(branch).bind(&probes[0]).fetch_all(&mut *tx).await?;
    tx.commit().await?;
    let scan = match plan.iter().any(|line| line.contains("search_entries_embedding_384")) {
        true => "HNSW index",
        false => "no index: the planner scans at this size",
    };
    println!("| hnsw.ef_search | recall@10 | p50 ms (plan: {scan}; exact scan {exact_p50:.1}) |");
    println!("|---|---|---|");
    for ef in EF_SEARCH {
        let (mut found, mut times) = (0usize, Vec::with_capacity(probes.len()));
        for (probe, truth) in probes.iter().zip(&exact) {
            let mut tx = db.begin().await?;
            // As Charter's own meaning queries run.
            sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan").execute(&mut *tx).await?;
            sqlx::query("SET LOCAL hnsw.iterative_scan = relaxed_order").execute(&mut *tx).await?;
            sqlx::query(&format!("SET LOCAL hnsw.ef_search = {ef}")).execute(&mut *tx).await?;
            let started = Instant::now();
            let ids: Vec<(DocumentId, i32)> =
                sqlx::query_as(&nearest).bind(branch).bind(probe).fetch_all(&mut *tx).await?;
            times.push(started.elapsed());
            tx.commit().await?;
            found += ids.iter().filter(|id| truth.contains(id)).count();
        }
        let (p50, _) = percentiles(&mut times);
        let recall = found as f64 / (10 * probes.len()) as f64;
        println!("| {ef} | {recall:.3} | {p50:.1} |");
    }
    Ok(())
}
