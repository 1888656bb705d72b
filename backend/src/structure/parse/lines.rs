//! A document as lines: fenced code left out, code spans blanked, and places counted
//! in UTF-16 columns, as the editor counts them.

/// 1-based column of byte offset `at` in `line`, in UTF-16 code units.
pub fn column(line: &str, at: usize) -> usize {
    line[..at].encode_utf16().count() + 1
}

/// Columns of several places in one line, in increasing order: each is counted on from
/// the last, so a line with many matches is measured once rather than once per match.
pub(crate) struct Columns<'a> {
    line: &'a str,
    at: usize,
    units: usize,
}

impl<'a> Columns<'a> {
    pub(crate) fn new(line: &'a str) -> Columns<'a> {
        Columns { line, at: 0, units: 0 }
    }

    /// The 1-based UTF-16 column of byte offset `at`.
    pub(crate) fn of(&mut self, at: usize) -> usize {
        if at < self.at {
            (self.at, self.units) = (0, 0);
        }
        self.units += self.line[self.at..at].encode_utf16().count();
        self.at = at;
        self.units + 1
    }
}

pub fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// The line with inline code spans blanked out (same byte length), so nothing inside
/// backticks counts as structure.
fn mask_code_spans(line: &str) -> String {
    let bytes = line.as_bytes();
    let mut out = line.to_owned().into_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let run = bytes[i..].iter().take_while(|b| **b == b'`').count();
        let fence = &line[i..i + run];
        let Some(close) = line[i + run..].find(fence) else { break };
        let end = i + run + close + run;
        for b in &mut out[i..end] {
            // Keep UTF-8 valid: only ASCII bytes become spaces, continuation bytes too.
            *b = b' ';
        }
        i = end;
    }
    String::from_utf8(out).unwrap_or_else(|_| line.to_owned())
}

/// Which 1-based line numbers fall in any of the inclusive `ranges`, by line number: one
/// pass however many ranges there are.
pub(crate) fn covered_lines(ranges: impl Iterator<Item = (usize, usize)>) -> Vec<bool> {
    let mut starts: Vec<isize> = Vec::new();
    for (from, to) in ranges {
        if starts.len() < to + 2 {
            starts.resize(to + 2, 0);
        }
        starts[from] += 1;
        starts[to + 1] -= 1;
    }
    let mut open = 0;
    starts
        .into_iter()
        .map(|change| {
            open += change;
            open > 0
        })
        .collect()
}

/// A line of the document outside code fences, with code spans masked.
pub(crate) struct Line<'a> {
    pub number: usize,
    pub raw: &'a str,
    /// The line with inline code blanked out.
    pub text: String,
    pub(super) indent: usize,
}

impl Line<'_> {
    pub(super) fn is_blank(&self) -> bool {
        self.text.trim().is_empty()
    }
}

pub(super) fn indent_of(line: &str) -> usize {
    line.chars().take_while(|c| c.is_whitespace()).map(|c| if c == '\t' { 4 } else { 1 }).sum()
}

/// The document's lines outside fenced code blocks.
pub(crate) fn lines(markdown: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut fence: Option<(char, usize)> = None;
    for (index, raw) in markdown.lines().enumerate() {
        let trimmed = raw.trim_start();
        let run = |c: char| trimmed.chars().take_while(|x| *x == c).count();
        if let Some((c, len)) = fence {
            if run(c) >= len && trimmed.trim_start_matches(c).trim().is_empty() {
                fence = None;
            }
            continue;
        }
        if let Some(c) = ['`', '~'].into_iter().find(|c| run(*c) >= 3) {
            fence = Some((c, run(c)));
            continue;
        }
        out.push(Line { number: index + 1, raw, text: mask_code_spans(raw), indent: indent_of(raw) });
    }
    out
}
