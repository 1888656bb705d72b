//! Constitution governance: the semantic version a constitution carries, the bump a
//! change implies (read from the principles that changed), and the impact of a MAJOR
//! change on the project's specs.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::OnceLock;

use charter_types::{Bump, Finding, Impact, Kind, PrincipleChange, PrincipleChangeKind, Proposal};
use regex::Regex;

use super::parse::{self, Requirement};
use super::{lint, Corpus};

/// A `MAJOR.MINOR.PATCH` version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u64, pub u64, pub u64);

impl Version {
    pub fn parse(text: &str) -> Option<Version> {
        let mut parts = text.trim().trim_start_matches('v').splitn(3, '.').map(|part| part.parse::<u64>().ok());
        Some(Version(parts.next()??, parts.next()??, parts.next()??))
    }

    pub fn bumped(self, bump: Bump) -> Version {
        match bump {
            Bump::Major => Version(self.0 + 1, 0, 0),
            Bump::Minor => Version(self.0, self.1 + 1, 0),
            Bump::Patch => Version(self.0, self.1, self.2 + 1),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// Words that set what a rule demands: changing them changes the rule.
const NORMATIVE: [&str; 11] =
    ["must", "shall", "should", "may", "never", "not", "always", "required", "optional", "only", "forbidden"];

fn normative(words: &[String]) -> HashMap<&str, usize> {
    let mut counts = HashMap::new();
    for word in words {
        if let Some(known) = NORMATIVE.iter().find(|n| **n == word) {
            *counts.entry(*known).or_insert(0) += 1;
        }
    }
    counts
}

/// Multiset difference: how many of `a`'s words are not in `b`.
fn missing(a: &[String], b: &[String]) -> usize {
    let mut pool: HashMap<&str, usize> = HashMap::new();
    for word in b {
        *pool.entry(word).or_insert(0) += 1;
    }
    a.iter()
        .filter(|word| match pool.get_mut(word.as_str()) {
            Some(count) if *count > 0 => {
                *count -= 1;
                false
            }
            _ => true,
        })
        .count()
}

/// How a principle present before and after changed: `None` when it did not.
fn classify(old: &Requirement, new: &Requirement) -> Option<(PrincipleChangeKind, Bump)> {
    let (before, after) = (format!("{} {}", old.title, old.text), format!("{} {}", new.title, new.text));
    if parse_squash(&before) == parse_squash(&after) {
        return None;
    }
    if lint::principle_check(old) != lint::principle_check(new) {
        return Some((PrincipleChangeKind::Redefined, Bump::Major));
    }
    let (old_words, new_words) = (words(&old.text), words(&new.text));
    if normative(&old_words) != normative(&new_words) {
        return Some((PrincipleChangeKind::Redefined, Bump::Major));
    }
    let removed = missing(&old_words, &new_words);
    let added = missing(&new_words, &old_words);
    let size = old_words.len().max(1);
    if removed * 10 > size * 3 {
        // More than 30% of what it said is gone: it says something else now.
        Some((PrincipleChangeKind::Redefined, Bump::Major))
    } else if added >= 5 && added * 4 >= size {
        // It keeps what it said and says a quarter more (at least five words).
        Some((PrincipleChangeKind::Expanded, Bump::Minor))
    } else {
        Some((PrincipleChangeKind::Reworded, Bump::Patch))
    }
}

fn parse_squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text outside principles and the version line, to tell whether it changed.
fn other_text(text: &str) -> String {
    let structure = parse::parse(text);
    let principles = parse::covered_lines(structure.requirements.iter().map(|r| (r.line, r.end_line)));
    text.lines()
        .enumerate()
        .filter(|(index, _)| {
            let number = index + 1;
            structure.metadata.line != Some(number) && !principles.get(number).copied().unwrap_or(false)
        })
        .map(|(_, line)| line.trim())
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The bump from constitution `old` to `new`: the largest any change implies. `None`
/// when nothing but the version line changed.
pub fn propose(old: &str, new: &str) -> Option<Proposal> {
    let (before, after) = (parse::parse(old), parse::parse(new));
    let old_by_key: HashMap<&str, &Requirement> = before.requirements.iter().map(|r| (r.key.as_str(), r)).collect();
    let new_keys: HashSet<&str> = after.requirements.iter().map(|r| r.key.as_str()).collect();
    let mut principles = Vec::new();
    for old_principle in &before.requirements {
        if !new_keys.contains(old_principle.key.as_str()) {
            principles.push(PrincipleChange {
                key: old_principle.key.clone(),
                title: old_principle.title.clone(),
                change: PrincipleChangeKind::Removed,
                bump: Bump::Major,
            });
        }
    }
    for new_principle in &after.requirements {
        let found = match old_by_key.get(new_principle.key.as_str()) {
            None => Some((PrincipleChangeKind::Added, Bump::Minor)),
            Some(old_principle) => classify(old_principle, new_principle),
        };
        if let Some((change, bump)) = found {
            principles.push(PrincipleChange {
                key: new_principle.key.clone(),
                title: new_principle.title.clone(),
                change,
                bump,
            });
        }
    }
    let other_text_changed = other_text(old) != other_text(new);
    let bump = principles.iter().map(|change| change.bump).max();
    let bump = match (bump, other_text_changed) {
        (Some(bump), _) => bump,
        (None, true) => Bump::Patch,
        (None, false) => return None,
    };
    Some(Proposal { bump, principles, other_text_changed })
}

fn version_line_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?i)^.*\*{0,2}version\*{0,2}\s*:.*$").unwrap())
}

/// The constitution's text with its version line saying `version`, amended `today`
/// (and ratified `today` if it never was).
pub fn stamp(text: &str, version: Version, today: chrono::NaiveDate) -> String {
    let metadata = parse::parse(text).metadata;
    let date = today.format("%Y-%m-%d").to_string();
    let ratified = metadata.ratified.unwrap_or_else(|| date.clone());
    let line = format!("**Version**: {version} | **Ratified**: {ratified} | **Last Amended**: {date}");
    match metadata.line {
        Some(number) => text
            .split_inclusive('\n')
            .enumerate()
            .map(|(index, original)| {
                if index + 1 == number && version_line_regex().is_match(original.trim_end()) {
                    let ending = &original[original.trim_end_matches(['\n', '\r']).len()..];
                    format!("{line}{ending}")
                } else {
                    original.to_owned()
                }
            })
            .collect(),
        None => {
            // Under the title, or at the top.
            let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
            let at = lines.iter().position(|l| l.starts_with("# ")).map_or(0, |title| title + 1);
            let block = format!("\n{line}\n");
            lines.insert(at, &block);
            lines.concat()
        }
    }
}

/// The specs that name a removed or redefined principle, or fail the lint's
/// constitution checks under the new constitution (`corpus` holds it).
pub fn impact(corpus: &Corpus, proposal: &Proposal) -> Vec<Impact> {
    let breaking: HashSet<String> = proposal.breaking().map(|change| change.key.to_uppercase()).collect();
    corpus
        .docs
        .iter()
        .filter(|doc| doc.kind != Kind::Constitution)
        .filter_map(|doc| {
            let mut references: Vec<String> = doc
                .structure()
                .mentions
                .iter()
                .map(|mention| mention.key.to_uppercase())
                .filter(|key| breaking.contains(key))
                .collect();
            references.sort();
            references.dedup();
            // Principles' checks are about specs: a contract breaks none.
            let findings: Vec<Finding> = match doc.kind {
                Kind::Contract => Vec::new(),
                _ => lint::document(corpus, doc)
                    .into_iter()
                    .filter(|finding| finding.rule == lint::CONSTITUTION_VIOLATION)
                    .collect(),
            };
            (!references.is_empty() || !findings.is_empty()).then(|| Impact {
                document_id: doc.id,
                title: doc.title.clone(),
                references,
                findings,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use charter_types::DocumentId;
    use uuid::Uuid;

    use crate::structure::Doc;

    const BASE: &str = "# Constitution\n\n**Version**: 1.4.2 | **Ratified**: 2026-01-01 | **Last Amended**: 2026-02-01\n\n\
        ## Core principles\n\n\
        ### P-01: Specs first\n\n**Rule:** Every behaviour MUST be specified before it is built.\n\n\
        ### P-02: Testable\n\n**Rule:** Every requirement MUST have an acceptance scenario.\n\n**Check:** `requirements-have-acceptance`\n\n\
        ## Governance\n\nAmendments need one approval.\n";

    fn bump(new: &str) -> Option<Bump> {
        propose(BASE, new).map(|proposal| proposal.bump)
    }

    #[test]
    fn removing_or_redefining_a_principle_is_major() {
        let removed = BASE.replace(
            "### P-01: Specs first\n\n**Rule:** Every behaviour MUST be specified before it is built.\n\n",
            "",
        );
        let proposal = propose(BASE, &removed).unwrap();
        assert_eq!(proposal.bump, Bump::Major);
        assert_eq!(proposal.principles[0].change, PrincipleChangeKind::Removed);
        // A weaker rule (MUST → SHOULD) is a new rule.
        assert_eq!(bump(&BASE.replace("behaviour MUST be", "behaviour SHOULD be")), Some(Bump::Major));
        // Most of the rule rewritten.
        assert_eq!(
            bump(&BASE.replace(
                "Every behaviour MUST be specified before it is built.",
                "Prototypes MUST ship weekly to users."
            )),
            Some(Bump::Major)
        );
        // Its machine check changed.
        assert_eq!(
            bump(&BASE.replace("`requirements-have-acceptance`", "`requirements-have-priority`")),
            Some(Bump::Major)
        );
    }

    #[test]
    fn adding_or_expanding_a_principle_is_minor() {
        let added =
            BASE.replace("## Governance", "### P-03: Clarify\n\n**Rule:** Unknowns MUST be marked.\n\n## Governance");
        let proposal = propose(BASE, &added).unwrap();
        assert_eq!(proposal.bump, Bump::Minor);
        assert_eq!(
            proposal.principles,
            [PrincipleChange {
                key: "P-03".into(),
                title: "Clarify".into(),
                change: PrincipleChangeKind::Added,
                bump: Bump::Minor
            }]
        );
        let expanded = BASE.replace(
            "before it is built.",
            "before it is built, including error handling, limits, and the behaviour of every background job.",
        );
        assert_eq!(propose(BASE, &expanded).unwrap().principles[0].change, PrincipleChangeKind::Expanded);
        assert_eq!(bump(&expanded), Some(Bump::Minor));
    }

    #[test]
    fn wording_only_is_patch() {
        assert_eq!(bump(&BASE.replace("before it is built", "before it gets built")), Some(Bump::Patch));
        assert_eq!(
            bump(&BASE.replace("Amendments need one approval.", "Amendments need one approval from a reviewer.")),
            Some(Bump::Patch)
        );
        assert_eq!(bump(&BASE.replace("1.4.2", "1.4.3")), None, "the version line alone is no change");
        assert_eq!(bump(BASE), None);
    }

    #[test]
    fn versions_bump_and_stamp() {
        let version = Version::parse("1.4.2").unwrap();
        assert_eq!(version.bumped(Bump::Major).to_string(), "2.0.0");
        assert_eq!(version.bumped(Bump::Minor).to_string(), "1.5.0");
        assert_eq!(version.bumped(Bump::Patch).to_string(), "1.4.3");
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let stamped = stamp(BASE, Version(2, 0, 0), day);
        assert!(
            stamped.contains("**Version**: 2.0.0 | **Ratified**: 2026-01-01 | **Last Amended**: 2026-11-21\n"),
            "{stamped}"
        );
        assert_eq!(stamped.lines().count(), BASE.lines().count());
        let fresh = stamp("# Constitution\n\nPrinciples.\n", Version(1, 0, 0), day);
        assert!(fresh.starts_with("# Constitution\n\n**Version**: 1.0.0 | **Ratified**: 2026-11-21"), "{fresh}");
    }

    #[test]
    fn impact_names_specs_that_reference_changed_principles_or_now_fail() {
        let new = BASE
            .replace("### P-01: Specs first\n\n**Rule:** Every behaviour MUST be specified before it is built.\n\n", "")
            .replace("`requirements-have-acceptance`", "`requirements-have-priority`");
        let proposal = propose(BASE, &new).unwrap();
        assert_eq!(proposal.bump, Bump::Major);
        let docs = vec![
            Doc::new(DocumentId::from_uuid(Uuid::from_u128(9)), "Constitution".into(), Kind::Constitution, new.clone()),
            Doc::new(
                DocumentId::from_uuid(Uuid::from_u128(1)),
                "Login".into(),
                Kind::Spec,
                "Follows [[P-01]].\n\n- **AUTH-001** (P1) The system SHALL log in.\n  - Given a, When b, Then c.\n"
                    .into(),
            ),
            Doc::new(
                DocumentId::from_uuid(Uuid::from_u128(2)),
                "Export".into(),
                Kind::Spec,
                "- **EXP-001** The system SHALL export.\n  - Given a, When b, Then c.\n".into(),
            ),
            Doc::new(
                DocumentId::from_uuid(Uuid::from_u128(3)),
                "Fine".into(),
                Kind::Spec,
                "- **FIN-001** (P2) The system SHALL be fine.\n  - Given a, When b, Then c.\n".into(),
            ),
            // A contract holds no requirements for the principles' checks to fail.
            Doc::new(
                DocumentId::from_uuid(Uuid::from_u128(4)),
                "Orders".into(),
                Kind::Contract,
                "openapi: 3.1.0\ninfo: {title: Orders, version: 1.0.0}\npaths:\n  /orders:\n    get:\n      responses:\n        '200': {description: Orders.}\n".into(),
            ),
        ];
        let report = impact(&Corpus::new(docs), &proposal);
        assert_eq!(report.len(), 2, "{report:?}");
        assert_eq!((report[0].title.as_str(), report[0].references.clone()), ("Login", vec!["P-01".to_owned()]));
        assert!(report[0].findings.is_empty());
        assert_eq!(report[1].title, "Export");
        assert_eq!(report[1].findings[0].message, "Violates P-02 (Testable): EXP-001 has no priority");
    }
}
