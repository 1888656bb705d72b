//! The project's activity: its audit trail, newest first.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::components::{EmptyState, ErrorView, Loading, Time};
use crate::context::ProjectCtx;
use crate::error::AppError;

const PAGE: i64 = 50;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActivityItem {
    pub id: i64,
    pub actor: Option<String>,
    pub action: String,
    pub summary: String,
    /// The page of what the entry is about, when there is one.
    pub href: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[server]
pub async fn project_activity(slug: String, before: Option<i64>, limit: i64) -> Result<Vec<ActivityItem>, AppError> {
    use charter_backend::activity::{self, ActivityQuery};
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Read).await?;
    let entries = activity::list(&state.db, &project, ActivityQuery { before, limit: Some(limit) }).await?;
    Ok(entries
        .into_iter()
        .map(|entry| ActivityItem {
            id: entry.id,
            href: href(&slug, &entry),
            actor: entry.actor,
            action: entry.action,
            summary: entry.summary,
            created_at: entry.created_at,
        })
        .collect())
}

/// Where an entry's object is seen now: the thing's own page, or the page that lists
/// things of its kind. Deleted things link to where they can be restored, if anywhere.
#[cfg(feature = "ssr")]
fn href(slug: &str, entry: &charter_backend::activity::Activity) -> Option<String> {
    use crate::context::on_branch;
    let base = format!("/p/{slug}");
    let id = &entry.object_id;
    let branch = entry.branch.as_deref();
    Some(match (entry.object_type.as_str(), entry.action.as_str()) {
        ("document", "document.delete") => on_branch(&format!("{base}/trash"), branch.unwrap_or("main")),
        ("document", _) => on_branch(&format!("{base}/doc/{id}"), branch.unwrap_or("main")),
        ("change_request", _) => format!("{base}/changes/{}", entry.change_request?),
        ("branch", _) => on_branch(&base, branch?),
        ("incident", _) => format!("{base}/incidents/{id}"),
        ("requirement", _) => format!("{base}/duplicates"),
        ("version", _) => format!("{base}/history"),
        ("traceability_report", _) => format!("{base}/checks"),
        ("project", "project.create") => base,
        ("user", _) | ("project", "project.settings") => format!("{base}/members"),
        ("project", "search.provider") => format!("{base}/search-settings"),
        ("webhook", _) | ("project", "integration.secret") => format!("{base}/integrations"),
        _ => return None,
    })
}

#[component]
pub fn ActivityList(slug: String, before: Option<i64>, limit: i64) -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let entries = Resource::new(
        move || (slug.clone(), before, ctx.changed.get()),
        move |(slug, before, _)| project_activity(slug, before, limit),
    );
    view! {
        <Transition fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move { activity_view(entries.await, limit) })}
        </Transition>
    }
}

/// Activity entries as a list (a page awaiting them itself needs no suspense of its own).
pub fn activity_view(entries: Result<Vec<ActivityItem>, AppError>, limit: i64) -> AnyView {
    match entries {
        Ok(items) if items.is_empty() => view! {
            <EmptyState title="Nothing here yet"><p>"Changes to this project will be listed here."</p></EmptyState>
        }
        .into_any(),
        Ok(items) => {
            let oldest = (items.len() as i64 == limit).then(|| items.last().map(|item| item.id)).flatten();
            view! {
                <ol class="activity">
                    {items.into_iter().map(|item| view! {
                        <li data-action=item.action.clone()>
                            <strong>{item.actor.unwrap_or_else(|| "someone".into())}</strong>
                            " "
                            {match item.href {
                                Some(href) => view! { <A href=href>{item.summary}</A> }.into_any(),
                                None => item.summary.into_any(),
                            }}
                            <small class="muted"><Time at=item.created_at /></small>
                        </li>
                    }).collect_view()}
                </ol>
                {(limit == PAGE).then(|| oldest.map(|id| view! {
                    <A href=format!("?before={id}") attr:class="button">"Older entries"</A>
                }))}
            }
            .into_any()
        }
        Err(error) => view! { <ErrorView error /> }.into_any(),
    }
}

#[component]
pub fn ActivityPage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let query = use_query_map();
    let before = Memo::new(move |_| query.read().get("before").and_then(|before| before.parse::<i64>().ok()));
    view! {
        <Title text="Activity" />
        <div class="page-head"><h1>"Activity"</h1></div>
        {move || {
            let before = before.get();
            view! {
                {before.is_some().then(|| view! { <A href="?" attr:class="button small">"Newest"</A> })}
                <ActivityList slug=ctx.slug.get() before limit=PAGE />
            }
        }}
    }
}
