//! A spec's requirements rewritten in OpenSpec's or Kiro's form for an export, and the
//! keys an import gives requirements written in those forms without one. The rewritten
//! text reads back (`structure::parse`) to the same keys, titles, texts, scenarios and
//! priorities; everything around the requirements stays as it was.

use std::collections::HashSet;
use std::sync::OnceLock;

use charter_types::Kind;
use regex::Regex;

use super::Doc;
use crate::markdown::syntax::{clarification_regex, link_regex};
use crate::structure::parse::{self, heading, key_comment, Requirement};
use crate::structure::splice::{self, Form};

/// The requirement form a layout writes.
#[derive(Clone, Copy)]
pub(super) enum Style {
    /// `### Requirement: Title`, a `#### Scenario:` per scenario.
    OpenSpec,
    /// `### Requirement 1: Title`, `**User Story:**`, numbered acceptance criteria.
    Kiro,
}

/// `text` with each requirement written in `style`.
pub(super) fn rewrite(text: &str, style: Style) -> String {
    let crlf = text.contains("\r\n");
    let text = text.replace("\r\n", "\n");
    let requirements = parse::parse(&text).requirements;
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    // From the last, so the earlier ones' lines stay where they were.
    for (index, requirement) in requirements.iter().enumerate().rev() {
        let level = level_of(&text, &lines, requirement);
        let borrowed: Vec<&str> = lines.iter().map(String::as_str).collect();
        let (start, end) = (requirement.line - 1, splice::trimmed_end(&borrowed, requirement));
        let mut block = Vec::new();
        if start > 0 && !lines[start - 1].trim().is_empty() {
            block.push(String::new());
        }
        block.extend(render(style, index + 1, level, requirement).split('\n').map(str::to_owned));
        if lines.get(end).is_some_and(|next| !next.trim().is_empty()) {
            block.push(String::new());
        }
        lines.splice(start..end, block);
    }
    let out = lines.join("\n");
    if crlf {
        out.replace('\n', "\r\n")
    } else {
        out
    }
}

/// The heading level `requirement` of `text` (split into `lines`) takes in a named form:
/// its own, or one below the heading it sits under; room is left for its scenarios'.
pub(super) fn level_of(text: &str, lines: &[String], requirement: &Requirement) -> usize {
    match Form::of(text, Some(requirement)) {
        Form::Heading(level) => level,
        Form::List => enclosing_level(lines, requirement.line) + 1,
    }
    .clamp(3, 5)
}

/// The level of the last heading above line `number` (1-based), 0 when there is none.
fn enclosing_level(lines: &[String], number: usize) -> usize {
    lines[..number - 1].iter().rev().find_map(|line| heading(line).map(|(level, _)| level)).unwrap_or(0)
}

/// `requirement` in `style`, as the `ordinal`th of its spec, its heading at `level`.
pub(super) fn render(style: Style, ordinal: usize, level: usize, requirement: &Requirement) -> String {
    let (hashes, sub) = ("#".repeat(level), "#".repeat(level + 1));
    let title = plain_title(&requirement.title);
    let title = if title.is_empty() { requirement.key.as_str() } else { title.as_str() };
    let mut out = match style {
        Style::OpenSpec => format!("{hashes} Requirement: {title}\n"),
        Style::Kiro => format!("{hashes} Requirement {ordinal}: {title}\n"),
    };
    out.push_str(&key_comment(&requirement.key, requirement.priority.as_deref()));
    out.push('\n');
    if !requirement.text.is_empty() {
        let story = matches!(style, Style::Kiro)
            && (requirement.text.starts_with("As a ") || requirement.text.starts_with("As an "));
        out.push_str(if story { "\n**User Story:** " } else { "\n" });
        out.push_str(&requirement.text);
        out.push('\n');
    }
    match style {
        Style::OpenSpec => {
            for (n, scenario) in requirement.acceptance.iter().enumerate() {
                let (name, rest) = named_scenario(scenario).unwrap_or(("", scenario.as_str()));
                let name = if name.is_empty() { (n + 1).to_string() } else { name.to_owned() };
                out.push_str(&format!("\n{sub} Scenario: {name}\n- {rest}\n"));
            }
        }
        Style::Kiro if !requirement.acceptance.is_empty() => {
            out.push_str(&format!("\n{sub} Acceptance Criteria\n\n"));
            for (n, criterion) in requirement.acceptance.iter().enumerate() {
                out.push_str(&format!("{}. {criterion}\n", n + 1));
            }
        }
        Style::Kiro => {}
    }
    out.trim_end().to_owned()
}

/// A title fit for a heading: a question or a link in it stays in the text below (as a
/// title drawn from the text's first sentence has them) and would count twice; a
/// priority marker is in the key's comment.
pub(super) fn plain_title(title: &str) -> String {
    let title = parse::without_priority_marker(title);
    let title = clarification_regex().replace_all(&title, "");
    let title = link_regex().replace_all(&title, |c: &regex::Captures<'_>| {
        c.get(2).map_or(c[1].to_owned(), |label| label.as_str().to_owned())
    });
    title.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A scenario written `name: what happens`, as OpenSpec names them.
fn named_scenario(scenario: &str) -> Option<(&str, &str)> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"^([^:*\[\]`_<>#]{1,80}): (\S.*)$").unwrap());
    let captures = re.captures(scenario)?;
    let name = captures.get(1)?.as_str();
    // A number alone names no scenario: it reads back as unnamed.
    (!name.trim().chars().all(|c| c.is_ascii_digit()) && name.trim() == name)
        .then(|| (name, captures.get(2).map_or("", |m| m.as_str())))
}

/// Gives each requirement heading of `docs`' specs that has no key one (a key comment
/// after its heading), from a prefix made of its document's title, numbered on from the
/// highest in `taken` (every key already in use, which grows). Returns how many each
/// document got.
pub fn assign_keys(docs: &mut [Doc], taken: &mut HashSet<String>) -> Vec<usize> {
    docs.iter_mut()
        .map(|doc| {
            if !matches!(doc.kind, Kind::Spec | Kind::Constitution) {
                return 0;
            }
            let unkeyed = parse::unkeyed(&doc.content);
            if unkeyed.is_empty() {
                return 0;
            }
            let prefix = prefix(&doc.title);
            let first = taken.iter().filter_map(|key| number_after(key, &prefix)).max().unwrap_or(0) + 1;
            let keys: Vec<String> = (first..).take(unkeyed.len()).map(|n| format!("{prefix}-{n:03}")).collect();
            taken.extend(keys.iter().map(|key| key.to_uppercase()));
            // CRLF text keeps its line ends: each line split off keeps its `\r`.
            let end = if doc.content.contains("\r\n") { "\r" } else { "" };
            let mut lines: Vec<String> = doc.content.split('\n').map(str::to_owned).collect();
            for (&number, key) in unkeyed.iter().zip(&keys).rev() {
                lines.insert(number, key_comment(key, None) + end);
            }
            doc.content = lines.join("\n");
            unkeyed.len()
        })
        .collect()
}

/// A key prefix from a title: its letters in capitals, at most eight (`REQ` if none).
fn prefix(title: &str) -> String {
    let letters: String = title.chars().filter(|c| c.is_alphabetic()).flat_map(char::to_uppercase).take(8).collect();
    if letters.is_empty() {
        "REQ".to_owned()
    } else {
        letters
    }
}

/// The number of `key` if it is `prefix`'s.
fn number_after(key: &str, prefix: &str) -> Option<u32> {
    let (head, number) = key.rsplit_once('-')?;
    head.eq_ignore_ascii_case(prefix).then(|| number.parse().ok()).flatten()
}
