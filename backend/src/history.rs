//! History: every merge is a numbered version of its target branch, holding each
//! document as it stood. Versions can be tagged (the constitution's `v1.2.0`), and any
//! document can be read at a version or compared between two.

use axum::extract::State;
use axum::http::StatusCode;
use charter_types::{DocumentId, Kind, ProjectId, Version};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::audit;
use crate::authorization::{need, Document, Project, ProjectAccess};
use crate::branches::BranchQuery;
use crate::collab::DocKey;
use crate::error::{Error, Result};
use crate::extract::{Json, Path, Query};
use crate::merge::{self, LineChange};
use crate::{branches, content, AppState};

const VERSION_QUERY: &str = "SELECT v.id, v.number, b.name AS branch, v.message, u.username AS author,
         c.number AS change_request, v.created_at,
         coalesce((SELECT array_agg(reviewer.username ORDER BY reviewer.username)
                   FROM (SELECT DISTINCT ON (r.reviewer_id) r.reviewer_id, r.verdict FROM reviews r
                         WHERE r.change_request_id = v.change_request_id
                         ORDER BY r.reviewer_id, r.created_at DESC) latest
                   JOIN users reviewer ON reviewer.id = latest.reviewer_id
                   WHERE latest.verdict = 'approve'), '{}') AS approvers,
         coalesce((SELECT array_agg(t.name ORDER BY t.created_at, t.name) FROM tags t WHERE t.version_id = v.id),
                  '{}') AS tags
     FROM versions v JOIN branches b ON b.id = v.branch_id JOIN users u ON u.id = v.author_id
     LEFT JOIN change_requests c ON c.id = v.change_request_id";

pub(crate) async fn version(db: &PgPool, id: Uuid) -> Result<Version> {
    Ok(sqlx::query_as(&format!("{VERSION_QUERY} WHERE v.id = $1")).bind(id).fetch_one(db).await?)
}

/// The branch's versions, newest first.
pub async fn list(db: &PgPool, project: &ProjectAccess, branch: &str) -> Result<Vec<Version>> {
    let branch_id = branches::resolve(db, project.project(), branch).await?;
    Ok(sqlx::query_as(&format!("{VERSION_QUERY} WHERE v.branch_id = $1 ORDER BY v.number DESC"))
        .bind(branch_id)
        .fetch_all(db)
        .await?)
}

#[derive(Deserialize, ToSchema)]
pub struct NewTag {
    pub name: String,
    /// The version's id.
    pub version: Uuid,
}

/// A name given to a version.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Tag {
    pub name: String,
    #[sqlx(flatten)]
    pub version: Version,
    /// When the name was given.
    #[sqlx(rename = "tagged_at")]
    pub created_at: DateTime<Utc>,
}

/// The project's tags named `name` (all of them when `None`), in the order they were made.
async fn tags_named(db: &PgPool, project_id: ProjectId, name: Option<&str>) -> Result<Vec<Tag>> {
    Ok(sqlx::query_as(&format!(
        "SELECT named.name, named.created_at AS tagged_at, tagged.* FROM tags named
         CROSS JOIN LATERAL ({VERSION_QUERY} WHERE v.id = named.version_id) tagged
         WHERE named.project_id = $1 AND ($2::text IS NULL OR named.name = $2)
         ORDER BY named.created_at, named.name"
    ))
    .bind(project_id)
    .bind(name)
    .fetch_all(db)
    .await?)
}

/// The project's tags, in the order they were made.
pub async fn tags(db: &PgPool, project: &ProjectAccess) -> Result<Vec<Tag>> {
    tags_named(db, project.project(), None).await
}

