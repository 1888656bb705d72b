//! Projects: the list, creating one, and the project frame (sidebar with the document
//! tree) around every page inside a project.

use charter_types::{Permission, Project, ProjectStats};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Outlet, A};
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

use crate::components::{Confirm, ErrorView, LoadedList, Loading, Time};
use crate::context::{on_branch, project_by_slug, ProjectCtx};
use crate::documents::DocumentTree;
use crate::error::AppError;
use crate::forms::FormError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BranchInfo {
    pub name: String,
    pub from: Option<String>,
}

#[server]
pub async fn project_branches(slug: String) -> Result<Vec<BranchInfo>, AppError> {
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Read).await?;
    let branches = charter_backend::branches::list(&state.db, &project).await?;
    Ok(branches.into_iter().map(|branch| BranchInfo { name: branch.name, from: branch.from }).collect())
}

#[server]
pub async fn create_branch(slug: String, name: String, from: String) -> Result<BranchInfo, AppError> {
    use charter_backend::branches::{self, NewBranch};
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Write).await?;
    let branch = branches::create(&state.db, &project, NewBranch { name, from: Some(from) }).await?;
    leptos_axum::redirect(&on_branch(&format!("/p/{slug}"), &branch.name));
    Ok(BranchInfo { name: branch.name, from: branch.from })
}

#[server]
pub async fn delete_branch(slug: String, name: String) -> Result<(), AppError> {
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Write).await?;
    charter_backend::branches::delete(&state.db, &project, &name).await?;
    leptos_axum::redirect(&format!("/p/{slug}"));
    Ok(())
}

#[server]
pub async fn list_projects() -> Result<Vec<(Project, ProjectStats)>, AppError> {
    let (state, actor) = crate::ssr::actor().await?;
    Ok(charter_backend::projects::list_with_counts(&state.db, &actor).await?)
}

