//! What the search index holds of a document: each requirement, and each section (a
//! heading and the prose under it, the requirements it holds left out so that a
//! requirement is found as itself, not also as its section); of a contract, each
//! operation.

use charter_types::{HitKind, Kind};
use sha2::{Digest, Sha256};

use crate::contract::{operation_name, Contract};
use crate::structure::parse::{self, heading, lines, section_path};

/// One indexed piece of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub kind: HitKind,
    pub key: Option<String>,
    pub title: String,
    pub body: String,
    pub scenarios: Vec<String>,
    pub priority: Option<String>,
    /// The headings above it, joined with ` › ` as requirements' sections are.
    pub section: String,
    pub line: usize,
}

impl Entry {
    /// What its embedding is made from (see [`meaning`]).
    pub fn meaning(&self) -> String {
        meaning(&self.title, &self.body, &self.scenarios)
    }

    /// Names its meaning text: entries with equal digests share an embedding.
    pub fn digest(&self) -> Vec<u8> {
        Sha256::digest(self.meaning().as_bytes()).to_vec()
    }
}

/// An entry's text as a reader takes it in: its title, text and scenarios (the key
/// carries no meaning).
pub fn meaning(title: &str, body: &str, scenarios: &[String]) -> String {
    let mut text = title.to_owned();
    // A one-line requirement's text is its title.
    for part in std::iter::once(body).chain(scenarios.iter().map(String::as_str)) {
        if part.is_empty() || part == title {
            continue;
        }
        if !text.is_empty() {
            text.push_str(if text.ends_with(['.', ':', '!', '?']) { " " } else { ". " });
        }
        text.push_str(part);
    }
    text
}

/// The entries of a document, in the order they appear: a contract's operations, or
/// the requirements and sections of Markdown.
pub fn entries(kind: Kind, text: &str) -> Vec<Entry> {
    match kind {
        Kind::Contract => operation_entries(text),
        _ => markdown_entries(text),
    }
}

/// A contract's operations, each found by its method and path, summary, description
/// and the requirements it carries out.
fn operation_entries(text: &str) -> Vec<Entry> {
    let contract = Contract::read(text);
    let Some(readable) = contract.readable() else { return Vec::new() };
    let paths = readable.source.value.get("paths");
    readable
        .operations
        .iter()
        .map(|operation| {
            let value = paths.and_then(|paths| paths.get(&operation.path)?.get(operation.method.as_str()));
            let described = value.and_then(|value| value.get("description")?.as_str()).unwrap_or_default();
            let mut body = described.split_whitespace().collect::<Vec<_>>().join(" ");
            if !operation.requirements.is_empty() {
                body.push_str(&format!(
                    "{}Carries out {}.",
                    if body.is_empty() { "" } else { " " },
                    operation.requirements.join(", ")
                ));
            }
            let name = operation_name(operation);
            let title = match &operation.summary {
                Some(summary) => format!("{name}: {summary}"),
                None => name,
            };
            Entry {
                section: operation.tags.first().cloned().unwrap_or_default(),
                body,
                ..section_entry(title, String::new(), operation.line)
            }
        })
        .collect()
}

