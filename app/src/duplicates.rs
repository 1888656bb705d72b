//! The possible duplicates report: requirement pairs nearly alike in meaning, side by
//! side, each dismissable with a reason by those who may edit.

use charter_types::{Dismissal, DuplicatePair, DuplicateReport, DuplicateSide, Permission};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::components::{EmptyState, Loaded, Time};
use crate::context::{on_branch, ProjectCtx};
use crate::error::AppError;
use crate::forms::FormError;
use crate::structure::SpecTabs;

#[server]
pub async fn possible_duplicates(slug: String, branch: String) -> Result<DuplicateReport, AppError> {
    use charter_backend::search::{self, DuplicatesQuery};
    let (state, project) = crate::context::resolve(&slug, Permission::Read).await?;
    let query = DuplicatesQuery { branch: Some(branch), min_similarity: None };
    let meaning = search::provider::meaning(&state.db, &state.embeddings, project.project()).await?;
    Ok(search::duplicates(&state.db, &meaning, &project, &query).await?)
}

#[server]
pub async fn judge_distinct(slug: String, a: String, b: String, reason: String) -> Result<Dismissal, AppError> {
    let (state, project) = crate::context::resolve(&slug, Permission::Write).await?;
    let request = charter_types::DismissDuplicate {
        a: crate::ssr::parse_id(&a, "requirement")?,
        b: crate::ssr::parse_id(&b, "requirement")?,
        reason,
    };
    Ok(charter_backend::search::dismiss(&state.db, &project, request).await?)
}

#[component]
fn Side(side: DuplicateSide) -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let (slug, branch) = (ctx.slug.get_untracked(), ctx.branch.get_untracked());
    let href = on_branch(&format!("/p/{slug}/req/{}", crate::components::urlencode(&side.key)), &branch);
    let doc_href = on_branch(&format!("/p/{slug}/doc/{}", side.document_id), &branch);
    view! {
        <div class="side">
            <A href=href attr:class="req-key">{side.key}</A>
            <p>{side.text}</p>
            <small class="muted">"In " <A href=doc_href>{side.document}</A> {format!(", line {}", side.line)}</small>
        </div>
    }
}

fn alike(pair: &DuplicatePair) -> String {
    format!("{:.0}% alike", pair.similarity * 100.0)
}

#[component]
pub fn DuplicatesPage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let dismiss = ServerAction::<JudgeDistinct>::new();
    let report = Resource::new(
        move || (ctx.slug.get(), ctx.branch.get(), ctx.changed.get(), dismiss.version().get()),
        |(slug, branch, ..)| possible_duplicates(slug, branch),
    );
    view! {
        <Title text="Possible duplicates" />
        <div class="page-head"><h1>"Possible duplicates"</h1></div>
        <SpecTabs current="duplicates" />
        <FormError action=dismiss />
        <Loaded load=move || async move { ctx.loaded().await; report.await } let:report>
            {
                let can_write = ctx.allows(Permission::Write);
                let notice = report.notice.clone().map(|notice| view! { <p class="notice" role="status">{notice}</p> });
                let pairs = if report.pairs.is_empty() {
                    view! {
                        <EmptyState title="No possible duplicates">
                            <p>{format!("No two requirements on this branch are {:.0}% alike or more.", report.min_similarity * 100.0)}</p>
                        </EmptyState>
                    }.into_any()
                } else {
                    view! {
                        <ul class="duplicates">
                            {report.pairs.into_iter().map(|pair| {
                                let (a, b) = (pair.a.requirement_id.to_string(), pair.b.requirement_id.to_string());
                                let label = format!("Why {} and {} are distinct", pair.a.key, pair.b.key);
                                view! {
                                    <li class="duplicate card">
                                        <strong>{alike(&pair)}</strong>
                                        <div class="pair-sides"><Side side=pair.a /><Side side=pair.b /></div>
                                        {can_write.then(|| view! {
                                            <ActionForm action=dismiss attr:class="dismiss-form">
                                                <input type="hidden" name="slug" value=ctx.slug.get_untracked() />
                                                <input type="hidden" name="a" value=a />
                                                <input type="hidden" name="b" value=b />
                                                <label class="grow">{label}
                                                    <input name="reason" required maxlength="500" placeholder="They cover different cases because …" />
                                                </label>
                                                <button type="submit" class="small">"Not duplicates"</button>
                                            </ActionForm>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                };
                let dismissed = (!report.dismissed.is_empty()).then(|| view! {
                    <details class="dismissed">
                        <summary>{format!("Judged distinct ({})", report.dismissed.len())}</summary>
                        <ul class="duplicates">
                            {report.dismissed.into_iter().map(|pair| {
                                let dismissal = pair.dismissal.clone();
                                view! {
                                    <li class="duplicate card">
                                        <strong>{alike(&pair)}</strong>
                                        <div class="pair-sides"><Side side=pair.a /><Side side=pair.b /></div>
                                        {dismissal.map(|dismissal| view! {
                                            <p class="muted">"“" {dismissal.reason} "”, "
                                                {dismissal.by.unwrap_or_else(|| "a former member".into())} " "
                                                <Time at=dismissal.at /></p>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </details>
                });
                view! { {notice} {pairs} {dismissed} }
            }
        </Loaded>
    }
}
