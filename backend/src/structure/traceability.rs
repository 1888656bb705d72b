//! Traceability: which requirements a code repository's tests and code name. `scan`
//! reads a checkout (the `charter check` command runs it); reports uploaded from CI are
//! stored per branch, and each requirement shows the latest one's verdict.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path as FsPath;

use axum::extract::State;
use axum::http::StatusCode;
use charter_types::{BranchId, Coverage, ProjectId, TraceStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::parse;
use crate::audit;
use crate::authorization::{need, Project, ProjectAccess};
use crate::branches::BranchQuery;
use crate::error::{Error, Result};
use crate::extract::{Json, Query};
use crate::{branches, AppState};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Location {
    pub path: String,
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RequirementTrace {
    pub key: String,
    pub priority: Option<String>,
    pub status: TraceStatus,
    pub tests: Vec<Location>,
    pub code: Vec<Location>,
}

/// An ID in the code that no spec defines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UnknownId {
    pub key: String,
    pub locations: Vec<Location>,
}

/// What `charter check` found in a checkout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Report {
    /// The commit the checkout was at (`unknown` outside git).
    pub commit: String,
    pub requirements: Vec<RequirementTrace>,
    pub unknown: Vec<UnknownId>,
    pub files_scanned: usize,
}

/// Counts of a report's verdicts. Named apart in the OpenAPI document from a change
/// request's `Summary`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = TraceSummary)]
pub struct Summary {
    pub tested: usize,
    pub code_only: usize,
    pub untested: usize,
    pub unknown: usize,
    /// P1 requirements no test names.
    pub untested_p1: usize,
}

impl Report {
    pub fn summary(&self) -> Summary {
        let mut summary = Summary { unknown: self.unknown.len(), ..Summary::default() };
        for requirement in &self.requirements {
            match requirement.status {
                TraceStatus::Tested => summary.tested += 1,
                TraceStatus::CodeOnly => summary.code_only += 1,
                TraceStatus::Untested => summary.untested += 1,
            }
            if requirement.status != TraceStatus::Tested && requirement.priority.as_deref() == Some("P1") {
                summary.untested_p1 += 1;
            }
        }
        summary
    }

    /// Each requirement's coverage, by key in ASCII upper case (the first entry for a key
    /// wins), to look up many at once.
    pub fn coverages(&self) -> HashMap<String, Coverage> {
        let mut found = HashMap::new();
        for r in &self.requirements {
            found.entry(r.key.to_ascii_uppercase()).or_insert(Coverage {
                status: r.status,
                tests: r.tests.len(),
                code: r.code.len(),
            });
        }
        found
    }
}

/// Directories that hold no code of the project's own.
const SKIPPED_DIRS: [&str; 9] =
    ["node_modules", "target", "vendor", "dist", "build", "__pycache__", "venv", ".git", ".data"];
