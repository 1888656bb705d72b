//! Versions: what each merge made of a branch.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A version of a branch: what a merge made of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Version {
    pub id: Uuid,
    /// Counts the branch's versions from 1.
    pub number: i32,
    pub branch: String,
    pub message: String,
    pub author: String,
    /// The change request it merged.
    pub change_request: Option<i32>,
    pub created_at: DateTime<Utc>,
    /// Who had approved the change request (their latest verdict).
    pub approvers: Vec<String>,
    /// Its names (`v1.2.0`), in the order they were given.
    pub tags: Vec<String>,
}
