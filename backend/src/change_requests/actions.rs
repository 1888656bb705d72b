//! What a caller may do with a change request, read from its view and sent with it so
//! that no client re-derives the rules. Merging enforces exactly this list of
//! blockers; reviewing, confirming a bump, resolving, commenting, closing and reopening
//! check the same rules where they write.

use charter_types::{
    Actions, Approval, ChangeRequestState, ConstitutionChange, MergeBlocker, Permission, Role, Scope, UserId,
};

use super::{contract_versions, DocumentChange};
use crate::authorization::ProjectAccess;

/// Who is asking, as far as the rules care.
#[derive(Clone, Copy, Debug)]
pub(super) struct Caller {
    pub role: Role,
    /// Their credential may change things (an API token without `write` may not).
    pub may_write: bool,
    /// They opened the change request.
    pub is_author: bool,
}

impl Caller {
    pub(super) fn of(project: &ProjectAccess, author: UserId) -> Caller {
        let actor = project.actor();
        Caller {
            role: project.role(),
            may_write: actor.require_scope(Scope::Write).is_ok(),
            is_author: actor.user_id == author,
        }
    }

    /// Whether they may close or reopen it: its author, or anyone who may review, as
    /// long as they may write at all.
    pub(super) fn may_close(self) -> bool {
        self.may_write
            && self.role.allows(Permission::Write)
            && (self.is_author || self.role.allows(Permission::Review))
    }
}

/// The facts about a change request that decide what may be done with it.
pub(super) struct Standing<'a> {
    pub state: ChangeRequestState,
    /// Documents it changes.
    pub changed: usize,
    /// Conflicts still to resolve.
    pub conflicts: usize,
    /// Everyone's latest approval, stale ones included.
    pub approvals: &'a [Approval],
    pub required: i32,
    /// The constitution's change, if it makes one.
    pub constitution: Option<&'a ConstitutionChange>,
    /// The documents it changes, contracts with their API reviews.
    pub contracts: &'a [DocumentChange],
    /// It breaks a contract's callers, the project asks an owner to approve that, and no
    /// owner's approval is fresh.
    pub owner_needed: bool,
    /// Lint errors in its documents.
    pub lint_errors: usize,
}

/// The caller's actions on a change request standing as it does.
pub(super) fn actions(caller: Caller, standing: Standing<'_>) -> Actions {
    let Standing { state, changed, conflicts, approvals, required, constitution, contracts, owner_needed, lint_errors } =
        standing;
    let Caller { role, may_write, is_author } = caller;
    let open = state == ChangeRequestState::Open;
    let review = open && may_write && role.allows(Permission::Review);
    let write = may_write && role.allows(Permission::Write);
    let owner = role.allows(Permission::Manage);

    // What stands between the caller and merging, in the order merging checks it.
    let mut blockers = Vec::new();
    if !open {
        blockers.push(MergeBlocker::NotOpen { state });
    } else if changed == 0 {
        // Said only while it is open: a merged one changes nothing more by design.
        blockers.push(MergeBlocker::NoChanges);
    }
    if !role.allows(Permission::Write) {
        blockers.push(MergeBlocker::Role { role });
    }
    if !may_write {
        blockers.push(MergeBlocker::ReadOnlyToken);
    }
    if conflicts > 0 {
        blockers.push(MergeBlocker::Conflicts { count: conflicts });
    }
    let fresh = approvals.iter().filter(|approval| !approval.stale).count();
    let required = usize::try_from(required).unwrap_or_default();
    if fresh < required {
        blockers.push(MergeBlocker::Approvals { required, fresh });
    }
    if let Some(change) = constitution.filter(|change| change.confirmed_bump().is_none()) {
        let (proposed, to_version) = (change.proposal.bump, change.proposed_version.clone());
        blockers.push(MergeBlocker::BumpUnconfirmed { proposed, to_version });
    }
    blockers.extend(contract_versions::unconfirmed(contracts));
    if open && owner_needed {
        blockers.push(MergeBlocker::OwnerApproval);
    }
    // Owners may merge despite errors, with a reason.
    if lint_errors > 0 && !owner {
        blockers.push(MergeBlocker::LintErrors { count: lint_errors });
    }
    Actions {
        authored: is_author,
        review,
        approve: review && !is_author,
        confirm_bump: review && !is_author && (constitution.is_some() || contract_versions::any_proposed(contracts)),
        comment: write,
        resolve: open && write,
        close: open && caller.may_close(),
        reopen: state == ChangeRequestState::Closed && caller.may_close(),
        merge_needs_reason: blockers.is_empty() && lint_errors > 0,
        merge_blockers: blockers,
    }
}
