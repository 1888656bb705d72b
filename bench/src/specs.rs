//! `specs` (Charter only): the project-wide structure reads at scale. `docs` specs of
//! ten requirements each are written through the API; then the branch's requirement
//! list and its lint are read 20 times each (after one first read), p50 / p95; then, five
//! times, one spec is rewritten and each is read once (what a read costs after an edit).

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use charter_types::{Finding, Project, RequirementView, SearchResults};
use reqwest::Method;

use crate::api::{percentiles, Api};
use crate::synthetic::{prefix, spec_text, write_specs, Pick};

const PER_SPEC: usize = 10;
const READS: usize = 20;
const EDITS: usize = 5;

pub async fn workload(url: &str, docs: usize) -> Result<()> {
    let api = Api::sign_up(url, &format!("specs{}", std::process::id())).await?;
    let project: Project =
        api.call(Method::POST, "/projects", Some(serde_json::json!({ "name": "Specs benchmark" }))).await?;
    let mut pick = Pick::default();
    let started = Instant::now();
    let written = write_specs(&api, &project, docs, PER_SPEC, &mut pick).await?;
    let writing = started.elapsed().as_secs_f64();
    // Reads are measured once the search index has taken in what was written (its
    // indexer runs at normal priority; the embeddings, at the lowest, go on meanwhile).
    let last = format!("/projects/{}/search?q={}-001&mode=text", project.id, prefix(docs - 1));
    let waiting = Instant::now();
    while api.call::<SearchResults>(Method::GET, &last, None).await?.hits.is_empty() {
        if waiting.elapsed() > Duration::from_secs(300) {
            bail!("the search index did not take in the specs within 5 minutes");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let indexed = waiting.elapsed().as_secs_f64();
    let requirements = format!("/projects/{}/requirements", project.id);
    let lint = format!("/projects/{}/lint", project.id);
    println!(
        "| {docs} documents, {} requirements (written in {writing:.1} s, indexed {indexed:.1} s later) | first ms | p50 ms | p95 ms |",
        docs * PER_SPEC
    );
    println!("|---|---|---|---|");
    let listed: Vec<RequirementView> = measure(&api, "GET requirements", &requirements).await?;
    if listed.len() != docs * PER_SPEC {
        bail!("{} requirements listed, not {}", listed.len(), docs * PER_SPEC);
    }
    let _: Vec<Finding> = measure(&api, "GET lint", &lint).await?;

    let (mut listing, mut linting) = (Vec::with_capacity(EDITS), Vec::with_capacity(EDITS));
    for edit in 0..EDITS {
        let n = edit * docs / EDITS;
        let body = serde_json::json!({ "content": spec_text(n, PER_SPEC, &mut pick) });
        let _: serde_json::Value =
            api.call(Method::PUT, &format!("/documents/{}/content", written[n].id), Some(body)).await?;
        for (path, times) in [(&requirements, &mut listing), (&lint, &mut linting)] {
            let started = Instant::now();
            api.bytes(Method::GET, path, None).await?;
            times.push(started.elapsed());
        }
    }
    for (name, mut times) in [("GET requirements after an edit", listing), ("GET lint after an edit", linting)] {
        let (p50, _) = percentiles(&mut times);
        let slowest = times.iter().max().map_or(0.0, |time| time.as_secs_f64() * 1000.0);
        println!("| {name} (median and slowest of {EDITS}) | | {p50:.1} | {slowest:.1} |");
    }
    Ok(())
}

/// One first read, then `READS` more, each timed to its last byte (reading the JSON
/// into structures is the client's business); prints a row and returns the first answer.
async fn measure<T: serde::de::DeserializeOwned>(api: &Api, name: &str, path: &str) -> Result<T> {
    let started = Instant::now();
    let body = api.bytes(Method::GET, path, None).await?;
    let first = started.elapsed().as_secs_f64() * 1000.0;
    let answer: T = serde_json::from_slice(&body)?;
    let mut times = Vec::with_capacity(READS);
    for _ in 0..READS {
        let started = Instant::now();
        api.bytes(Method::GET, path, None).await?;
        times.push(started.elapsed());
    }
    let (p50, p95) = percentiles(&mut times);
    println!("| {name} | {first:.0} | {p50:.1} | {p95:.1} |");
    Ok(answer)
}