pub async fn tag(db: &PgPool, project: &ProjectAccess, new: NewTag) -> Result<Tag> {
    let name = new.name.trim();
    let allowed = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | '+' | '@'));
    if name.is_empty() || name.len() > 100 || !allowed {
        return Err(Error::Invalid(
            "a tag is 1 to 100 letters, digits and the characters . _ - / + @, like v1.2.0 or shop-api@2.0.0".into(),
        ));
    }
    let mut tx = project.begin(db).await?;
    // Locked, so that deleting its branch (and with it the version) waits for the tag.
    let owned: Option<(Uuid,)> =
        sqlx::query_as("SELECT id FROM versions WHERE id = $1 AND project_id = $2 FOR KEY SHARE")
            .bind(new.version)
            .bind(project.project())
            .fetch_optional(&mut *tx)
            .await?;
    owned.ok_or_else(|| Error::not_found("version"))?;
    if !tag_in(&mut tx, project, name, new.version).await? {
        return Err(Error::Conflict(format!("there is already a tag named {name}: choose another name")));
    }
    tx.commit().await?;
    let made = tags_named(db, project.project(), Some(name)).await?.pop();
    // Gone only if its branch was deleted the moment after.
    made.ok_or_else(|| Error::not_found("version"))
}

/// Names a version inside the caller's transaction. False, and nothing recorded, when
/// the project has a tag of that name already.
pub(crate) async fn tag_in(
    tx: &mut sqlx::PgConnection,
    project: &ProjectAccess,
    name: &str,
    version_id: Uuid,
) -> Result<bool> {
    let created = sqlx::query(
        "INSERT INTO tags (project_id, name, version_id, created_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (project_id, name) DO NOTHING",
    )
    .bind(project.project())
    .bind(name)
    .bind(version_id)
    .bind(project.actor().user_id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if created {
        let summary = format!("tagged a version {name}");
        audit::record(&mut *tx, project.audit("version.tag", ("version", version_id), summary)).await?;
    }
    Ok(created)
}

/// A version named by its id or by a tag, in the document's project.
pub(crate) async fn resolve_version(db: &PgPool, project_id: ProjectId, reference: &str) -> Result<Version> {
    let id: Option<(Uuid,)> = match reference.parse::<Uuid>() {
        Ok(id) => {
            sqlx::query_as("SELECT id FROM versions WHERE id = $1 AND project_id = $2")
                .bind(id)
                .bind(project_id)
                .fetch_optional(db)
                .await?
        }
        Err(_) => {
            sqlx::query_as("SELECT version_id FROM tags WHERE project_id = $1 AND name = $2")
                .bind(project_id)
                .bind(reference)
                .fetch_optional(db)
                .await?
        }
    };
    let (id,) = id.ok_or_else(|| Error::NotFound(format!("there is no version or tag named {reference}")))?;
    version(db, id).await
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DocumentAtVersion {
    pub document_id: DocumentId,
    pub version: Version,
    pub title: String,
    pub kind: Kind,
    pub deleted: bool,
    pub content: String,
}

/// A document as it stood at a version (by id or tag).
pub async fn at(
    db: &PgPool,
    project: &ProjectAccess,
    document_id: DocumentId,
    reference: &str,
) -> Result<DocumentAtVersion> {
    let version = resolve_version(db, project.project(), reference).await?;
    let row: Option<(String, Kind, bool, String)> = sqlx::query_as(
        "SELECT vd.title, d.kind, vd.deleted, vd.content FROM version_documents vd
         JOIN documents d ON d.id = vd.document_id WHERE vd.version_id = $1 AND vd.document_id = $2",
    )
    .bind(version.id)
    .bind(document_id)
    .fetch_optional(db)
    .await?;
    let (title, kind, deleted, content) =
        row.ok_or_else(|| Error::NotFound("the document did not exist at that version".into()))?;
    Ok(DocumentAtVersion { document_id, version, title, kind, deleted, content })
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DiffQuery {
    /// A version id or tag; the empty document when left out.
    pub from: Option<String>,
    /// A version id or tag; the document as it is now on `branch` when left out.
    pub to: Option<String>,
    /// With `to` left out: the branch whose current text to compare (`main` by default).
    pub branch: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DocumentDiff {
    pub document_id: DocumentId,
    pub from: Option<Version>,
    pub to: Option<Version>,
    pub changes: Vec<LineChange>,
}

/// The line changes to a document between two versions (or up to now).
pub async fn diff(
    db: &PgPool,
    project: &ProjectAccess,
    document_id: DocumentId,
    query: DiffQuery,
) -> Result<DocumentDiff> {
    let side = |reference: Option<String>| async move {
        match reference {
            Some(reference) => {
                let found = at(db, project, document_id, &reference).await?;
                Ok::<_, Error>((Some(found.version), found.content))
            }
            None => Ok((None, String::new())),
        }
    };
    let (from, old) = side(query.from).await?;
    let (to, new) = match query.to {
        Some(reference) => side(Some(reference)).await?,
        None => {
            let branch = BranchQuery { branch: query.branch };
            let branch_id = branches::resolve(db, project.project(), branch.name()).await?;
            let mut conn = db.acquire().await?;
            (None, content::read(&mut conn, DocKey::new(branch_id, document_id)).await?)
        }
    };
    Ok(DocumentDiff { document_id, from, to, changes: merge::line_changes(&old, &new) })
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_handler))
        .routes(routes!(tags_handler, tag_handler))
        .routes(routes!(at_handler))
        .routes(routes!(diff_handler))
}

/// The branch's versions (one per merge), newest first.
#[utoipa::path(get, path = "/projects/{id}/versions", tag = "history",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path), BranchQuery),
    responses((status = 200, body = Vec<Version>), (status = 404, body = crate::error::ErrorBody)))]
