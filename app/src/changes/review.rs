//! What a change request's page tells a viewer who cannot approve it: why, and who can.

use charter_types::{Actions, Permission, Role};

/// Why the viewer is offered no approval of an open change request, and who may give
/// one; nothing when they may approve it themselves.
pub(super) fn approval_note(actions: &Actions, role: Role, reviewers: &[String]) -> Option<String> {
    if actions.approve {
        return None;
    }
    let who = match reviewers {
        [] => "No member can approve it yet: an owner can give someone the reviewer role.".to_owned(),
        [one] => format!("{one} can review it."),
        [rest @ .., last] => format!("{} and {last} can review it.", rest.join(", ")),
    };
    if actions.authored {
        Some(format!("You opened this change request, so another reviewer approves it. {who}"))
    } else if !role.allows(Permission::Review) {
        Some(format!("Your role ({role}) does not include reviewing. {who}"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use charter_types::{Actions, Role};

    use super::approval_note;

    fn actions(authored: bool, approve: bool) -> Actions {
        Actions {
            authored,
            review: approve,
            approve,
            confirm_bump: false,
            comment: true,
            resolve: true,
            close: true,
            reopen: false,
            merge_blockers: Vec::new(),
            merge_needs_reason: false,
        }
    }

    #[test]
    fn those_who_cannot_approve_are_told_why_and_who_can() {
        let names = |list: &[&str]| list.iter().map(|name| name.to_string()).collect::<Vec<_>>();
        assert_eq!(approval_note(&actions(false, true), Role::Reviewer, &names(&["ada"])), None);
        assert_eq!(
            approval_note(&actions(true, false), Role::Reviewer, &names(&["ada", "rita"])).as_deref(),
            Some("You opened this change request, so another reviewer approves it. ada and rita can review it.")
        );
        assert_eq!(
            approval_note(&actions(false, false), Role::Editor, &names(&["ada", "rita", "vic"])).as_deref(),
            Some("Your role (editor) does not include reviewing. ada, rita and vic can review it.")
        );
        let nobody = approval_note(&actions(true, false), Role::Owner, &[]).unwrap();
        assert!(nobody.ends_with("No member can approve it yet: an owner can give someone the reviewer role."));
    }
}