/// Prose, data and binaries: not source or tests.
const SKIPPED_EXTENSIONS: [&str; 18] = [
    "md", "markdown", "rst", "txt", "adoc", "lock", "svg", "png", "jpg", "jpeg", "gif", "pdf", "ico", "woff", "woff2",
    "map", "wasm", "zip",
];
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Test files by the usual conventions: a `tests`/`test`/`__tests__`/`spec`/`e2e`
/// directory, or a name like `x_test.go`, `x.test.ts`, `x.spec.js`, `test_x.py`,
/// `XTest.java`.
pub fn is_test_path(path: &str) -> bool {
    let lower = path.to_lowercase();
    let parts: Vec<&str> = lower.split('/').collect();
    let dirs = &parts[..parts.len().saturating_sub(1)];
    if dirs.iter().any(|dir| ["tests", "test", "__tests__", "spec", "specs", "e2e", "end2end", "testing"].contains(dir))
    {
        return true;
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.split('.').next().unwrap_or(name);
    let lower_name = name.to_lowercase();
    lower_name.contains("_test.")
        || lower_name.contains(".test.")
        || lower_name.contains(".spec.")
        || lower_name.contains("_spec.")
        || lower_name.starts_with("test_")
        || stem.ends_with("Test")
        || stem.ends_with("Tests")
}

/// Scans a checkout for the IDs of `known` requirements (`(key, priority)`). An
/// ID-shaped word with a known prefix (`AUTH-999` where `AUTH-001` exists) that no spec
/// defines is reported as unknown; `UTF-8` is not. In Rust files, lines after
/// `#[cfg(test)]` count as tests.
pub fn scan(root: &FsPath, known: &[(String, Option<String>)], commit: String) -> std::io::Result<Report> {
    let keys: HashMap<String, usize> = known.iter().enumerate().map(|(i, (key, _))| (key.to_uppercase(), i)).collect();
    let prefixes: HashSet<String> =
        known.iter().filter_map(|(key, _)| key.rsplit_once('-').map(|(prefix, _)| prefix.to_uppercase())).collect();
    let mut tests: Vec<Vec<Location>> = vec![Vec::new(); known.len()];
    let mut code: Vec<Vec<Location>> = vec![Vec::new(); known.len()];
    let mut unknown: BTreeMap<String, Vec<Location>> = BTreeMap::new();
    let mut files = Vec::new();
    collect(root, root, &mut files)?;
    files.sort();
    for relative in &files {
        let Ok(text) = std::fs::read_to_string(root.join(relative)) else { continue };
        let test_file = is_test_path(relative);
        let mut in_test_module = false;
        for (index, line) in text.lines().enumerate() {
            in_test_module |= relative.ends_with(".rs") && line.contains("#[cfg(test)]");
            let mut at = 0;
            while let Some(captures) = parse::id_regex().captures_at(line, at) {
                let found = captures.get(1).expect("group 1");
                at = found.end();
                let key = found.as_str().to_uppercase();
                let location = Location { path: relative.clone(), line: index + 1 };
                match keys.get(&key) {
                    Some(&i) if test_file || in_test_module => tests[i].push(location),
                    Some(&i) => code[i].push(location),
                    None if key.rsplit_once('-').is_some_and(|(prefix, _)| prefixes.contains(prefix)) => {
                        unknown.entry(found.as_str().to_owned()).or_default().push(location)
                    }
                    None => {}
                }
            }
        }
    }
    let requirements = known
        .iter()
        .zip(tests.into_iter().zip(code))
        .map(|((key, priority), (tests, code))| RequirementTrace {
            key: key.clone(),
            priority: priority.clone(),
            status: if !tests.is_empty() {
                TraceStatus::Tested
            } else if !code.is_empty() {
                TraceStatus::CodeOnly
            } else {
                TraceStatus::Untested
            },
            tests,
            code,
        })
        .collect();
    let unknown = unknown.into_iter().map(|(key, locations)| UnknownId { key, locations }).collect();
    Ok(Report { commit, requirements, unknown, files_scanned: files.len() })
}

/// The checkout's files worth scanning, as `/`-separated paths relative to `root`.
fn collect(root: &FsPath, dir: &FsPath, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            if !name.starts_with('.') && !SKIPPED_DIRS.contains(&name.as_str()) {
                collect(root, &path, out)?;
            }
        } else if kind.is_file() {
            let extension = name.rsplit_once('.').map(|(_, ext)| ext.to_lowercase()).unwrap_or_default();
            let small = entry.metadata().map(|meta| meta.len() <= MAX_FILE_BYTES).unwrap_or(false);
            if small && !SKIPPED_EXTENSIONS.contains(&extension.as_str()) && !name.ends_with(".min.js") {
                if let Ok(relative) = path.strip_prefix(root) {
                    let parts: Vec<String> =
                        relative.components().map(|part| part.as_os_str().to_string_lossy().into_owned()).collect();
                    out.push(parts.join("/"));
                }
            }
        }
    }
    Ok(())
}

/// A stored report.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct StoredReport {
    pub id: Uuid,
    pub branch: String,
    pub commit: String,
    pub uploaded_by: String,
    pub created_at: DateTime<Utc>,
    pub summary: Summary,
    pub report: Report,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    branch: String,
    commit: String,
    uploaded_by: String,
    created_at: DateTime<Utc>,
    report: sqlx::types::Json<Report>,
}

impl From<Row> for StoredReport {
    fn from(row: Row) -> StoredReport {
        StoredReport {
            id: row.id,
            branch: row.branch,
            commit: row.commit,
            uploaded_by: row.uploaded_by,
            created_at: row.created_at,
            summary: row.report.0.summary(),
            report: row.report.0,
        }
    }
}

const REPORT_QUERY: &str = "SELECT t.id, b.name AS branch, t.commit, u.username AS uploaded_by, t.created_at, t.report
     FROM traceability_reports t JOIN branches b ON b.id = t.branch_id JOIN users u ON u.id = t.uploaded_by";

/// The id of the branch's latest report, if one was uploaded: names the coverage that
/// views of the branch's requirements show.
pub(crate) async fn latest_id(db: &PgPool, project_id: ProjectId, branch_id: BranchId) -> Result<Option<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM traceability_reports WHERE project_id = $1 AND branch_id = $2
         ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(project_id)
    .bind(branch_id)
    .fetch_optional(db)
    .await?)
}

/// The branch's latest report, if one was uploaded.
pub(crate) async fn latest(db: &PgPool, project_id: ProjectId, branch_id: BranchId) -> Result<Option<StoredReport>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "{REPORT_QUERY} WHERE t.project_id = $1 AND t.branch_id = $2 ORDER BY t.created_at DESC, t.id DESC LIMIT 1"
    ))
    .bind(project_id)
    .bind(branch_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(StoredReport::from))
}

