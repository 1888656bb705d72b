//! Requirements named by a heading, as OpenSpec writes them (`### Requirement: Name`,
//! each scenario a `#### Scenario: name` heading over its `WHEN` / `THEN` items) and as
//! Kiro does (`### Requirement 1: Title`, a `**User Story:**`, numbered acceptance
//! criteria). Neither tool gives requirements IDs, so the key is a comment in the block,
//! `<!-- id: AUTH-001 -->` (`<!-- id: AUTH-001, priority: P1 -->` with a priority): an
//! import writes it in, and it goes out again with the text, so keys survive a round
//! trip. Without one the heading is prose.

use std::sync::OnceLock;

use regex::Regex;

use super::lines::Line;
use super::{heading, is_label, item, squash, ID_PATTERN};

/// The title of a requirement heading's text (`Requirement: Name`, `Requirement 2: Name`,
/// `Requirement 2`), empty when it has none; `None` for any other heading.
pub fn title(heading: &str) -> Option<&str> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"^Requirement(?:\s+\d{1,9})?\s*(?::\s*(.*))?$").unwrap());
    re.captures(heading.trim()).map(|c| c.get(1).map_or("", |m| m.as_str().trim()))
}

fn key_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(&format!(r"(?i)^\s*<!--\s*id:\s*({ID_PATTERN})\s*(?:,\s*priority:\s*P([1-3])\s*)?-->\s*$")).unwrap()
    })
}

/// A block's key comment.
pub(super) struct Key {
    pub key: String,
    pub priority: Option<String>,
    /// The 1-based line it is on.
    pub line: usize,
}

/// The first key comment among `block`'s lines (before any sub-heading: a scenario's
/// comments are its own).
pub(super) fn key(block: &[Line<'_>]) -> Option<Key> {
    block.iter().take_while(|line| heading(&line.text).is_none()).find_map(|line| {
        let captures = key_regex().captures(line.raw)?;
        Some(Key {
            key: captures[1].to_owned(),
            priority: captures.get(2).map(|p| format!("P{}", p.as_str())),
            line: line.number,
        })
    })
}

/// The key a line's key comment gives, if it is one.
pub fn key_of_comment(line: &str) -> Option<String> {
    key_regex().captures(line).map(|captures| captures[1].to_owned())
}

/// The comment that carries a requirement's key (and priority) in these forms.
pub fn key_comment(key: &str, priority: Option<&str>) -> String {
    match priority {
        Some(priority) => format!("<!-- id: {key}, priority: {priority} -->"),
        None => format!("<!-- id: {key} -->"),
    }
}

/// The name of a `Scenario: name` heading; `Some("")` when it is unnamed or numbered
/// only (`Scenario: 2`, as an export names scenarios that had no name).
fn scenario(heading: &str) -> Option<&str> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"(?i)^Scenario\s*(?::\s*(.*))?$").unwrap());
    let name = re.captures(heading.trim())?.get(1).map_or("", |m| m.as_str().trim());
    Some(if name.chars().all(|c| c.is_ascii_digit()) { "" } else { name })
}

/// A named requirement's block read into its text and scenarios. A `Scenario:` heading
/// makes one scenario of everything under it (`name: WHEN … THEN …`); elsewhere each
/// list item is one (deeper items join the one above), as in Kiro's acceptance
/// criteria. Kiro's `**User Story:**` label is left out of the text.
pub(super) fn body(block: &[Line<'_>]) -> (String, Vec<String>) {
    let mut prose = Vec::new();
    let mut scenarios: Vec<String> = Vec::new();
    // Inside a `Scenario:` heading, everything joins its scenario.
    let mut named = false;
    let mut base: Option<usize> = None;
    let join = |scenario: &mut String, text: &str| {
        if !scenario.is_empty() {
            scenario.push(' ');
        }
        scenario.push_str(text);
    };
    for line in block {
        if line.is_blank() || key_regex().is_match(line.raw) {
            continue;
        }
        if heading(&line.text).is_some() {
            let name = heading(line.raw).and_then(|(_, text)| scenario(&text).map(str::to_owned));
            named = name.is_some();
            if let Some(name) = name {
                scenarios.push(if name.is_empty() { name } else { format!("{name}:") });
            }
            base = None;
            continue;
        }
        let found = item(line.raw);
        let text = squash(found.as_ref().map_or(line.raw, |found| found.text));
        match (named, found) {
            (true, _) => join(scenarios.last_mut().expect("a named scenario"), &text),
            (false, Some(found)) => {
                let base = *base.get_or_insert(found.indent);
                match scenarios.last_mut() {
                    Some(last) if found.indent > base => join(last, &text),
                    _ => scenarios.push(text),
                }
            }
            (false, None) if base.is_some() && line.indent > 0 => {
                join(scenarios.last_mut().expect("an item above"), &text);
            }
            (false, None) if !is_label(line.raw) => prose.push(line.raw.trim()),
            (false, None) => {}
        }
    }
    let text = squash(&prose.join(" "));
    let text = text.strip_prefix("**User Story:**").or_else(|| text.strip_prefix("**User Story**:")).unwrap_or(&text);
    let scenarios = scenarios.into_iter().map(|s| s.trim_end_matches(':').to_owned()).filter(|s| !s.is_empty());
    (text.trim().to_owned(), scenarios.collect())
}

/// The 1-based lines of requirement headings whose blocks carry no key yet (an import
/// gives them one).
pub fn unkeyed(markdown: &str) -> Vec<usize> {
    let lines = super::lines(markdown);
    let mut found = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let Some((level, text)) = heading(&line.text) else { continue };
        if title(&text).is_none() {
            continue;
        }
        let end = lines[index + 1..]
            .iter()
            .position(|l| heading(&l.text).is_some_and(|(other, _)| other <= level))
            .map_or(lines.len(), |offset| index + 1 + offset);
        if key(&lines[index + 1..end]).is_none() {
            found.push(line.number);
        }
    }
    found
}
