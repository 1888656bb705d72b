//! Who belongs to a project and with which role; owners manage them.

use charter_types::{Permission, Role};
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::{Confirm, Loaded, Time};
use crate::context::ProjectCtx;
use crate::error::AppError;
use crate::forms::{successes, FormError};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberView {
    pub username: String,
    pub role: Role,
    pub added_at: DateTime<Utc>,
}

#[cfg(feature = "ssr")]
fn parse_role(role: String) -> Result<Role, AppError> {
    role.parse().map_err(|unknown: charter_types::Unknown| AppError::Invalid(unknown.to_string()))
}

#[server]
pub async fn project_members(slug: String) -> Result<Vec<MemberView>, AppError> {
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Read).await?;
    let members = charter_backend::projects::members(&state.db, &project).await?;
    Ok(members
        .into_iter()
        .map(|member| MemberView { username: member.username, role: member.role, added_at: member.added_at })
        .collect())
}

/// Adds a member or changes one's role; the member as they now are.
#[server]
pub async fn set_member(slug: String, username: String, role: String) -> Result<MemberView, AppError> {
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Manage).await?;
    let username = username.trim();
    if username.is_empty() {
        return Err(AppError::Invalid("enter a username".into()));
    }
    let member = charter_backend::projects::set_member(&state.db, &project, username, parse_role(role)?).await?;
    Ok(MemberView { username: member.username, role: member.role, added_at: member.added_at })
}

/// Removes a member; who it was.
#[server]
pub async fn remove_member(slug: String, username: String) -> Result<String, AppError> {
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Manage).await?;
    charter_backend::projects::remove_member(&state.db, &project, &username).await?;
    Ok(username)
}

#[server]
pub async fn update_settings(
    slug: String,
    required_approvals: i32,
    protect_main: Option<String>,
    breaking_changes_need_owner: Option<String>,
) -> Result<(), AppError> {
    use charter_backend::projects::{self, SettingsPatch};
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Manage).await?;
    // An unticked checkbox sends nothing.
    let patch = SettingsPatch {
        required_approvals: Some(required_approvals),
        protect_main: Some(protect_main.is_some()),
        breaking_changes_need_owner: Some(breaking_changes_need_owner.is_some()),
    };
    projects::update_settings(&state.db, &project, patch).await?;
    Ok(())
}

/// How change requests merge: owners set the approvals needed and whether `main` is protected.
#[component]
fn Settings(
    slug: String,
    required_approvals: i32,
    protect_main: bool,
    breaking_changes_need_owner: bool,
) -> impl IntoView {
    let save = ServerAction::<UpdateSettings>::new();
    view! {
        <section class="card" aria-labelledby="settings">
            <h2 id="settings">"Review settings"</h2>
            <ActionForm action=save attr:class="stack">
                <input type="hidden" name="slug" value=slug />
                <label>"Approvals a change request needs"
                    <input type="number" name="required_approvals" min="0" max="10" value=required_approvals.to_string() />
                </label>
                <label class="check">
                    <input type="checkbox" name="protect_main" value="on" checked=protect_main />
                    "Protect main: it changes only through approved change requests (the constitution always does)"
                </label>
                <label class="check">
                    <input type="checkbox" name="breaking_changes_need_owner" value="on" checked=breaking_changes_need_owner />
                    "Breaking API changes need an owner's approval: a change request that breaks a contract's callers merges only once an owner approves it"
                </label>
                <FormError action=save />
                <button type="submit">"Save settings"</button>
                {move || matches!(save.value().get(), Some(Ok(()))).then(|| view! { <p class="muted" role="status">"Saved."</p> })}
            </ActionForm>
        </section>
    }
}

/// `reset`: set back to `selected` whenever it changes.
#[component]
fn RoleSelect(selected: Role, #[prop(optional, into)] reset: Option<Signal<usize>>) -> impl IntoView {
    let value = move || {
        reset.track();
        selected.as_str()
    };
    view! {
        <select name="role" aria-label="Role" prop:value=value>
            {Role::ALL.iter().copied().map(|role| view! {
                <option value=role.as_str() selected=role == selected>{role.as_str()}</option>
            }).collect_view()}
        </select>
    }
}

