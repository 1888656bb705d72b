//! Projects and their members (whose roles [`authorize`] reads).

use axum::extract::State;
use axum::http::StatusCode;
use charter_types::{Kind, Permission, Project, ProjectId, ProjectStats, Role, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::access::{self, Actor, Change};
use crate::accounts;
use crate::audit;
use crate::authorization::{authorize_in, need, Project as InProject, ProjectAccess};
use crate::branches;
use crate::documents::{self, NewDocument};
use crate::error::{Error, Result};
use crate::extract::{Json, Path};
use crate::AppState;

/// The transaction of a change to the project itself (its members, its settings), with
/// the project's row locked before the owner's role is confirmed: such changes run one
/// at a time, each seeing the roles the one before left, so an owner demoted meanwhile
/// changes nothing more.
async fn begin_change(db: &PgPool, project: &ProjectAccess) -> Result<Transaction<'static, Postgres>> {
    let mut tx = db.begin().await?;
    sqlx::query("SELECT 1 FROM projects WHERE id = $1 FOR NO KEY UPDATE")
        .bind(project.project())
        .execute(&mut *tx)
        .await?;
    project.confirm(&mut tx).await?;
    Ok(tx)
}

/// Settings an owner may change; fields left out stay as they are.
#[derive(Deserialize, ToSchema)]
pub struct SettingsPatch {
    pub required_approvals: Option<i32>,
    pub protect_main: Option<bool>,
    pub breaking_changes_need_owner: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewProject {
    pub name: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct Member {
    pub user_id: UserId,
    pub username: String,
    pub role: Role,
    pub added_at: DateTime<Utc>,
}

#[derive(Deserialize, ToSchema)]
pub struct MemberRole {
    pub role: Role,
}

const PROJECT_COLUMNS: &str = "p.id, p.name, p.slug, p.created_at, m.role, p.required_approvals, p.protect_main,
                               p.breaking_changes_need_owner";

/// A URL-friendly name: lowercase ASCII letters and digits separated by single dashes.
fn slugify(name: &str) -> String {
    crate::markdown::slugify(name, |c| c.is_ascii_alphanumeric(), 48).unwrap_or_else(|| "project".to_owned())
}

pub async fn create(db: &PgPool, actor: &Actor, new: NewProject) -> Result<Project> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::Invalid("a project needs a name of 1 to 100 characters".into()));
    }
    let base = slugify(name);
    let taken: Vec<(String,)> = sqlx::query_as("SELECT slug FROM projects WHERE slug = $1 OR slug LIKE $1 || '-%'")
        .bind(&base)
        .fetch_all(db)
        .await?;
    let slug = std::iter::once(base.clone())
        .chain((2..).map(|n| format!("{base}-{n}")))
        .find(|candidate| !taken.iter().any(|(slug,)| slug == candidate))
        .expect("an unbounded sequence has a free slug");

    let id = ProjectId::from_uuid(Uuid::now_v7());
    let mut tx = db.begin().await?;
    sqlx::query("INSERT INTO projects (id, name, slug, created_by) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(name)
        .bind(&slug)
        .bind(actor.user_id)
        .execute(&mut *tx)
        .await
        .map_err(Error::from)
        .map_err(|err| match err.is_unique_violation("projects_slug_key") {
            true => Error::Conflict("a project with this name was just created; try again".into()),
            false => err,
        })?;
    sqlx::query("INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, 'owner')")
        .bind(id)
        .bind(actor.user_id)
        .execute(&mut *tx)
        .await?;
    let project = authorize_in(&mut tx, actor, id, Permission::Manage).await?;
    audit::record(&mut *tx, project.audit("project.create", ("project", id), format!("created project {name}")))
        .await?;
    let main = branches::create_main(&mut tx, &project).await?;
    let constitution = NewDocument {
        title: "Constitution".into(),
        kind: Kind::Constitution,
        parent_id: None,
        content: None,
        template: true,
        format: None,
    };
    documents::insert(&mut tx, &project, main, constitution).await?;
    tx.commit().await?;
    get(db, &project).await
}

pub async fn list(db: &PgPool, actor: &Actor) -> Result<Vec<Project>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {PROJECT_COLUMNS} FROM projects p JOIN project_members m ON m.project_id = p.id
         WHERE m.user_id = $1 ORDER BY lower(p.name)"
    ))
    .bind(actor.user_id)
    .fetch_all(db)
    .await?)
}

