//! The tools that report to a project, and the secrets the signing ones sign with:
//! set by owners, never shown again, read only to check a delivery.

use charter_types::{Integration, ProjectId, SetIntegration, Tool};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::audit;
use crate::authorization::ProjectAccess;
use crate::error::{Error, Result};

/// A secret shorter than this is too easy to guess; tools generate longer ones.
const MIN_SECRET: usize = 16;
const MAX_SECRET: usize = 512;

/// A tool as the project has it: where it posts (under the server's address) and when
/// its secret was set, if it was.
fn integration(project: ProjectId, tool: Tool, secret_set_at: Option<DateTime<Utc>>) -> Integration {
    let path = match tool {
        Tool::Otlp => format!("/api/v1/projects/{project}/hooks/otlp/v1/logs"),
        tool => format!("/api/v1/projects/{project}/hooks/{}", tool.as_str()),
    };
    Integration { tool, path, signed: tool.signed(), secret_set: secret_set_at.is_some(), secret_set_at }
}

/// Every tool, with where it posts and whether its secret is set.
pub async fn list(db: &PgPool, project: &ProjectAccess) -> Result<Vec<Integration>> {
    let set: Vec<(Tool, DateTime<Utc>)> = sqlx::query_as("SELECT tool, set_at FROM integrations WHERE project_id = $1")
        .bind(project.project())
        .fetch_all(db)
        .await?;
    Ok(Tool::ALL
        .iter()
        .map(|&tool| {
            let set_at = set.iter().find(|(held, _)| *held == tool).map(|(_, at)| *at);
            integration(project.project(), tool, set_at)
        })
        .collect())
}

/// Sets (or rotates) a signing tool's secret; owners only (the route asks for it).
pub async fn set(db: &PgPool, project: &ProjectAccess, tool: Tool, request: SetIntegration) -> Result<Integration> {
    if !tool.signed() {
        return Err(Error::Invalid(format!(
            "{} does not sign its requests: it sends an API token with the `incidents:write` scope instead",
            tool.as_str()
        )));
    }
    let secret = request.secret.trim();
    if !(MIN_SECRET..=MAX_SECRET).contains(&secret.len()) {
        return Err(Error::Invalid(format!("a secret is {MIN_SECRET} to {MAX_SECRET} characters")));
    }
    let mut tx = project.begin(db).await?;
    let set_at: DateTime<Utc> = sqlx::query_scalar(
        "INSERT INTO integrations (project_id, tool, secret, set_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (project_id, tool) DO UPDATE SET secret = EXCLUDED.secret, set_by = EXCLUDED.set_by, set_at = now()
         RETURNING set_at",
    )
    .bind(project.project())
    .bind(tool)
    .bind(secret.as_bytes())
    .bind(project.actor().user_id)
    .fetch_one(&mut *tx)
    .await?;
    let entry = project.audit(
        "integration.secret",
        ("project", project.project()),
        format!("{} signing secret set", tool.as_str()),
    );
    audit::record(&mut *tx, entry).await?;
    tx.commit().await?;
    Ok(integration(project.project(), tool, Some(set_at)))
}

/// The secret a signed delivery for `project` must carry, if an owner set one.
pub(super) async fn secret(db: &PgPool, project: ProjectId, tool: Tool) -> Result<Option<Vec<u8>>> {
    Ok(sqlx::query_scalar("SELECT secret FROM integrations WHERE project_id = $1 AND tool = $2")
        .bind(project)
        .bind(tool)
        .fetch_optional(db)
        .await?)
}
