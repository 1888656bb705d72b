//! The one gate every project-scoped service passes. [`authorize`] reads the caller's
//! role in a project from its members and hands back a [`ProjectAccess`]: the only
//! way to name a project to a service, so a missing check does not compile and one
//! check serves a whole request. Non-members get 404 (they may not know the project
//! exists), members whose role falls short get 403.
//!
//! A write confirms the role again inside its own transaction ([`ProjectAccess::begin`]),
//! holding the membership row until it commits: a removal or downgrade made meanwhile
//! waits for the write instead of slipping past it.

use std::marker::PhantomData;
use std::ops::Deref;
use std::str::FromStr;

use axum::extract::{FromRef, FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use charter_types::{DocumentId, Permission, ProjectId, Role};
use futures_util::future::BoxFuture;
use sqlx::{PgConnection, PgExecutor, PgPool, Postgres, Transaction};

use crate::access::Actor;
use crate::audit::Entry;
use crate::error::{Error, Result};
use crate::AppState;

/// Proof that `actor` holds a role in `project` allowing what the request needs. Only
/// this module makes one.
#[derive(Clone, Debug)]
pub struct ProjectAccess {
    actor: Actor,
    project: ProjectId,
    role: Role,
    need: Permission,
}

/// How a write's transaction reads what others write meanwhile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    ReadCommitted,
    /// One consistent moment for every read (a fork of many documents).
    RepeatableRead,
}

impl ProjectAccess {
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn project(&self) -> ProjectId {
        self.project
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// An audit entry for something the caller did in the project.
    pub fn audit(&self, action: &'static str, object: (&'static str, impl ToString), summary: String) -> Entry {
        Entry::project(self.project, &self.actor, action, object, summary)
    }

    /// Confirms, inside the writing transaction `tx`, that the caller still holds a role
    /// allowing what this access was granted for; their membership row stays locked
    /// until `tx` ends.
    pub async fn confirm(&self, tx: &mut PgConnection) -> Result<()> {
        self.confirmed_role(tx).await.map(drop)
    }

    /// The same, saying the role as it is now, for a write whose rule depends on more
    /// than the permission asked for (held until `tx` ends, like the check).
    pub async fn confirmed_role(&self, tx: &mut PgConnection) -> Result<Role> {
        let role = role_in(tx, &self.actor, self.project, "FOR SHARE").await?;
        check(role, self.need)?;
        Ok(role)
    }

    /// The transaction a write goes through, with the caller's role confirmed inside it.
    pub async fn begin(&self, db: &PgPool) -> Result<Transaction<'static, Postgres>> {
        self.begin_with(db, Isolation::ReadCommitted).await
    }

    pub async fn begin_with(&self, db: &PgPool, isolation: Isolation) -> Result<Transaction<'static, Postgres>> {
        let mut tx = db.begin().await?;
        if isolation == Isolation::RepeatableRead {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").execute(&mut *tx).await?;
        }
        self.confirm(&mut tx).await?;
        Ok(tx)
    }
}

/// The caller's access to a project, or 404 / 403 as described above.
pub async fn authorize(db: &PgPool, actor: &Actor, project: ProjectId, need: Permission) -> Result<ProjectAccess> {
    let role = role_in(db, actor, project, "").await?;
    check(role, need)?;
    Ok(ProjectAccess { actor: actor.clone(), project, role, need })
}

/// The caller's access to the project a slug names (the UI names projects by slug).
pub async fn authorize_slug(db: &PgPool, actor: &Actor, slug: &str, need: Permission) -> Result<ProjectAccess> {
    let (project, role): (ProjectId, Role) = sqlx::query_as(
        "SELECT p.id, m.role FROM projects p JOIN project_members m ON m.project_id = p.id
         WHERE p.slug = $1 AND m.user_id = $2",
    )
    .bind(slug)
    .bind(actor.user_id)
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found("project"))?;
    check(role, need)?;
    Ok(ProjectAccess { actor: actor.clone(), project, role, need })
}

/// The same, inside a transaction that already writes (creating a project makes its
/// owner first, then acts as them).
pub async fn authorize_in(
    tx: &mut PgConnection,
    actor: &Actor,
    project: ProjectId,
    need: Permission,
) -> Result<ProjectAccess> {
    let role = role_in(tx, actor, project, "FOR SHARE").await?;
    check(role, need)?;
    Ok(ProjectAccess { actor: actor.clone(), project, role, need })
}

