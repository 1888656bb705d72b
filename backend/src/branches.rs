//! Branches of a project. Every project has `main` from creation; document state is
//! kept per branch so that branching (a later capability) needs no data migration.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::audit::{self, Entry};
use crate::auth::Actor;
use crate::error::{Error, Result};

pub const MAIN: &str = "main";

pub(crate) async fn create_main(tx: &mut PgConnection, project_id: Uuid, actor: &Actor) -> Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO branches (id, project_id, name, created_by) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(project_id)
        .bind(MAIN)
        .bind(actor.user_id)
        .execute(&mut *tx)
        .await?;
    let entry = Entry::project(project_id, actor, "branch.create", ("branch", id), format!("created branch {MAIN}"));
    audit::record(&mut *tx, entry).await?;
    Ok(id)
}

/// The id of the project's branch called `name`.
pub async fn resolve(db: &PgPool, project_id: Uuid, name: &str) -> Result<Uuid> {
    let id: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM branches WHERE project_id = $1 AND name = $2")
        .bind(project_id)
        .bind(name)
        .fetch_optional(db)
        .await?;
    id.map(|(id,)| id).ok_or_else(|| Error::NotFound(format!("branch `{name}` not found")))
}
