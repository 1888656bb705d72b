//! Held access: who is calling and with which credential (authenticated by `auth`),
//! and announcements that access changed, for whoever holds access open (the real-time
//! connections of every instance). A writer of access calls [`changed`] inside its
//! transaction: Postgres delivers the notification only when that transaction commits,
//! to every instance listening on [`CHANNEL`].

use charter_types::{BranchId, ProjectId, Scope, UserId};
use sqlx::PgConnection;
use tower_sessions::session::Id as SessionId;
use uuid::Uuid;

use crate::error::{Error, Result};

pub const CHANNEL: &str = "charter_access";

/// What a caller authenticated with.
#[derive(Clone, Debug)]
pub enum Credential {
    /// A browser session, and the user's session epoch it began in.
    Session {
        id: SessionId,
        epoch: i64,
    },
    Token {
        token_id: Uuid,
        scopes: Vec<Scope>,
    },
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: UserId,
    pub username: String,
    pub credential: Credential,
}

impl Actor {
    pub fn require_scope(&self, scope: Scope) -> Result<()> {
        match &self.credential {
            Credential::Token { scopes, .. } if !scopes.contains(&scope) => {
                Err(Error::Forbidden(format!("this API token lacks the `{}` scope", scope.as_str())))
            }
            _ => Ok(()),
        }
    }

    /// Some things (managing API tokens) need a person at a browser, not a token.
    pub fn require_session(&self) -> Result<()> {
        match self.credential {
            Credential::Session { .. } => Ok(()),
            Credential::Token { .. } => {
                Err(Error::Forbidden("API tokens cannot do this; sign in to Charter instead".into()))
            }
        }
    }
}

/// What may have lost access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// A user's credentials: a token revoked, a session ended, all sessions ended.
    User(UserId),
    /// A project's members or roles, or a setting that decides who may write.
    Project(ProjectId),
    /// A branch, or documents on it, deleted.
    Branch(BranchId),
}

impl Change {
    fn payload(self) -> String {
        match self {
            Change::User(id) => format!("user:{id}"),
            Change::Project(id) => format!("project:{id}"),
            Change::Branch(id) => format!("branch:{id}"),
        }
    }

    pub fn parse(payload: &str) -> Option<Change> {
        let (kind, id) = payload.split_once(':')?;
        match kind {
            "user" => id.parse().ok().map(Change::User),
            "project" => id.parse().ok().map(Change::Project),
            "branch" => id.parse().ok().map(Change::Branch),
            _ => None,
        }
    }
}

/// Announces `change` when the transaction `conn` is in commits (at once outside one).
pub async fn changed(conn: &mut PgConnection, change: Change) -> Result<()> {
    sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(change.payload()).execute(conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_read_back() {
        let id = Uuid::new_v4();
        let changes = [
            Change::User(UserId::from_uuid(id)),
            Change::Project(ProjectId::from_uuid(id)),
            Change::Branch(BranchId::from_uuid(id)),
        ];
        for change in changes {
            assert_eq!(Change::parse(&change.payload()), Some(change));
        }
        assert_eq!(Change::parse("user:nonsense"), None);
        assert_eq!(Change::parse(&format!("planet:{id}")), None);
    }
}
