//! Requirements as things of their own: each has an identity that outlives its ID and
//! its wording. Indexing a branch matches what the documents say now to what the branch
//! (or, for a new branch, the rest of the project) said before: by ID first, then by
//! text, so renaming `AUTH-001` to `SEC-001`, or rewording it, or moving it to another
//! spec, keeps one requirement with one history.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, LazyLock, OnceLock};

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use charter_types::{
    Backlink, BranchId, ContractOperation, DocumentId, HistoryEntry, Kind, Permission, ProjectId, Provenance,
    RequirementIncident, RequirementStatus, RequirementView,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::cache::Derived;
use super::feedback;
use super::parse::Requirement;
use super::traceability;
use super::{Corpus, Doc, Fingerprint, Text};
use crate::access::Actor;
use crate::authorization::{self, need, Project, ProjectAccess};
use crate::error::{Error, Result};
use crate::extract::{Json, Path, Query};
use crate::{branches, history, AppState};

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RequirementDetail {
    #[serde(flatten)]
    pub requirement: RequirementView,
    pub branch: String,
    /// Newest first.
    pub history: Vec<HistoryEntry>,
    pub backlinks: Vec<Backlink>,
    /// The contracts' operations that name it (`x-requirements`).
    pub operations: Vec<ContractOperation>,
    /// The commit the coverage was checked at.
    pub checked_commit: Option<String>,
    pub checked_at: Option<DateTime<Utc>>,
    /// Incidents linked to it, or flagged as its regressions, latest first.
    pub incidents: Vec<RequirementIncident>,
    /// The incidents it was added or amended after ("added after incident …").
    pub provenance: Vec<Provenance>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct RequirementQuery {
    /// `main` when left out.
    pub branch: Option<String>,
    /// Only requirements whose ID, title or text contains this (case-insensitive).
    pub q: Option<String>,
}

fn normalized(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[derive(sqlx::FromRow)]
struct Known {
    requirement_id: Uuid,
    key: String,
    body: String,
}

/// A requirement as a branch stores it.
#[derive(PartialEq, sqlx::FromRow)]
struct Stored {
    requirement_id: Uuid,
    key: String,
    title: String,
    body: String,
    acceptance: sqlx::types::Json<Vec<String>>,
    priority: Option<String>,
    document_id: DocumentId,
    line: i32,
}

/// The requirements (not principles) of a corpus, first definitions only.
fn parsed(corpus: &Corpus) -> Vec<(&Doc, &Requirement)> {
    corpus.requirements().filter(|(doc, _)| doc.kind != Kind::Constitution).collect()
}

/// Holds the branch's requirements until the transaction ends: indexings of a branch
/// take turns, and one that read its documents after taking its turn never writes an
/// older state over a newer one. (Taken again by the same transaction, it is held once.)
async fn lock(conn: &mut PgConnection, branch_id: BranchId) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7))").bind(branch_id).execute(conn).await?;
    Ok(())
}

/// Each requirement key's (uppercased) identity on a branch.
pub(crate) type Keys = HashMap<String, Uuid>;

