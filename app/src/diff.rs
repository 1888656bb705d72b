//! Diffs as the pages show them: line changes paired up with word-level highlighting,
//! unified or side by side, every line numbered.

use std::sync::Arc;

use charter_types::LineSide;
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

/// What a page adds to a diff's lines: a button on each line's number that opens a
/// comment on it (only for those who may comment), and the rows shown under a line (its
/// threads, the open form), given the table's number of columns.
#[derive(Clone)]
pub(crate) struct LineNotes {
    pub comment: Option<Callback<(LineSide, usize)>>,
    pub under: Arc<dyn Fn(LineSide, usize, u8) -> AnyView + Send + Sync>,
}

/// A document's diff, unified (removed lines, then added) or side by side, with the
/// lines' numbers before and after, and `notes` under its lines.
pub(crate) fn diff_view(hunks: &[DiffHunk], side_by_side: RwSignal<bool>, notes: Option<LineNotes>) -> impl IntoView {
    let hunks = hunks.to_vec();
    move || {
        let notes = notes.clone();
        let comment = notes.as_ref().and_then(|notes| notes.comment);
        let under = move |side: LineSide, number: usize, columns: u8| {
            notes.as_ref().map(|notes| (notes.under)(side, number, columns))
        };
        if side_by_side.get() {
            view! {
                <table class="diff side-by-side">
                    {hunks.iter().map(|hunk| view! {
                        <tbody>
                            {(0..hunk.old.len().max(hunk.new.len())).map(|row| {
                                let (old, new) = (hunk.old.get(row), hunk.new.get(row));
                                let (old_line, new_line) = (hunk.old_line + row, hunk.new_line + row);
                                view! {
                                    <tr>
                                        {line_cells(old, old_line, LineSide::Old, comment)}
                                        {line_cells(new, new_line, LineSide::New, comment)}
                                    </tr>
                                    {old.and_then(|_| under(LineSide::Old, old_line, 4))}
                                    {new.and_then(|_| under(LineSide::New, new_line, 4))}
                                }
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
                            {hunk.old.iter().enumerate().map(|(row, line)| {
                                let number = hunk.old_line + row;
                                view! {
                                    <tr class="removed">
                                        {number_cell(number, LineSide::Old, comment, "")}
                                        <td class="line-number"></td>
                                        <td class="code"><span class="sign">"−"</span>{segments_view(line)}</td>
                                    </tr>
                                    {under(LineSide::Old, number, 3)}
                                }
                            }).collect_view()}
                            {hunk.new.iter().enumerate().map(|(row, line)| {
                                let number = hunk.new_line + row;
                                view! {
                                    <tr class="added">
                                        <td class="line-number"></td>
                                        {number_cell(number, LineSide::New, comment, "")}
                                        <td class="code"><span class="sign">"+"</span>{segments_view(line)}</td>
                                    </tr>
                                    {under(LineSide::New, number, 3)}
                                }
                            }).collect_view()}
                        </tbody>
                    }).collect_view()}
                </table>
            }
            .into_any()
        }
    }
}

/// A line's number; a button that opens a comment on the line where one may be made.
fn number_cell(number: usize, side: LineSide, comment: Option<Callback<(LineSide, usize)>>, class: &str) -> AnyView {
    let class = format!("line-number {class}");
    match comment {
        Some(comment) => {
            let label = match side {
                LineSide::Old => format!("Comment on removed line {number}"),
                LineSide::New => format!("Comment on line {number}"),
            };
            view! {
                <td class=class>
                    <button type="button" class="line-button" aria-label=label.clone() title=label
                        on:click=move |_| comment.run((side, number))>{number}</button>
                </td>
            }
            .into_any()
        }
        None => view! { <td class=class>{number}</td> }.into_any(),
    }
}

/// One side of a side-by-side row: the line's number and text, or two empty cells where
/// that side has no line.
fn line_cells(
    line: Option<&Segments>,
    number: usize,
    side: LineSide,
    comment: Option<Callback<(LineSide, usize)>>,
) -> impl IntoView {
    let class = match side {
        LineSide::Old => "removed",
        LineSide::New => "added",
    };
    match line {
        Some(line) => view! {
            {number_cell(number, side, comment, class)}
            <td class=format!("code {class}")>{segments_view(line)}</td>
        }
        .into_any(),
        None => view! {
            <td class="line-number"></td>
            <td class="code"></td>
        }
        .into_any(),
    }
}
