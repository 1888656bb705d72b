//! The words of a draft made from an incident, and where they go in a spec: a new
//! requirement after the spec's last one, or an amendment (a regression scenario and a
//! provenance line) inside an existing requirement's block, always in the form the spec
//! writes requirements in. Text from outside (the incident's, a model's) is made safe
//! first. Pure text in, text out; lines end with `\n` (the caller keeps CRLF specs CRLF).

use charter_types::{IncidentId, IncidentSeverity};
use chrono::{DateTime, Utc};

use crate::structure::parse::{heading, Requirement};

/// What a draft says about its incident.
pub(super) struct Facts {
    pub id: IncidentId,
    pub title: String,
    pub description: String,
    pub service: String,
    pub severity: IncidentSeverity,
    pub source: String,
    pub external_id: String,
    pub started_at: DateTime<Utc>,
    pub occurrences: i32,
}

/// A requirement as a draft writes it, before it takes a spec's form.
pub(super) struct Drafted {
    pub key: String,
    /// The heading form's title.
    pub title: String,
    pub priority: Option<String>,
    /// Its text, one paragraph of safe Markdown.
    pub statement: String,
    pub scenarios: Vec<String>,
}

/// How a spec writes its requirements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Form {
    /// `- **KEY** text` with scenarios as a sub-list.
    List,
    /// `### KEY: Title` (at this level) with text and scenarios below.
    Heading(usize),
}

impl Form {
    /// The form `like` is written in; a spec without requirements gets the list form.
    pub fn of(text: &str, like: Option<&Requirement>) -> Form {
        like.and_then(|requirement| heading_level(text, requirement.line)).map_or(Form::List, Form::Heading)
    }
}

impl Facts {
    /// The line that says where a requirement came from, linking the incident's page.
    pub fn provenance(&self) -> String {
        format!(
            "Added after incident [{}](/incidents/{}) ({} {}, {}).",
            safe(&self.title),
            self.id,
            safe(&self.source),
            safe(&self.external_id),
            self.started_at.format("%Y-%m-%d")
        )
    }

    /// The regression scenario: the incident's conditions must not bring it back.
    pub fn scenario(&self) -> String {
        let summary = self.summary();
        let conditions = if summary.is_empty() { String::new() } else { format!(" ({summary})") };
        format!(
            "Given the conditions of incident {}{conditions}, When they occur again, Then {} does not report “{}”.",
            safe(&self.external_id),
            safe(&self.service),
            safe(&self.title)
        )
    }

    /// The template's requirement `key`: what must hold, how it is measured, and the
    /// regression scenario.
    pub fn template(&self, key: &str) -> Drafted {
        let statement = format!(
            "The {} service SHALL prevent “{}”: [NEEDS CLARIFICATION: the behaviour that would have prevented it]. \
             Measured by the alert that reported it: no occurrence in any 30 days (it occurred {} time{}).",
            safe(&self.service),
            safe(&self.title),
            self.occurrences,
            if self.occurrences == 1 { "" } else { "s" }
        );
        Drafted {
            key: key.to_owned(),
            title: safe(&self.title),
            priority: Some(self.priority().to_owned()),
            statement,
            scenarios: vec![self.scenario()],
        }
    }

    /// The description's first sentence, at most 200 characters, made safe.
    fn summary(&self) -> String {
        let text = self.description.split_whitespace().collect::<Vec<_>>().join(" ");
        let end = text.find(". ").map_or(text.len(), |at| at + 1);
        let sentence = text[..end].trim().trim_end_matches('.');
        let mut summary: String = sentence.chars().take(200).collect();
        if summary.len() < sentence.len() {
            summary.push('…');
        }
        safe(&summary)
    }

    pub fn priority(&self) -> &'static str {
        match self.severity {
            IncidentSeverity::Critical | IncidentSeverity::High => "P1",
            IncidentSeverity::Medium => "P2",
            IncidentSeverity::Low | IncidentSeverity::Info => "P3",
        }
    }
}

/// A model's proposed requirement as a draft writes it: its words made safe (keeping the
/// clarification markers it was asked to write), its priority marker taken out of the text.
pub(super) fn proposed(requirement: &Requirement, key: &str, title: &str, priority: &str) -> Drafted {
    let text = requirement.text.trim_start();
    let text = match text.strip_prefix('(').and_then(|rest| rest.split_once(')')) {
        Some((marker, rest)) if marker.starts_with('P') && marker[1..].chars().all(|c| c.is_ascii_digit()) => rest,
        _ => text,
    };
    Drafted {
        key: key.to_owned(),
        title: title.to_owned(),
        priority: Some(requirement.priority.clone().unwrap_or_else(|| priority.to_owned())),
        statement: inline_start(keeping_markers(text.trim())),
        scenarios: requirement.acceptance.iter().map(|scenario| inline_start(keeping_markers(scenario))).collect(),
    }
}

