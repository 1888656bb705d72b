//! Projects as their members see them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ProjectId, Role};

/// What a project holds on `main`, what waits on review and when it last changed: its
/// line in the projects list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct ProjectStats {
    pub documents: i64,
    pub open_change_requests: i64,
    pub members: i64,
    pub last_active: DateTime<Utc>,
}

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
    /// A change request that breaks an API contract needs an owner's approval.
    pub breaking_changes_need_owner: bool,
}
