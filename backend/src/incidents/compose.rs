//! The words of a draft made from an incident, and where they go in a spec: a new
//! requirement after the spec's last one, or an amendment (a regression scenario and a
//! provenance line) inside an existing requirement's block, always in the form the spec
//! writes requirements in. Text from outside (the incident's, a model's) is made safe
//! first. Pure text in, text out; lines end with `\n` (the caller keeps CRLF specs CRLF).

use charter_types::{IncidentId, IncidentSeverity};
use chrono::{DateTime, Utc};

use crate::structure::parse::Requirement;
#[cfg(test)]
use crate::structure::splice::insert_new;
pub(super) use crate::structure::splice::Form;
use crate::structure::splice::{heading_level, splice, trimmed_end};

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