/// The caller's projects with what each holds, for the projects list.
pub async fn list_with_counts(db: &PgPool, actor: &Actor) -> Result<Vec<(Project, ProjectStats)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        project: Project,
        #[sqlx(flatten)]
        stats: ProjectStats,
    }
    // Counted here rather than kept: a few index lookups per project the caller is in.
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {PROJECT_COLUMNS},
            (SELECT count(*) FROM branch_documents bd WHERE bd.branch_id = main.id AND bd.deleted_at IS NULL)
                AS documents,
            (SELECT count(*) FROM change_requests cr WHERE cr.project_id = p.id AND cr.state = 'open')
                AS open_change_requests,
            (SELECT count(*) FROM project_members pm WHERE pm.project_id = p.id) AS members,
            coalesce((SELECT a.created_at FROM audit_log a WHERE a.project_id = p.id ORDER BY a.id DESC LIMIT 1),
                p.created_at) AS last_active
         FROM projects p
         JOIN project_members m ON m.project_id = p.id
         JOIN branches main ON main.project_id = p.id AND main.name = 'main'
         WHERE m.user_id = $1 ORDER BY lower(p.name)"
    ))
    .bind(actor.user_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|row| (row.project, row.stats)).collect())
}

pub async fn get(db: &PgPool, project: &ProjectAccess) -> Result<Project> {
    sqlx::query_as(&format!(
        "SELECT {PROJECT_COLUMNS} FROM projects p JOIN project_members m ON m.project_id = p.id
         WHERE m.user_id = $1 AND p.id = $2"
    ))
    .bind(project.actor().user_id)
    .bind(project.project())
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found("project"))
}

pub async fn update_settings(db: &PgPool, project: &ProjectAccess, patch: SettingsPatch) -> Result<Project> {
    let project_id = project.project();
    let mut tx = begin_change(db, project).await?;
    if patch.required_approvals.is_some_and(|count| !(0..=10).contains(&count)) {
        return Err(Error::Invalid("required approvals are between 0 and 10".into()));
    }
    sqlx::query(
        "UPDATE projects SET required_approvals = coalesce($2, required_approvals), protect_main = coalesce($3, protect_main),
             breaking_changes_need_owner = coalesce($4, breaking_changes_need_owner)
         WHERE id = $1",
    )
    .bind(project_id)
    .bind(patch.required_approvals)
    .bind(patch.protect_main)
    .bind(patch.breaking_changes_need_owner)
    .execute(&mut *tx)
    .await?;
    let summary = format!(
        "changed settings:{}{}{}",
        patch.required_approvals.map(|count| format!(" required approvals {count}")).unwrap_or_default(),
        patch
            .protect_main
            .map(|on| format!(" main {}", if on { "protected" } else { "unprotected" }))
            .unwrap_or_default(),
        patch
            .breaking_changes_need_owner
            .map(|on| format!(" breaking API changes {}", if on { "need an owner" } else { "need no owner" }))
            .unwrap_or_default()
    );
    audit::record(&mut *tx, project.audit("project.settings", ("project", project_id), summary)).await?;
    // Protecting `main` takes writing away from its open editors.
    access::changed(&mut tx, Change::Project(project_id)).await?;
    tx.commit().await?;
    get(db, project).await
}

pub async fn members(db: &PgPool, project: &ProjectAccess) -> Result<Vec<Member>> {
    Ok(sqlx::query_as(
        "SELECT m.user_id, u.username, m.role, m.added_at FROM project_members m JOIN users u ON u.id = m.user_id
         WHERE m.project_id = $1 ORDER BY lower(u.username)",
    )
    .bind(project.project())
    .fetch_all(db)
    .await?)
}

/// Fails when `user_id` is the project's last owner: a project always keeps one.
async fn ensure_not_last_owner(tx: &mut PgConnection, project_id: ProjectId, user_id: UserId) -> Result<()> {
    let owners: Vec<UserId> =
        sqlx::query_scalar("SELECT user_id FROM project_members WHERE project_id = $1 AND role = 'owner' FOR UPDATE")
            .bind(project_id)
            .fetch_all(&mut *tx)
            .await?;
    if owners == [user_id] {
        return Err(Error::Conflict("a project needs at least one owner; make someone else owner first".into()));
    }
    Ok(())
}

/// Adds `username` to the project or changes their role.
pub async fn set_member(db: &PgPool, project: &ProjectAccess, username: &str, role: Role) -> Result<Member> {
    let project_id = project.project();
    let mut tx = begin_change(db, project).await?;
    let user = accounts::find_by_username(db, username)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no user is named `{username}`")))?;
    if role != Role::Owner {
        ensure_not_last_owner(&mut tx, project_id, user.id).await?;
    }
    let previous: Option<(String,)> =
        sqlx::query_as("SELECT role FROM project_members WHERE project_id = $1 AND user_id = $2")
            .bind(project_id)
            .bind(user.id)
            .fetch_optional(&mut *tx)
            .await?;
    let member: Member = sqlx::query_as(
        "WITH upsert AS (
             INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, $3)
             ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role
             RETURNING user_id, role, added_at)
         SELECT upsert.user_id, $4::text AS username, upsert.role, upsert.added_at FROM upsert",
    )
    .bind(project_id)
    .bind(user.id)
    .bind(role)
    .bind(&user.username)
    .fetch_one(&mut *tx)
    .await?;
    let (action, summary) = match previous {
        None => ("member.add", format!("added {} as {role}", user.username)),
        Some((old,)) => ("member.role", format!("changed {} from {old} to {role}", user.username)),
    };
    audit::record(&mut *tx, project.audit(action, ("user", user.id), summary)).await?;
    access::changed(&mut tx, Change::Project(project_id)).await?;
    tx.commit().await?;
    Ok(member)
}