/// Matches the corpus's requirements to identities and stores them as the branch's
/// current requirements; returns each key's (uppercased) identity.
pub(crate) async fn index(
    conn: &mut PgConnection,
    project_id: ProjectId,
    branch_id: BranchId,
    corpus: &Corpus,
) -> Result<Keys> {
    lock(&mut *conn, branch_id).await?;
    let stored: Vec<Stored> = sqlx::query_as(
        "SELECT requirement_id, key, title, body, acceptance, priority, document_id, line
         FROM branch_requirements WHERE branch_id = $1",
    )
    .bind(branch_id)
    .fetch_all(&mut *conn)
    .await?;
    let mine: Vec<Known> = stored
        .iter()
        .map(|row| Known { requirement_id: row.requirement_id, key: row.key.clone(), body: row.body.clone() })
        .collect();
    // What other branches know (main first): a new branch inherits identities by them.
    let others: Vec<Known> = sqlx::query_as(
        "SELECT DISTINCT ON (br.requirement_id) br.requirement_id, br.key, br.body
         FROM branch_requirements br JOIN branches b ON b.id = br.branch_id
         WHERE b.project_id = $1 AND br.branch_id <> $2
         ORDER BY br.requirement_id, (b.name = 'main') DESC",
    )
    .bind(project_id)
    .bind(branch_id)
    .fetch_all(&mut *conn)
    .await?;

    let found = parsed(corpus);
    let ids = identities(&found, [&mine, &others]);
    let fresh: Vec<Uuid> = ids.iter().filter(|id| id.is_none()).map(|_| Uuid::now_v7()).collect();
    if !fresh.is_empty() {
        sqlx::query("INSERT INTO requirements (id, project_id) SELECT unnest($1::uuid[]), $2")
            .bind(&fresh)
            .bind(project_id)
            .execute(&mut *conn)
            .await?;
    }
    let mut fresh = fresh.into_iter();
    let now: Vec<Stored> = ids
        .into_iter()
        .zip(&found)
        .map(|(id, (doc, requirement))| Stored {
            requirement_id: id.or_else(|| fresh.next()).expect("an id for each new requirement"),
            key: requirement.key.clone(),
            title: requirement.title.clone(),
            body: requirement.text.clone(),
            acceptance: sqlx::types::Json(requirement.acceptance.clone()),
            priority: requirement.priority.clone(),
            document_id: doc.id,
            line: requirement.line as i32,
        })
        .collect();
    let keys = now.iter().map(|row| (row.key.to_uppercase(), row.requirement_id)).collect();
    // Reads index too: rewrite only the rows that say something new (an edit to one spec
    // touches its own requirements, not the project's thousands).
    let before: HashMap<Uuid, &Stored> = stored.iter().map(|row| (row.requirement_id, row)).collect();
    let after: HashMap<Uuid, &Stored> = now.iter().map(|row| (row.requirement_id, row)).collect();
    let stale: Vec<Uuid> = stored
        .iter()
        .filter(|row| after.get(&row.requirement_id).copied() != Some(*row))
        .map(|row| row.requirement_id)
        .collect();
    let written: Vec<&Stored> =
        now.iter().filter(|row| before.get(&row.requirement_id).copied() != Some(*row)).collect();
    sqlx::query(
        "UPDATE branches SET requirements_fingerprint = $2 WHERE id = $1 AND requirements_fingerprint IS DISTINCT FROM $2",
    )
    .bind(branch_id)
    .bind(corpus.fingerprint().map(Fingerprint::stored))
    .execute(&mut *conn)
    .await?;
    if stale.is_empty() && written.is_empty() {
        return Ok(keys);
    }
    // Stale rows go first, so a key passed from one requirement to another is free again.
    sqlx::query("DELETE FROM branch_requirements WHERE branch_id = $1 AND requirement_id = ANY($2)")
        .bind(branch_id)
        .bind(&stale)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO branch_requirements
             (branch_id, requirement_id, key, title, body, acceptance, priority, document_id, line)
         SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::text[],
                                  $8::uuid[], $9::int[])",
    )
    .bind(branch_id)
    .bind(written.iter().map(|row| row.requirement_id).collect::<Vec<_>>())
    .bind(written.iter().map(|row| row.key.as_str()).collect::<Vec<_>>())
    .bind(written.iter().map(|row| row.title.as_str()).collect::<Vec<_>>())
    .bind(written.iter().map(|row| row.body.as_str()).collect::<Vec<_>>())
    .bind(written.iter().map(|row| &row.acceptance).collect::<Vec<_>>())
    .bind(written.iter().map(|row| row.priority.as_deref()).collect::<Vec<_>>())
    .bind(written.iter().map(|row| row.document_id).collect::<Vec<_>>())
    .bind(written.iter().map(|row| row.line).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(keys)
}

/// The identity each found requirement takes from the pools (in order: this branch's,
/// then the others'), matched by ID and then by text among what is left; `None` for a
/// new one. Each pool is bucketed once, so this is linear in requirements and pool.
fn identities(found: &[(&Doc, &Requirement)], pools: [&[Known]; 2]) -> Vec<Option<Uuid>> {
    let mut ids: Vec<Option<Uuid>> = vec![None; found.len()];
    let mut used: HashSet<Uuid> = HashSet::new();
    for pool in pools {
        for by_text in [false, true] {
            let matching = |key: &str, text: &str| if by_text { normalized(text) } else { key.to_ascii_uppercase() };
            // Candidates in pool order, per what they are matched by.
            let mut candidates: HashMap<String, VecDeque<Uuid>> = HashMap::new();
            for known in pool {
                candidates.entry(matching(&known.key, &known.body)).or_default().push_back(known.requirement_id);
            }
            for (slot, (_, requirement)) in ids.iter_mut().zip(found).filter(|(slot, _)| slot.is_none()) {
                let Some(queue) = candidates.get_mut(&matching(&requirement.key, &requirement.text)) else { continue };
                // Identities taken earlier are gone for good.
                while queue.front().is_some_and(|id| used.contains(id)) {
                    queue.pop_front();
                }
                if let Some(id) = queue.pop_front() {
                    used.insert(id);
                    *slot = Some(id);
                }
            }
        }
    }
    ids
}

