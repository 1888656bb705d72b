//! Search in the UI: the box in every project page's sidebar (`/` to reach it, results
//! as you type) and the results page with its filters.

use std::time::Duration;

use charter_types::{HitKind, Kind, Matched, SearchHit, SearchResults, SnippetPart};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Form, A};
use leptos_router::hooks::use_query_map;

use crate::components::{EmptyState, Loaded};
use crate::context::{on_branch, ProjectCtx};
use crate::error::AppError;

/// Hits shown under the box while typing; the results page shows more.
const SUGGESTIONS: usize = 6;
const RESULTS: usize = 30;
/// How long typing must pause before the box searches.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// A branch's hits for `q`. `kind` and `under` are empty for any.
#[server]
pub async fn search_project(
    slug: String,
    branch: String,
    q: String,
    kind: String,
    under: String,
    limit: usize,
) -> Result<SearchResults, AppError> {
    use charter_backend::search::{self, SearchQuery};
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Read).await?;
    let kind = (!kind.is_empty())
        .then(|| kind.parse::<Kind>().map_err(|unknown| AppError::Invalid(unknown.to_string())))
        .transpose()?;
    let under = (!under.is_empty()).then(|| crate::ssr::parse_id(&under, "document")).transpose()?;
    let query = SearchQuery { q, branch: Some(branch), kind, under, mode: None, limit: Some(limit) };
    let meaning = search::provider::meaning(&state.db, &state.embeddings, project.project()).await?;
    Ok(search::search(&state.db, &meaning, &project, &query).await?)
}

/// Where a hit opens: a requirement's page, or the section's document.
fn hit_href(slug: &str, branch: &str, hit: &SearchHit) -> String {
    match (&hit.kind, &hit.key) {
        (HitKind::Requirement, Some(key)) => {
            on_branch(&format!("/p/{slug}/req/{}", crate::components::urlencode(key)), branch)
        }
        _ => on_branch(&format!("/p/{slug}/doc/{}", hit.document_id), branch),
    }
}

/// A snippet with its matches marked; the text stays text.
#[component]
fn Snippet(parts: Vec<SnippetPart>) -> impl IntoView {
    view! {
        <span class="snippet">
            {parts.into_iter().map(|part| if part.hit {
                view! { <mark>{part.text}</mark> }.into_any()
            } else {
                part.text.into_any()
            }).collect_view()}
        </span>
    }
}

fn matched_label(matched: &[Matched]) -> &'static str {
    match (matched.contains(&Matched::Text), matched.contains(&Matched::Meaning)) {
        (true, true) => "words and meaning",
        (true, false) => "words",
        (false, true) => "meaning",
        (false, false) => "",
    }
}

/// The search box of a project's pages. `/` anywhere outside a text field puts the
/// cursor in it; hits show under it as you type; Enter opens the results page.
#[component]
pub fn SearchBox() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let input = NodeRef::<leptos::html::Input>::new();
    let draft = RwSignal::new(String::new());
    let query = RwSignal::new(String::new());
    let open = RwSignal::new(false);
    let hits = Resource::new(
        move || (ctx.slug.get(), ctx.branch.get(), query.get()),
        |(slug, branch, q)| async move {
            if q.trim().is_empty() {
                return Ok(None);
            }
            search_project(slug, branch, q, String::new(), String::new(), SUGGESTIONS).await.map(Some)
        },
    );
    let typed = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        draft.set(text.clone());
        open.set(true);
        // The box may be gone by then (the reader left the project).
        set_timeout(
            move || {
                if draft.try_get_untracked().is_some_and(|now| now == text) {
                    query.try_set(text);
                }
            },
            DEBOUNCE,
        );
    };
    // Effects run in the browser only: the shortcut needs a window.
    Effect::new(move |_| {
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if ev.key() == "/" && !ev.ctrl_key() && !ev.meta_key() && !ev.alt_key() && !typing_in(&ev) {
                if let Some(input) = input.get_untracked() {
                    ev.prevent_default();
                    let _ = input.focus();
                }
            }
        });
        on_cleanup(move || handle.remove());
    });
    let action = move || format!("/p/{}/search", ctx.slug.get());
    view! {
        <Form action=action attr:class="search-box" attr:role="search">
            <input type="hidden" name="branch" value=move || ctx.branch.get() />
            <label class="visually-hidden" for="project-search">"Search this project"</label>
            <input id="project-search" type="search" name="q" node_ref=input autocomplete="off"
                placeholder="Search  /" maxlength="500" aria-keyshortcuts="/" aria-controls="search-suggestions"
                prop:value=move || draft.get() on:input=typed
                on:focus=move |_| open.set(true)
                // Enter sends the form to the results page; Escape just closes the list.
                on:keydown=move |ev| if matches!(ev.key().as_str(), "Escape" | "Enter") { open.set(false) }
                // After a moment, so that a click on a hit lands first.
                on:blur=move |_| set_timeout(move || { open.try_set(false); }, DEBOUNCE) />
            // Always there, as the input's `aria-controls` names it; filled while open.
            <div id="search-suggestions" class="search-suggestions" aria-live="polite"
                hidden=move || !open.get() || draft.get().trim().is_empty()>
                <Show when=move || open.get() && !draft.get().trim().is_empty()>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            let (slug, branch) = (ctx.slug.get_untracked(), ctx.branch.get_untracked());
                            match hits.await {
                                Ok(Some(results)) if results.hits.is_empty() => view! { <p class="muted">"Nothing found yet."</p> }.into_any(),
                                Ok(Some(results)) => view! {
                                    <ul>
                                        {results.hits.into_iter().map(|hit| {
                                            let href = hit_href(&slug, &branch, &hit);
                                            view! {
                                                <li><A href=href>
                                                    {hit.key.clone().map(|key| view! { <span class="req-key">{key}</span> })}
                                                    <span class="hit-title">{hit.title.clone()}</span>
                                                    <small class="muted">{hit.document.clone()}</small>
                                                    <Snippet parts=hit.snippet.clone() />
                                                </A></li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                    <button type="submit" class="small">"All results"</button>
                                }.into_any(),
                                Ok(None) => ().into_any(),
                                Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                            }
                        })}
                    </Transition>
                </Show>
            </div>
        </Form>
    }
}

