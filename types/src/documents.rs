use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{DocumentId, ProjectId};

text_enum! {
    /// What a document is: it decides its template, its lint rules and its protection.
    pub enum Kind as "document kind" {
        Constitution = "constitution",
        Spec = "spec",
        Plan = "plan",
        Tasks = "tasks",
        /// An API contract: OpenAPI 3.0 or 3.1, or a JSON Schema (2020-12), in YAML or
        /// JSON rather than Markdown.
        Contract = "contract",
    }
}

/// A document's place in the project tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct TreeEntry {
    pub id: DocumentId,
    pub title: String,
    pub kind: Kind,
    pub parent_id: Option<DocumentId>,
    pub position: i32,
    /// Set only in the list of deleted documents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A document on a branch, with its Markdown text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Document {
    pub id: DocumentId,
    pub project_id: ProjectId,
    pub title: String,
    pub kind: Kind,
    pub parent_id: Option<DocumentId>,
    pub position: i32,
    /// The Markdown text.
    #[cfg_attr(feature = "sqlx", sqlx(skip))]
    pub content: String,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// Changes only through change requests: `main`'s constitution always, and all of
    /// `main` when the project protects it.
    pub protected: bool,
}