/// "3 documents", "1 document": a count and what it counts.
pub(crate) fn count(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[server]
pub async fn create_project(name: String) -> Result<Project, AppError> {
    use charter_backend::projects::{self, NewProject};
    let (state, actor) = crate::ssr::actor().await?;
    let project = projects::create(&state.db, &actor, NewProject { name }).await?;
    leptos_axum::redirect(&format!("/p/{}", project.slug));
    Ok(project)
}

#[component]
pub fn ProjectListPage() -> impl IntoView {
    let create = ServerAction::<CreateProject>::new();
    let projects = Resource::new(move || create.version().get(), |_| list_projects());
    view! {
        <Title text="Projects" />
        <div class="page-head">
            <h1>"Projects"</h1>
        </div>
        <div class="two-column">
            <section aria-labelledby="your-projects">
                <h2 id="your-projects" class="visually-hidden">"Your projects"</h2>
                <LoadedList
                    load=move || async move { projects.await }
                    empty_title="No projects yet"
                    empty=|| view! { <p>"Create your first project: it starts with a constitution, the principles every spec must honour."</p> }
                    let:list
                >
                    <ul class="card-list">
                        {list.into_iter().map(|(project, stats)| view! {
                            <li class="card project-card">
                                <div class="project-card-head">
                                    <A href=format!("/p/{}", project.slug) attr:class="project-link">{project.name.clone()}</A>
                                    <span class="badge">{project.role.as_str()}</span>
                                </div>
                                <ul class="counts" aria-label="In this project">
                                    <li>{count(stats.documents, "document", "documents")}</li>
                                    <li class:attention=stats.open_change_requests != 0>
                                        {count(stats.open_change_requests, "open change request", "open change requests")}</li>
                                    <li>{count(stats.members, "member", "members")}</li>
                                    <li>"Active " <Time at=stats.last_active /></li>
                                </ul>
                            </li>
                        }).collect_view()}
                    </ul>
                </LoadedList>
            </section>
            <section class="card" aria-labelledby="new-project">
                <h2 id="new-project">"New project"</h2>
                <ActionForm action=create attr:class="stack">
                    <label>"Name" <input name="name" required maxlength="100" placeholder="Payments platform" /></label>
                    <FormError action=create />
                    <button type="submit" class="primary" disabled=move || create.pending().get()>"Create project"</button>
                </ActionForm>
            </section>
        </div>
    }
}

#[component]
pub fn ProjectPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let slug = Memo::new(move |_| params.read().get("slug").unwrap_or_default());
    let branch = Memo::new(move |_| {
        query.read().get("branch").filter(|branch| !branch.is_empty()).unwrap_or_else(|| "main".into())
    });
    let changed = RwSignal::new(0u32);
    let project = Resource::new(move || slug.get(), project_by_slug);
    let tree = Resource::new(
        move || (slug.get(), branch.get(), changed.get()),
        |(slug, branch, _)| crate::documents::project_tree(slug, false, branch),
    );
    provide_context(ProjectCtx { slug, branch, project, tree, changed });

    view! {
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match project.await {
                    Ok(project) => view! {
                        <Title text=project.name.clone() />
                        <div class="project-layout">
                            <ProjectSidebar project=project.clone() />
                            <div class="project-main"><Outlet /></div>
                        </div>
                    }.into_any(),
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Erased to `AnyView`: the sidebar's full view type, nested inside the project page's
/// suspense, is deeper than rustc lays out in release builds (where components are not
/// erased for us).
#[component]
fn ProjectSidebar(project: Project) -> AnyView {
    let ctx = expect_context::<ProjectCtx>();
    let base = format!("/p/{}", project.slug);
    // On a phone the sidebar folds away behind a button (once the page's script runs;
    // before, it stays open), and folds again when a link in it is followed.
    let open = RwSignal::new(false);
    let location = leptos_router::hooks::use_location();
    Effect::new(move |_| {
        location.pathname.track();
        open.set(false);
    });
    view! {
        <aside class="sidebar" aria-label="Project">
            <div class="sidebar-head">
                <A href=base.clone() attr:class="project-name">{project.name.clone()}</A>
                <span class="badge">{project.role.as_str()}</span>
                <button type="button" class="small sidebar-toggle" aria-controls="sidebar-body"
                    aria-expanded=move || open.get().to_string() on:click=move |_| open.update(|open| *open = !*open)>
                    "Menu"
                </button>
            </div>
            <div id="sidebar-body" class="sidebar-body" class:open=move || open.get()>
            <crate::search::SearchBox />
            <BranchSwitcher can_write=project.role.allows(Permission::Write) />
            <nav aria-label="Documents">
                <DocumentTree />
            </nav>
            <nav class="sidebar-links" aria-label="Project pages">
                <A href={
                    let base = base.clone();
                    move || on_branch(&format!("{base}/requirements"), &ctx.branch.get())
                }>"Requirements"</A>
                <A href={
                    let base = base.clone();
                    move || on_branch(&format!("{base}/questions"), &ctx.branch.get())
                }>"Open questions"</A>
                <A href={
                    let base = base.clone();
                    move || on_branch(&format!("{base}/checks"), &ctx.branch.get())
                }>"Checks"</A>
                <A href={
                    let base = base.clone();
                    move || on_branch(&format!("{base}/changes"), &ctx.branch.get())
                }>"Change requests"</A>
                <A href=format!("{base}/incidents")>"Incidents"</A>
                <A href={
                    let slug = project.slug.clone();
                    move || crate::history::history_path(&slug, &ctx.branch.get())
                }>"History"</A>
                <A href=format!("{base}/activity")>"Activity"</A>
                <A href=format!("{base}/members")>"Members"</A>
                <A href=format!("{base}/search-settings")>"Search settings"</A>
                <A href=format!("{base}/integrations")>"Integrations"</A>
                <A href={
                    let base = base.clone();
                    move || on_branch(&format!("{base}/exchange"), &ctx.branch.get())
                }>"Import and export"</A>
                <A href=move || on_branch(&format!("{}/trash", base), &ctx.branch.get())>"Trash"</A>
            </nav>
            </div>
        </aside>
    }
    .into_any()
}

/// Which branch the project pages show, and a way to make a new one from it.
#[component]
fn BranchSwitcher(can_write: bool) -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let create = ServerAction::<CreateBranch>::new();
    let delete = ServerAction::<DeleteBranch>::new();
    let branches = Resource::new(
        move || (ctx.slug.get(), create.version().get(), delete.version().get()),
        |(slug, ..)| project_branches(slug),
    );
    let navigate = leptos_router::hooks::use_navigate();
    let location = leptos_router::hooks::use_location();
    let select = NodeRef::<leptos::html::Select>::new();
    let go = move || {
        if let Some(select) = select.get_untracked() {
            let path = location.pathname.get_untracked();
            navigate(&on_branch(&path, &select.value()), Default::default());
        }
    };
    // A pick with the pointer switches at once; arrow keys only move the choice (so
    // moving through the list does not load every branch), and Enter or the button
    // switches. Without scripts the form does it.
    let by_keyboard = RwSignal::new(false);
    let submit = {
        let go = go.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            go();
        }
    };
    let changed = {
        let go = go.clone();
        move |_| {
            if !by_keyboard.get_untracked() {
                go();
            }
        }
    };
    let key = move |ev: leptos::ev::KeyboardEvent| {
        by_keyboard.set(true);
        if ev.key() == "Enter" {
            ev.prevent_default();
            go();
        }
    };
    view! {
        <div class="branch-switcher">
            <form class="branch-form" method="get" action=move || location.pathname.get() on:submit=submit>
            <label for="branch-select">"Branch"</label>
            <div class="branch-pick">
                <Transition fallback=|| view! { <select id="branch-select" disabled=true></select> }>
                    {move || Suspend::new({
                        let (changed, key) = (changed.clone(), key.clone());
                        async move {
                            let current = ctx.branch.get();
                            let names: Vec<String> = branches.await.unwrap_or_default().into_iter().map(|branch| branch.name).collect();
                            view! {
                                <select id="branch-select" name="branch" node_ref=select on:change=changed on:keydown=key
                                    on:pointerdown=move |_| by_keyboard.set(false)>
                                    {names.into_iter().map(|name| {
                                        let selected = name == current;
                                        view! { <option value=name.clone() selected=selected>{name.clone()}</option> }
                                    }).collect_view()}
                                </select>
                            }
                        }
                    })}
                </Transition>
                <button type="submit" class="small">"Switch"</button>
            </div>
        </form>
            {can_write.then(|| view! {
                <details class="new-branch">
                    <summary>"New branch"</summary>
                    <ActionForm action=create attr:class="stack">
                        <input type="hidden" name="slug" value=move || ctx.slug.get() />
                        <input type="hidden" name="from" value=move || ctx.branch.get() />
                        <label>"Name" <input name="name" required maxlength="100" placeholder="draft/login" /></label>
                        <FormError action=create />
                        <button type="submit" class="small">"Create from " {move || ctx.branch.get()}</button>
                    </ActionForm>
                </details>
                <Show when=move || ctx.branch.get() != "main">
                    <Confirm
                        label="Delete branch…"
                        warning=move || format!(
                            "Deleting the branch {} removes it, every change on it that is not merged, and every change request from or into it, merged ones included. This cannot be undone.",
                            ctx.branch.get(),
                        )
                    >
                        <ActionForm action=delete attr:class="inline">
                            <input type="hidden" name="slug" value=move || ctx.slug.get() />
                            <input type="hidden" name="name" value=move || ctx.branch.get() />
                            <button type="submit" class="small danger">"Delete branch " {move || ctx.branch.get()}</button>
                        </ActionForm>
                    </Confirm>
                    <FormError action=delete />
                </Show>
            })}
        </div>
    }
}