async fn list_handler(
    State(state): State<AppState>,
    project: Project<need::Read>,
    Query(branch): Query<BranchQuery>,
) -> Result<Json<Vec<Version>>> {
    Ok(Json(list(&state.db, &project, branch.name()).await?))
}

/// The project's tags, each with its version, in the order they were made.
#[utoipa::path(get, path = "/projects/{id}/tags", tag = "history",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Tag>), (status = 404, body = crate::error::ErrorBody)))]
async fn tags_handler(State(state): State<AppState>, project: Project<need::Read>) -> Result<Json<Vec<Tag>>> {
    Ok(Json(tags(&state.db, &project).await?))
}

/// Name a version, e.g. `v1.2.0` (editors and above).
#[utoipa::path(post, path = "/projects/{id}/tags", tag = "history",
    extensions(("x-charter-access" = json!("editor"))), params(("id" = Uuid, Path)), request_body = NewTag,
    responses((status = 201, body = Tag), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
async fn tag_handler(
    State(state): State<AppState>,
    project: Project<need::Write>,
    Json(new): Json<NewTag>,
) -> Result<(StatusCode, Json<Tag>)> {
    Ok((StatusCode::CREATED, Json(tag(&state.db, &project, new).await?)))
}

/// A document as it stood at a version (its id or a tag).
#[utoipa::path(get, path = "/documents/{id}/at/{version}", tag = "history",
    extensions(("x-charter-access" = json!("viewer"))),
    params(("id" = Uuid, Path), ("version" = String, Path, description = "version id or tag")),
    responses((status = 200, body = DocumentAtVersion), (status = 404, body = crate::error::ErrorBody)))]
async fn at_handler(
    State(state): State<AppState>,
    document: Document<need::Read>,
    Path((_id, version)): Path<(Uuid, String)>,
) -> Result<Json<DocumentAtVersion>> {
    Ok(Json(at(&state.db, &document, document.id(), &version).await?))
}

/// A document's line changes between two versions, or from a version to now.
#[utoipa::path(get, path = "/documents/{id}/diff", tag = "history",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path), DiffQuery),
    responses((status = 200, body = DocumentDiff), (status = 404, body = crate::error::ErrorBody)))]
async fn diff_handler(
    State(state): State<AppState>,
    document: Document<need::Read>,
    Query(query): Query<DiffQuery>,
) -> Result<Json<DocumentDiff>> {
    Ok(Json(diff(&state.db, &document, document.id(), query).await?))
}
