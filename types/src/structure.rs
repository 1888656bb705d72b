use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::DocumentId;

use crate::Kind;

text_enum! {
    /// How much a constitution's version must rise for a change to its principles.
    #[derive(PartialOrd, Ord)]
    pub enum Bump as "version bump" {
        Patch = "patch",
        Minor = "minor",
        Major = "major",
    }
}

text_enum! {
    /// How much a lint finding matters.
    #[derive(PartialOrd, Ord)]
    pub enum Severity as "severity" {
        Error = "error",
        Warning = "warning",
        Info = "info",
    }
}

text_enum! {
    /// Whether a requirement is ready to build from.
    pub enum RequirementStatus as "requirement status" {
        Ready = "ready",
        /// It still has an open `[NEEDS CLARIFICATION]` marker.
        NeedsClarification = "needs_clarification",
        /// It has no acceptance scenario.
        Incomplete = "incomplete",
    }
}

text_enum! {
    /// Where a question stands.
    pub enum ClarificationState as "question state" {
        Open = "open",
        Answered = "answered",
        /// Its marker was edited away unanswered.
        Withdrawn = "withdrawn",
    }
}

text_enum! {
    /// How far the code reaches a requirement, as the last traceability report found.
    #[derive(PartialOrd, Ord)]
    #[cfg_attr(feature = "utoipa", schema(as = Status))]
    pub enum TraceStatus as "traceability status" {
        /// Named by at least one test.
        Tested = "tested",
        /// Named by code, by no test.
        CodeOnly = "code_only",
        /// Named nowhere.
        Untested = "untested",
    }
}

/// One lint problem, pointed at a place in a document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    pub document_id: DocumentId,
    pub document: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, in UTF-16 code units (as browsers count).
    pub column: usize,
    /// How much of the line the finding covers, in UTF-16 code units (at least 1).
    pub length: usize,
}

/// What happened to a requirement in one version of the branch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct HistoryEntry {
    pub version: i32,
    pub version_id: Uuid,
    pub message: String,
    pub author: String,
    pub change_request: Option<i32>,
    pub approvers: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// Any of `added`, `renamed`, `reworded`, `scenarios`, `moved`, `removed`.
    pub changes: Vec<String>,
    pub key: String,
    pub text: String,
    pub previous_key: Option<String>,
    pub previous_text: Option<String>,
}

/// A place that links to a requirement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Backlink {
    pub document_id: DocumentId,
    pub title: String,
    pub kind: Kind,
    pub line: usize,
}

/// A `[NEEDS CLARIFICATION: …]` question in a document, and its answer once given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Clarification {
    pub id: Uuid,
    pub document_id: DocumentId,
    pub document: String,
    pub branch: String,
    pub question: String,
    pub state: ClarificationState,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Where the marker is now (open questions only).
    #[cfg_attr(feature = "sqlx", sqlx(skip))]
    pub line: Option<usize>,
}

/// A requirement as it is written now on a branch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RequirementView {
    /// The requirement's stable identity.
    pub id: Uuid,
    /// Its ID as written now, e.g. `AUTH-001`.
    pub key: String,
    pub title: String,
    pub text: String,
    pub acceptance: Vec<String>,
    pub priority: Option<String>,
    pub document_id: DocumentId,
    pub document: String,
    /// The heading path it sits under.
    pub section: String,
    pub line: usize,
    pub status: RequirementStatus,
    /// From the latest traceability report of the branch, if any.
    pub coverage: Option<Coverage>,
}

/// A requirement's verdict in the latest report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Coverage {
    pub status: TraceStatus,
    /// How many places in tests name it.
    pub tests: usize,
    /// How many places in code name it.
    pub code: usize,
}
