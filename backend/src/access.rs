//! Announcements that access changed, for whoever holds access open (the real-time
//! connections of every instance). A writer of access calls [`changed`] inside its
//! transaction: Postgres delivers the notification only when that transaction commits,
//! to every instance listening on [`CHANNEL`].

use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::Result;

pub const CHANNEL: &str = "charter_access";

/// What may have lost access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// A user's credentials: a token revoked, a session ended, all sessions ended.
    User(Uuid),
    /// A project's members or roles, or a setting that decides who may write.
    Project(Uuid),
    /// A branch, or documents on it, deleted.
    Branch(Uuid),
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
        let id = id.parse().ok()?;
        match kind {
            "user" => Some(Change::User(id)),
            "project" => Some(Change::Project(id)),
            "branch" => Some(Change::Branch(id)),
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
        for change in [Change::User(id), Change::Project(id), Change::Branch(id)] {
            assert_eq!(Change::parse(&change.payload()), Some(change));
        }
        assert_eq!(Change::parse("user:nonsense"), None);
        assert_eq!(Change::parse(&format!("planet:{id}")), None);
    }
}