/// Access to the project a document belongs to. A document in a project the caller
/// can't see is, for them, no document at all (404).
pub async fn authorize_document(
    db: &PgPool,
    actor: &Actor,
    document: DocumentId,
    need: Permission,
) -> Result<ProjectAccess> {
    let project: ProjectId = sqlx::query_scalar("SELECT project_id FROM documents WHERE id = $1")
        .bind(document)
        .fetch_optional(db)
        .await?
        .ok_or_else(|| Error::not_found("document"))?;
    authorize(db, actor, project, need).await.map_err(|err| match err {
        Error::NotFound(_) => Error::not_found("document"),
        other => other,
    })
}

async fn role_in<'e>(db: impl PgExecutor<'e>, actor: &Actor, project: ProjectId, lock: &str) -> Result<Role> {
    sqlx::query_scalar(&format!("SELECT role FROM project_members WHERE project_id = $1 AND user_id = $2 {lock}"))
        .bind(project)
        .bind(actor.user_id)
        .fetch_optional(db)
        .await?
        .ok_or_else(|| Error::not_found("project"))
}

fn check(role: Role, need: Permission) -> Result<()> {
    match role.allows(need) {
        true => Ok(()),
        false => Err(Error::Forbidden(format!("your role ({role}) does not allow {need}"))),
    }
}

/// What a route needs, as a type: a handler asks for `Project<need::Write>`.
pub mod need {
    use charter_types::Permission;

    pub trait Need: Send + Sync + 'static {
        const PERMISSION: Permission;
    }

    macro_rules! needs {
        ($($name:ident),+) => {$(
            pub struct $name;

            impl Need for $name {
                const PERMISSION: Permission = Permission::$name;
            }
        )+};
    }

    needs!(Read, Write, Review, Manage);
}

/// What a route's `{id}` names and is authorized through: a project, or a document (in
/// its project).
pub trait Scope: FromStr + Copy + Send + Sync + 'static {
    const WHAT: &'static str;

    fn authorize<'a>(self, db: &'a PgPool, actor: &'a Actor, need: Permission) -> BoxFuture<'a, Result<ProjectAccess>>;
}

impl Scope for ProjectId {
    const WHAT: &'static str = "project";

    fn authorize<'a>(self, db: &'a PgPool, actor: &'a Actor, need: Permission) -> BoxFuture<'a, Result<ProjectAccess>> {
        Box::pin(authorize(db, actor, self, need))
    }
}

impl Scope for DocumentId {
    const WHAT: &'static str = "document";

    fn authorize<'a>(self, db: &'a PgPool, actor: &'a Actor, need: Permission) -> BoxFuture<'a, Result<ProjectAccess>> {
        Box::pin(authorize_document(db, actor, self, need))
    }
}

/// The thing a route's `{id}` names, with the caller authorized for `N` in its project:
/// a handler asks for `Project<need::Write>` or `Document<need::Read>`.
pub struct Scoped<N, K> {
    access: ProjectAccess,
    id: K,
    need: PhantomData<N>,
}

pub type Project<N> = Scoped<N, ProjectId>;
pub type Document<N> = Scoped<N, DocumentId>;

impl<N, K: Copy> Scoped<N, K> {
    pub fn id(&self) -> K {
        self.id
    }
}

impl<N, K> Deref for Scoped<N, K> {
    type Target = ProjectAccess;

    fn deref(&self) -> &ProjectAccess {
        &self.access
    }
}

impl<S, N: need::Need, K: Scope> FromRequestParts<S> for Scoped<N, K>
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let actor = Actor::from_request_parts(parts, state).await?;
        let id: K = path_id(parts, state, K::WHAT).await?;
        let access = id.authorize(&AppState::from_ref(state).db, &actor, N::PERMISSION).await?;
        Ok(Scoped { access, id, need: PhantomData })
    }
}

/// The route's `{id}`, read as the id of a `what`.
async fn path_id<S: Send + Sync, T: FromStr>(parts: &mut Parts, state: &S, what: &str) -> Result<T> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|rejection| Error::BadRequest(rejection.to_string()))?;
    let value = params.iter().find(|(name, _)| *name == "id").map(|(_, value)| value).unwrap_or_default();
    value.parse().map_err(|_| Error::BadRequest(format!("`{value}` is not a {what} id")))
}