/// `drafted` in `form`, with `provenance` after its text.
pub(super) fn render(drafted: &Drafted, provenance: &str, form: Form) -> String {
    let priority = drafted.priority.as_deref().map(|p| format!("({p}) ")).unwrap_or_default();
    match form {
        Form::List => {
            let scenarios: String = drafted.scenarios.iter().map(|s| format!("  - {s}\n")).collect();
            format!("- **{}** {priority}{}\n  {provenance}\n{scenarios}", drafted.key, drafted.statement)
        }
        Form::Heading(level) => {
            let scenarios: String = drafted.scenarios.iter().map(|s| format!("- {s}\n")).collect();
            // Before the title: the parser takes a heading's first priority, and a title
            // may name one ("P1 outage").
            format!(
                "{} {}: {priority}{}\n\n{}\n\n{provenance}\n\n{scenarios}",
                "#".repeat(level),
                drafted.key,
                drafted.title,
                drafted.statement
            )
        }
    }
}

/// Text from outside made safe as part of one line of Markdown: no line breaks, no links,
/// images or clarification markers (brackets become parentheses), markup escaped.
pub(super) fn safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in word.chars() {
            match c {
                '[' => out.push('('),
                ']' => out.push(')'),
                '*' | '_' | '`' | '<' | '>' | '#' | '\\' | '|' | '!' | '~' => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
        }
    }
    out
}

/// [`safe`], except for `[NEEDS CLARIFICATION: …]` markers, which are kept (their
/// question made safe).
fn keeping_markers(text: &str) -> String {
    const MARKER: &str = "[NEEDS CLARIFICATION:";
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.to_ascii_uppercase().find(MARKER) {
        let Some(close) = rest[at..].find(']').map(|offset| at + offset) else { break };
        pieces.push(safe(&rest[..at]));
        pieces.push(format!("[NEEDS CLARIFICATION: {}]", safe(&rest[at + MARKER.len()..close])));
        rest = &rest[close + 1..];
    }
    pieces.push(safe(rest));
    let mut out = String::new();
    for piece in pieces.into_iter().filter(|piece| !piece.is_empty()) {
        if !out.is_empty() && !piece.starts_with(['.', ',', ';', ':', ')']) {
            out.push(' ');
        }
        out.push_str(&piece);
    }
    out
}

/// `text` made unable to start a block of its own (a list item, a quote) where it
/// begins a line.
fn inline_start(text: String) -> String {
    let digits = text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if text.starts_with(['-', '+', '=']) {
        format!("\\{text}")
    } else if digits > 0 && text[digits..].starts_with(['.', ')']) {
        format!("{}\\{}", &text[..digits], &text[digits..])
    } else {
        text
    }
}

/// The heading level of line `number` (1-based), if it is a heading.
fn heading_level(text: &str, number: usize) -> Option<usize> {
    level(text.split('\n').nth(number.checked_sub(1)?)?)
}

/// The heading level of `line`, if the spec parser reads a heading there.
fn level(line: &str) -> Option<usize> {
    heading(line).map(|(level, _)| level)
}

