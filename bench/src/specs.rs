//! `specs` (Charter only): the project-wide structure reads at scale. `docs` specs of
//! ten requirements each are written through the API; then the branch's requirement
//! list and its lint are read 20 times each (after one first read), p50 / p95.

use std::time::Instant;

use anyhow::{bail, Result};
use charter_types::{Finding, Project, RequirementView};
use reqwest::Method;

use crate::api::{percentiles, Api};
use crate::synthetic::{write_specs, Pick};

const PER_SPEC: usize = 10;
const READS: usize = 20;

pub async fn workload(url: &str, docs: usize) -> Result<()> {
    let api = Api::sign_up(url, &format!("specs{}", std::process::id())).await?;
    let project: Project =
        api.call(Method::POST, "/projects", Some(serde_json::json!({ "name": "Specs benchmark" }))).await?;
    let mut pick = Pick::default();
    let started = Instant::now();
    write_specs(&api, &project, docs, PER_SPEC, &mut pick).await?;
    let writing = started.elapsed().as_secs_f64();
    let requirements = format!("/projects/{}/requirements", project.id);
    let lint = format!("/projects/{}/lint", project.id);
    println!(
        "| {docs} documents, {} requirements (written in {writing:.1} s) | first ms | p50 ms | p95 ms |",
        docs * PER_SPEC
    );
    println!("|---|---|---|---|");
    let listed: Vec<RequirementView> = measure(&api, "GET requirements", &requirements).await?;
    if listed.len() != docs * PER_SPEC {
        bail!("{} requirements listed, not {}", listed.len(), docs * PER_SPEC);
    }
    let _: Vec<Finding> = measure(&api, "GET lint", &lint).await?;
    Ok(())
}

/// One first read, then `READS` more; prints a row and returns the first answer.
async fn measure<T: serde::de::DeserializeOwned>(api: &Api, name: &str, path: &str) -> Result<T> {
    let started = Instant::now();
    let answer: T = api.call(Method::GET, path, None).await?;
    let first = started.elapsed().as_secs_f64() * 1000.0;
    let mut times = Vec::with_capacity(READS);
    for _ in 0..READS {
        let started = Instant::now();
        let _: T = api.call(Method::GET, path, None).await?;
        times.push(started.elapsed());
    }
    let (p50, p95) = percentiles(&mut times);
    println!("| {name} | {first:.0} | {p50:.1} | {p95:.1} |");
    Ok(answer)
}
