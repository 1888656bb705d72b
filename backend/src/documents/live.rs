//! What open co-editing connections may do with a document: checked when one opens,
//! and again for all of them at once whenever access may have changed.

use charter_types::{Permission, Role, Scope};
use sqlx::PgPool;
use uuid::Uuid;

use super::authorized_project;
use crate::auth::Actor;
use crate::branches;
use crate::collab::{DocKey, Holder};
use crate::error::{Error, Result};

/// What a real-time editing connection may do with a document.
pub struct CollabAccess {
    pub key: DocKey,
    pub project_id: Uuid,
    /// Viewers, read-only tokens, deleted and protected documents: follow along, never write.
    pub can_write: bool,
}

/// Authorizes a co-editing connection to a document on a branch: members may read;
/// those with write access may also edit live documents.
pub async fn collab_access(db: &PgPool, actor: &Actor, document_id: Uuid, branch: &str) -> Result<CollabAccess> {
    let (project_id, _) = authorized_project(db, actor, document_id, Permission::Read).await?;
    let branch_id = branches::resolve(db, project_id, branch).await?;
    let key = DocKey { branch_id, document_id };
    let holder = Holder { user_id: actor.user_id, key, may_write: actor.require_scope(Scope::Write).is_ok() };
    let access = collab_recheck(db, &[holder]).await?.pop().flatten();
    let can_write = access.ok_or_else(|| Error::not_found("document"))?;
    Ok(CollabAccess { key, project_id, can_write })
}

/// What the holders of open co-editing connections may do now, in one query: for each,
/// `None` when they may no longer read the document on its branch, else whether they
/// may write (by the rules of [`collab_access`]).
pub async fn collab_recheck(db: &PgPool, holders: &[Holder]) -> Result<Vec<Option<bool>>> {
    let users: Vec<Uuid> = holders.iter().map(|holder| holder.user_id).collect();
    let branches: Vec<Uuid> = holders.iter().map(|holder| holder.key.branch_id).collect();
    let documents: Vec<Uuid> = holders.iter().map(|holder| holder.key.document_id).collect();
    let rows: Vec<(i64, Role, bool, bool)> = sqlx::query_as(concat!(
        "SELECT h.at, m.role, bd.deleted_at IS NOT NULL, ",
        protected_sql!(),
        " FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) WITH ORDINALITY AS h(user_id, branch_id, document_id, at)
         JOIN branch_documents bd ON bd.branch_id = h.branch_id AND bd.document_id = h.document_id
         JOIN documents d ON d.id = bd.document_id
         JOIN branches b ON b.id = bd.branch_id JOIN projects p ON p.id = d.project_id
         JOIN project_members m ON m.project_id = d.project_id AND m.user_id = h.user_id"
    ))
    .bind(&users)
    .bind(&branches)
    .bind(&documents)
    .fetch_all(db)
    .await?;
    let mut access = vec![None; holders.len()];
    for (at, role, deleted, protected) in rows {
        let at = usize::try_from(at - 1).map_err(Error::internal)?;
        access[at] = Some(role.allows(Permission::Write) && holders[at].may_write && !deleted && !protected);
    }
    Ok(access)
}
