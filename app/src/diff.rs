//! Diffs as the pages show them: line changes paired up with word-level highlighting,
//! unified or side by side, every line numbered.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A line of a diff in runs: `true` where the words differ from the paired line.
pub type Segments = Vec<(bool, String)>;

/// One changed stretch: the lines before and the lines after, each numbered from the
/// line where the stretch starts on its side (counted from 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiffHunk {
    pub old_line: usize,
    pub old: Vec<Segments>,
    pub new_line: usize,
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
    DiffHunk { old_line: change.old_start + 1, old, new_line: change.new_start + 1, new }
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

/// A document's diff, unified (removed lines, then added) or side by side, with the
/// lines' numbers before and after.
pub(crate) fn diff_view(hunks: &[DiffHunk], side_by_side: RwSignal<bool>) -> impl IntoView {
    let hunks = hunks.to_vec();
    move || {
        if side_by_side.get() {
            view! {
                <table class="diff side-by-side">
                    {hunks.iter().map(|hunk| view! {
                        <tbody>
                            {(0..hunk.old.len().max(hunk.new.len())).map(|row| view! {
                                <tr>
                                    {line_cells(hunk.old.get(row), hunk.old_line + row, "removed")}
                                    {line_cells(hunk.new.get(row), hunk.new_line + row, "added")}
                                </tr>
                            }).collect_view()}
                        </tbody>
                    }).collect_view()}
                </table>
            }
            .into_any()
        } else {
            view! {
                <table class="diff unified">
                    {hunks.iter().map(|hunk| view! {
                        <tbody>
                            {hunk.old.iter().enumerate().map(|(row, line)| view! {
                                <tr class="removed">
                                    <td class="line-number">{hunk.old_line + row}</td>
                                    <td class="line-number"></td>
                                    <td class="code"><span class="sign">"−"</span>{segments_view(line)}</td>
                                </tr>
                            }).collect_view()}
                            {hunk.new.iter().enumerate().map(|(row, line)| view! {
                                <tr class="added">
                                    <td class="line-number"></td>
                                    <td class="line-number">{hunk.new_line + row}</td>
                                    <td class="code"><span class="sign">"+"</span>{segments_view(line)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    }).collect_view()}
                </table>
            }
            .into_any()
        }
    }
}

/// One side of a side-by-side row: the line's number and text, or two empty cells where
/// that side has no line.
fn line_cells(line: Option<&Segments>, number: usize, side: &'static str) -> impl IntoView {
    match line {
        Some(line) => view! {
            <td class=format!("line-number {side}")>{number}</td>
            <td class=format!("code {side}")>{segments_view(line)}</td>
        }
        .into_any(),
        None => view! {
            <td class="line-number"></td>
            <td class="code"></td>
        }
        .into_any(),
    }
}
