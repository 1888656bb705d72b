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
use crate::structure::splice;

/// The requirement form a layout writes.
#[derive(Clone, Copy)]
pub(super) enum Style {
    /// `### Requirement: Title`, a `#### Scenario:` per scenario.
    OpenSpec,
    /// `### Requirement 1: Title`, `**User Story:**`, numbered acceptance criteria.
    Kiro,
}

/// `text` with each requirement written in `style`, in one pass. Should that change
/// what any requirement reads as (a list requirement followed by prose would take the
/// prose into its block as a heading), the text goes as it is: every form is Charter's.
pub(super) fn rewrite(text: &str, style: Style) -> String {
    let crlf = text.contains("\r\n");
    let text = text.replace("\r\n", "\n");
    let requirements = parse::parse(&text).requirements;
    if requirements.is_empty() {
        return text_with(text, crlf);
    }
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let (mut at, mut enclosing) = (0, 0);
    for (index, requirement) in requirements.iter().enumerate() {
        let start = requirement.line - 1;
        for line in &lines[at.min(start)..start] {
            enclosing = heading(line).map_or(enclosing, |(level, _)| level);
            out.push((*line).to_owned());
        }
        let own = heading(lines[start]).map(|(level, _)| level);
        let level = own.unwrap_or(enclosing + 1).clamp(3, 5);
        let end = splice::trimmed_end(&lines, requirement);
        if out.last().is_some_and(|line| !line.trim().is_empty()) {
            out.push(String::new());
        }
        out.extend(render(style, index + 1, level, requirement).split('\n').map(str::to_owned));
        if lines.get(end).is_some_and(|next| !next.trim().is_empty()) {
            out.push(String::new());
        }
        enclosing = own.unwrap_or(enclosing);
        at = end;
    }
    out.extend(lines[at..].iter().map(|line| (*line).to_owned()));
    let rewritten = out.join("\n");
    let read = |text: &str| {
        let requirements = parse::parse(text).requirements.into_iter();
        requirements.map(|r| (r.key, r.text, r.acceptance, r.priority)).collect::<Vec<_>>()
    };
    match read(&rewritten) == read(&text) {
        true => text_with(rewritten, crlf),
        false => text_with(text, crlf),
    }
}

fn text_with(text: String, crlf: bool) -> String {
    if crlf {
        text.replace('\n', "\r\n")
    } else {
        text
    }
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
            let first = taken.iter().filter_map(|key| number_after(key, &prefix)).max().unwrap_or(0).saturating_add(1);
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
fn number_after(key: &str, prefix: &str) -> Option<u64> {
    let (head, number) = key.rsplit_once('-')?;
    head.eq_ignore_ascii_case(prefix).then(|| number.parse().ok()).flatten()
}
