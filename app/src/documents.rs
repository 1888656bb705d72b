//! Documents: the project tree, reading a document rendered, editing its Markdown,
//! renaming, moving, deleting and restoring.

use std::collections::HashMap;

use charter_types::{Document, DocumentId, Kind, Permission, TreeEntry, Version};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::account::{Auth, UserInfo};
use crate::components::{user_color, Confirm, Loaded, LoadedList, Time, PALETTE};
use crate::conformance::Conformance;
use crate::context::{on_branch, ProjectCtx};
use crate::error::AppError;
use crate::forms::FormError;

/// What the page offers to create, in order: a kind, and for contracts the format of
/// their template (`contract/json-schema`).
const OFFERED: [(&str, &str); 6] = [
    ("spec", "Feature spec"),
    ("plan", "Plan"),
    ("tasks", "Tasks"),
    ("constitution", "Constitution"),
    ("contract/openapi", "Contract: OpenAPI"),
    ("contract/json-schema", "Contract: JSON Schema"),
];

pub(crate) fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Spec => "Feature spec",
        Kind::Plan => "Plan",
        Kind::Tasks => "Tasks",
        Kind::Constitution => "Constitution",
        Kind::Contract => "Contract",
    }
}

/// A document with its text rendered and sanitized on the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DocView {
    pub document: Document,
    pub html: String,
}

#[cfg(feature = "ssr")]
impl DocView {
    /// The document rendered (off the async workers), its `[[links]]` as written.
    async fn rendered(document: Document) -> Result<DocView, AppError> {
        let html = charter_backend::preview::document_html(document.kind, document.content.clone(), None).await?;
        Ok(DocView { document, html })
    }
}

/// An optional id from a form: empty means none.
#[cfg(feature = "ssr")]
fn optional_id(id: Option<String>, what: &str) -> Result<Option<DocumentId>, AppError> {
    id.filter(|id| !id.is_empty()).map(|id| crate::ssr::parse_id(&id, what)).transpose()
}

#[server]
pub async fn project_tree(slug: String, deleted: bool, branch: String) -> Result<Vec<TreeEntry>, AppError> {
    use charter_backend::documents::{self, TreeQuery};
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Read).await?;
    Ok(documents::tree(&state.db, &project, TreeQuery { deleted, branch: Some(branch) }).await?)
}

#[server]
pub async fn document_view(id: String, branch: String) -> Result<DocView, AppError> {
    let (state, project, id) = crate::context::resolve_document(&id, charter_types::Permission::Read).await?;
    let document = charter_backend::documents::get(&state, &project, id, &branch).await?;
    // [[links]] resolve against the branch (a deleted document has nothing to link from).
    let links = charter_backend::structure::Links::load(&state.db, &project, &branch).await?;
    let html = charter_backend::preview::document_html(document.kind, document.content.clone(), Some(links)).await?;
    Ok(DocView { document, html })
}

#[server]
pub async fn create_document(
    slug: String,
    title: String,
    kind: String,
    parent_id: Option<String>,
    branch: String,
    template: Option<String>,
) -> Result<DocView, AppError> {
    use charter_backend::documents::{self, NewDocument};
    let (state, project) = crate::context::resolve(&slug, charter_types::Permission::Write).await?;
    let invalid = |unknown: charter_types::Unknown| AppError::Invalid(unknown.to_string());
    let (kind, format) = match kind.split_once('/') {
        Some((kind, format)) => (kind.parse().map_err(invalid)?, Some(format.parse().map_err(invalid)?)),
        None => (kind.parse().map_err(invalid)?, None),
    };
    let parent_id = optional_id(parent_id, "parent document")?;
    // A checkbox: present when ticked.
    let template = template.is_some();
    let format = format.filter(|_| template);
    let new = NewDocument { title, kind, parent_id, content: None, template, format };
    let document = documents::create(&state.db, &project, new, &branch).await?;
    leptos_axum::redirect(&on_branch(&format!("/p/{slug}/doc/{}", document.id), &branch));
    DocView::rendered(document).await
}

