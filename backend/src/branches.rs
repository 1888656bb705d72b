//! Branches of a project. Every project has `main` from creation. A branch forks every
//! document of its source: each gets the source's current CRDT state as its starting
//! snapshot and keeps the Markdown it had at the fork (the base of later three-way
//! merges); no history is copied.

use axum::extract::State;
use axum::http::StatusCode;
use charter_types::{BranchId, ChangeRequestId, DocumentId, ProjectId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor, PgPool};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::access::{self, Change};
use crate::audit;
use crate::authorization::{need, Isolation, Project, ProjectAccess};
use crate::collab::DocKey;
use crate::error::{Error, Result};
use crate::extract::{Json, Path};
use crate::AppState;
use crate::{claims, content};

pub const MAIN: &str = "main";

/// Which branch an operation applies to (`?branch=`).
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct BranchQuery {
    /// `main` when left out.
    pub branch: Option<String>,
}

impl BranchQuery {
    pub fn name(&self) -> &str {
        self.branch.as_deref().unwrap_or(MAIN)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct Branch {
    pub id: BranchId,
    pub name: String,
    /// The branch it was made from (`null` for `main`).
    pub from: Option<String>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewBranch {
    pub name: String,
    /// The branch to fork; `main` when left out.
    pub from: Option<String>,
}

/// Branch names read like git's: letters, digits, `.`, `_`, `-` and `/`, not at the ends.
fn validate_name(name: &str) -> Result<()> {
    let allowed = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'));
    let well_formed = !name.starts_with(['/', '.', '-']) && !name.ends_with(['/', '.']) && !name.contains("//");
    if name.is_empty() || name.len() > 100 || !allowed || !well_formed || name.contains("..") {
        return Err(Error::Invalid(
            "a branch name is 1 to 100 letters, digits, '.', '_', '-' or '/', like `draft/login-flow`".into(),
        ));
    }
    Ok(())
}

pub(crate) async fn create_main(tx: &mut PgConnection, project: &ProjectAccess) -> Result<BranchId> {
    let id = BranchId::from_uuid(Uuid::now_v7());
    sqlx::query("INSERT INTO branches (id, project_id, name, created_by) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(project.project())
        .bind(MAIN)
        .bind(project.actor().user_id)
        .execute(&mut *tx)
        .await?;
    audit::record(&mut *tx, project.audit("branch.create", ("branch", id), format!("created branch {MAIN}"))).await?;
    Ok(id)
}

/// The id of the project's branch called `name`.
pub async fn resolve(db: &PgPool, project_id: ProjectId, name: &str) -> Result<BranchId> {
    find(db, project_id, name, "").await
}

/// The id of the project's branch called `name`, which cannot be deleted until the
/// transaction ends (a deletion under way is waited for, and then it is not found).
pub(crate) async fn resolve_locked(tx: &mut PgConnection, project_id: ProjectId, name: &str) -> Result<BranchId> {
    find(tx, project_id, name, "FOR KEY SHARE").await
}

async fn find<'e>(db: impl PgExecutor<'e>, project_id: ProjectId, name: &str, lock: &str) -> Result<BranchId> {
    let id: Option<BranchId> =
        sqlx::query_scalar(&format!("SELECT id FROM branches WHERE project_id = $1 AND name = $2 {lock}"))
            .bind(project_id)
            .bind(name)
            .fetch_optional(db)
            .await?;
    id.ok_or_else(|| Error::NotFound(format!("branch `{name}` not found")))
}

const BRANCH_QUERY: &str = "SELECT b.id, b.name, f.name AS \"from\", u.username AS created_by, b.created_at
     FROM branches b LEFT JOIN branches f ON f.id = b.forked_from LEFT JOIN users u ON u.id = b.created_by";

pub async fn list(db: &PgPool, project: &ProjectAccess) -> Result<Vec<Branch>> {
    Ok(sqlx::query_as(&format!("{BRANCH_QUERY} WHERE b.project_id = $1 ORDER BY b.name <> 'main', b.name"))
        .bind(project.project())
        .fetch_all(db)
        .await?)
}

/// Forks every document of `from` (`main` by default) into a new branch, all as of one
/// moment even while people are editing.
pub async fn create(db: &PgPool, project: &ProjectAccess, new: NewBranch) -> Result<Branch> {
    let name = new.name.trim();
    validate_name(name)?;
    let from = new.from.as_deref().unwrap_or(MAIN);
    // A source deleted while it is being forked fails the moment's serializability; once
    // more, the fork finds it gone (404) rather than failing with a database error.
    let mut attempts = 0;
    let id = loop {
        attempts += 1;
        match fork(db, project, name, from).await {
            Err(err) if err.is_sqlstate("40001") && attempts < 3 => continue,
            forked => break forked?,
        }
    };
    sqlx::query_as(&format!("{BRANCH_QUERY} WHERE b.id = $1")).bind(id).fetch_one(db).await.map_err(Error::from)
}

/// A new branch from `from` named `base`, or `base-2`, `base-3`, ... when taken (for
/// branches Charter names itself). A name taken between looking and creating, by a
/// request running alongside, moves on to the next.
pub async fn create_numbered(db: &PgPool, project: &ProjectAccess, base: &str, from: &str) -> Result<Branch> {
    const ATTEMPTS: usize = 5;
    for _ in 0..ATTEMPTS {
        let taken: Vec<(String,)> =
            sqlx::query_as("SELECT name FROM branches WHERE project_id = $1 AND (name = $2 OR name LIKE $2 || '-%')")
                .bind(project.project())
                .bind(base)
                .fetch_all(db)
                .await?;
        let name = std::iter::once(base.to_owned())
            .chain((2..).map(|n| format!("{base}-{n}")))
            .find(|candidate| !taken.iter().any(|(name,)| name == candidate))
            .expect("an unbounded sequence has a free name");
        match create(db, project, NewBranch { name, from: Some(from.to_owned()) }).await {
            Err(Error::Conflict(_)) => continue,
            created => return created,
        }
    }
    Err(Error::Conflict("too many branches named alike at once; try again".into()))
}

async fn fork(db: &PgPool, project: &ProjectAccess, name: &str, from: &str) -> Result<BranchId> {
    // One consistent moment for every document read below.
    let mut tx = project.begin_with(db, Isolation::RepeatableRead).await?;
    // Kept from being deleted until the fork is made.
    let source = resolve_locked(&mut tx, project.project(), from).await?;
    let id = BranchId::from_uuid(Uuid::now_v7());
    sqlx::query("INSERT INTO branches (id, project_id, name, created_by, forked_from) VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(project.project())
        .bind(name)
        .bind(project.actor().user_id)
        .bind(source)
        .execute(&mut *tx)
        .await
        .map_err(Error::from)
        .map_err(|err| match err.is_unique_violation("branches_project_id_name_key") {
            true => Error::Conflict(format!("a branch named `{name}` already exists")),
            false => err,
        })?;
    let documents: Vec<DocumentId> =
        sqlx::query_scalar("SELECT document_id FROM branch_documents WHERE branch_id = $1")
            .bind(source)
            .fetch_all(&mut *tx)
            .await?;
    for &document_id in &documents {
        sqlx::query(
            "INSERT INTO branch_documents (branch_id, document_id, title, parent_id, position, deleted_at, updated_by)
             SELECT $1, document_id, title, parent_id, position, deleted_at, $3
             FROM branch_documents WHERE branch_id = $2 AND document_id = $4",
        )
        .bind(id)
        .bind(source)
        .bind(project.actor().user_id)
        .bind(document_id)
        .execute(&mut *tx)
        .await?;
        let text = content::fork(&mut tx, DocKey::new(source, document_id), DocKey::new(id, document_id)).await?;
        sqlx::query(
            "UPDATE branch_documents SET fork_base = $3, fork_title = title, fork_parent_id = parent_id,
                 fork_deleted = deleted_at IS NOT NULL
             WHERE branch_id = $1 AND document_id = $2",
        )
        .bind(id)
        .bind(document_id)
        .bind(&text)
        .execute(&mut *tx)
        .await?;
    }
    let summary = format!("created branch {name} from {from} ({} documents)", documents.len());
    audit::record(&mut *tx, project.audit("branch.create", ("branch", id), summary)).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn delete(db: &PgPool, project: &ProjectAccess, name: &str) -> Result<()> {
    if name == MAIN {
        return Err(Error::Conflict("`main` is the project's source of truth and cannot be deleted".into()));
    }
    let mut tx = project.begin(db).await?;
    // Locked first: a change request opened or a fork made from it meanwhile is waited
    // for, and then seen below.
    let id = find(&mut *tx, project.project(), name, "FOR UPDATE").await?;
    // Its open change requests go with it, but not from under a merge or resolution:
    // their claims are held until the deletion is done.
    let open: Vec<(ChangeRequestId, i32)> = sqlx::query_as(
        "SELECT id, number FROM change_requests
         WHERE state = 'open' AND (source_branch_id = $1 OR target_branch_id = $1) ORDER BY number",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    for (change_request, number) in open {
        if !claims::try_claim(&mut tx, change_request).await? {
            return Err(claims::busy(number));
        }
    }
    // Its documents' state goes with it (cascading from branch_documents).
    sqlx::query("DELETE FROM branches WHERE id = $1").bind(id).execute(&mut *tx).await?;
    audit::record(&mut *tx, project.audit("branch.delete", ("branch", id), format!("deleted branch {name}"))).await?;
    access::changed(&mut tx, Change::Branch(id)).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_handler, create_handler)).routes(routes!(delete_handler))
}

/// The project's branches, `main` first.
#[utoipa::path(get, path = "/projects/{id}/branches", tag = "branches",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Branch>), (status = 404, body = crate::error::ErrorBody)))]
async fn list_handler(State(state): State<AppState>, project: Project<need::Read>) -> Result<Json<Vec<Branch>>> {
    Ok(Json(list(&state.db, &project).await?))
}

/// Create a branch of the whole project from `main` or another branch (editors and above).
#[utoipa::path(post, path = "/projects/{id}/branches", tag = "branches",
    extensions(("x-charter-access" = json!("editor"))), params(("id" = Uuid, Path)),
    request_body = NewBranch,
    responses((status = 201, body = Branch), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
async fn create_handler(
    State(state): State<AppState>,
    project: Project<need::Write>,
    Json(new): Json<NewBranch>,
) -> Result<(StatusCode, Json<Branch>)> {
    Ok((StatusCode::CREATED, Json(create(&state.db, &project, new).await?)))
}

/// Delete a branch and its documents' state (`main` cannot be deleted).
#[utoipa::path(delete, path = "/projects/{id}/branches/{name}", tag = "branches",
    extensions(("x-charter-access" = json!("editor"))),
    params(("id" = Uuid, Path), ("name" = String, Path)),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn delete_handler(
    State(state): State<AppState>,
    project: Project<need::Write>,
    Path((_id, name)): Path<(Uuid, String)>,
) -> Result<StatusCode> {
    delete(&state.db, &project, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::validate_name;

    #[test]
    fn branch_names_read_like_git_refs() {
        for good in ["draft", "draft/login-flow", "v1.2", "ada_fix-3"] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in ["", "/lead", "trail/", "a//b", "a..b", "with space", "ümlaut", ".hidden", "-flag", &"x".repeat(101)]
        {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }
}
