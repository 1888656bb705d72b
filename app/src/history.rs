//! The history of a branch in the browser: its versions (tag one, restore one through a
//! change request) and a document as it stood at a version, compared with any other.

use charter_types::{Permission, Version};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::components::{Confirm, Loaded, LoadedList, Time};
use crate::context::{on_branch, ProjectCtx};
use crate::diff::{diff_view, DiffHunk};
use crate::error::AppError;
use crate::forms::{successes, FormError};

#[server]
pub async fn project_versions(slug: String, branch: String) -> Result<Vec<Version>, AppError> {
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Read).await?;
    let versions = charter_backend::history::list(&state.db, &project, &branch).await?;
    Ok(versions)
}

#[server]
pub async fn tag_version(slug: String, version: String, name: String) -> Result<String, AppError> {
    use charter_backend::history::{self, NewTag};
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Write).await?;
    let version = crate::ssr::parse_id(&version, "version")?;
    let tag = history::tag(&state.db, &project, NewTag { name, version }).await?;
    Ok(tag.name)
}

#[server]
pub async fn restore_version(slug: String, version: String) -> Result<i32, AppError> {
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Write).await?;
    let created = charter_backend::restore::restore(&state, &project, &version).await?;
    leptos_axum::redirect(&format!("/p/{slug}/changes/{}", created.number));
    Ok(created.number)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionedDocument {
    pub title: String,
    pub version: i32,
    pub html: String,
    /// From the version to the document as it is now on the branch.
    pub since: Vec<DiffHunk>,
}

#[server]
pub async fn document_at_version(
    id: String,
    version: String,
    branch: String,
    to: Option<String>,
) -> Result<VersionedDocument, AppError> {
    use charter_backend::history::{self, DiffQuery};
    let (state, project, id) = crate::context::resolve_document(&id, charter_types::Permission::Read).await?;
    let at = history::at(&state.db, &project, id, &version).await?;
    let to = to.filter(|to| !to.is_empty());
    let diff =
        history::diff(&state.db, &project, id, DiffQuery { from: Some(version), to, branch: Some(branch) }).await?;
    Ok(VersionedDocument {
        title: at.title,
        version: at.version.number,
        html: charter_backend::preview::document_html(at.kind, at.content, None).await?,
        since: diff.changes.into_iter().map(crate::diff::hunk).collect(),
    })
}

/// A document as it stood at a version, compared with now or with any other version.
#[component]
pub fn DocumentAtVersionPage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let params = use_params_map();
    let query = leptos_router::hooks::use_query_map();
    let side_by_side = RwSignal::new(false);
    let to = Memo::new(move |_| query.read().get("to").filter(|to| !to.is_empty()));
    let found = Resource::new(
        move || {
            let params = params.read();
            (
                params.get("doc").unwrap_or_default(),
                params.get("version").unwrap_or_default(),
                ctx.branch.get(),
                to.get(),
            )
        },
        |(doc, version, branch, to)| document_at_version(doc, version, branch, to),
    );
    let versions =
        Resource::new(move || (ctx.slug.get(), ctx.branch.get()), |(slug, branch)| project_versions(slug, branch));
    let navigate = leptos_router::hooks::use_navigate();
    let location = leptos_router::hooks::use_location();
    let compare = move |ev: leptos::ev::Event| {
        let chosen = event_target_value(&ev);
        let path = on_branch(&location.pathname.get_untracked(), &ctx.branch.get_untracked());
        let target = if chosen.is_empty() {
            path
        } else {
            let joiner = if path.contains('?') { '&' } else { '?' };
            format!("{path}{joiner}to={}", crate::components::urlencode(&chosen))
        };
        navigate(&target, Default::default());
    };
    view! {
        <Loaded load=move || async move { Ok((versions.await.unwrap_or_default(), found.await?)) } let:loaded>
            {
                let (list, at) = loaded;
                let chosen = to.get_untracked().unwrap_or_default();
                let compare = compare.clone();
                view! {
                    <Title text=format!("{} at version {}", at.title, at.version) />
                    <div class="page-head">
                        <h1>{format!("{} at version {}", at.title, at.version)}</h1>
                    </div>
                    <div class="markdown" inner_html=at.html.clone()></div>
                    <section aria-labelledby="since">
                        <h2 id="since">"What changed after it"</h2>
                        <label>"Compare with"
                            <select on:change=compare>
                                <option value="" selected=chosen.is_empty()>{format!("now, on {}", ctx.branch.get_untracked())}</option>
                                {list.into_iter().map(|version| {
                                    let id = version.id.to_string();
                                    let selected = id == chosen;
                                    view! { <option value=id selected=selected>{format!("Version {}", version.number)}</option> }
                                }).collect_view()}
                            </select>
                        </label>
                        {if at.since.is_empty() {
                            view! { <p class="muted">"Nothing: it is the same."</p> }.into_any()
                        } else {
                            view! {
                                <div class="actions" role="group" aria-label="Diff layout">
                                    <button type="button" class="small" on:click=move |_| side_by_side.set(false)>"Unified"</button>
                                    <button type="button" class="small" on:click=move |_| side_by_side.set(true)>"Side by side"</button>
                                </div>
                                {diff_view(&at.since, side_by_side, None)}
                            }.into_any()
                        }}
                    </section>
                }
            }
        </Loaded>
    }
}

