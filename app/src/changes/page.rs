//! One change request's page: what it changes per document, its conflicts and their
//! resolution, the checks and the constitution's bump, reviews, discussion, merging,
//! closing and reopening.

use std::collections::HashMap;
use std::sync::Arc;

use charter_types::{ChangeRequestState, Impact, LineSide, LintOverride, Verdict};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use super::bumps::{bump_status, ApiChanges, BumpForm};
use super::review::approval_note;
use super::threads::{line_key, line_place, threads, under_line, LineKey, Thread, ThreadForms, ThreadView};
use super::{
    change_view, CommentChange, ConfirmBump, MergeChange, ResolveChange, ResolveThread, ReviewChange, SetChangeOpen,
};
use crate::components::{Loaded, Time};
use crate::context::{on_branch, ProjectCtx};
use crate::diff::{diff_view, LineNotes};
use crate::forms::FormError;

#[component]
pub fn ChangePage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let params = use_params_map();
    let number =
        Memo::new(move |_| params.read().get("number").and_then(|number| number.parse::<i32>().ok()).unwrap_or(0));
    let review = ServerAction::<ReviewChange>::new();
    let comment = ServerAction::<CommentChange>::new();
    let resolve = ServerAction::<ResolveChange>::new();
    let merge = ServerAction::<MergeChange>::new();
    let confirm = ServerAction::<ConfirmBump>::new();
    let set_open = ServerAction::<SetChangeOpen>::new();
    let resolve_thread = ServerAction::<ResolveThread>::new();
    let side_by_side = RwSignal::new(false);
    let view_resource = Resource::new(
        move || {
            (
                ctx.slug.get(),
                number.get(),
                review.version().get(),
                comment.version().get(),
                resolve.version().get(),
                merge.version().get(),
                confirm.version().get(),
                set_open.version().get(),
                resolve_thread.version().get(),
            )
        },
        |(slug, number, ..)| change_view(slug, number),
    );
    view! {
        <Loaded load=move || async move { Ok((ctx.project.await?, view_resource.await?)) } let:loaded>
            {
                let (project, change) = loaded;
                let slug = project.slug.clone();
                let number = change.summary.number;
                let open = change.summary.state == ChangeRequestState::Open;
                let actions = change.actions.clone();
                let mergeable = actions.may_merge();
                let checks_view = view! {
                    <section class="card" aria-labelledby="checks">
                        <h2 id="checks">"Checks"</h2>
                        {change.checks.as_merged.then(|| view! { <p class="muted">"As they stood when it merged."</p> })}
                        {if change.checks.findings.is_empty() {
                            view! { <p role="status">"The changed documents pass every check."</p> }.into_any()
                        } else {
                            view! {
                                <p role="status">{format!("{} finding(s) in the changed documents, {} error(s).", change.checks.findings.len(), change.checks.errors)}
                                    {(change.checks.errors > 0).then_some(" Errors block merging unless an owner merges with a recorded reason.")}</p>
                                <ul class="findings">
                                    {change.checks.findings.clone().into_iter().map(|f| view! {
                                        <li class=format!("finding severity-{}", f.severity)>
                                            <span class=format!("badge severity-{}", f.severity)>{f.severity.as_str()}</span>
                                            {format!(" {} line {}: {} ", f.document, f.line, f.message)}
                                            <code class="muted">{f.rule.clone()}</code>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            }.into_any()
                        }}
                        {change.checks.lint_override.clone().map(|LintOverride { by, reason }| view! {
                            <p class="notice">{format!("Merged despite lint errors by {by}: {reason}")}</p>
                        })}
                    </section>
                };
                let constitution_view = change.constitution.clone().map(|c| {
                    let slug = slug.clone();
                    let current = c.current_version.clone().unwrap_or_else(|| "none".into());
                    let confirm_form = actions.confirm_bump.then(|| {
                        view! { <BumpForm slug=slug number=number document=None proposed=c.proposal.bump action=confirm /> }
                    });
                    view! {
                        <section class="card constitution-change" aria-labelledby="constitution-change">
                            <h2 id="constitution-change">"Constitution version"</h2>
                            <p>{format!("This change proposes a {} bump: {} → {}.", c.proposal.bump.as_str().to_uppercase(), current, c.proposed_version)}</p>
                            <ul>
                                {c.proposal.principles.iter().map(|p| view! { <li>{format!("{} {} — {} ({})", p.key, p.title, p.change, p.bump)}</li> }).collect_view()}
                                {c.proposal.other_text_changed.then(|| view! { <li>"Text outside the principles changed (patch)"</li> })}
                            </ul>
                            {bump_status(c.confirmed.clone(), c.next_version.clone())}
                            {confirm_form}
                            {(!c.impact.is_empty()).then(|| view! {
                                <h3>"Impact report"</h3>
                                <p class="muted">"Specs that name a removed or redefined principle, or break the new constitution:"</p>
                                <ul class="impact">
                                    {c.impact.clone().into_iter().map(|Impact { document_id: id, title, references: refs, findings }| {
                                        let href = on_branch(&format!("/p/{}/doc/{id}", project.slug), &change.summary.source);
                                        view! {
                                            <li><A href=href>{title.clone()}</A>
                                                {(!refs.is_empty()).then(|| format!(" names {}", refs.join(", ")))}
                                                <ul>{findings.into_iter().map(|f| view! { <li>{f.message}</li> }).collect_view()}</ul>
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            })}
                        </section>
                    }
                });
                let (slug_review, slug_comment, slug_merge) = (slug.clone(), slug.clone(), slug.clone());
                let (target, source) = (change.summary.target.clone(), change.summary.source.clone());
                let items = change.conflicts.clone().into_iter().map(|conflict| {
                    let (slug, document) = (slug.clone(), conflict.document_id.to_string());
                    let text = RwSignal::new(conflict.source_text.clone());
                    let (ours_pick, theirs_pick) = (conflict.target_pick.clone(), conflict.source_text.clone());
                    let (use_target, use_source) = (format!("Use {target}'s text"), format!("Use {source}'s text"));
                    let resolution = actions.resolve.then(|| view! {
                        <ActionForm action=resolve attr:class="stack">
                            <input type="hidden" name="slug" value=slug />
                            <input type="hidden" name="number" value=number.to_string() />
                            <input type="hidden" name="document_id" value=document />
                            <div class="actions">
                                <button type="button" class="small" on:click=move |_| text.set(ours_pick.clone())>
                                    {use_target}
                                </button>
                                <button type="button" class="small" on:click=move |_| text.set(theirs_pick.clone())>
                                    {use_source}
                                </button>
                            </div>
                            <label>"Resolved text of the whole document"
                                <textarea name="content" class="tall" rows="10" prop:value=move || text.get()
                                    on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                            </label>
                            <FormError action=resolve />
                            <button type="submit">"Record resolution"</button>
                        </ActionForm>
                    });
                    view! {
                        <article class="card conflict">
                            <h3>{conflict.title.clone()}</h3>
                            <div class="conflict-sides">
                                <div><h4>"Before"</h4><pre>{conflict.base.clone()}</pre></div>
                                <div><h4>{format!("On {target}")}</h4><pre>{conflict.ours.clone()}</pre></div>
                                <div><h4>{format!("On {source}")}</h4><pre>{conflict.theirs.clone()}</pre></div>
                            </div>
                            {resolution}
                        </article>
                    }
                }).collect_view();
                let forms = ThreadForms { slug: slug.clone(), number, can_comment: actions.comment, comment, resolve: resolve_thread };
                let all_threads = threads(&change.comments);
                let mut on_lines: HashMap<LineKey, Vec<Thread>> = HashMap::new();
                for thread in &all_threads {
                    if let Some(key) = line_key(&thread.root) {
                        on_lines.entry(key).or_default().push(thread.clone());
                    }
                }
                let documents_view = change.documents.clone().into_iter().map(|document| {
                    // The line whose comment form is open, if any.
                    let open = RwSignal::new(None::<(LineSide, usize)>);
                    let document_id = document.document_id;
                    let here: HashMap<(LineSide, usize), Vec<Thread>> = on_lines
                        .iter()
                        .filter(|((id, ..), _)| *id == document_id)
                        .map(|((_, side, line), threads)| ((*side, *line), threads.clone()))
                        .collect();
                    let (title, forms) = (document.title.clone(), forms.clone());
                    let notes = LineNotes {
                        comment: actions.comment.then(|| Callback::new(move |at| open.set(Some(at)))),
                        under: Arc::new(move |side, line, columns| {
                            let threads = here.get(&(side, line)).cloned().unwrap_or_default();
                            let place = line_place(&title, side, line);
                            under_line(threads, place, forms.clone(), document_id, side, line, columns, open)
                        }),
                    };
                    let sections = (!document.sections.is_empty()).then(|| format!(" · sections: {}", document.sections.join(", ")));
                    view! {
                        <article class="card changed-document">
                            <h3>{document.title.clone()} " "
                                {document.changes.iter().map(|c| view! { <span class="badge">{c.as_str()}</span> }).collect_view()}
                            </h3>
                            <p class="muted">{format!("+{} −{} lines", document.lines_added, document.lines_removed)} {sections}</p>
                            {document.api.clone().filter(|api| !api.changes.is_empty()).map(|api| view! {
                                <ApiChanges api=api slug=slug.clone() number=number document=document_id may_confirm=actions.confirm_bump merged=change.summary.state == ChangeRequestState::Merged action=confirm />
                            })}
                            {diff_view(&document.hunks, side_by_side, Some(notes))}
                        </article>
                    }
                }).collect_view();
                let state_controls = view! {
                    {(change.summary.state == ChangeRequestState::Closed).then(|| view! {
                        <p class="notice" role="status">
                            {if actions.reopen { "Closed without merging. Reopen it to review and merge it." } else { "Closed without merging." }}
                        </p>
                    })}
                    {(actions.close || actions.reopen).then(|| {
                        let (slug, number) = (slug.clone(), number.to_string());
                        let label = if actions.close { "Close change request" } else { "Reopen change request" };
                        view! {
                            <ActionForm action=set_open attr:class="row">
                                <input type="hidden" name="slug" value=slug />
                                <input type="hidden" name="number" value=number />
                                <input type="hidden" name="open" value=actions.reopen.to_string() />
                                <button type="submit">{label}</button>
                            </ActionForm>
                        }
                    })}
                    <FormError action=set_open />
                };
                let no_changes = (change.documents.is_empty() && change.summary.state != ChangeRequestState::Merged).then(|| {
                    let (source, target) = (change.summary.source.clone(), change.summary.target.clone());
                    let href = on_branch(&format!("/p/{slug}"), &source);
                    view! {
                        <p class="notice no-changes" role="status">
                            {format!("No changes: the branch {source} changes no document compared with where it started from {target}, so there is nothing to review or merge yet. ")}
                            <A href=href>{format!("Edit documents on {source}")}</A>
                        </p>
                    }
                });
                let merged_unkept = (change.documents.is_empty() && change.summary.state == ChangeRequestState::Merged).then(|| view! {
                    <p class="notice" role="status">"It merged before Charter kept what a change request changed: History shows the version it made."</p>
                });
                let approval = open.then(|| approval_note(&actions, project.role, &change.reviewers)).flatten()
                    .map(|note| view! { <p class="notice approval-note" role="note">{note}</p> });
                let conflicts_view = (!change.conflicts.is_empty()).then(|| view! {
                    <section aria-labelledby="conflicts">
                        <h2 id="conflicts">"Conflicts"</h2>
                        {items}
                    </section>
                });
                view! {
                    <Title text=format!("#{number} {}", change.summary.title) />
                    <div class="page-head">
                        <h1>{format!("#{number} {}", change.summary.title)}</h1>
                        <p class="muted">
                            <span class=format!("badge state-{}", change.summary.state)>{change.summary.state.as_str()}</span>
                            {format!(" {} → {}, opened by {} ", change.summary.source, change.summary.target, change.summary.author)}
                            <Time at=change.summary.created_at />
                        </p>
                        {(!change.description.is_empty()).then(|| view! { <p>{change.description.clone()}</p> })}
                        {state_controls}
                    </div>
                    <section class="card approvals" aria-label="Approvals">
                        <p>{format!("Approvals: {} of {} needed", change.approvals.iter().filter(|approval| !approval.stale).count(), change.required_approvals)}</p>
                        <ul>
                            {change.approvals.iter().map(|approval| view! {
                                <li>{approval.user.clone()} {approval.stale.then_some(" (stale: the branch changed since)")}</li>
                            }).collect_view()}
                        </ul>
                        {change.overlaps.iter().map(|overlap| view! {
                            <p class="notice">{format!("Overlaps with #{} {} in {}.", overlap.number, overlap.title, overlap.document)}</p>
                        }).collect_view()}
                    </section>
                    {conflicts_view}
                    <section aria-labelledby="changed-documents">
                        <h2 id="changed-documents">"Documents"</h2>
                        <div class="actions" role="group" aria-label="Diff layout">
                            <button type="button" class="small" aria-pressed=move || (!side_by_side.get()).to_string()
                                on:click=move |_| side_by_side.set(false)>"Unified"</button>
                            <button type="button" class="small" aria-pressed=move || side_by_side.get().to_string()
                                on:click=move |_| side_by_side.set(true)>"Side by side"</button>
                        </div>
                        {no_changes}
                        {merged_unkept}
                        {documents_view}
                    </section>
                    <section aria-labelledby="reviews">
                        <h2 id="reviews">"Reviews"</h2>
                        <ul class="activity">
                            {change.reviews.iter().map(|review| view! {
                                <li><strong>{review.user.clone()}</strong>
                                    {if review.verdict == Verdict::Approve { " approved" } else { " requested changes" }}
                                    {review.stale.then_some(" (stale)")}
                                    {(!review.comment.is_empty()).then(|| format!(": {}", review.comment))}</li>
                            }).collect_view()}
                        </ul>
                        {approval}
                        {actions.review.then(|| view! {
                            <ActionForm action=review attr:class="stack">
                                <input type="hidden" name="slug" value=slug_review />
                                <input type="hidden" name="number" value=number.to_string() />
                                <label>"Review comment" <textarea name="comment" rows="3"></textarea></label>
                                <FormError action=review />
                                <fieldset>
                                    <legend>"Verdict"</legend>
                                    {actions.approve.then(|| view! {
                                        <label class="check"><input type="radio" name="verdict" value="approve" checked=true /> "Approve"</label>
                                    })}
                                    <label class="check"><input type="radio" name="verdict" value="request_changes" checked=!actions.approve /> "Request changes"</label>
                                </fieldset>
                                <button type="submit" class="primary">"Submit review"</button>
                            </ActionForm>
                        })}
                    </section>
                    <section aria-labelledby="discussion">
                        <h2 id="discussion">"Discussion"</h2>
                        <ul class="discussion">
                            {all_threads.into_iter().map(|thread| match change.place_of(&thread.root) {
                                // A line's thread lives under its line: here, a pointer to it.
                                Some(place) => {
                                    let replies = thread.replies.len();
                                    let state = if thread.resolved() { ", resolved" } else { "" };
                                    view! {
                                        <li class="thread-link">
                                            <strong>{thread.root.author.clone()}</strong> " on "
                                            <a href=format!("#{}", thread.anchor())>{place}</a> ": " {thread.root.body.clone()}
                                            <small class="muted">{format!(" ({replies} repl{}{state}) ", if replies == 1 { "y" } else { "ies" })}
                                                <Time at=thread.root.created_at /></small>
                                        </li>
                                    }.into_any()
                                }
                                None => view! { <li><ThreadView thread place=None forms=forms.clone() /></li> }.into_any(),
                            }).collect_view()}
                        </ul>
                        {actions.comment.then(|| view! {
                            <ActionForm action=comment attr:class="stack">
                                <input type="hidden" name="slug" value=slug_comment />
                                <input type="hidden" name="number" value=number.to_string() />
                                <label>"Comment" <textarea name="body" rows="3" required></textarea></label>
                                <FormError action=comment />
                                <button type="submit">"Comment"</button>
                            </ActionForm>
                        })}
                    </section>
                    {checks_view}
                    {constitution_view}
                    {open.then(|| view! {
                        <section class="card" aria-labelledby="merge">
                            <h2 id="merge">"Merge"</h2>
                            {(!mergeable).then(|| view! {
                                <p>"Before this can merge:"</p>
                                <ul class="muted merge-blockers">
                                    {actions.merge_blockers.iter().map(|blocker| view! { <li>{capitalized(&blocker.to_string())}</li> }).collect_view()}
                                </ul>
                            })}
                            <ActionForm action=merge attr:class="row">
                                <input type="hidden" name="slug" value=slug_merge />
                                <input type="hidden" name="number" value=number.to_string() />
                                <label>"Message" <input name="message" value=change.summary.title.clone() /></label>
                                {actions.merge_needs_reason.then(|| view! {
                                    <label>"Reason to merge despite lint errors"
                                        <input name="override_reason" required maxlength="1000" /></label>
                                })}
                                <button type="submit" class="primary" disabled=!mergeable>"Merge"</button>
                            </ActionForm>
                            <FormError action=merge />
                        </section>
                    })}
                }.into_any()
            }
        </Loaded>
    }
}

/// `text` with its first letter in upper case, to stand as a sentence of its own.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
