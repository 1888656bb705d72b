//! Members' roles and what each allows: the one statement of that rule, for the
//! server's checks and the UI's choice of what to offer.

use std::fmt;

text_enum! {
    /// A member's role in a project.
    pub enum Role as "role" {
        Owner = "owner",
        Editor = "editor",
        Reviewer = "reviewer",
        Viewer = "viewer",
    }
}

/// What a request needs to be allowed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    Read,
    Write,
    Review,
    Manage,
}

impl Role {
    pub fn allows(self, permission: Permission) -> bool {
        match permission {
            Permission::Read => true,
            Permission::Write => self != Role::Viewer,
            Permission::Review => matches!(self, Role::Reviewer | Role::Owner),
            Permission::Manage => self == Role::Owner,
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Permission::Read => "reading",
            Permission::Write => "editing",
            Permission::Review => "reviewing",
            Permission::Manage => "managing the project",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_what_the_product_promises() {
        let allowed = |role: Role| {
            [Permission::Read, Permission::Write, Permission::Review, Permission::Manage]
                .map(|permission| role.allows(permission))
        };
        assert_eq!(allowed(Role::Owner), [true, true, true, true]);
        assert_eq!(allowed(Role::Editor), [true, true, false, false]);
        assert_eq!(allowed(Role::Reviewer), [true, true, true, false]);
        assert_eq!(allowed(Role::Viewer), [true, false, false, false]);
    }
}
