//! A project's import and export page. Export is a plain form: the browser downloads the
//! archive the API sends. Import uploads an archive to the API itself (a `.tar.gz` is the
//! request's body, not a form's field), with a progress bar; the first upload only
//! previews what would be created, updated or left alone, and a second makes it, as a
//! change request into the branch shown.

use charter_types::{ExportFormat, ImportAction, ImportPlan, Imported, Layout, Permission};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::components::Loaded;
use crate::context::ProjectCtx;

fn format_name(format: ExportFormat) -> &'static str {
    match format.layout() {
        Some(layout) => layout.label(),
        None => "ReqIF 1.2",
    }
}

/// Where a layout's files lie, to choose by.
fn layout_hint(layout: Layout) -> &'static str {
    match layout {
        Layout::Charter => "the tree as folders",
        Layout::SpecKit => ".specify/memory/constitution.md, specs/001-name/spec.md",
        Layout::OpenSpec => "openspec/project.md, openspec/specs/<capability>/spec.md",
        Layout::Kiro => ".kiro/steering/*.md, .kiro/specs/<feature>/requirements.md",
    }
}

/// Where an upload stands.
#[derive(Clone, Debug, PartialEq)]
// Only the upload, which runs in the browser, moves it on from `Idle`.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Upload {
    Idle,
    /// Sending: the share sent so far, 0 to 100.
    Sending(u32),
    Previewed(ImportPlan),
    Made(Imported),
    Failed(String),
}

#[component]
pub fn ExchangePage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    view! {
        <Title text="Import and export" />
        <div class="page-head"><h1>"Import and export"</h1></div>
        <p class="muted">"Bring a Spec Kit, OpenSpec or Kiro folder in, or take the project out in their layouts "
            "or as ReqIF for requirements tools. The same from the command line: "
            <code>"charter export"</code> " and " <code>"charter import"</code> "."</p>
        <Loaded load=move || async move { ctx.loaded().await; ctx.project.await } let:project>
            {
                let export = format!("/api/v1/projects/{}/export", project.id);
                let import = format!("/api/v1/projects/{}/import", project.id);
                view! {
                    <section class="card" aria-labelledby="export-heading">
                        <h2 id="export-heading">"Export"</h2>
                        <form method="get" action=export class="row">
                            <input type="hidden" name="branch" value=move || ctx.branch.get() />
                            <label>"Format "
                                <select name="format">
                                    {ExportFormat::ALL.iter().map(|format| view! {
                                        <option value=format.as_str()>{format_name(*format)}</option>
                                    }).collect_view()}
                                </select>
                            </label>
                            <button type="submit">{move || format!("Download {}", ctx.branch.get())}</button>
                        </form>
                        <p class="muted">"OpenSpec and Kiro write requirements in their own form, with each key kept in a "
                            <code>"<!-- id: … -->"</code> " comment so that importing them again keeps it."</p>
                    </section>
                    {ctx.allows(Permission::Write).then(|| view! { <ImportForm url=import /> })}
                }
            }
        </Loaded>
    }
}

