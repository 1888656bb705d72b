//! What a change request's review shows beyond its text: approvals, overlaps with other
//! change requests, the lint gate, and a change to the constitution with the version
//! bump it implies and the specs it affects.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Bump, DocumentId, Finding, Verdict};

/// A reviewer's latest approval; a stale one no longer counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Approval {
    pub user: String,
    pub stale: bool,
}

/// A review as given; a stale one was given on an older state of the source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ReviewView {
    pub user: String,
    pub verdict: Verdict,
    pub comment: String,
    pub stale: bool,
    pub created_at: DateTime<Utc>,
}

text_enum! {
    /// Which text of a diff a line is counted in: before the change (a removed line)
    /// or after it.
    pub enum LineSide as "line side" {
        Old = "old",
        New = "new",
    }
}

/// A comment in the discussion, or on a line of a document's diff. Comments answering
/// another (`reply_to`, always a thread's first comment) form its thread, which is
/// resolved as a whole.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Comment {
    pub id: Uuid,
    pub author: String,
    pub body: String,
    pub document_id: Option<DocumentId>,
    pub line: Option<i32>,
    /// Where `line` is counted (`new` for comments not on a line).
    pub side: LineSide,
    /// The thread's first comment, for replies.
    pub reply_to: Option<Uuid>,
    /// Who resolved the thread this comment starts, and when.
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Another open change request that touches the same document sections.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Overlap {
    pub number: i32,
    pub title: String,
    pub document_id: DocumentId,
    pub document: String,
    /// The sections both change; `["(the document itself)"]` when either renames,
    /// moves or deletes it.
    pub sections: Vec<String>,
}

/// The lint findings of the documents a change request adds or modifies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Checks {
    /// Findings in the documents the change request adds or modifies, on its source.
    pub findings: Vec<Finding>,
    /// How many of them are errors (these block merging).
    pub errors: usize,
    /// An owner's decision to merge despite errors.
    pub lint_override: Option<LintOverride>,
    /// The findings are those it had when it merged, kept since; otherwise they are of
    /// its source as it stands.
    pub as_merged: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct LintOverride {
    pub by: String,
    pub reason: String,
}

text_enum! {
    /// How a principle changed between two constitutions.
    pub enum PrincipleChangeKind as "kind of principle change" {
        Removed = "removed",
        Redefined = "redefined",
        Added = "added",
        Expanded = "expanded",
        Reworded = "reworded",
    }
}

/// How one principle changed, and the bump that implies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct PrincipleChange {
    pub key: String,
    pub title: String,
    pub change: PrincipleChangeKind,
    pub bump: Bump,
}

/// The bump a constitution change implies, with its reasons.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Proposal {
    pub bump: Bump,
    pub principles: Vec<PrincipleChange>,
    /// Text outside the principles (governance, preamble, checks) changed.
    pub other_text_changed: bool,
}

impl Proposal {
    /// Principles a MAJOR change removed or redefined.
    pub fn breaking(&self) -> impl Iterator<Item = &PrincipleChange> {
        self.principles.iter().filter(|change| change.bump == Bump::Major)
    }
}

/// A reviewer's confirmation of the bump.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ConfirmedBump {
    pub bump: Bump,
    pub by: String,
    /// The source changed after confirming: confirm again.
    pub stale: bool,
}

/// A spec a MAJOR constitution change affects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Impact {
    pub document_id: DocumentId,
    pub title: String,
    /// Changed principles the document names.
    pub references: Vec<String>,
    /// Constitution violations the lint finds under the new constitution.
    pub findings: Vec<Finding>,
}

/// A change request's change to the constitution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ConstitutionChange {
    pub document_id: DocumentId,
    /// The target's version now.
    pub current_version: Option<String>,
    /// The bump read from the diff, and why.
    pub proposal: Proposal,
    /// The version the proposed bump gives.
    pub proposed_version: String,
    pub confirmed: Option<ConfirmedBump>,
    /// The version merging gives (the confirmed bump applied).
    pub next_version: Option<String>,
    /// For a MAJOR change: the specs it affects.
    pub impact: Vec<Impact>,
}

impl ConstitutionChange {
    /// A confirmation that still holds.
    pub fn confirmed_bump(&self) -> Option<Bump> {
        self.confirmed.as_ref().filter(|confirmed| !confirmed.stale).map(|confirmed| confirmed.bump)
    }
}