/// `text` with `block` inserted after the spec's last requirement (`last`), or at the
/// end when it has none. A heading requirement keeps blank lines around it; a list item
/// joins the list it follows.
pub(super) fn insert_new(text: &str, last: Option<&Requirement>, block: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let at = last.map_or_else(|| first_place(&lines), |requirement| trimmed_end(&lines, requirement));
    let apart = last.is_none_or(|requirement| heading_level(text, requirement.line).is_some());
    let mut out = splice(&lines, at, block, apart);
    if text.ends_with('\n') && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Where a spec without requirements takes its first: at the end of its Requirements
/// section, else before its success criteria (which would take it for one), else at
/// its end.
fn first_place(lines: &[&str]) -> usize {
    let named = |line: &str, name: &str| heading(line).is_some_and(|(_, title)| title.to_lowercase().starts_with(name));
    if let Some(start) = lines.iter().position(|line| named(line, "requirements")) {
        let own = level(lines[start]);
        let next = lines[start + 1..].iter().position(|line| level(line).is_some_and(|level| Some(level) <= own));
        return next.map_or(lines.len(), |offset| start + 1 + offset);
    }
    lines.iter().position(|line| named(line, "success criteria")).unwrap_or(lines.len())
}

/// `text` with `requirement` amended: `provenance` joins its text and `scenario`, if
/// any, its scenarios.
pub(super) fn amend(text: &str, requirement: &Requirement, provenance: &str, scenario: Option<&str>) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let end = trimmed_end(&lines, requirement);
    let start = requirement.line - 1;
    if heading_level(text, requirement.line).is_some() {
        // After the block's own scenarios, if it has some, else after its prose.
        let addition = match scenario {
            Some(scenario) => format!("- {scenario}\n\n{provenance}\n"),
            None => format!("{provenance}\n"),
        };
        return splice(&lines, end, &addition, true);
    }
    let first = lines[start];
    let inner = " ".repeat(indent(first) + 2);
    // The text runs on until its first scenario: the line goes after all of it.
    let scenarios_at = (start + 1..end).find(|&index| is_item(lines[index])).unwrap_or(end);
    let scenario_indent =
        lines.get(scenarios_at).filter(|_| scenarios_at < end).map_or(inner.clone(), |line| " ".repeat(indent(line)));
    let mut out: Vec<String> = lines[..scenarios_at].iter().map(|line| line.to_string()).collect();
    out.push(format!("{inner}{provenance}"));
    out.extend(lines[scenarios_at..end].iter().map(|line| line.to_string()));
    out.extend(scenario.map(|scenario| format!("{scenario_indent}- {scenario}")));
    out.extend(lines[end..].iter().map(|line| line.to_string()));
    out.join("\n")
}

/// `text` with `requirement`'s block replaced by `block`.
pub(super) fn replace(text: &str, requirement: &Requirement, block: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let end = trimmed_end(&lines, requirement);
    let mut out: Vec<String> = lines[..requirement.line - 1].iter().map(|line| line.to_string()).collect();
    out.extend(block.trim_end_matches('\n').split('\n').map(str::to_owned));
    out.extend(lines[end..].iter().map(|line| line.to_string()));
    out.join("\n")
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// A list item, bulleted or numbered (as the parser takes scenarios).
fn is_item(line: &str) -> bool {
    let line = line.trim_start();
    let numbered = line.trim_start_matches(|c: char| c.is_ascii_digit());
    line.starts_with("- ")
        || line.starts_with("* ")
        || line.starts_with("+ ")
        || (numbered.len() < line.len() && (numbered.starts_with(". ") || numbered.starts_with(") ")))
}

/// The index just past the requirement's block, without its trailing blank lines.
fn trimmed_end(lines: &[&str], requirement: &Requirement) -> usize {
    let mut end = requirement.end_line.min(lines.len());
    while end > requirement.line && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    end
}

/// `lines` with `block` inserted before index `at`; `apart` keeps blank lines around it.
fn splice(lines: &[&str], at: usize, block: &str, apart: bool) -> String {
    let mut out: Vec<String> = lines[..at].iter().map(|line| line.to_string()).collect();
    while apart && out.last().is_some_and(|line| line.trim().is_empty()) {
        out.pop();
    }
    if apart && !out.is_empty() {
        out.push(String::new());
    }
    out.extend(block.trim_end_matches('\n').split('\n').map(str::to_owned));
    let rest = &lines[at..];
    if apart && rest.first().is_some_and(|line| !line.trim().is_empty()) {
        out.push(String::new());
    }
    out.extend(rest.iter().map(|line| line.to_string()));
    out.join("\n")
}

/// The next free ID in the series of `like` (its prefix, its width), or `REQ-001`.
pub(super) fn next_key<'a>(like: Option<&str>, taken: impl Iterator<Item = &'a str>) -> String {
    let (prefix, width) = like
        .and_then(|key| key.rsplit_once('-'))
        .filter(|(_, number)| !number.is_empty() && number.chars().all(|c| c.is_ascii_digit()))
        .map_or(("REQ".to_owned(), 3), |(prefix, number)| (prefix.to_uppercase(), number.len()));
    let highest = taken
        .filter_map(|key| key.rsplit_once('-'))
        .filter(|(other, _)| other.eq_ignore_ascii_case(&prefix))
        .filter_map(|(_, number)| number.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    format!("{prefix}-{:0width$}", highest + 1)
}

#[cfg(test)]
mod tests;
