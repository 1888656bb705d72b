//! Three-way merge of texts by lines, with git's rules: the two sides' changes against
//! the base merge when they touch different lines; changes that overlap, or touch
//! adjacent lines, are a conflict unless both sides made the same change. Clean merges
//! produce exactly what `git merge-file` produces (a property test checks it).

use std::collections::HashMap;
use std::ops::Range;

/// Where both sides changed the same lines differently.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub base: String,
    pub ours: String,
    pub theirs: String,
}

/// A merge result, in order: merged text and conflicts between it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chunk {
    Clean(String),
    Conflict(Conflict),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merge {
    pub chunks: Vec<Chunk>,
}

impl Merge {
    /// The merged text, when nothing conflicts.
    pub fn clean(&self) -> Option<String> {
        self.chunks
            .iter()
            .map(|chunk| match chunk {
                Chunk::Clean(text) => Some(text.as_str()),
                Chunk::Conflict(_) => None,
            })
            .collect()
    }

    pub fn conflicts(&self) -> impl Iterator<Item = &Conflict> {
        self.chunks.iter().filter_map(|chunk| match chunk {
            Chunk::Conflict(conflict) => Some(conflict),
            Chunk::Clean(_) => None,
        })
    }
}

/// Lines with their terminators, so joining them gives the text back.
fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// A changed region: `base` lines were replaced by `side` lines.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Hunk {
    base: Range<usize>,
    side: Range<usize>,
}

/// The changes from `a` to `b` (Myers' O(ND) shortest edit script), as hunks in order.
fn diff(a: &[u32], b: &[u32]) -> Vec<Hunk> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let max = (n + m) as usize;
    let offset = max as isize + 1;
    let mut v = vec![0isize; 2 * max + 3];
    // The furthest-reaching x per diagonal after each round, for the way back.
    let mut trace: Vec<Vec<isize>> = Vec::new();
    'search: for d in 0..=max as isize {
        trace.push(v.clone());
        for k in (-d..=d).step_by(2) {
            let index = (k + offset) as usize;
            let mut x =
                if k == -d || (k != d && v[index - 1] < v[index + 1]) { v[index + 1] } else { v[index - 1] + 1 };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                x += 1;
                y += 1;
            }
            v[index] = x;
            if x >= n && y >= m {
                trace.push(v.clone());
                break 'search;
            }
        }
    }
    // Walk back, collecting the matched (equal) runs; hunks are the gaps between them.
    let mut equal: Vec<(usize, usize)> = Vec::new();
    let (mut x, mut y) = (n, m);
    for d in (1..trace.len() as isize - 1).rev() {
        let v = &trace[d as usize];
        let k = x - y;
        let index = (k + offset) as usize;
        let previous_k = if k == -d || (k != d && v[index - 1] < v[index + 1]) { k + 1 } else { k - 1 };
        let previous_x = v[(previous_k + offset) as usize];
        let previous_y = previous_x - previous_k;
        while x > previous_x && y > previous_y {
            x -= 1;
            y -= 1;
            equal.push((x as usize, y as usize));
        }
        x = previous_x;
        y = previous_y;
    }
    while x > 0 && y > 0 {
        x -= 1;
        y -= 1;
        equal.push((x as usize, y as usize));
    }
    equal.reverse();
    let mut hunks = Vec::new();
    let (mut at_a, mut at_b) = (0usize, 0usize);
    for (ea, eb) in equal.into_iter().chain(std::iter::once((a.len(), b.len()))) {
        if ea > at_a || eb > at_b {
            hunks.push(Hunk { base: at_a..ea, side: at_b..eb });
        }
        at_a = ea + 1;
        at_b = eb + 1;
    }
    hunks
}

/// Numbers lines so that equal lines get equal numbers.
fn intern<'a>(ids: &mut HashMap<&'a str, u32>, text: &[&'a str]) -> Vec<u32> {
    text.iter()
        .map(|line| {
            let next = ids.len() as u32;
            *ids.entry(line).or_insert(next)
        })
        .collect()
}

/// Appends merged text, joining it to the clean chunk before it.
fn push_clean(chunks: &mut Vec<Chunk>, text: String) {
    if text.is_empty() {
        return;
    }
    match chunks.last_mut() {
        Some(Chunk::Clean(previous)) => previous.push_str(&text),
        _ => chunks.push(Chunk::Clean(text)),
    }
}

