//! Markdown syntax that the renderer and the spec parser (`structure::parse`) both
//! read, defined once so that they agree.

use std::sync::OnceLock;

use regex::Regex;

/// An ATX heading's level and text (`## Title ##` gives `(2, "Title")`), if the line is one.
pub fn heading(line: &str) -> Option<(usize, String)> {
    let trimmed = line.trim_start();
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let level = trimmed.chars().take_while(|c| *c == '#').count();
    let rest = &trimmed[level..];
    if !(1..=6).contains(&level) || !(rest.starts_with(' ') || rest.trim().is_empty()) {
        return None;
    }
    Some((level, rest.trim().trim_end_matches('#').trim().to_owned()))
}

/// `[[target]]` or `[[target|label]]`: the target, then the label if any. The spec
/// parser reads links with it too, so what lint checks is what readers click.
pub fn link_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\[\[([^\[\]\n|]+)(?:\|([^\[\]\n]*))?\]\]").unwrap())
}

/// `[NEEDS CLARIFICATION: question]`, the question captured: an open question in a spec.
/// The preview marks what the spec parser lists as questions.
pub fn clarification_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?i)\[NEEDS CLARIFICATION:\s*([^\]\n]*?)\s*\]").unwrap())
}
