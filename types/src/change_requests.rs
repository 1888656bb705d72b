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
    /// The caller opened it: they may review it, but someone else approves it.
    pub authored: bool,
    /// Approve or request changes (reviewers and owners, while it is open).
    pub review: bool,
    /// Reviewing includes approving, except on one's own change request.
    pub approve: bool,
    /// Confirm the version bump of the constitution or of a contract (reviewers who did
    /// not write the change).
    pub confirm_bump: bool,
    /// Comment on it (those who may write).
    pub comment: bool,
    /// Record the resolution of a conflict (those who may write, while it is open).
    pub resolve: bool,
    /// Close it unmerged (its author, reviewers and owners, while it is open).
    pub close: bool,
    /// Open it again (the same people, once it is closed; a merged one stays merged).
    pub reopen: bool,
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
    /// Its source changes nothing: there is nothing to merge.
    NoChanges,
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
    /// A contract's API changes, and no reviewer has confirmed its version bump for what
    /// the change request holds now.
    ContractBumpUnconfirmed { contract: String, proposed: Bump, to_version: String },
    /// It breaks a contract's callers, the project asks an owner to approve such
    /// changes, and no owner's approval is fresh.
    OwnerApproval,
    /// Lint errors in the changed documents (an owner may merge with a reason).
    LintErrors { count: usize },
}

impl fmt::Display for MergeBlocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MergeBlocker::NotOpen { state } => write!(f, "this change request is {state}"),
            MergeBlocker::NoChanges => {
                write!(f, "there is nothing to merge: its source branch changes no document yet")
            }
            MergeBlocker::Role { role } => write!(f, "your role ({role}) does not allow merging"),
            MergeBlocker::ReadOnlyToken => write!(f, "this API token may only read: merging needs one that may write"),
            MergeBlocker::Conflicts { count } => {
                write!(f, "{} must be resolved before merging", counted(*count, "conflict", "conflicts"))
            }
            MergeBlocker::Approvals { required, fresh } => {
                let missing = required.saturating_sub(*fresh);
                let (noun, verb) = if missing == 1 { ("approval", "is") } else { ("approvals", "are") };
                write!(
                    f,
                    "{missing} more {noun} from a reviewer {verb} needed: it has {fresh} of {required}, \
                     and approvals given before its latest edit do not count"
                )
            }
            MergeBlocker::BumpUnconfirmed { proposed, to_version } => write!(
                f,
                "a reviewer must confirm the constitution's version bump first (proposed: {proposed}, to {to_version})"
            ),
            MergeBlocker::ContractBumpUnconfirmed { contract, proposed, to_version } => write!(
                f,
                "a reviewer must confirm the version bump of the contract {contract} first (proposed: {proposed}, to {to_version})"
            ),
            MergeBlocker::OwnerApproval => {
                write!(f, "it breaks an API contract: this project needs an owner's approval for that")
            }
            MergeBlocker::LintErrors { count } => write!(
                f,
                "{} in the changed documents: fix them, or an owner can merge with a recorded reason",
                counted(*count, "lint error", "lint errors")
            ),
        }
    }
}

/// `count` with the noun that agrees with it: "1 conflict", "2 conflicts".
fn counted(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
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

#[cfg(test)]
mod tests {
    use super::MergeBlocker;

    #[test]
    fn blockers_read_as_sentences_with_their_counts() {
        let approvals = |required, fresh| MergeBlocker::Approvals { required, fresh }.to_string();
        assert!(approvals(1, 0).starts_with("1 more approval from a reviewer is needed: it has 0 of 1"));
        assert!(approvals(2, 0).starts_with("2 more approvals from a reviewer are needed"));
        assert_eq!(MergeBlocker::Conflicts { count: 1 }.to_string(), "1 conflict must be resolved before merging");
        assert!(MergeBlocker::LintErrors { count: 2 }
            .to_string()
            .starts_with("2 lint errors in the changed documents"));
        assert!(MergeBlocker::NoChanges.to_string().starts_with("there is nothing to merge"));
    }
}