pub async fn upload(db: &PgPool, project: &ProjectAccess, branch: &str, report: Report) -> Result<StoredReport> {
    let (project_id, actor) = (project.project(), project.actor());
    let branch_id = branches::resolve(db, project_id, branch).await?;
    let commit = report.commit.trim();
    if commit.is_empty() || commit.len() > 100 {
        return Err(Error::Invalid("a report names the commit it was made at (1 to 100 characters)".into()));
    }
    if let Some(bad) = report.requirements.iter().find(|r| !parse::is_id(&r.key)) {
        return Err(Error::Invalid(format!("`{}` is not a requirement ID (letters, a dash, digits)", bad.key)));
    }
    let id = Uuid::now_v7();
    let mut tx = project.begin(db).await?;
    sqlx::query(
        "INSERT INTO traceability_reports (id, project_id, branch_id, commit, report, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(project_id)
    .bind(branch_id)
    .bind(commit)
    .bind(sqlx::types::Json(&report))
    .bind(actor.user_id)
    .execute(&mut *tx)
    .await?;
    let summary = report.summary();
    let text = format!(
        "uploaded a traceability report for {commit}: {} tested, {} code only, {} untested",
        summary.tested, summary.code_only, summary.untested
    );
    audit::record(&mut *tx, project.audit("traceability.upload", ("traceability_report", id), text)).await?;
    tx.commit().await?;
    let row: Row = sqlx::query_as(&format!("{REPORT_QUERY} WHERE t.id = $1")).bind(id).fetch_one(db).await?;
    Ok(row.into())
}

pub async fn get(db: &PgPool, project: &ProjectAccess, branch: &str) -> Result<StoredReport> {
    let project_id = project.project();
    let branch_id = branches::resolve(db, project_id, branch).await?;
    latest(db, project_id, branch_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no traceability report has been uploaded for branch {branch} yet")))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(upload_handler, get_handler))
}

/// Store a traceability report (what `charter check --upload` sends).
#[utoipa::path(post, path = "/projects/{id}/traceability", tag = "specs",
    extensions(("x-charter-access" = json!("editor"))), params(("id" = Uuid, Path), BranchQuery),
    request_body = Report,
    responses((status = 201, body = StoredReport), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn upload_handler(
    State(state): State<AppState>,
    project: Project<need::Write>,
    Query(branch): Query<BranchQuery>,
    Json(report): Json<Report>,
) -> Result<(StatusCode, Json<StoredReport>)> {
    Ok((StatusCode::CREATED, Json(upload(&state.db, &project, branch.name(), report).await?)))
}

/// The branch's latest traceability report.
#[utoipa::path(get, path = "/projects/{id}/traceability", tag = "specs",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path), BranchQuery),
    responses((status = 200, body = StoredReport), (status = 404, body = crate::error::ErrorBody)))]
async fn get_handler(
    State(state): State<AppState>,
    project: Project<need::Read>,
    Query(branch): Query<BranchQuery>,
) -> Result<Json<StoredReport>> {
    Ok(Json(get(&state.db, &project, branch.name()).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_files_by_convention() {
        for path in [
            "tests/login.rs",
            "src/__tests__/a.js",
            "pkg/login_test.go",
            "web/login.test.ts",
            "e2e/x.spec.ts",
            "test_login.py",
            "src/LoginTest.java",
        ] {
            assert!(is_test_path(path), "{path}");
        }
        for path in ["src/login.rs", "src/testing_utils_helper.rs", "contest/main.py", "src/latest.js"] {
            assert!(!is_test_path(path), "{path}");
        }
    }

    #[test]
    fn scan_sorts_requirements_into_tested_code_only_and_untested() {
        let root = std::env::temp_dir().join(format!("charter-scan-{}", Uuid::now_v7()));
        let write = |path: &str, text: &str| {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("src/auth.rs", "// AUTH-001 AUTH-002\nfn f() {}\n#[cfg(test)]\nmod tests { /* AUTH-003 */ }\n");
        write("tests/login.rs", "// covers AUTH-001 and AUTH-999, encodes UTF-8\n");
        write("node_modules/x/AUTH-004.js", "AUTH-004\n");
        write("README.md", "AUTH-004\n");
        let known: Vec<(String, Option<String>)> = ["AUTH-001", "AUTH-002", "AUTH-003", "AUTH-004"]
            .iter()
            .map(|k| (k.to_string(), Some("P1".into())))
            .collect();
        let report = scan(&root, &known, "abc".into()).unwrap();
        std::fs::remove_dir_all(&root).unwrap();
        let statuses: Vec<TraceStatus> = report.requirements.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [TraceStatus::Tested, TraceStatus::CodeOnly, TraceStatus::Tested, TraceStatus::Untested]);
        assert_eq!(report.requirements[0].tests, [Location { path: "tests/login.rs".into(), line: 1 }]);
        assert_eq!(report.unknown.len(), 1);
        assert_eq!(report.unknown[0].key, "AUTH-999");
        assert_eq!(report.files_scanned, 2);
        assert_eq!(report.summary(), Summary { tested: 2, code_only: 1, untested: 1, unknown: 1, untested_p1: 2 });
    }
}