/// A changed stretch between two texts: `old` lines (from `old_start`, 0-based) became
/// `new` lines (from `new_start`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct LineChange {
    pub old_start: usize,
    pub old: Vec<String>,
    pub new_start: usize,
    pub new: Vec<String>,
}

/// The line changes from `old` to `new`, in order.
pub fn line_changes(old: &str, new: &str) -> Vec<LineChange> {
    let (old, new) = (lines(old), lines(new));
    let mut ids = HashMap::new();
    let (old_ids, new_ids) = (intern(&mut ids, &old), intern(&mut ids, &new));
    diff(&old_ids, &new_ids)
        .into_iter()
        .map(|hunk| LineChange {
            old_start: hunk.base.start,
            old: old[hunk.base.clone()].iter().map(|line| line.to_string()).collect(),
            new_start: hunk.side.start,
            new: new[hunk.side.clone()].iter().map(|line| line.to_string()).collect(),
        })
        .collect()
}

/// A line cut into words, spaces and single other characters.
fn words(line: &str) -> Vec<&str> {
    let class = |c: char| {
        if c.is_alphanumeric() || c == '_' {
            0
        } else if c.is_whitespace() {
            1
        } else {
            2
        }
    };
    let mut tokens = Vec::new();
    let mut start = 0;
    let mut previous: Option<(u8, char)> = None;
    for (at, c) in line.char_indices() {
        let kind = class(c);
        if let Some((last, _)) = previous {
            // Words and spaces run on; anything else stands alone.
            if kind != last || kind == 2 {
                tokens.push(&line[start..at]);
                start = at;
            }
        }
        previous = Some((kind, c));
    }
    if start < line.len() {
        tokens.push(&line[start..]);
    }
    tokens
}

/// A line's text in runs, `true` where the run differs from the other line.
pub type Segments = Vec<(bool, String)>;

/// Word-level differences between a removed and an added line, for highlighting inside
/// changed lines.
pub fn word_changes(old: &str, new: &str) -> (Segments, Segments) {
    let (old_words, new_words) = (words(old), words(new));
    let mut ids = HashMap::new();
    let (old_ids, new_ids) = (intern(&mut ids, &old_words), intern(&mut ids, &new_words));
    let mut old_changed = vec![false; old_words.len()];
    let mut new_changed = vec![false; new_words.len()];
    for hunk in diff(&old_ids, &new_ids) {
        old_changed[hunk.base.clone()].fill(true);
        new_changed[hunk.side.clone()].fill(true);
    }
    let runs = |tokens: &[&str], changed: &[bool]| -> Segments {
        let mut changed = changed.to_vec();
        // Spaces alone between two changes read better as part of them.
        for i in 1..tokens.len().saturating_sub(1) {
            if !changed[i] && tokens[i].trim().is_empty() && changed[i - 1] && changed[i + 1] {
                changed[i] = true;
            }
        }
        let mut runs: Segments = Vec::new();
        for (token, changed) in tokens.iter().zip(changed) {
            match runs.last_mut() {
                Some((last, text)) if *last == changed => text.push_str(token),
                _ => runs.push((changed, token.to_string())),
            }
        }
        runs
    };
    (runs(&old_words, &old_changed), runs(&new_words, &new_changed))
}