#[server]
pub async fn rename_document(id: String, title: String, branch: String) -> Result<DocView, AppError> {
    use charter_backend::documents::{self, DocumentPatch};
    let (state, project, id) = crate::context::resolve_document(&id, charter_types::Permission::Write).await?;
    let patch = DocumentPatch { title: Some(title), ..DocumentPatch::default() };
    DocView::rendered(documents::update(&state.db, &project, id, patch, &branch).await?).await
}

#[server]
pub async fn move_document(id: String, parent_id: Option<String>, branch: String) -> Result<DocView, AppError> {
    use charter_backend::documents::{self, DocumentPatch};
    let (state, project, id) = crate::context::resolve_document(&id, charter_types::Permission::Write).await?;
    let parent_id = optional_id(parent_id, "parent document")?;
    let patch = DocumentPatch { parent_id: Some(parent_id), ..DocumentPatch::default() };
    DocView::rendered(documents::update(&state.db, &project, id, patch, &branch).await?).await
}

#[server]
pub async fn delete_document(slug: String, id: String, branch: String) -> Result<(), AppError> {
    let (state, project, id) = crate::context::resolve_document(&id, charter_types::Permission::Write).await?;
    charter_backend::documents::delete(&state.db, &project, id, &branch).await?;
    leptos_axum::redirect(&on_branch(&format!("/p/{slug}/trash"), &branch));
    Ok(())
}

#[server]
pub async fn restore_document(id: String, branch: String) -> Result<DocView, AppError> {
    let (state, project, id) = crate::context::resolve_document(&id, charter_types::Permission::Write).await?;
    DocView::rendered(charter_backend::documents::restore(&state.db, &project, id, &branch).await?).await
}

/// Children by parent, each list in tree order.
pub(crate) fn children_of(nodes: &[TreeEntry]) -> HashMap<Option<DocumentId>, Vec<&TreeEntry>> {
    let mut children: HashMap<Option<DocumentId>, Vec<&TreeEntry>> = HashMap::new();
    for node in nodes {
        children.entry(node.parent_id).or_default().push(node);
    }
    children
}

pub(crate) fn tree_level(
    children: &HashMap<Option<DocumentId>, Vec<&TreeEntry>>,
    parent: Option<DocumentId>,
    slug: &str,
    branch: &str,
) -> AnyView {
    let Some(nodes) = children.get(&parent) else {
        return ().into_any();
    };
    let items = nodes
        .iter()
        .map(|node| {
            let below = tree_level(children, Some(node.id), slug, branch);
            let href = on_branch(&format!("/p/{slug}/doc/{}", node.id), branch);
            let class = format!("kind-{}", node.kind);
            let title = node.title.clone();
            view! {
                <li>
                    <A href=href attr:class=class>
                        <span class="kind-dot" aria-hidden="true"></span>
                        {title}
                    </A>
                    {below}
                </li>
            }
        })
        .collect_view();
    view! { <ul class="tree">{items}</ul> }.into_any()
}

#[component]
pub fn DocumentTree() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    view! {
        <Loaded load=move || async move { ctx.tree.await } let:nodes>
            {if nodes.is_empty() {
                view! { <p class="muted">"No documents yet."</p> }.into_any()
            } else {
                tree_level(&children_of(&nodes), None, &ctx.slug.get_untracked(), &ctx.branch.get_untracked())
            }}
        </Loaded>
    }
}

/// Options for choosing a parent: every live document but `exclude` and its subtree,
/// indented by depth.
pub(crate) fn parent_options(nodes: &[TreeEntry], exclude: Option<DocumentId>) -> Vec<(DocumentId, String)> {
    fn walk(
        children: &HashMap<Option<DocumentId>, Vec<&TreeEntry>>,
        parent: Option<DocumentId>,
        depth: usize,
        exclude: Option<DocumentId>,
        out: &mut Vec<(DocumentId, String)>,
    ) {
        for node in children.get(&parent).into_iter().flatten() {
            if Some(node.id) == exclude {
                continue;
            }
            out.push((node.id, format!("{}{}", "\u{2003}".repeat(depth), node.title)));
            walk(children, Some(node.id), depth + 1, exclude, out);
        }
    }
    let mut out = Vec::new();
    walk(&children_of(nodes), None, 0, exclude, &mut out);
    out
}