/// The entries of a document's Markdown, in the order they appear.
fn markdown_entries(markdown: &str) -> Vec<Entry> {
    let structure = parse::parse(markdown);
    // Lines that belong to a requirement (its heading or list item and its body).
    let mut owned: Vec<(usize, usize)> =
        structure.requirements.iter().map(|requirement| (requirement.line, requirement.end_line)).collect();
    owned.sort_unstable();
    // Lines come in order, so one cursor over the sorted ranges keeps this linear.
    let mut next = 0;
    let mut in_requirement = |line: usize| {
        while owned.get(next).is_some_and(|(_, end)| *end < line) {
            next += 1;
        }
        owned[next..].iter().take_while(|(start, _)| *start <= line).any(|(_, end)| *end >= line)
    };

    let mut out: Vec<Entry> = structure
        .requirements
        .into_iter()
        .map(|requirement| Entry {
            kind: HitKind::Requirement,
            key: Some(requirement.key),
            title: requirement.title,
            body: requirement.text,
            scenarios: requirement.acceptance,
            priority: requirement.priority,
            section: requirement.section,
            line: requirement.line,
        })
        .collect();

    let mut path: Vec<(usize, String)> = Vec::new();
    let mut open: Option<Entry> = None;
    let close = |entry: Option<Entry>, out: &mut Vec<Entry>| {
        if let Some(entry) = entry.filter(|entry| !entry.title.is_empty() || !entry.body.is_empty()) {
            out.push(entry);
        }
    };
    for line in lines(markdown) {
        if let Some((level, _)) = heading(&line.text) {
            let title = heading(line.raw).map(|(_, text)| text).unwrap_or_default();
            path.retain(|(other, _)| *other < level);
            let section = section_path(&path);
            path.push((level, title.clone()));
            close(open.take(), &mut out);
            if !in_requirement(line.number) {
                open = Some(section_entry(title, section, line.number));
            }
            continue;
        }
        if in_requirement(line.number) || line.text.trim().is_empty() {
            continue;
        }
        let entry = open.get_or_insert_with(|| section_entry(String::new(), String::new(), line.number));
        if !entry.body.is_empty() {
            entry.body.push(' ');
        }
        entry.body.push_str(&line.raw.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    close(open.take(), &mut out);
    out.sort_by_key(|entry| entry.line);
    out
}

fn section_entry(title: String, section: String, line: usize) -> Entry {
    Entry {
        kind: HitKind::Section,
        key: None,
        title,
        body: String::new(),
        scenarios: Vec::new(),
        priority: None,
        section,
        line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "# Payments\n\nHow we take money.\n\n## Requirements\n\n\
        - **PAY-001** The system SHALL charge a card at most once per order.\n  \
        - Given an order paid once, when the customer pays again, then no second charge is made\n\n\
        Refunds go back to the card.\n\n### PAY-002: Receipts\n\nThe system SHALL email a receipt.\n\n\
        ```\n# not a heading\n```\n\n## Edge cases\n\nA card that expires mid-order.\n";

    #[test]
    fn requirements_and_sections_are_entries_of_their_own() {
        let found = entries(Kind::Spec, SPEC);
        let summary: Vec<(HitKind, Option<&str>, &str, &str)> = found
            .iter()
            .map(|entry| (entry.kind, entry.key.as_deref(), entry.title.as_str(), entry.section.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (HitKind::Section, None, "Payments", ""),
                (HitKind::Section, None, "Requirements", ""),
                (
                    HitKind::Requirement,
                    Some("PAY-001"),
                    "The system SHALL charge a card at most once per order.",
                    "Requirements"
                ),
                (HitKind::Requirement, Some("PAY-002"), "Receipts", "Requirements"),
                (HitKind::Section, None, "Edge cases", ""),
            ]
        );
        assert_eq!(found[0].body, "How we take money.");
        // The requirement's own lines stay out of its section; the prose after it stays in.
        assert_eq!(found[1].body, "Refunds go back to the card.");
        assert_eq!(found[2].scenarios.len(), 1);
        assert_eq!(found[4].body, "A card that expires mid-order.");
        assert_eq!(found.iter().map(|entry| entry.line).collect::<Vec<_>>(), [1, 5, 7, 12, 20]);
    }

    #[test]
    fn meaning_is_title_text_and_scenarios_without_the_key() {
        let found = entries(Kind::Spec, SPEC);
        assert_eq!(
            found[2].meaning(),
            "The system SHALL charge a card at most once per order. Given an order paid once, \
             when the customer pays again, then no second charge is made"
        );
        assert_eq!(found[3].meaning(), "Receipts. The system SHALL email a receipt.");
        assert_eq!(found[0].meaning(), "Payments. How we take money.");
        let moved = entries(Kind::Spec, &format!("\n\n{SPEC}"));
        assert_eq!(moved[3].digest(), found[3].digest(), "where it is does not change what it means");
        assert_ne!(found[3].digest(), found[2].digest());
    }

    #[test]
    fn prose_before_any_heading_is_a_section_without_a_title() {
        let found = entries(Kind::Spec, "Just a note.\n\nOn two lines.\n");
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].title.as_str(), found[0].body.as_str()), ("", "Just a note. On two lines."));
        assert!(entries(Kind::Spec, "").is_empty());
    }

    #[test]
    fn a_contract_is_found_by_its_operations() {
        let contract = "openapi: 3.1.0\ninfo: {title: Shop, version: '1'}\npaths:\n  /orders:\n    post:\n      summary: Place an order\n      description: Charges the card\n        once.\n      tags: [orders]\n      x-requirements: [PAY-001]\n    get: {}\n";
        let found = entries(Kind::Contract, contract);
        let shown: Vec<(&str, &str, &str, usize)> =
            found.iter().map(|e| (e.title.as_str(), e.body.as_str(), e.section.as_str(), e.line)).collect();
        assert_eq!(
            shown,
            [
                ("POST /orders: Place an order", "Charges the card once. Carries out PAY-001.", "orders", 5),
                ("GET /orders", "", "", 11),
            ]
        );
        assert!(found.iter().all(|entry| entry.kind == HitKind::Section));
        assert!(entries(Kind::Contract, "openapi: [").is_empty());
    }
}