/// Records the branch's requirements as version `version_id` has them.
pub(crate) async fn record(
    conn: &mut PgConnection,
    project_id: ProjectId,
    branch_id: BranchId,
    version_id: Uuid,
) -> Result<()> {
    lock(&mut *conn, branch_id).await?;
    let corpus = Corpus::load(&mut *conn, branch_id, Text::Live).await?;
    index(&mut *conn, project_id, branch_id, &corpus).await?;
    sqlx::query(
        "INSERT INTO version_requirements (version_id, requirement_id, key, title, body, acceptance, document_id)
         SELECT $1, requirement_id, key, title, body, acceptance, document_id FROM branch_requirements WHERE branch_id = $2",
    )
    .bind(version_id)
    .bind(branch_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn status(requirement: &Requirement) -> RequirementStatus {
    let marker = |text: &str| text.to_uppercase().contains("[NEEDS CLARIFICATION");
    if marker(&requirement.text) || requirement.acceptance.iter().any(|scenario| marker(scenario)) {
        RequirementStatus::NeedsClarification
    } else if requirement.acceptance.is_empty() {
        RequirementStatus::Incomplete
    } else {
        RequirementStatus::Ready
    }
}

/// Indexes the branch's requirements as its documents say now: the branch's corpus and
/// each key's (uppercased) identity.
pub(crate) async fn refresh(db: &PgPool, project_id: ProjectId, branch_id: BranchId) -> Result<(Corpus, Arc<Keys>)> {
    // Indexing an unchanged corpus again would store what is stored: skip it.
    static INDEXED: LazyLock<Derived<Keys>> =
        LazyLock::new(|| Derived::new(64 << 20, |keys| 64 * keys.len() as u64 + 64));
    let corpus = Corpus::load(&mut *db.acquire().await?, branch_id, Text::Live).await?;
    if let Some(keys) = INDEXED.get(branch_id, corpus.fingerprint()) {
        // Kept here, and still what the branch's rows were written from.
        let stored: Option<i64> = sqlx::query_scalar("SELECT requirements_fingerprint FROM branches WHERE id = $1")
            .bind(branch_id)
            .fetch_one(db)
            .await?;
        if stored == corpus.fingerprint().map(Fingerprint::stored) {
            return Ok((corpus, keys));
        }
    }
    let mut tx = db.begin().await?;
    lock(&mut tx, branch_id).await?;
    let corpus = Corpus::load(&mut tx, branch_id, Text::Live).await?;
    let keys = Arc::new(index(&mut tx, project_id, branch_id, &corpus).await?);
    tx.commit().await?;
    INDEXED.put(branch_id, corpus.fingerprint(), Arc::clone(&keys));
    Ok((corpus, keys))
}

/// A branch's requirements as listed, with their coverage: kept by the fingerprint of
/// the corpus they come from, for the traceability report they were covered by.
pub struct Listing {
    /// The identities it was assembled with (indexing again may give new ones).
    keys: Arc<Keys>,
    report: Option<Uuid>,
    pub views: Vec<RequirementView>,
    /// The whole list as JSON, made when first asked for: the list of a large project
    /// is sent many times for every time it changes.
    json: OnceLock<Bytes>,
}

impl Listing {
    /// The list as the API sends it.
    pub fn json(&self) -> Result<Bytes> {
        if let Some(json) = self.json.get() {
            return Ok(json.clone());
        }
        let json = Bytes::from(serde_json::to_vec(&self.views).map_err(Error::internal)?);
        Ok(self.json.get_or_init(|| json).clone())
    }
}

/// The branch's requirements, indexed now, with their coverage.
async fn current(db: &PgPool, project_id: ProjectId, branch_id: BranchId) -> Result<(Corpus, Arc<Listing>)> {
    static LISTED: LazyLock<Derived<Listing>> = LazyLock::new(|| {
        Derived::new(128 << 20, |listing| {
            let text: usize = listing.views.iter().map(|view| view.text.len() + view.acceptance.concat().len()).sum();
            (2 * text + 512 * listing.views.len()) as u64
        })
    });
    let (corpus, keys) = refresh(db, project_id, branch_id).await?;
    let report = traceability::latest_id(db, project_id, branch_id).await?;
    let kept = LISTED.get(branch_id, corpus.fingerprint());
    if let Some(listing) = kept.filter(|listing| listing.report == report && Arc::ptr_eq(&listing.keys, &keys)) {
        return Ok((corpus, listing));
    }
    let coverage = match report {
        Some(_) => traceability::latest(db, project_id, branch_id).await?.map(|stored| stored.report.coverages()),
        None => None,
    };
    let views = parsed(&corpus)
        .into_iter()
        .filter_map(|(doc, requirement)| {
            let id = *keys.get(&requirement.key.to_uppercase())?;
            Some(RequirementView {
                id,
                key: requirement.key.clone(),
                title: requirement.title.clone(),
                text: requirement.text.clone(),
                acceptance: requirement.acceptance.clone(),
                priority: requirement.priority.clone(),
                document_id: doc.id,
                document: doc.title.clone(),
                section: requirement.section.clone(),
                line: requirement.line,
                status: status(requirement),
                coverage: coverage.as_ref().and_then(|all| all.get(&requirement.key.to_ascii_uppercase()).cloned()),
            })
        })
        .collect();
    let listing = Arc::new(Listing { keys, report, views, json: OnceLock::new() });
    LISTED.put(branch_id, corpus.fingerprint(), Arc::clone(&listing));
    Ok((corpus, listing))
}

/// The branch's requirements whose ID, title or text contains `query.q`, or all of them.
pub async fn list(db: &PgPool, project: &ProjectAccess, query: RequirementQuery) -> Result<Vec<RequirementView>> {
    let listing = listing(db, project, query.branch.as_deref()).await?;
    let wanted = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_lowercase);
    Ok(listing
        .views
        .iter()
        .filter(|view| {
            wanted.as_ref().is_none_or(|q| {
                [&view.key, &view.title, &view.text].iter().any(|field| field.to_lowercase().contains(q.as_str()))
            })
        })
        .cloned()
        .collect())
}

/// Every requirement of a branch (`main` when `None`).
pub async fn listing(db: &PgPool, project: &ProjectAccess, branch: Option<&str>) -> Result<Arc<Listing>> {
    let project_id = project.project();
    let branch_id = branches::resolve(db, project_id, branch.unwrap_or(branches::MAIN)).await?;
    Ok(current(db, project_id, branch_id).await?.1)
}

#[derive(sqlx::FromRow)]
struct Recorded {
    version_id: Uuid,
    key: String,
    body: String,
    acceptance: sqlx::types::Json<Vec<String>>,
    document_id: DocumentId,
}

/// A requirement on a branch: as it stands, its history over the branch's versions, and
/// what links to it.
/// The caller's access to the project of a requirement they may read; a requirement of
/// a project they cannot read does not exist for them.
pub async fn authorize_reader(db: &PgPool, actor: &Actor, requirement_id: Uuid) -> Result<ProjectAccess> {
    let project_id: ProjectId = sqlx::query_scalar("SELECT project_id FROM requirements WHERE id = $1")
        .bind(requirement_id)
        .fetch_optional(db)
        .await?
        .ok_or_else(|| Error::not_found("requirement"))?;
    authorization::authorize(db, actor, project_id, Permission::Read).await.map_err(|err| match err {
        Error::NotFound(_) => Error::not_found("requirement"),
        other => other,
    })
}

pub async fn get(db: &PgPool, actor: &Actor, requirement_id: Uuid, branch: Option<&str>) -> Result<RequirementDetail> {
    let project = authorize_reader(db, actor, requirement_id).await?;
    let project_id = project.project();
    let branch = branch.unwrap_or(branches::MAIN);
    let branch_id = branches::resolve(db, project_id, branch).await?;
    let (corpus, listing) = current(db, project_id, branch_id).await?;
    let requirement = listing.views.iter().find(|view| view.id == requirement_id).cloned().ok_or_else(|| {
        Error::NotFound(format!(
            "this requirement is not in the documents of branch {branch} (it was removed or is elsewhere)"
        ))
    })?;

    let backlinks = corpus
        .backlinks()
        .remove(&requirement.key.to_uppercase())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(document_id, line)| {
            let doc = corpus.doc(document_id)?;
            Some(Backlink { document_id, title: doc.title.clone(), kind: doc.kind, line })
        })
        .collect();

    let operations = corpus
        .docs
        .iter()
        .filter_map(|doc| Some((doc, doc.contract()?)))
        .flat_map(|(doc, contract)| contract.operations().iter().map(move |operation| (doc, operation)))
        .filter(|(_, operation)| operation.requirements.iter().any(|key| key.eq_ignore_ascii_case(&requirement.key)))
        .map(|(doc, operation)| ContractOperation {
            document_id: doc.id,
            document: doc.title.clone(),
            operation: operation.clone(),
        })
        .collect();

    let recorded: Vec<Recorded> = sqlx::query_as(
        "SELECT version_id, key, body, acceptance, document_id FROM version_requirements WHERE requirement_id = $1",
    )
    .bind(requirement_id)
    .fetch_all(db)
    .await?;
    let recorded: HashMap<Uuid, Recorded> = recorded.into_iter().map(|row| (row.version_id, row)).collect();
    let mut versions = history::list(db, &project, branch).await?;
    versions.reverse();
    let mut history = Vec::new();
    let mut previous: Option<&Recorded> = None;
    for version in &versions {
        let now = recorded.get(&version.id);
        let changes: Vec<String> = match (previous, now) {
            (None, None) => continue,
            (None, Some(_)) => vec!["added".into()],
            (Some(_), None) => vec!["removed".into()],
            (Some(before), Some(after)) => [
                (before.key != after.key, "renamed"),
                (normalized(&before.body) != normalized(&after.body), "reworded"),
                (before.acceptance.0 != after.acceptance.0, "scenarios"),
                (before.document_id != after.document_id, "moved"),
            ]
            .into_iter()
            .filter(|(changed, _)| *changed)
            .map(|(_, name)| name.to_owned())
            .collect(),
        };
        if !changes.is_empty() {
            let shown = now.or(previous).expect("one side is present");
            history.push(HistoryEntry {
                version: version.number,
                version_id: version.id,
                message: version.message.clone(),
                author: version.author.clone(),
                change_request: version.change_request,
                approvers: version.approvers.clone(),
                created_at: version.created_at,
                changes,
                key: shown.key.clone(),
                text: shown.body.clone(),
                previous_key: previous.filter(|before| before.key != shown.key).map(|before| before.key.clone()),
                previous_text: previous
                    .filter(|before| normalized(&before.body) != normalized(&shown.body))
                    .map(|before| before.body.clone()),
            });
        }
        previous = now;
    }
    history.reverse();
    let report = traceability::latest(db, project_id, branch_id).await?;
    Ok(RequirementDetail {
        requirement,
        branch: branch.to_owned(),
        history,
        backlinks,
        operations,
        checked_commit: report.as_ref().map(|report| report.commit.clone()),
        checked_at: report.as_ref().map(|report| report.created_at),
        incidents: feedback::incidents(db, requirement_id).await?,
        provenance: feedback::provenance(db, requirement_id).await?,
    })
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_handler)).routes(routes!(get_handler))
}