#[component]
fn ParentSelect(nodes: Vec<TreeEntry>, exclude: Option<DocumentId>, selected: Option<DocumentId>) -> impl IntoView {
    view! {
        <select name="parent_id">
            <option value="" selected=selected.is_none()>"(top level)"</option>
            {parent_options(&nodes, exclude).into_iter().map(|(id, label)| view! {
                <option value=id.to_string() selected=selected == Some(id)>{label}</option>
            }).collect_view()}
        </select>
    }
}

/// `nodes`: the live documents, for choosing a parent (awaited by the page, so the form
/// needs no suspense of its own inside the page's).
#[component]
pub fn NewDocumentForm(nodes: Vec<TreeEntry>) -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let create = ServerAction::<CreateDocument>::new();
    Effect::new(move |_| {
        if create.version().get() > 0 {
            ctx.touch();
        }
    });
    view! {
        <ActionForm action=create attr:class="stack">
            <input type="hidden" name="slug" value=move || ctx.slug.get() />
            <input type="hidden" name="branch" value=move || ctx.branch.get() />
            <label>"Title" <input name="title" required maxlength="200" placeholder="User login" /></label>
            <label>"Kind"
                <select name="kind">
                    {OFFERED.into_iter().map(|(value, label)| view! { <option value=value>{label}</option> }).collect_view()}
                </select>
            </label>
            <label class="check"><input type="checkbox" name="template" value="on" checked=true />
                " Start from the template"</label>
            <details class="template-help">
                <summary>"How requirements are written"</summary>
                <p>"Give each requirement an ID of letters, a dash and digits, in either form:"</p>
                <pre>"- **AUTH-001** (P1) The system SHALL lock an account after 5 failed logins.\n  - Given 4 failures, When the 5th fails, Then the account is locked."</pre>
                <pre>"### AUTH-002: Unlock\nThe system SHALL unlock accounts after 15 minutes.\n- Given a locked account, When 15 minutes pass, Then it unlocks."</pre>
                <p>"Link with " <code>"[[AUTH-001]]"</code> " or " <code>"[[Spec title]]"</code> "; mark unknowns with "
                   <code>"[NEEDS CLARIFICATION: question]"</code> "."</p>
            </details>
            <label>"Under" <ParentSelect nodes exclude=None selected=None /></label>
            <FormError action=create />
            <button type="submit" class="primary" disabled=move || create.pending().get()>"Create document"</button>
        </ActionForm>
    }
}