pub async fn remove_member(db: &PgPool, project: &ProjectAccess, username: &str) -> Result<()> {
    let project_id = project.project();
    let mut tx = begin_change(db, project).await?;
    let not_member = || Error::NotFound(format!("`{username}` is not a member of this project"));
    let user = accounts::find_by_username(db, username).await?.ok_or_else(not_member)?;
    ensure_not_last_owner(&mut tx, project_id, user.id).await?;
    let removed = sqlx::query("DELETE FROM project_members WHERE project_id = $1 AND user_id = $2")
        .bind(project_id)
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    if removed.rows_affected() == 0 {
        return Err(not_member());
    }
    let summary = format!("removed {}", user.username);
    audit::record(&mut *tx, project.audit("member.remove", ("user", user.id), summary)).await?;
    access::changed(&mut tx, Change::Project(project_id)).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_handler, list_handler))
        .routes(routes!(get_handler))
        .routes(routes!(settings_handler))
        .routes(routes!(members_handler))
        .routes(routes!(set_member_handler, remove_member_handler))
}

/// Create a project. It starts with a constitution and a `main` branch; you are its owner.
#[utoipa::path(post, path = "/projects", tag = "projects",
    extensions(("x-charter-access" = json!("signed-in"))), request_body = NewProject,
    responses((status = 201, body = Project), (status = 422, body = crate::error::ErrorBody)))]
async fn create_handler(
    State(state): State<AppState>,
    actor: Actor,
    Json(new): Json<NewProject>,
) -> Result<(StatusCode, Json<Project>)> {
    Ok((StatusCode::CREATED, Json(create(&state.db, &actor, new).await?)))
}

/// The projects you belong to.
#[utoipa::path(get, path = "/projects", tag = "projects",
    extensions(("x-charter-access" = json!("signed-in"))), responses((status = 200, body = Vec<Project>)))]
async fn list_handler(State(state): State<AppState>, actor: Actor) -> Result<Json<Vec<Project>>> {
    Ok(Json(list(&state.db, &actor).await?))
}

/// One project, with your role in it.
#[utoipa::path(get, path = "/projects/{id}", tag = "projects",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path)),
    responses((status = 200, body = Project), (status = 404, body = crate::error::ErrorBody)))]
async fn get_handler(State(state): State<AppState>, project: InProject<need::Read>) -> Result<Json<Project>> {
    Ok(Json(get(&state.db, &project).await?))
}

/// Change the project's settings (owners only): required approvals, protected `main`,
/// whether breaking API changes need an owner's approval.
#[utoipa::path(patch, path = "/projects/{id}/settings", tag = "projects",
    extensions(("x-charter-access" = json!("owner"))), params(("id" = Uuid, Path)),
    request_body = SettingsPatch,
    responses((status = 200, body = Project), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn settings_handler(
    State(state): State<AppState>,
    project: InProject<need::Manage>,
    Json(patch): Json<SettingsPatch>,
) -> Result<Json<Project>> {
    Ok(Json(update_settings(&state.db, &project, patch).await?))
}

/// The project's members and their roles.
#[utoipa::path(get, path = "/projects/{id}/members", tag = "projects",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Member>), (status = 404, body = crate::error::ErrorBody)))]
async fn members_handler(State(state): State<AppState>, project: InProject<need::Read>) -> Result<Json<Vec<Member>>> {
    Ok(Json(members(&state.db, &project).await?))
}

/// Add a member by username, or change their role (owners only).
#[utoipa::path(put, path = "/projects/{id}/members/{username}", tag = "projects",
    extensions(("x-charter-access" = json!("owner"))),
    params(("id" = Uuid, Path), ("username" = String, Path)), request_body = MemberRole,
    responses((status = 200, body = Member), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn set_member_handler(
    State(state): State<AppState>,
    project: InProject<need::Manage>,
    Path((_id, username)): Path<(Uuid, String)>,
    Json(body): Json<MemberRole>,
) -> Result<Json<Member>> {
    Ok(Json(set_member(&state.db, &project, &username, body.role).await?))
}

/// Remove a member (owners only). The last owner cannot be removed.
#[utoipa::path(delete, path = "/projects/{id}/members/{username}", tag = "projects",
    extensions(("x-charter-access" = json!("owner"))),
    params(("id" = Uuid, Path), ("username" = String, Path)),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn remove_member_handler(
    State(state): State<AppState>,
    project: InProject<need::Manage>,
    Path((_id, username)): Path<(Uuid, String)>,
) -> Result<StatusCode> {
    remove_member(&state.db, &project, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_url_friendly() {
        assert_eq!(slugify("Payments API (v2)"), "payments-api-v2");
        assert_eq!(slugify("  Ünïcode ✓ "), "n-code");
        assert_eq!(slugify("!!!"), "project");
        assert!(slugify(&"long name ".repeat(20)).len() <= 48);
    }
}
