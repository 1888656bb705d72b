use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Bump, Role};

text_enum! {
    /// A reviewer's verdict on a change request.
    pub enum Verdict as "verdict" {
        Approve = "approve",
        RequestChanges = "request_changes",
    }
}

text_enum! {
    /// Where a change request is in its life.
    pub enum ChangeRequestState as "change request state" {
        Open = "open",
        Merged = "merged",
        Closed = "closed",
    }
}

text_enum! {
    /// One way a change request changes a document; a document may change in several.
    pub enum ChangeKind as "kind of change" {
        Added = "added",
        Deleted = "deleted",
        Renamed = "renamed",
        Moved = "moved",
        Modified = "modified",
    }
}

/// What the caller may do with a change request now, by the rules the actions enforce,
/// so that a page offers what would succeed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Actions {
    /// Approve or request changes (reviewers and owners, while it is open).
    pub review: bool,
    /// Reviewing includes approving, except on one's own change request.
    pub approve: bool,
    /// Confirm the constitution's version bump (reviewers who did not write it).
    pub confirm_bump: bool,
    /// Comment on it (those who may write).
    pub comment: bool,
    /// Record the resolution of a conflict (those who may write, while it is open).
    pub resolve: bool,
    /// What stands between the caller and merging, in the order merging checks it;
    /// empty when they may merge now.
    pub merge_blockers: Vec<MergeBlocker>,
    /// Merging now needs a recorded reason: an owner merging despite lint errors.
    pub merge_needs_reason: bool,
}

impl Actions {
    pub fn may_merge(&self) -> bool {
        self.merge_blockers.is_empty()
    }
}

/// One reason a change request cannot be merged by the caller now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MergeBlocker {
    /// It was merged or closed.
    NotOpen { state: ChangeRequestState },
    /// The caller's role does not let them merge.
    Role { role: Role },
    /// The caller's API token may only read.
    ReadOnlyToken,
    /// Regions both branches changed, to be resolved first.
    Conflicts { count: usize },
    /// Too few approvals that are not stale.
    Approvals { required: usize, fresh: usize },
    /// The constitution changes, and no reviewer has confirmed its version bump for
    /// what the change request holds now.
    BumpUnconfirmed { proposed: Bump, to_version: String },
    /// Lint errors in the changed documents (an owner may merge with a reason).
    LintErrors { count: usize },
}

impl fmt::Display for MergeBlocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MergeBlocker::NotOpen { state } => write!(f, "this change request is {state}"),
            MergeBlocker::Role { role } => write!(f, "your role ({role}) does not allow merging"),
            MergeBlocker::ReadOnlyToken => write!(f, "this API token lacks the `write` scope"),
            MergeBlocker::Conflicts { count } => write!(f, "{count} conflict(s) must be resolved before merging"),
            MergeBlocker::Approvals { required, fresh } => {
                write!(f, "merging needs {required} approval(s) that are not stale; this change request has {fresh}")
            }
            MergeBlocker::BumpUnconfirmed { proposed, to_version, .. } => write!(
                f,
                "a reviewer must confirm the constitution's version bump first (proposed: {proposed} to {to_version})"
            ),
            MergeBlocker::LintErrors { count } => {
                write!(f, "{count} lint error(s) block merging: fix them, or an owner can merge with a recorded reason")
            }
        }
    }
}

/// A change request in lists, and at the head of its page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema), schema(as = Summary))]
pub struct ChangeRequestSummary {
    pub number: i32,
    pub title: String,
    pub state: ChangeRequestState,
    pub source: String,
    pub target: String,
    pub author: String,
    pub created_at: DateTime<Utc>,
}
