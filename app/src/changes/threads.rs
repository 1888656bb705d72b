//! Comments as threads: each thread is a first comment with its replies, shown under its
//! line in the diff and in the discussion, answered and resolved in place.

use std::collections::HashMap;

use charter_types::{Comment, DocumentId, LineSide};
use leptos::prelude::*;

use super::{CommentChange, ResolveThread};
use crate::components::Time;
use crate::forms::FormError;

/// A first comment and the replies to it, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Thread {
    pub root: Comment,
    pub replies: Vec<Comment>,
}

impl Thread {
    pub fn resolved(&self) -> bool {
        self.root.resolved_at.is_some()
    }

    /// The thread's anchor on the page.
    pub fn anchor(&self) -> String {
        format!("thread-{}", self.root.id)
    }
}

/// Comments gathered into threads, in the order the threads were started.
pub(super) fn threads(comments: &[Comment]) -> Vec<Thread> {
    let mut replies: HashMap<uuid::Uuid, Vec<Comment>> = HashMap::new();
    for comment in comments {
        if let Some(root) = comment.reply_to {
            replies.entry(root).or_default().push(comment.clone());
        }
    }
    comments
        .iter()
        .filter(|comment| comment.reply_to.is_none())
        .map(|root| Thread { root: root.clone(), replies: replies.remove(&root.id).unwrap_or_default() })
        .collect()
}

/// Where a line thread is, for grouping them under their lines.
pub(super) type LineKey = (DocumentId, LineSide, usize);

pub(super) fn line_key(comment: &Comment) -> Option<LineKey> {
    Some((comment.document_id?, comment.side, usize::try_from(comment.line?).ok()?))
}

/// A line in words: the document's title and the line, saying when it is one the
/// change removed.
pub(super) fn line_place(title: &str, side: LineSide, line: usize) -> String {
    match side {
        LineSide::New => format!("{title}, line {line}"),
        LineSide::Old => format!("{title}, removed line {line}"),
    }
}

/// What the forms of a change request's threads post with, and whether the viewer may.
#[derive(Clone)]
pub(super) struct ThreadForms {
    pub slug: String,
    pub number: i32,
    pub can_comment: bool,
    pub comment: ServerAction<CommentChange>,
    pub resolve: ServerAction<ResolveThread>,
}

/// A thread: where it is, its comments, a reply box, and resolving or reopening it.
#[component]
pub(super) fn ThreadView(thread: Thread, place: Option<String>, forms: ThreadForms) -> impl IntoView {
    let resolved = thread.resolved();
    let status = thread.root.resolved_by.clone().map(|by| {
        view! {
            <span class="badge state-merged">"Resolved"</span>
            <small class="muted">{format!(" by {by} ")}{thread.root.resolved_at.map(|at| view! { <Time at /> })}</small>
        }
    });
    let id = thread.root.id.to_string();
    let comments = std::iter::once(thread.root.clone()).chain(thread.replies.clone());
    let controls = forms.can_comment.then(|| {
        let ThreadForms { slug, number, comment, resolve, .. } = forms.clone();
        let (reply_slug, reply_to) = (slug.clone(), id.clone());
        let (reply_label, toggle) = if resolved { ("Reply", "Reopen thread") } else { ("Reply", "Resolve thread") };
        view! {
            <ActionForm action=comment attr:class="row reply-form">
                <input type="hidden" name="slug" value=reply_slug />
                <input type="hidden" name="number" value=number.to_string() />
                <input type="hidden" name="reply_to" value=reply_to />
                <label class="grow"><span class="visually-hidden">{reply_label}</span>
                    <input name="body" required maxlength="10000" placeholder="Reply…" /></label>
                <button type="submit" class="small">{reply_label}</button>
            </ActionForm>
            <ActionForm action=resolve attr:class="inline">
                <input type="hidden" name="slug" value=slug />
                <input type="hidden" name="number" value=number.to_string() />
                <input type="hidden" name="id" value=id />
                <input type="hidden" name="resolved" value=(!resolved).to_string() />
                <button type="submit" class="small">{toggle}</button>
            </ActionForm>
        }
    });
    view! {
        <article class="thread" class:resolved=resolved id=thread.anchor()>
            <header class="thread-head">
                {place.map(|place| view! { <strong class="thread-place">{place}</strong> })}
                {status}
            </header>
            <ol class="thread-comments">
                {comments.map(|comment| view! {
                    <li>
                        <strong>{comment.author.clone()}</strong> " " <small class="muted"><Time at=comment.created_at /></small>
                        <p class="thread-body">{comment.body.clone()}</p>
                    </li>
                }).collect_view()}
            </ol>
            {controls}
        </article>
    }
}

/// The start of a comment, for a folded thread's one line.
fn excerpt(body: &str) -> String {
    const WORDS: usize = 12;
    let words: Vec<&str> = body.split_whitespace().collect();
    match words.len() > WORDS {
        true => format!("{}…", words[..WORDS].join(" ")),
        false => words.join(" "),
    }
}

/// The rows under a diff line: its threads (a resolved one folded away), and the form
/// for a new comment while it is open on this line.
#[allow(clippy::too_many_arguments)]
pub(super) fn under_line(
    threads: Vec<Thread>,
    place: String,
    forms: ThreadForms,
    document_id: DocumentId,
    side: LineSide,
    line: usize,
    columns: u8,
    open: RwSignal<Option<(LineSide, usize)>>,
) -> AnyView {
    let shown = (!threads.is_empty()).then(|| {
        let forms = forms.clone();
        view! {
            <tr class="line-notes">
                <td colspan=columns>
                    {threads.into_iter().map(|thread| {
                        let view = view! { <ThreadView thread=thread.clone() place=Some(place.clone()) forms=forms.clone() /> };
                        if thread.resolved() {
                            let comments = 1 + thread.replies.len();
                            let summary = format!(
                                "Resolved: {} “{}” ({comments} comment{}; resolved by {})",
                                thread.root.author,
                                excerpt(&thread.root.body),
                                if comments == 1 { "" } else { "s" },
                                thread.root.resolved_by.clone().unwrap_or_default(),
                            );
                            view! {
                                <details class="thread-folded">
                                    <summary>{summary}</summary>
                                    {view}
                                </details>
                            }.into_any()
                        } else {
                            view.into_any()
                        }
                    }).collect_view()}
                </td>
            </tr>
        }
    });
    let ThreadForms { slug, number, comment, .. } = forms;
    let form = move || {
        (open.get() == Some((side, line))).then(|| {
            let (label, slug) = (format!("Comment on {place}"), slug.clone());
            view! {
                <tr class="line-notes">
                    <td colspan=columns>
                        <ActionForm action=comment attr:class="stack line-comment-form">
                            <input type="hidden" name="slug" value=slug />
                            <input type="hidden" name="number" value=number.to_string() />
                            <input type="hidden" name="document_id" value=document_id.to_string() />
                            <input type="hidden" name="line" value=line.to_string() />
                            <input type="hidden" name="side" value=side.as_str() />
                            <label>{label}
                                <textarea name="body" rows="2" required maxlength="10000" autofocus></textarea></label>
                            <FormError action=comment />
                            <div class="actions">
                                <button type="submit" class="primary small">"Comment"</button>
                                <button type="button" class="small" on:click=move |_| open.set(None)>"Cancel"</button>
                            </div>
                        </ActionForm>
                    </td>
                </tr>
            }
        })
    };
    view! { {shown} {form} }.into_any()
}
