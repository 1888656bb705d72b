//! `charter check`: the traceability and drift check. It asks a Charter server for a
//! project's requirements, scans a code checkout for their IDs, prints which are tested,
//! named only by code, or named nowhere (and IDs no spec defines), optionally uploads the
//! report, and exits non-zero when the thresholds are not met, so CI can gate on it.

use std::path::PathBuf;
use std::process::ExitCode;

use charter_backend::structure::traceability::{self, Report};
use charter_types::{RequirementView, TraceStatus};

use crate::remote::Remote;
use crate::{cli, conformance};

pub const USAGE: &str = "usage: charter check --project <id> --server <url> --token <token> [options] <path>

Scans the code checkout at <path> for the project's requirement IDs and reports, per
requirement: tested (named by a test), code only (named by code, no test) or untested;
and IDs in the code that no spec defines.

options:
  --branch <name>          the branch whose requirements count (default main)
  --upload                 store the report in Charter (shown on each requirement's page)
  --commit <sha>           the commit checked (default: git rev-parse HEAD in <path>)
  --max-untested-p1 <n>    fail when more than n P1 requirements have no test (default 0)
  --max-untested <n>       fail when more than n requirements have no test (default: no limit)
  --fail-on-unknown        fail when the code names IDs that no spec defines
  --token may also come from CHARTER_TOKEN.

exit status: 0 thresholds met, 1 thresholds not met, 2 usage, connection or server error

To check the code's API against a contract instead: charter check --contract <document id>
--implementation <openapi file> … (charter check --contract --help).";

#[derive(Debug)]
struct Options {
    project: String,
    server: String,
    token: String,
    branch: String,
    upload: bool,
    commit: Option<String>,
    max_untested_p1: usize,
    max_untested: Option<usize>,
    fail_on_unknown: bool,
    path: PathBuf,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut project = None;
    let mut server = None;
    let mut token = std::env::var("CHARTER_TOKEN").ok();
    let mut branch = "main".to_owned();
    let mut upload = false;
    let mut commit = None;
    let mut max_untested_p1 = 0;
    let mut max_untested = None;
    let mut fail_on_unknown = false;
    let mut path = None;
    let mut args = args.iter();
    let count = |value: Option<&String>, flag: &str| -> Result<usize, String> {
        value.ok_or(format!("{flag} needs a number"))?.parse().map_err(|_| format!("{flag} needs a number"))
    };
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().cloned().ok_or(format!("{flag} needs a value"));
        match arg.as_str() {
            "--project" => project = Some(value("--project")?),
            "--server" => server = Some(value("--server")?),
            "--token" => token = Some(value("--token")?),
            "--branch" => branch = value("--branch")?,
            "--commit" => commit = Some(value("--commit")?),
            "--upload" => upload = true,
            "--fail-on-unknown" => fail_on_unknown = true,
            "--max-untested-p1" => max_untested_p1 = count(args.next(), "--max-untested-p1")?,
            "--max-untested" => max_untested = Some(count(args.next(), "--max-untested")?),
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            other if path.is_none() => path = Some(PathBuf::from(other)),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    Ok(Options {
        project: project.ok_or("--project is required")?,
        server: server.ok_or("--server is required")?.trim_end_matches('/').to_owned(),
        token: token.ok_or("--token (or CHARTER_TOKEN) is required")?,
        branch,
        upload,
        commit,
        max_untested_p1,
        max_untested,
        fail_on_unknown,
        path: path.ok_or("the path of the code checkout is required")?,
    })
}

pub(crate) fn commit_of(path: &std::path::Path) -> String {
    std::process::Command::new("git")
        .arg("-C")
        .arg(path)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|sha| sha.trim().to_owned())
        .filter(|sha| !sha.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn print(report: &Report) {
    let label = |status: TraceStatus| match status {
        TraceStatus::Tested => "tested   ",
        TraceStatus::CodeOnly => "code only",
        TraceStatus::Untested => "untested ",
    };
    for requirement in &report.requirements {
        let priority = requirement.priority.as_deref().map(|p| format!(" ({p})")).unwrap_or_default();
        let first = requirement.tests.first().or(requirement.code.first());
        let place = first.map(|l| format!("  {}:{}", l.path, l.line)).unwrap_or_default();
        println!("{}  {}{priority}{place}", label(requirement.status), requirement.key);
    }
    for unknown in &report.unknown {
        let places: Vec<String> = unknown.locations.iter().map(|l| format!("{}:{}", l.path, l.line)).collect();
        println!("unknown    {}  {}  (no spec defines it)", unknown.key, places.join(", "));
    }
    let summary = report.summary();
    println!(
        "\n{} requirements in {} files at {}: {} tested, {} code only, {} untested; {} unknown IDs",
        report.requirements.len(),
        report.files_scanned,
        report.commit,
        summary.tested,
        summary.code_only,
        summary.untested,
        summary.unknown
    );
}

/// Runs `charter check` with the arguments after `check`: the contract check when they
/// name a contract, the traceability check otherwise.
pub async fn run(args: &[String]) -> ExitCode {
    if args.iter().any(|arg| arg == "--contract") {
        let usage = conformance::USAGE;
        return cli::run("check", usage, args, conformance::parse, conformance::check).await;
    }
    cli::run("check", USAGE, args, parse, |options| async move { check(&options).await }).await
}

/// True when the thresholds are met.
async fn check(options: &Options) -> Result<bool, String> {
    if !options.path.is_dir() {
        return Err(format!("{} is not a directory", options.path.display()));
    }
    let remote = Remote::new(&options.server, &options.token);
    let base = format!("/projects/{}", options.project);
    let branch = [("branch", options.branch.as_str())];
    let requirements: Vec<RequirementView> = remote.get(&format!("{base}/requirements"), &branch).await?;
    let known: Vec<(String, Option<String>)> = requirements.into_iter().map(|r| (r.key, r.priority)).collect();
    let commit = options.commit.clone().unwrap_or_else(|| commit_of(&options.path));
    let path = options.path.clone();
    let report = tokio::task::spawn_blocking(move || traceability::scan(&path, &known, commit))
        .await
        .map_err(|err| err.to_string())?
        .map_err(|err| format!("reading {}: {err}", options.path.display()))?;
    print(&report);

    if options.upload {
        let _: serde_json::Value =
            remote.send(reqwest::Method::POST, &format!("{base}/traceability"), &branch, &report).await?;
        println!("uploaded the report for {} (branch {})", report.commit, options.branch);
    }

    let summary = report.summary();
    let mut failed = Vec::new();
    if summary.untested_p1 > options.max_untested_p1 {
        failed.push(format!(
            "{} P1 requirement(s) have no test (allowed: {})",
            summary.untested_p1, options.max_untested_p1
        ));
    }
    let untested = summary.untested + summary.code_only;
    if let Some(max) = options.max_untested.filter(|max| untested > *max) {
        failed.push(format!("{untested} requirement(s) have no test (allowed: {max})"));
    }
    if options.fail_on_unknown && summary.unknown > 0 {
        failed.push(format!("{} ID(s) in the code are defined by no spec", summary.unknown));
    }
    for message in &failed {
        eprintln!("FAILED: {message}");
    }
    Ok(failed.is_empty())
}