/// The requirements of a branch's documents, with status and coverage.
#[utoipa::path(get, path = "/projects/{id}/requirements", tag = "specs",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path), RequirementQuery),
    responses((status = 200, body = Vec<RequirementView>), (status = 404, body = crate::error::ErrorBody)))]
async fn list_handler(
    State(state): State<AppState>,
    project: Project<need::Read>,
    Query(query): Query<RequirementQuery>,
) -> Result<Response> {
    if query.q.as_deref().is_some_and(|q| !q.trim().is_empty()) {
        return Ok(Json(list(&state.db, &project, query).await?).into_response());
    }
    // The whole list, as sent before while the branch is unchanged.
    let json = listing(&state.db, &project, query.branch.as_deref()).await?.json()?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// A requirement with its history across versions and what links to it.
#[utoipa::path(get, path = "/requirements/{id}", tag = "specs",
    extensions(("x-charter-access" = json!("viewer"))),
    params(("id" = Uuid, Path), crate::branches::BranchQuery),
    responses((status = 200, body = RequirementDetail), (status = 404, body = crate::error::ErrorBody)))]
async fn get_handler(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Query(branch): Query<crate::branches::BranchQuery>,
) -> Result<Json<RequirementDetail>> {
    Ok(Json(get(&state.db, &actor, id, branch.branch.as_deref()).await?))
}