#[component]
pub fn DocumentPage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let auth = expect_context::<Auth>();
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("doc").unwrap_or_default());
    let rename = ServerAction::<RenameDocument>::new();
    let move_to = ServerAction::<MoveDocument>::new();
    let delete = ServerAction::<DeleteDocument>::new();
    let restore = ServerAction::<RestoreDocument>::new();
    let answer = ServerAction::<crate::questions::AnswerQuestion>::new();
    let questions = Resource::new(
        move || (ctx.slug.get(), ctx.branch.get(), id.get(), answer.version().get()),
        |(slug, branch, id, _)| crate::questions::list_questions(slug, branch, "open".into(), Some(id)),
    );
    let backlinks = Resource::new(
        move || (id.get(), ctx.branch.get(), ctx.changed.get()),
        |(id, branch, _)| crate::structure::document_backlinks(id, branch),
    );
    let document = Resource::new(
        move || (id.get(), ctx.branch.get(), rename.version().get(), move_to.version().get(), restore.version().get()),
        |(id, branch, ..)| document_view(id, branch),
    );
    let conformance = Resource::new(
        move || (id.get(), ctx.branch.get()),
        |(id, branch)| crate::conformance::contract_conformance(id, branch),
    );
    let versions = Resource::new(
        move || (ctx.slug.get(), ctx.branch.get()),
        |(slug, branch)| crate::history::project_versions(slug, branch),
    );
    // The tree shows titles and places: reload it after anything that changes them.
    Effect::new(move |_| {
        let changes =
            rename.version().get() + move_to.version().get() + delete.version().get() + restore.version().get();
        if changes > 0 {
            ctx.touch();
        }
    });
    view! {
        <Loaded
            load=move || async move {
                let project = ctx.project.await;
                let nodes = ctx.tree.await.unwrap_or_default();
                let user = auth.user.await;
                // Awaited here, not in a nested suspense: one boundary hydrates reliably.
                let versions_list = versions.await.unwrap_or_default();
                let open_questions = questions.await.unwrap_or_default();
                let linked_from = backlinks.await.unwrap_or_default();
                let check = conformance.await.ok().flatten();
                let (project, doc) = (project?, document.await?);
                let user = user?.ok_or(AppError::Unauthorized)?;
                Ok((project, doc, user, nodes, versions_list, open_questions, (linked_from, check)))
            }
            let:loaded
        >
            {
                let (project, DocView { document: doc, html }, user, nodes, versions_list, open_questions, (linked_from, check)) =
                    loaded;
                let conformance = (doc.kind == Kind::Contract && doc.deleted_at.is_none())
                    .then(|| view! { <Conformance document=doc.id.to_string() check=check /> });
                let writable = project.role.allows(Permission::Write) && doc.deleted_at.is_none() && !doc.protected;
                let doc_id = doc.id.to_string();
                let (id_restore, id_rename, id_move, id_delete) = (doc_id.clone(), doc_id.clone(), doc_id.clone(), doc_id);
                let (title, title_field, title_delete) = (doc.title.clone(), doc.title.clone(), doc.title.clone());
                let delete_warning = format!(
                    "{title_delete} and every document under it move to the trash on {}, where they can be restored.",
                    ctx.branch.get_untracked(),
                );
                let (parent_id, this_id, slug) = (doc.parent_id, doc.id, project.slug.clone());
                let branch = ctx.branch.get_untracked();
                let (branch_restore, branch_rename, branch_move, branch_delete) =
                    (branch.clone(), branch.clone(), branch.clone(), branch.clone());
                // Its own view: the page's whole view type would be too deep for a release build.
                let delete_block = view! {
                    <div class="stack">
                        <p class="muted">"Deleting moves this document and those under it to the trash."</p>
                        <Confirm label="Delete…" warning=delete_warning>
                            <ActionForm action=delete attr:class="inline">
                                <input type="hidden" name="slug" value=slug />
                                <input type="hidden" name="id" value=id_delete />
                                <input type="hidden" name="branch" value=branch_delete />
                                <button type="submit" class="small danger">{format!("Delete {title_delete}")}</button>
                            </ActionForm>
                        </Confirm>
                        <FormError action=delete />
                    </div>
                }
                .into_any();
                let can_restore = project.role.allows(Permission::Write);
                view! {
                    <Title text=title.clone() />
                    <article class="document">
                        <header class="document-head">
                            <div>
                                <span class=format!("badge kind-{}", doc.kind)>{doc.kind.as_str()}</span>
                                <h1>{title}</h1>
                                <small class="muted">"Updated " <Time at=doc.updated_at /></small>
                            </div>
                        </header>
                        {doc.deleted_at.is_some().then(|| view! {
                            <div class="notice" role="status">
                                <p>"This document is in the trash."</p>
                                {can_restore.then(|| view! {
                                    <ActionForm action=restore attr:class="inline">
                                        <input type="hidden" name="id" value=id_restore />
                                        <input type="hidden" name="branch" value=branch_restore />
                                        <button type="submit">"Restore"</button>
                                    </ActionForm>
                                })}
                                <FormError action=restore />
                            </div>
                        })}
                        {doc.protected.then(|| view! {
                            <div class="notice" role="status">
                                <p>"This document changes only through reviewed change requests, so it is read-only here."</p>
                            </div>
                        })}
                        <CollabEditor document=this_id kind=doc.kind branch=branch.clone() read_only=!writable user html=html.clone() />
                        {conformance}
                        {(!open_questions.is_empty()).then(|| view! {
                            <section class="document-questions" aria-labelledby="open-questions">
                                <h2 id="open-questions">{format!("Open questions ({})", open_questions.len())}</h2>
                                <FormError action=answer />
                                <crate::questions::QuestionList questions=open_questions can_answer=writable answer show_document=false />
                            </section>
                        })}
                        {(!linked_from.is_empty()).then(|| {
                            let (slug, branch) = (project.slug.clone(), branch.clone());
                            view! {
                                <details class="document-backlinks">
                                    <summary>{format!("Linked from {} place(s)", linked_from.len())}</summary>
                                    <ul class="backlinks">
                                        {linked_from.into_iter().map(|(target, link)| {
                                            let href = on_branch(&format!("/p/{slug}/doc/{}", link.document_id), &branch);
                                            view! { <li><A href=href>{link.title}</A>
                                                <small class="muted">{format!(" line {} → {target}", link.line)}</small></li> }
                                        }).collect_view()}
                                    </ul>
                                </details>
                            }
                        })}
                        <DocumentVersions document=this_id versions=versions_list />
                        {writable.then(|| view! {
                            <details class="document-settings">
                                <summary>"Rename, move or delete"</summary>
                                <div class="settings-grid">
                                    <ActionForm action=rename attr:class="stack">
                                        <input type="hidden" name="id" value=id_rename />
                                        <input type="hidden" name="branch" value=branch_rename />
                                        <label>"Title" <input name="title" value=title_field required maxlength="200" /></label>
                                        <FormError action=rename />
                                        <button type="submit">"Rename"</button>
                                    </ActionForm>
                                    <ActionForm action=move_to attr:class="stack">
                                        <input type="hidden" name="id" value=id_move />
                                        <input type="hidden" name="branch" value=branch_move />
                                        <label>"Under" <ParentSelect nodes=nodes.clone() exclude=Some(this_id) selected=parent_id /></label>
                                        <FormError action=move_to />
                                        <button type="submit">"Move"</button>
                                    </ActionForm>
                                    {delete_block}
                                </div>
                            </details>
                        })}
                    </article>
                }.into_any()
            }
        </Loaded>
    }
}

