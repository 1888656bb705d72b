use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

text_enum! {
    /// What an API token may do. Browser sessions may do everything their roles allow.
    pub enum Scope as "scope" {
        Read = "read",
        Write = "write",
        IncidentsWrite = "incidents:write",
    }
}

/// A personal API token as its owner sees it: never the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ApiToken {
    pub id: Uuid,
    pub name: String,
    /// Identifies the token in lists; it is not secret and cannot authenticate.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}