#[component]
fn ImportForm(url: String) -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let state = RwSignal::new(Upload::Idle);
    let file = NodeRef::<leptos::html::Input>::new();
    let layout = NodeRef::<leptos::html::Select>::new();
    let url = StoredValue::new(url);
    let send = move |preview: bool| {
        let layout = layout.get_untracked().map(|select| select.value()).unwrap_or_default();
        let branch = ctx.branch.get_untracked();
        let query = format!("format={layout}&branch={}{}", encode(&branch), if preview { "&preview=true" } else { "" });
        #[cfg(feature = "hydrate")]
        upload::send(file, &format!("{}?{query}", url.get_value()), preview, state);
        #[cfg(not(feature = "hydrate"))]
        let _ = (file, url, query, state);
    };
    let preview = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        send(true);
    };
    let sending = move || matches!(state.get(), Upload::Sending(_));
    view! {
        <section class="card" aria-labelledby="import-heading">
            <h2 id="import-heading">"Import"</h2>
            <p class="muted">"The documents land on a new branch with a change request into "
                <strong>{move || ctx.branch.get()}</strong> ", never onto it. Documents already at the same place "
                "are updated; requirements without keys (OpenSpec's, Kiro's) are given them."</p>
            <noscript><p class="form-error">"Importing needs JavaScript; without it, use " <code>"charter import"</code> "."</p></noscript>
            <form class="row" on:submit=preview on:change=move |_| state.set(Upload::Idle)>
                <label class="grow">"Archive (.tar.gz) "
                    <input type="file" accept=".tar.gz,.tgz,application/gzip" required node_ref=file /></label>
                <label>"Layout "
                    <select node_ref=layout>
                        {Layout::ALL.iter().map(|layout| view! {
                            <option value=layout.as_str() title=layout_hint(*layout)>{layout.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <button type="submit" disabled=sending>"Preview"</button>
            </form>
            {move || match state.get() {
                Upload::Idle => ().into_any(),
                Upload::Sending(percent) => view! {
                    <p><progress max="100" value=percent aria-label="Uploaded"></progress> {format!(" {percent}% sent")}</p>
                }.into_any(),
                Upload::Failed(message) => view! { <p class="form-error" role="alert">{message}</p> }.into_any(),
                Upload::Previewed(plan) => view! {
                    <Preview plan=plan.clone() />
                    <p><button type="button" class="primary" on:click=move |_| send(false)>
                        {move || format!("Import as a change request into {}", ctx.branch.get())}</button></p>
                }.into_any(),
                Upload::Made(made) => {
                    let slug = ctx.slug.get_untracked();
                    view! {
                        <Preview plan=made.plan.clone() />
                        <div role="status">
                            <p>"Imported. Each change request proposes part of it:"</p>
                            <ul>
                                {made.documents.iter().chain(&made.changes).map(|opened| {
                                    let href = format!("/p/{slug}/changes/{}", opened.number);
                                    view! {
                                        <li><A href=href>{format!("change request #{}", opened.number)}</A>
                                            " " {opened.title.clone()} " (branch " <code>{opened.branch.clone()}</code> ")"</li>
                                    }
                                }).collect_view()}
                            </ul>
                        </div>
                    }.into_any()
                }
            }}
        </section>
    }
}

/// What an import brings, document by document.
#[component]
fn Preview(plan: ImportPlan) -> impl IntoView {
    let count = |action| plan.documents.iter().filter(|doc| doc.action == action).count();
    let summary = format!(
        "{} documents in the {} layout: {} to create, {} to update, {} unchanged.",
        plan.documents.len(),
        plan.layout.label(),
        count(ImportAction::Create),
        count(ImportAction::Update),
        count(ImportAction::Unchanged)
    );
    let changes = (!plan.changes.is_empty()).then(|| {
        view! {
            <p>{format!("{} OpenSpec changes, each to be a change request of its own:", plan.changes.len())}</p>
            <ul class="import-changes">
                {plan.changes.iter().map(|change| view! {
                    <li><strong>{change.title.clone()}</strong> " (" <code>{change.id.clone()}</code> "): changes "
                        {change.specs.join(", ")}</li>
                }).collect_view()}
            </ul>
        }
    });
    let skipped = (!plan.skipped.is_empty()).then(|| {
        view! {
            <details><summary>{format!("{} files left out (not documents in this layout)", plan.skipped.len())}</summary>
                <ul>{plan.skipped.iter().map(|file| view! { <li><code>{file.clone()}</code></li> }).collect_view()}</ul>
            </details>
        }
    });
    view! {
        <p>{summary}</p>
        <table class="import-preview">
            <thead><tr><th>"File"</th><th>"Document"</th><th>"Kind"</th><th>"Requirements"</th><th>"Will be"</th></tr></thead>
            <tbody>
                {plan.documents.iter().map(|doc| {
                    let keys = (doc.keys_assigned > 0).then(|| format!(" ({} given keys)", doc.keys_assigned));
                    view! {
                        <tr data-action=doc.action.as_str()>
                            <td><code>{doc.file.clone()}</code></td>
                            <td>{doc.title.clone()}<br /><span class="muted">{doc.path.clone()}</span></td>
                            <td>{doc.kind.as_str()}</td>
                            <td>{doc.requirements}{keys}</td>
                            <td><span class="badge">{match doc.action {
                                ImportAction::Create => "created",
                                ImportAction::Update => "updated",
                                ImportAction::Unchanged => "unchanged",
                            }}</span></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        {changes}
        {skipped}
    }
}

/// A query value with what would break it escaped.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The upload itself, in the browser: `XMLHttpRequest`, whose upload reports progress
/// (`fetch` does not).
#[cfg(feature = "hydrate")]
mod upload {
    use leptos::prelude::*;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{ProgressEvent, XmlHttpRequest};

    use super::Upload;

    /// Sends the file chosen in `input` to `url`, telling `state` how it goes.
    pub(super) fn send(input: NodeRef<leptos::html::Input>, url: &str, preview: bool, state: RwSignal<Upload>) {
        let Some(file) = input.get_untracked().and_then(|input| input.files()).and_then(|files| files.get(0)) else {
            state.set(Upload::Failed("Choose an archive first.".into()));
            return;
        };
        let Ok(request) = XmlHttpRequest::new() else { return };
        if request.open("POST", url).is_err() {
            return;
        }
        let _ = request.set_request_header("Content-Type", "application/gzip");
        let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |event: ProgressEvent| {
            if event.length_computable() && event.total() > 0.0 {
                state.set(Upload::Sending((event.loaded() * 100.0 / event.total()) as u32));
            }
        });
        if let Ok(upload) = request.upload() {
            upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
        }
        progress.forget();
        let answered = request.clone();
        let done = Closure::once_into_js(move || state.set(outcome(&answered, preview)));
        request.set_onloadend(Some(done.unchecked_ref()));
        state.set(Upload::Sending(0));
        if request.send_with_opt_blob(Some(&file)).is_err() {
            state.set(Upload::Failed("The archive could not be sent.".into()));
        }
    }

    fn outcome(request: &XmlHttpRequest, preview: bool) -> Upload {
        let status = request.status().unwrap_or(0);
        let body = request.response_text().ok().flatten().unwrap_or_default();
        if status == 0 {
            return Upload::Failed("The server could not be reached; try again.".into());
        }
        if (200..300).contains(&status) {
            let read = match preview {
                true => serde_json::from_str(&body).map(Upload::Previewed),
                false => serde_json::from_str(&body).map(Upload::Made),
            };
            return read.unwrap_or_else(|_| Upload::Failed("The server's answer could not be read.".into()));
        }
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|value| value["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("The server answered {status}."));
        Upload::Failed(message)
    }
}