#[component]
pub fn HistoryPage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let tag = ServerAction::<TagVersion>::new();
    let restore = ServerAction::<RestoreVersion>::new();
    // After each tag made the list reloads, so the tag shows beside its version at once,
    // and the tag fields empty (a failure keeps what was typed).
    let tagged = successes(tag);
    let versions = Resource::new(
        move || (ctx.slug.get(), ctx.branch.get(), tagged.get()),
        |(slug, branch, _)| project_versions(slug, branch),
    );
    view! {
        <Title text="History" />
        <div class="page-head">
            <h1>"History"</h1>
            <p class="muted">"Every merge is a version of " {move || ctx.branch.get()} ". Restoring one proposes it as a new change request; history itself never changes."</p>
        </div>
        <FormError action=tag />
        <FormError action=restore />
        {move || tag.value().get().and_then(Result::ok).map(|name| view! { <p class="notice" role="status">"Tagged " {name} "."</p> })}
        <LoadedList
            load=move || async move { ctx.loaded().await; versions.await }
            empty_title="No versions yet"
            empty=|| view! { <p>"Versions appear here when change requests are merged."</p> }
            let:list
        >
            {
                let slug = ctx.slug.get_untracked();
                let can_write = ctx.allows(Permission::Write);
                view! {
                    <ol class="activity versions">
                        {list.into_iter().map(|version| {
                            let (slug_tag, slug_restore, slug_link) = (slug.clone(), slug.clone(), slug.clone());
                            let (id_tag, id_restore) = (version.id.to_string(), version.id.to_string());
                            let number = version.number;
                            let restore_warning = format!(
                                "Restoring version {number} makes a branch holding every document as it stood then, and a change request to merge it into {}. Nothing changes until that is merged.",
                                version.branch,
                            );
                            view! {
                                <li>
                                    <strong>{format!("Version {number}")}</strong>
                                    {version.tags.iter().map(|name| view! { <span class="badge tag">{name.clone()}</span> }).collect_view()}
                                    " " {version.message.clone()}
                                    {version.change_request.map(|number| view! {
                                        " " <A href=format!("/p/{slug_link}/changes/{number}")>{format!("#{number}")}</A>
                                    })}
                                    <small class="muted">
                                        {format!("{}{} ", version.author,
                                            if version.approvers.is_empty() { String::new() } else { format!(", approved by {}", version.approvers.join(", ")) })}
                                        <Time at=version.created_at />
                                    </small>
                                    {can_write.then(|| view! {
                                        <div class="version-actions">
                                            <ActionForm action=tag attr:class="inline">
                                                <input type="hidden" name="slug" value=slug_tag />
                                                <input type="hidden" name="version" value=id_tag />
                                                <input name="name" placeholder="v1.0.0" aria-label=format!("Tag version {number}") required
                                                    prop:value=move || { tagged.track(); "" } />
                                                <button type="submit" class="small">"Tag"</button>
                                            </ActionForm>
                                            <Confirm label="Restore…" warning=restore_warning>
                                                <ActionForm action=restore attr:class="inline">
                                                    <input type="hidden" name="slug" value=slug_restore />
                                                    <input type="hidden" name="version" value=id_restore />
                                                    <button type="submit" class="small danger">{format!("Restore version {number}")}</button>
                                                </ActionForm>
                                            </Confirm>
                                        </div>
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                }
            }
        </LoadedList>
    }
}

/// Where a project page's history lives on the current branch.
pub fn history_path(slug: &str, branch: &str) -> String {
    on_branch(&format!("/p/{slug}/history"), branch)
}