/// The versions of the document's branch, each a link to the document as it was then.
#[component]
fn DocumentVersions(document: DocumentId, versions: Vec<Version>) -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let (slug, branch) = (ctx.slug.get_untracked(), ctx.branch.get_untracked());
    (!versions.is_empty()).then(|| {
        view! {
            <details class="document-versions">
                <summary>"Earlier versions"</summary>
                <ul>
                    {versions.into_iter().map(|version| {
                        let href = on_branch(&format!("/p/{slug}/doc/{document}/at/{}", version.id), &branch);
                        view! { <li><A href=href>{format!("Version {}: {}", version.number, version.message)}</A></li> }
                    }).collect_view()}
                </ul>
            </details>
        }
    })
}

/// The real-time editor's frame. The editor bundle (`/editor.js`) brings it to life
/// after hydration (the connection state, the people present, the live preview, and
/// CodeMirror, from a chunk of its own, once a layout shows the text); until then it
/// shows the server-rendered preview. Only pages with
/// an editor load the bundle: a module runs once however often its script is added,
/// and it also mounts the frames of pages reached later.
#[component]
fn CollabEditor(
    document: DocumentId,
    kind: Kind,
    branch: String,
    read_only: bool,
    user: UserInfo,
    html: String,
) -> impl IntoView {
    view! {
        <script type="module" src="/editor.js" nonce=leptos::nonce::use_nonce()></script>
        // The "Skip to the editor" link's target: the script gives its focus to the text,
        // or to the preview while only that is shown.
        <section class="collab" id="editor" tabindex="-1" aria-label="Editor" data-collab-editor=""
            data-layout=if read_only { "preview" } else { "split" }
            data-document=document.to_string() data-kind=kind.as_str() data-branch=branch data-readonly=read_only.to_string()
            data-user=user.username data-color=user_color(user.id) data-palette=PALETTE.join(",")>
            <div class="collab-bar">
                <span class="collab-status" data-collab-status="connecting" role="status" aria-live="polite">"Connecting…"</span>
                // The count opens the problems panel; it is said aloud as it changes.
                <span aria-live="polite">
                    <button type="button" class="small collab-findings" data-collab-findings="" hidden=true
                        aria-expanded="false" aria-controls="problems"></button>
                </span>
                {read_only.then(|| view! { <span class="badge">"Read only"</span> })}
                <ul class="presence" data-collab-presence="" aria-label="People in this document"></ul>
                // Until the person's own choice is known: the text beside its preview, or
                // for a reader the preview alone (the text editor loads when shown).
                <div class="layout-switch" role="group" aria-label="Layout">
                    <button type="button" class="small" data-collab-layout="editor" aria-pressed="false">"Editor"</button>
                    <button type="button" class="small" data-collab-layout="split" aria-pressed=(!read_only).to_string()>"Split"</button>
                    <button type="button" class="small" data-collab-layout="preview" aria-pressed=read_only.to_string()>"Preview"</button>
                </div>
            </div>
            <section class="problems" id="problems" data-collab-problems="" aria-label="Problems" hidden=true>
                <ul></ul>
            </section>
            <div class="collab-panes">
                <div class="editor-host" data-collab-host=""></div>
                // Focusable, so the keyboard can scroll it too.
                <div class="markdown preview" data-collab-preview="" tabindex="0" role="region" aria-label="Preview"
                    inner_html=html></div>
            </div>
            <p class="editor-hint muted">"Tab indents. To leave the editor, press Escape, then Tab."</p>
        </section>
    }
}