#[component]
pub fn MembersPage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let set = ServerAction::<SetMember>::new();
    // Adding has an action of its own, so that only an addition is announced as one.
    let add = ServerAction::<SetMember>::new();
    let remove = ServerAction::<RemoveMember>::new();
    // After an addition the list reloads and the form empties; a failed one keeps what
    // was typed.
    let added = successes(add);
    let members = Resource::new(
        move || (ctx.slug.get(), set.version().get(), added.get(), remove.version().get(), ctx.changed.get()),
        |(slug, ..)| project_members(slug),
    );
    Effect::new(move |_| {
        if set.version().get() + added.get() + remove.version().get() > 0 {
            ctx.touch();
        }
    });
    view! {
        <Title text="Members" />
        <div class="page-head">
            <h1>"Members"</h1>
            <p class="muted">"Viewers read; editors write; reviewers also review; owners also manage members and settings."</p>
        </div>
        <FormError action=set />
        <FormError action=remove />
        {move || remove.value().get().and_then(Result::ok).map(|name| view! {
            <p class="notice" role="status">{format!("{name} was removed from the project.")}</p>
        })}
        <Loaded load=move || async move { ctx.loaded().await; members.await } let:list>
            {
                let project = ctx.project.get_untracked().and_then(Result::ok);
                let manage = project.as_ref().is_some_and(|project| project.role.allows(Permission::Manage));
                let settings = project.filter(|_| manage).map(|project| view! {
                    <Settings slug=project.slug.clone() required_approvals=project.required_approvals protect_main=project.protect_main breaking_changes_need_owner=project.breaking_changes_need_owner />
                });
                let slug = ctx.slug.get_untracked();
                view! {
                    <table class="members">
                        <thead><tr><th scope="col">"Member"</th><th scope="col">"Role"</th><th scope="col">"Since"</th>
                            {manage.then(|| view! { <th scope="col"><span class="visually-hidden">"Actions"</span></th> })}</tr></thead>
                        <tbody>
                            {list.into_iter().map(|member| {
                                let (slug_set, slug_remove) = (slug.clone(), slug.clone());
                                let (name_set, name_remove) = (member.username.clone(), member.username.clone());
                                view! {
                                    <tr>
                                        <td>{member.username.clone()}</td>
                                        <td>{if manage {
                                            view! {
                                                <ActionForm action=set attr:class="inline">
                                                    <input type="hidden" name="slug" value=slug_set />
                                                    <input type="hidden" name="username" value=name_set />
                                                    <RoleSelect selected=member.role />
                                                    <button type="submit" class="small">"Change"</button>
                                                </ActionForm>
                                            }.into_any()
                                        } else {
                                            view! { <span class="badge">{member.role.as_str()}</span> }.into_any()
                                        }}</td>
                                        <td><Time at=member.added_at /></td>
                                        {manage.then(|| {
                                            let warning = format!(
                                                "{name_remove} loses access to this project at once, and any of their documents open in an editor close."
                                            );
                                            let confirm = format!("Remove {name_remove}");
                                            view! {
                                                <td>
                                                    <Confirm label="Remove…" warning>
                                                        <ActionForm action=remove attr:class="inline">
                                                            <input type="hidden" name="slug" value=slug_remove />
                                                            <input type="hidden" name="username" value=name_remove />
                                                            <button type="submit" class="small danger">{confirm}</button>
                                                        </ActionForm>
                                                    </Confirm>
                                                </td>
                                            }
                                        })}
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    {settings}
                    {manage.then(|| view! {
                        <section class="card" aria-labelledby="add-member">
                            <h2 id="add-member">"Add a member"</h2>
                            <ActionForm action=add attr:class="row">
                                <input type="hidden" name="slug" value=slug.clone() />
                                <label>"Username" <input name="username" required prop:value=move || { added.track(); "" } /></label>
                                <label>"Role" <RoleSelect selected=Role::Editor reset=added /></label>
                                <button type="submit" class="primary">"Add"</button>
                            </ActionForm>
                            <FormError action=add />
                            {move || add.value().get().and_then(Result::ok).map(|member| view! {
                                <p class="notice" role="status">
                                    {format!("{} now has the {} role in this project: see the list above.", member.username, member.role.as_str())}
                                </p>
                            })}
                        </section>
                    })}
                }.into_any()
            }
        </Loaded>
    }
}
