//! Documents open for real-time editing: the socket route, what its connections may do
//! (checked when one opens, and again for all of them at once whenever access may have
//! changed), and what happens to a live document's text besides its CRDT state. The
//! collab engine is handed these rules when it starts.

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use charter_types::{BranchId, DocumentId, Permission, ProjectId, Role, Scope, UserId};
use sqlx::PgPool;

use crate::access::{Actor, Credential};
use crate::auth;
use crate::authorization::{authorize_document, ProjectAccess};
use crate::branches::{self, BranchQuery};
use crate::collab::{self, DocKey, Grant, Holder, Rules, Standing};
use crate::error::{Error, Result};
use crate::extract::{Path, Query};
use crate::{audit, content, derived, security, AppState};

/// `/collab/{document_id}?branch=`: the y-websocket endpoint of one document.
pub fn router() -> Router<AppState> {
    Router::new().route("/collab/{document_id}", get(upgrade))
}

async fn upgrade(
    State(state): State<AppState>,
    Path(document_id): Path<DocumentId>,
    Query(branch): Query<BranchQuery>,
    headers: HeaderMap,
    actor: Actor,
    upgrade: WebSocketUpgrade,
) -> Result<Response> {
    // A page on another site must not open a socket with this user's cookie.
    if matches!(actor.credential, Credential::Session { .. }) && !security::is_same_origin(&headers, &state.settings) {
        return Err(Error::Forbidden("cross-origin WebSocket refused".into()));
    }
    let generation = state.collab.access_generation();
    let document = authorize_document(&state.db, &actor, document_id, Permission::Read).await?;
    let access = collab_access(&state.db, &document, document_id, branch.name()).await?;
    let holder =
        Holder { user_id: actor.user_id, credential: actor.credential, key: access.key, may_write: access.may_write };
    let grant = Grant { holder, username: actor.username, project: access.project_id, can_write: access.can_write };
    Ok(collab::accept(upgrade, state.collab.admit(grant, generation)?))
}

/// The rules the collab engine runs by.
pub fn rules() -> Rules {
    Rules {
        standing: |db, holders| Box::pin(async move { standing(&db, &holders).await }),
        project: |db, key, text, authors| Box::pin(async move { project(&db, key, &text, &authors).await }),
    }
}

/// What a real-time editing connection may do with a document.
pub struct CollabAccess {
    pub key: DocKey,
    pub project_id: ProjectId,
    /// The credential allows writing (a token without the `write` scope does not).
    pub may_write: bool,
    /// Viewers, read-only tokens, deleted and protected documents: follow along, never write.
    pub can_write: bool,
}

/// Authorizes a co-editing connection to a document on a branch: members may read;
/// those with write access may also edit live documents.
pub async fn collab_access(
    db: &PgPool,
    project: &ProjectAccess,
    document_id: DocumentId,
    branch: &str,
) -> Result<CollabAccess> {
    let project_id = project.project();
    let branch_id = branches::resolve(db, project_id, branch).await?;
    let key = DocKey::new(branch_id, document_id);
    let actor = project.actor();
    let may_write = actor.require_scope(Scope::Write).is_ok();
    let holder = Holder { user_id: actor.user_id, credential: actor.credential.clone(), key, may_write };
    let can_write = match access(db, &[holder]).await?.pop() {
        Some(Standing::Write) => true,
        Some(Standing::ReadOnly) => false,
        _ => return Err(Error::not_found("document")),
    };
    Ok(CollabAccess { key, project_id, may_write, can_write })
}

/// What the holders of open connections may do now: signed out when their credential
/// no longer authenticates them, else by [`access`].
async fn standing(db: &PgPool, holders: &[Holder]) -> Result<Vec<Standing>> {
    let credentials: Vec<(UserId, &Credential)> =
        holders.iter().map(|holder| (holder.user_id, &holder.credential)).collect();
    let valid = auth::still_valid(db, &credentials).await?;
    let access = access(db, holders).await?;
    Ok(valid.into_iter().zip(access).map(|(valid, access)| if valid { access } else { Standing::SignedOut }).collect())
}

/// What each holder may do with their document on its branch, in one query, by the
/// rules of [`collab_access`] (their credential is taken as valid).
async fn access(db: &PgPool, holders: &[Holder]) -> Result<Vec<Standing>> {
    let users: Vec<UserId> = holders.iter().map(|holder| holder.user_id).collect();
    let branches: Vec<BranchId> = holders.iter().map(|holder| holder.key.branch_id).collect();
    let documents: Vec<DocumentId> = holders.iter().map(|holder| holder.key.document_id).collect();
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
    let mut access = vec![Standing::NoAccess; holders.len()];
    for (at, role, deleted, protected) in rows {
        let at = usize::try_from(at - 1).map_err(Error::internal)?;
        let writes = role.allows(Permission::Write) && holders[at].may_write && !deleted && !protected;
        access[at] = if writes { Standing::Write } else { Standing::ReadOnly };
    }
    Ok(access)
}

/// Refreshes a live document's Markdown projection and credits its editors in the
/// activity, in one transaction: whoever sees the new text also sees who wrote it.
async fn project(db: &PgPool, key: DocKey, text: &str, authors: &[UserId]) -> Result<()> {
    let mut tx = derived::begin(db).await?;
    if content::project(&mut tx, key, text, authors.last().copied()).await? && !authors.is_empty() {
        audit::record_live_edits(&mut *tx, key.branch_id, key.document_id, authors).await?;
    }
    tx.commit().await?;
    Ok(())
}
