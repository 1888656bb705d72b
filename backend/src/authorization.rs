//! The one gate every project-scoped service passes: the caller's role in a project,
//! read from its members. Non-members get 404 (they may not know the project exists),
//! members whose role falls short get 403.

use charter_types::{Permission, Role};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use crate::access::Actor;
use crate::error::{Error, Result};

/// The caller's role in a project, or 404 / 403 as described above.
pub async fn authorize<'e>(db: impl PgExecutor<'e>, actor: &Actor, project_id: Uuid, need: Permission) -> Result<Role> {
    let role: Role = sqlx::query_scalar("SELECT role FROM project_members WHERE project_id = $1 AND user_id = $2")
        .bind(project_id)
        .bind(actor.user_id)
        .fetch_optional(db)
        .await?
        .ok_or_else(|| Error::not_found("project"))?;
    if !role.allows(need) {
        return Err(Error::Forbidden(format!("your role ({role}) does not allow {need}")));
    }
    Ok(role)
}

/// The project of a document, or 404 when there is no such document.
async fn project_of(db: &PgPool, document_id: Uuid) -> Result<Uuid> {
    let row: Option<(Uuid,)> =
        sqlx::query_as("SELECT project_id FROM documents WHERE id = $1").bind(document_id).fetch_optional(db).await?;
    row.map(|(id,)| id).ok_or_else(|| Error::not_found("document"))
}

/// The project of a document, for a caller who needs `need` there. A document in a
/// project the caller can't see is, for them, no document at all (404).
pub async fn authorized_project(
    db: &PgPool,
    actor: &Actor,
    document_id: Uuid,
    need: Permission,
) -> Result<(Uuid, Role)> {
    let project_id = project_of(db, document_id).await?;
    let role = authorize(db, actor, project_id, need).await.map_err(|err| match err {
        Error::NotFound(_) => Error::not_found("document"),
        other => other,
    })?;
    Ok((project_id, role))
}