/// Merges `ours` and `theirs`, both descended from `base`.
pub fn merge3(base: &str, ours: &str, theirs: &str) -> Merge {
    let (base, ours, theirs) = (lines(base), lines(ours), lines(theirs));
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let (base_ids, ours_ids, theirs_ids) =
        (intern(&mut ids, &base), intern(&mut ids, &ours), intern(&mut ids, &theirs));
    let (our_hunks, their_hunks) = (diff(&base_ids, &ours_ids), diff(&base_ids, &theirs_ids));

    let mut chunks: Vec<Chunk> = Vec::new();
    let (mut i, mut j, mut emitted) = (0usize, 0usize, 0usize);
    // Line counts each side has gained before the current position.
    let (mut our_shift, mut their_shift) = (0isize, 0isize);
    while i < our_hunks.len() || j < their_hunks.len() {
        let first_is_ours = match (our_hunks.get(i), their_hunks.get(j)) {
            (Some(ours), Some(theirs)) => ours.base.start <= theirs.base.start,
            (Some(_), None) => true,
            _ => false,
        };
        let start = if first_is_ours { our_hunks[i].base.start } else { their_hunks[j].base.start };
        let mut end = start;
        let (our_from, their_from) = (i, j);
        // Gather every hunk that overlaps or touches the group, from both sides.
        loop {
            if let Some(hunk) = our_hunks.get(i).filter(|hunk| hunk.base.start <= end) {
                end = end.max(hunk.base.end);
                i += 1;
            } else if let Some(hunk) = their_hunks.get(j).filter(|hunk| hunk.base.start <= end) {
                end = end.max(hunk.base.end);
                j += 1;
            } else {
                break;
            }
        }
        push_clean(&mut chunks, base[emitted..start].concat());
        let side = |hunks: &[Hunk], shift: isize, text: &[&str]| -> (String, isize) {
            let gained: isize = hunks.iter().map(|hunk| hunk.side.len() as isize - hunk.base.len() as isize).sum();
            let from = (start as isize + shift) as usize;
            let to = (end as isize + shift + gained) as usize;
            (text[from..to].concat(), gained)
        };
        let (our_text, our_gain) = side(&our_hunks[our_from..i], our_shift, &ours);
        let (their_text, their_gain) = side(&their_hunks[their_from..j], their_shift, &theirs);
        let (ours_changed, theirs_changed) = (i > our_from, j > their_from);
        if !theirs_changed || (ours_changed && our_text == their_text) {
            push_clean(&mut chunks, our_text);
        } else if !ours_changed {
            push_clean(&mut chunks, their_text);
        } else {
            chunks.push(Chunk::Conflict(Conflict {
                base: base[start..end].concat(),
                ours: our_text,
                theirs: their_text,
            }));
        }
        our_shift += our_gain;
        their_shift += their_gain;
        emitted = end;
    }
    push_clean(&mut chunks, base[emitted..].concat());
    Merge { chunks }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn changes_to_different_lines_merge() {
        let merged = merge3("a\nb\nc\nd\ne\n", "a\nB\nc\nd\ne\n", "a\nb\nc\nd\nE\n");
        assert_eq!(merged.clean().as_deref(), Some("a\nB\nc\nd\nE\n"));
    }

    #[test]
    fn adjacent_and_overlapping_changes_conflict_like_git() {
        let merged = merge3("a\nb\nc\nd\ne\n", "a\nB\nc\nd\ne\n", "a\nb\nC\nd\ne\n");
        let conflicts: Vec<_> = merged.conflicts().cloned().collect();
        assert_eq!(conflicts, vec![Conflict { base: "b\nc\n".into(), ours: "B\nc\n".into(), theirs: "b\nC\n".into() }]);
        assert_eq!(merged.chunks.first(), Some(&Chunk::Clean("a\n".into())));
        assert_eq!(merged.chunks.last(), Some(&Chunk::Clean("d\ne\n".into())));
    }

    #[test]
    fn the_same_change_on_both_sides_is_no_conflict() {
        let merged = merge3("a\nb\nc\n", "a\nX\nc\n", "a\nX\nc\n");
        assert_eq!(merged.clean().as_deref(), Some("a\nX\nc\n"));
    }

    #[test]
    fn insertions_deletions_and_empty_texts() {
        assert_eq!(merge3("", "", "").clean().as_deref(), Some(""));
        assert_eq!(merge3("", "new\n", "").clean().as_deref(), Some("new\n"));
        assert_eq!(merge3("a\nb\nc\nd\n", "a\nc\nd\n", "a\nb\nc\nd\nz\n").clean().as_deref(), Some("a\nc\nd\nz\n"));
        assert!(merge3("", "one\n", "two\n").clean().is_none(), "both add different text at the same place");
    }

    #[test]
    fn word_changes_mark_what_differs_inside_a_line() {
        let (old, new) = word_changes(
            "The system SHALL lock after 5 failures.\n",
            "The system SHALL lock after 3 failed attempts.\n",
        );
        assert_eq!(
            old,
            vec![(false, "The system SHALL lock after ".into()), (true, "5 failures".into()), (false, ".\n".into())]
        );
        assert_eq!(
            new,
            vec![
                (false, "The system SHALL lock after ".into()),
                (true, "3 failed attempts".into()),
                (false, ".\n".into())
            ]
        );
        let (same, _) = word_changes("unchanged\n", "unchanged\n");
        assert_eq!(same, vec![(false, "unchanged\n".into())]);
    }

    #[test]
    fn myers_finds_the_shortest_script() {
        let hunks = diff(&[1, 2, 3, 4], &[1, 3, 4, 5]);
        assert_eq!(hunks, vec![Hunk { base: 1..2, side: 1..1 }, Hunk { base: 4..4, side: 3..4 }]);
        assert!(diff(&[7, 8], &[7, 8]).is_empty());
        assert_eq!(diff(&[], &[1]), vec![Hunk { base: 0..0, side: 0..1 }]);
    }

    /// What `git merge-file -p` makes of the same three texts, and whether it was clean.
    fn git_merge(base: &str, ours: &str, theirs: &str) -> (String, bool) {
        let dir = std::env::temp_dir().join(format!("charter-merge-{}-{}", std::process::id(), rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in [("base", base), ("ours", ours), ("theirs", theirs)] {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let output = Command::new("git")
            .args(["merge-file", "-p", "ours", "base", "theirs"])
            .current_dir(&dir)
            .output()
            .expect("git is installed");
        std::fs::remove_dir_all(&dir).unwrap();
        (String::from_utf8(output.stdout).unwrap(), output.status.success())
    }

    /// A base of distinct lines cut into alternating untouched (at least one line) and
    /// editable stretches; each editable stretch is left alone or rewritten by exactly
    /// one side. Edits by the two sides are therefore never adjacent.
    fn scenario() -> impl Strategy<Value = (String, String, String)> {
        (1usize..12)
            .prop_flat_map(|stretches| {
                (
                    proptest::collection::vec((1usize..4, 0usize..3), stretches),
                    proptest::collection::vec((0u8..3, 0usize..3), stretches),
                )
            })
            .prop_map(|(shape, edits)| {
                let mut next = 0u32;
                let mut line = || {
                    next += 1;
                    format!("line {next}\n")
                };
                let (mut base, mut ours, mut theirs) = (String::new(), String::new(), String::new());
                for ((kept, editable), (who, replacement)) in shape.into_iter().zip(edits) {
                    for _ in 0..kept {
                        let text = line();
                        base.push_str(&text);
                        ours.push_str(&text);
                        theirs.push_str(&text);
                    }
                    let original: String = (0..editable).map(|_| line()).collect();
                    let rewritten: String = (0..replacement).map(|_| line()).collect();
                    base.push_str(&original);
                    ours.push_str(if who == 1 { &rewritten } else { &original });
                    theirs.push_str(if who == 2 { &rewritten } else { &original });
                }
                (base, ours, theirs)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(150))]
        #[test]
        fn clean_merges_equal_git_merge_file((base, ours, theirs) in scenario()) {
            let (expected, clean) = git_merge(&base, &ours, &theirs);
            prop_assert!(clean, "git found a conflict in a non-overlapping scenario");
            prop_assert_eq!(merge3(&base, &ours, &theirs).clean(), Some(expected));
        }

        #[test]
        fn overlapping_edits_conflict((base, ours, theirs) in scenario(), at in 0usize..100, ours_line in "[a-z]{1,8}", theirs_line in "[A-Z]{1,8}") {
            // Both sides rewrite the same base line, differently.
            let lines: Vec<&str> = base.split_inclusive('\n').collect();
            let at = at % lines.len();
            let rewrite = |text: &str, with: &str| -> String {
                let mut out: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
                if let Some(position) = out.iter().position(|line| line == lines[at]) {
                    out[position] = format!("{with}\n");
                }
                out.concat()
            };
            let (ours, theirs) = (rewrite(&ours, &ours_line), rewrite(&theirs, &theirs_line));
            prop_assume!(ours.contains(&format!("{ours_line}\n")) && theirs.contains(&format!("{theirs_line}\n")));
            let merged = merge3(&base, &ours, &theirs);
            prop_assert!(merged.clean().is_none(), "overlapping edits must conflict, never interleave");
            prop_assert!(!git_merge(&base, &ours, &theirs).1, "git agrees it is a conflict");
        }
    }
}