/// Whether a key went to something that takes text (where `/` is just a slash).
fn typing_in(ev: &leptos::ev::KeyboardEvent) -> bool {
    use leptos::wasm_bindgen::JsCast;
    let Some(target) = ev.target().and_then(|target| target.dyn_into::<leptos::web_sys::HtmlElement>().ok()) else {
        return false;
    };
    target.is_content_editable() || matches!(target.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
}

/// `/p/:slug/search?q=&kind=&under=&branch=`: every hit, with filters.
#[component]
pub fn SearchPage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let params = use_query_map();
    let param = move |name: &'static str| Memo::new(move |_| params.read().get(name).unwrap_or_default());
    let (q, kind, under) = (param("q"), param("kind"), param("under"));
    let results = Resource::new(
        move || (ctx.slug.get(), ctx.branch.get(), q.get(), kind.get(), under.get()),
        |(slug, branch, q, kind, under)| search_project(slug, branch, q, kind, under, RESULTS),
    );
    let action = move || format!("/p/{}/search", ctx.slug.get());
    view! {
        <Title text=move || if q.get().is_empty() { "Search".to_owned() } else { format!("Search: {}", q.get()) } />
        <div class="page-head"><h1>"Search"</h1></div>
        <Form action=action attr:class="search-form" attr:role="search">
            <input type="hidden" name="branch" value=move || ctx.branch.get() />
            <label class="grow">"Search for"
                <input type="search" name="q" maxlength="500" value=move || q.get() prop:value=move || q.get()
                    placeholder="What the requirement says, in any words" />
            </label>
            <label>"Kind"
                <select name="kind" prop:value=move || kind.get()>
                    <option value="" selected=move || kind.get().is_empty()>"Any"</option>
                    {Kind::ALL.iter().map(|&option| view! {
                        <option value=option.as_str() selected=move || kind.get() == option.as_str()>
                            {crate::documents::kind_label(option)}
                        </option>
                    }).collect_view()}
                </select>
            </label>
            <label>"In"
                <Transition fallback=|| view! { <select name="under" disabled=true></select> }>
                    {move || Suspend::new(async move {
                        let nodes = ctx.tree.await.unwrap_or_default();
                        let chosen = under.get();
                        view! {
                            <select name="under">
                                <option value="" selected=chosen.is_empty()>"All documents"</option>
                                {crate::documents::parent_options(&nodes, None).into_iter().map(|(id, label)| {
                                    let id = id.to_string();
                                    let selected = id == chosen;
                                    view! { <option value=id selected=selected>{label}</option> }
                                }).collect_view()}
                            </select>
                        }
                    })}
                </Transition>
            </label>
            <button type="submit" class="primary">"Search"</button>
        </Form>
        <Loaded load=move || async move { results.await } let:results>
            {
                let (slug, branch) = (ctx.slug.get_untracked(), ctx.branch.get_untracked());
                let notice = results.notice.clone().map(|notice| view! { <p class="notice" role="status">{notice}</p> });
                let body = if q.get_untracked().trim().is_empty() {
                    view! { <p class="muted">"Type what you are looking for: a requirement ID, words it uses, or what it means in your own words."</p> }.into_any()
                } else if results.hits.is_empty() {
                    view! {
                        <EmptyState title="Nothing found">
                            <p>"No requirement or section on this branch matches. Try other words, or fewer filters."</p>
                        </EmptyState>
                    }.into_any()
                } else {
                    view! {
                        <ol class="search-results">
                            {results.hits.into_iter().map(|hit| {
                                let href = hit_href(&slug, &branch, &hit);
                                let doc_href = on_branch(&format!("/p/{slug}/doc/{}", hit.document_id), &branch);
                                let place = if hit.section.is_empty() { format!("line {}", hit.line) } else { format!("{} · line {}", hit.section, hit.line) };
                                view! {
                                    <li class="hit">
                                        <div class="hit-head">
                                            {hit.key.clone().map(|key| view! { <span class="req-key">{key}</span> })}
                                            <A href=href attr:class="hit-title">{hit.title.clone()}</A>
                                            <span class="badge" title="Why it matched">{matched_label(&hit.matched)}</span>
                                        </div>
                                        <p><Snippet parts=hit.snippet.clone() /></p>
                                        <small class="muted">
                                            <span class=format!("badge kind-{}", hit.document_kind)>{hit.document_kind.as_str()}</span>
                                            " " <A href=doc_href>{hit.document.clone()}</A> " › " {place}
                                        </small>
                                    </li>
                                }
                            }).collect_view()}
                        </ol>
                    }.into_any()
                };
                view! { {notice} {body} }
            }
        </Loaded>
    }
}
