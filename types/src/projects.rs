//! Projects as their members see them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ProjectId, Role};

/// A project, with the caller's role in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    pub slug: String,
    pub created_at: DateTime<Utc>,
    /// The caller's role.
    pub role: Role,
    /// Approvals (not stale) a change request needs before it can merge.
    pub required_approvals: i32,
    /// Whether `main` changes only through change requests (its constitution always does).
    pub protect_main: bool,
}