#[component]
pub fn TrashPage() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let restore = ServerAction::<RestoreDocument>::new();
    let deleted = Resource::new(
        move || (ctx.slug.get(), ctx.branch.get(), ctx.changed.get(), restore.version().get()),
        |(slug, branch, ..)| project_tree(slug, true, branch),
    );
    Effect::new(move |_| {
        if restore.version().get() > 0 {
            ctx.touch();
        }
    });
    view! {
        <Title text="Trash" />
        <div class="page-head"><h1>"Trash"</h1></div>
        <FormError action=restore />
        <LoadedList
            load=move || async move { ctx.loaded().await; deleted.await }
            empty_title="The trash is empty"
            empty=|| view! { <p>"Deleted documents appear here and can be restored."</p> }
            let:nodes
        >
            {
                let can_write = ctx.allows(Permission::Write);
                view! {
                    <ul class="card-list">
                        {nodes.into_iter().map(|node| view! {
                            <li class="card">
                                <A href=on_branch(&format!("/p/{}/doc/{}", ctx.slug.get_untracked(), node.id), &ctx.branch.get_untracked())>{node.title.clone()}</A>
                                <span class=format!("badge kind-{}", node.kind)>{node.kind.as_str()}</span>
                                {node.deleted_at.map(|at| view! { <small class="muted">"Deleted " <Time at /></small> })}
                                {can_write.then(|| view! {
                                    <ActionForm action=restore attr:class="inline">
                                        <input type="hidden" name="id" value=node.id.to_string() />
                                        <input type="hidden" name="branch" value=ctx.branch.get_untracked() />
                                        <button type="submit">"Restore"</button>
                                    </ActionForm>
                                })}
                            </li>
                        }).collect_view()}
                    </ul>
                }
            }
        </LoadedList>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: u128, parent: Option<u128>, title: &str) -> TreeEntry {
        TreeEntry {
            id: DocumentId::from_uuid(uuid::Uuid::from_u128(id)),
            title: title.into(),
            kind: Kind::Spec,
            parent_id: parent.map(|parent| DocumentId::from_uuid(uuid::Uuid::from_u128(parent))),
            position: 0,
            deleted_at: None,
        }
    }

    #[test]
    fn parent_choices_leave_out_the_document_and_its_subtree() {
        let nodes = vec![
            node(1, None, "Constitution"),
            node(2, Some(1), "Login"),
            node(3, Some(2), "Login plan"),
            node(4, None, "Billing"),
        ];
        let labels: Vec<String> = parent_options(&nodes, Some(DocumentId::from_uuid(uuid::Uuid::from_u128(2))))
            .into_iter()
            .map(|(_, label)| label)
            .collect();
        assert_eq!(labels, vec!["Constitution".to_owned(), "Billing".to_owned()]);
        let all = parent_options(&nodes, None);
        assert_eq!(all[2].1, "\u{2003}\u{2003}Login plan");
    }
}
