//! The project a page is in: who the viewer is there, the branch it shows, its
//! document tree, and finding the project on the server. Every page inside a project
//! reads it; it knows no page.

use charter_types::{Permission, Project, TreeEntry};
use leptos::prelude::*;

use crate::error::AppError;

/// The signed-in caller's access to the project a slug names, for what they need to
/// do there (server side): every server function of a project page starts here.
#[cfg(feature = "ssr")]
pub(crate) async fn resolve(
    slug: &str,
    need: Permission,
) -> Result<(charter_backend::AppState, charter_backend::authorization::ProjectAccess), AppError> {
    let (state, actor) = crate::ssr::actor().await?;
    let project = charter_backend::authorization::authorize_slug(&state.db, &actor, slug, need).await?;
    Ok((state, project))
}

/// The caller's access to the project of the document `id` names (server side).
#[cfg(feature = "ssr")]
pub(crate) async fn resolve_document(
    id: &str,
    need: Permission,
) -> Result<
    (charter_backend::AppState, charter_backend::authorization::ProjectAccess, charter_types::DocumentId),
    AppError,
> {
    let (state, actor) = crate::ssr::actor().await?;
    let id = crate::ssr::parse_id(id, "document")?;
    let project = charter_backend::authorization::authorize_document(&state.db, &actor, id, need).await?;
    Ok((state, project, id))
}

/// A project page's address on a branch: `main` needs no mention.
pub fn on_branch(path: &str, branch: &str) -> String {
    if branch == "main" {
        path.to_owned()
    } else {
        format!("{path}?branch={}", crate::components::urlencode(branch))
    }
}

#[server]
pub async fn project_by_slug(slug: String) -> Result<Project, AppError> {
    let (state, project) = resolve(&slug, charter_types::Permission::Read).await?;
    Ok(charter_backend::projects::get(&state.db, &project).await?)
}

/// What every page inside a project shares: the project, its document tree, and a
/// counter that pages bump after a change so the tree and lists reload.
#[derive(Clone, Copy)]
pub struct ProjectCtx {
    pub slug: Memo<String>,
    /// The branch the pages show, from `?branch=` (`main` without one).
    pub branch: Memo<String>,
    pub project: Resource<Result<Project, AppError>>,
    pub tree: Resource<Result<Vec<TreeEntry>, AppError>>,
    pub changed: RwSignal<u32>,
}

impl ProjectCtx {
    /// Waits for the project. A boundary whose load awaits this renders again when the
    /// project changes, so what [`ProjectCtx::allows`] says in its view is current.
    pub async fn loaded(self) {
        let _ = self.project.await;
    }

    /// Whether the viewer's role allows `permission`, as of the project's last load.
    pub fn allows(self, permission: Permission) -> bool {
        matches!(self.project.get_untracked(), Some(Ok(project)) if project.role.allows(permission))
    }

    /// Reloads what depends on the project's documents.
    pub fn touch(&self) {
        self.changed.update(|n| *n += 1);
    }
}
