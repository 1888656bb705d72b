//! Diffs as the pages show them: line changes paired up with word-level highlighting,
//! inline or side by side.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A line of a diff in runs: `true` where the words differ from the paired line.
pub type Segments = Vec<(bool, String)>;

/// One changed stretch: the lines before and the lines after.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiffHunk {
    pub old: Vec<Segments>,
    pub new: Vec<Segments>,
}

/// A line change with word-level highlighting: removed and added lines are paired in
/// order; a line without a partner is changed as a whole.
#[cfg(feature = "ssr")]
pub(crate) fn hunk(change: charter_backend::merge::LineChange) -> DiffHunk {
    let whole = |line: &String| vec![(false, line.clone())];
    let paired = change.old.len().min(change.new.len());
    let (mut old, mut new) = (Vec::new(), Vec::new());
    for (before, after) in change.old.iter().zip(&change.new) {
        let (was, is) = charter_backend::merge::word_changes(before, after);
        old.push(was);
        new.push(is);
    }
    old.extend(change.old[paired..].iter().map(whole));
    new.extend(change.new[paired..].iter().map(whole));
    DiffHunk { old, new }
}

/// A line's runs, the differing words marked.
fn segments_view(segments: &Segments) -> impl IntoView {
    segments
        .iter()
        .map(|(changed, text)| {
            let text = text.trim_end_matches('\n').to_owned();
            if *changed {
                view! { <mark>{text}</mark> }.into_any()
            } else {
                text.into_any()
            }
        })
        .collect_view()
}

/// A document's diff, inline (removed lines, then added) or side by side.
pub(crate) fn diff_view(hunks: &[DiffHunk], side_by_side: RwSignal<bool>) -> impl IntoView {
    let hunks = hunks.to_vec();
    move || {
        if side_by_side.get() {
            view! {
                <table class="diff side-by-side">
                    <tbody>
                        {hunks.iter().map(|hunk| {
                            (0..hunk.old.len().max(hunk.new.len())).map(|row| view! {
                                <tr>
                                    <td class="removed">{hunk.old.get(row).map(segments_view)}</td>
                                    <td class="added">{hunk.new.get(row).map(segments_view)}</td>
                                </tr>
                            }).collect_view()
                        }).collect_view()}
                    </tbody>
                </table>
            }
            .into_any()
        } else {
            view! {
                <div class="diff inline">
                    {hunks.iter().map(|hunk| view! {
                        {hunk.old.iter().map(|line| view! { <div class="removed">"− " {segments_view(line)}</div> }).collect_view()}
                        {hunk.new.iter().map(|line| view! { <div class="added">"+ " {segments_view(line)}</div> }).collect_view()}
                    }).collect_view()}
                </div>
            }.into_any()
        }
    }
}
