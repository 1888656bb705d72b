//! A project's front page: what it holds and what waits on people, at a glance.

use charter_types::Permission;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::{ErrorView, Loading};
use crate::context::{on_branch, ProjectCtx};
use crate::documents::{children_of, tree_level, NewDocumentForm};
use crate::projects::count;

/// How many activity entries, change requests and questions the overview shows.
const RECENT_ACTIVITY: i64 = 8;
const SHOWN: usize = 5;

#[component]
pub fn ProjectOverview() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let recent = Resource::new(
        move || (ctx.slug.get(), ctx.changed.get()),
        |(slug, _)| crate::activity::project_activity(slug, None, RECENT_ACTIVITY),
    );
    let changes = Resource::new(
        move || (ctx.slug.get(), ctx.changed.get()),
        |(slug, _)| crate::changes::list_changes(slug, Some("open".into())),
    );
    let questions = Resource::new(
        move || (ctx.slug.get(), ctx.branch.get(), ctx.changed.get()),
        |(slug, branch, _)| crate::questions::list_questions(slug, branch, "open".into(), None),
    );
    view! {
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                // Awaited here, not in suspenses of their own: one boundary hydrates reliably.
                let nodes = ctx.tree.await.unwrap_or_default();
                let (activity, changes, questions) = (recent.await, changes.await, questions.await);
                let project = match ctx.project.await {
                    Ok(project) => project,
                    Err(error) => return view! { <ErrorView error /> }.into_any(),
                };
                let (slug, branch) = (project.slug.clone(), ctx.branch.get_untracked());
                let mut summary = vec![
                    format!("You are {} here", project.role.as_str()),
                    count(nodes.len() as i64, "document", "documents"),
                ];
                summary.extend(changes.as_ref().ok().map(|open| count(open.len() as i64, "open change request", "open change requests")));
                summary.extend(questions.as_ref().ok().map(|open| count(open.len() as i64, "open question", "open questions")));
                let summary = summary.join(" · ");
                let tree = if nodes.is_empty() {
                    view! { <p class="muted">"No documents yet."</p> }.into_any()
                } else {
                    tree_level(&children_of(&nodes), None, &slug, &branch)
                };
                let changes_href = on_branch(&format!("/p/{slug}/changes"), &branch);
                let questions_href = on_branch(&format!("/p/{slug}/questions"), &branch);
                view! {
                    <div class="page-head">
                        <h1>{project.name.clone()}</h1>
                        <p class="muted">{summary}</p>
                    </div>
                    <div class="overview-grid">
                        <section class="card" aria-labelledby="overview-documents">
                            <h2 id="overview-documents">"Documents"</h2>
                            {tree}
                        </section>
                        <section class="card" aria-labelledby="overview-changes">
                            <h2 id="overview-changes">"Open change requests"</h2>
                            {match changes {
                                Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                                Ok(open) if open.is_empty() => view! { <p class="muted">"None open. Work on a branch, then open one to have it reviewed."</p> }.into_any(),
                                Ok(open) => view! {
                                    <ul class="compact-list">
                                        {open.into_iter().take(SHOWN).map(|change| view! {
                                            <li>
                                                <A href=on_branch(&format!("/p/{slug}/changes/{}", change.number), &branch)>
                                                    {format!("#{} {}", change.number, change.title)}</A>
                                                <small class="muted">{format!(" {} → {}, by {}", change.source, change.target, change.author)}</small>
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any(),
                            }}
                            <A href=changes_href>"All change requests"</A>
                        </section>
                        <section class="card" aria-labelledby="overview-questions">
                            <h2 id="overview-questions">"Open questions"</h2>
                            {match questions {
                                Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                                Ok(open) if open.is_empty() => view! { <p class="muted">"No open questions on this branch."</p> }.into_any(),
                                Ok(open) => view! {
                                    <ul class="compact-list">
                                        {open.into_iter().take(SHOWN).map(|q| {
                                            let href = on_branch(&format!("/p/{slug}/doc/{}", q.document_id), &branch);
                                            view! {
                                                <li>{q.question.clone()} <small class="muted">" in " <A href=href>{q.document.clone()}</A></small></li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                }.into_any(),
                            }}
                            <A href=questions_href>"All open questions"</A>
                        </section>
                        <section class="card" aria-labelledby="recent-activity">
                            <h2 id="recent-activity">"Recent activity"</h2>
                            {crate::activity::activity_view(activity, RECENT_ACTIVITY)}
                            <A href=format!("/p/{slug}/activity")>"All activity"</A>
                        </section>
                    </div>
                    {project.role.allows(Permission::Write).then(|| view! {
                        <section class="card new-document" aria-labelledby="new-document">
                            <h2 id="new-document">"New document"</h2>
                            <NewDocumentForm nodes=nodes.clone() />
                        </section>
                    })}
                }.into_any()
            })}
        </Suspense>
    }
}
