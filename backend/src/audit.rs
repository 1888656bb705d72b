//! The audit trail: every mutation records who did what to which object, in the same
//! transaction as the change, so the trail can't disagree with the data. A project's
//! trail is read as its `activity`.

use charter_types::{BranchId, DocumentId, ProjectId, UserId};
use sqlx::PgExecutor;

use crate::access::Actor;
use crate::error::Result;

pub struct Entry {
    project_id: Option<ProjectId>,
    /// The branch the change was made on, for changes to a branch's documents.
    branch_id: Option<BranchId>,
    /// `None` for what the server did of its own accord (a regression it noticed).
    actor_id: Option<UserId>,
    action: &'static str,
    object_type: &'static str,
    object_id: String,
    summary: String,
    details: serde_json::Value,
}

impl Entry {
    /// Something a user did to their own account.
    pub fn account(user_id: UserId, action: &'static str, summary: String) -> Entry {
        Entry {
            project_id: None,
            branch_id: None,
            actor_id: Some(user_id),
            action,
            object_type: "user",
            object_id: user_id.to_string(),
            summary,
            details: serde_json::Value::Null,
        }
    }

    /// Something done inside a project.
    pub fn project(
        project_id: ProjectId,
        actor: &Actor,
        action: &'static str,
        object: (&'static str, impl ToString),
        summary: String,
    ) -> Entry {
        Entry { actor_id: Some(actor.user_id), ..Entry::system(project_id, action, object, summary) }
    }

    /// Something the server noticed in a project by itself, with nobody acting.
    pub fn system(
        project_id: ProjectId,
        action: &'static str,
        object: (&'static str, impl ToString),
        summary: String,
    ) -> Entry {
        Entry {
            project_id: Some(project_id),
            branch_id: None,
            actor_id: None,
            action,
            object_type: object.0,
            object_id: object.1.to_string(),
            summary,
            details: serde_json::Value::Null,
        }
    }

    pub fn details(mut self, details: serde_json::Value) -> Entry {
        self.details = details;
        self
    }

    pub fn on_branch(mut self, branch_id: BranchId) -> Entry {
        self.branch_id = Some(branch_id);
        self
    }
}

pub async fn record<'e>(db: impl PgExecutor<'e>, entry: Entry) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (project_id, actor_id, action, object_type, object_id, summary, details, branch_id)
         VALUES ($1, $2, $3, $4, $5, $6, coalesce($7, '{}'::jsonb), $8)",
    )
    .bind(entry.project_id)
    .bind(entry.actor_id)
    .bind(entry.action)
    .bind(entry.object_type)
    .bind(entry.object_id)
    .bind(entry.summary)
    .bind(Some(entry.details).filter(|details| !details.is_null()))
    .bind(entry.branch_id)
    .execute(db)
    .await?;
    Ok(())
}

/// How long one "edited" entry stands for a person's live edits to a document.
const LIVE_EDIT_WINDOW: &str = "10 minutes";

/// Records live (co-editing) edits: at most one `document.edit` entry per person and
/// document in each window, rather than one per keystroke.
pub(crate) async fn record_live_edits(
    db: impl PgExecutor<'_>,
    branch_id: BranchId,
    document_id: DocumentId,
    authors: &[UserId],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (project_id, actor_id, action, object_type, object_id, summary, branch_id)
         SELECT d.project_id, a.author, 'document.edit', 'document', d.id::text, 'edited ' || bd.title, $1
         FROM unnest($3::uuid[]) AS a (author)
         JOIN documents d ON d.id = $2
         JOIN branch_documents bd ON bd.branch_id = $1 AND bd.document_id = $2
         WHERE NOT EXISTS (
             SELECT 1 FROM audit_log l
             WHERE l.project_id = d.project_id AND l.object_id = d.id::text AND l.actor_id = a.author
               AND l.action = 'document.edit' AND l.created_at > now() - $4::interval)",
    )
    .bind(branch_id)
    .bind(document_id)
    .bind(authors)
    .bind(LIVE_EDIT_WINDOW)
    .execute(db)
    .await?;
    Ok(())
}
