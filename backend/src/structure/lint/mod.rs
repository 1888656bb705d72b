//! The spec lint: a fixed, deterministic rule set. Each rule has an ID, a default
//! severity and a one-line explanation; a project's constitution turns rules off or
//! changes their severity under its "Checks" heading (`- \`vague-term\`: error`).

use std::collections::HashMap;
use std::sync::OnceLock;

use charter_types::{Finding, Kind, Severity};
use regex::Regex;
use serde::Serialize;
use utoipa::ToSchema;

use super::parse::{self, Requirement};
use super::{Corpus, Doc};
use crate::budget::Budget;
use crate::error::Result;

/// A lint rule as documented: what it checks, and how much it matters by default.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

pub const OPEN_CLARIFICATION: &str = "open-clarification";
pub const MISSING_ACCEPTANCE: &str = "missing-acceptance";
pub const MISSING_SHALL: &str = "missing-shall";
pub const VAGUE_TERM: &str = "vague-term";
pub const DUPLICATE_ID: &str = "duplicate-id";
pub const DANGLING_LINK: &str = "dangling-link";
pub const UNMEASURED_CRITERION: &str = "unmeasured-criterion";
pub const UNKNOWN_TASK_REFERENCE: &str = "unknown-task-reference";
pub const CONSTITUTION_VIOLATION: &str = "constitution-violation";
pub const NEAR_DUPLICATE: &str = "near-duplicate";
pub const API_WITHOUT_OPERATION: &str = "api-without-operation";

pub const RULES: [Rule; 11] = [
    Rule {
        id: OPEN_CLARIFICATION,
        severity: Severity::Warning,
        summary: "A [NEEDS CLARIFICATION: …] question is still unanswered.",
    },
    Rule {
        id: MISSING_ACCEPTANCE,
        severity: Severity::Warning,
        summary: "A requirement has no acceptance scenario (Given / When / Then) to test it by.",
    },
    Rule {
        id: MISSING_SHALL,
        severity: Severity::Warning,
        summary:
            "A requirement says neither SHALL nor MUST and follows no EARS pattern (When, While, If … then, Where).",
    },
    Rule {
        id: VAGUE_TERM,
        severity: Severity::Warning,
        summary: "A vague term (\"fast\", \"robust\", \"etc.\", …) is used without a measure.",
    },
    Rule {
        id: DUPLICATE_ID,
        severity: Severity::Error,
        summary: "A requirement ID is defined more than once in the project.",
    },
    Rule {
        id: DANGLING_LINK,
        severity: Severity::Error,
        summary: "A [[link]] names no requirement, principle or document.",
    },
    Rule {
        id: UNMEASURED_CRITERION,
        severity: Severity::Warning,
        summary: "A success criterion has no number, so nobody can tell whether it is met.",
    },
    Rule {
        id: UNKNOWN_TASK_REFERENCE,
        severity: Severity::Error,
        summary: "A task refers to a requirement ID that no spec defines.",
    },
    Rule {
        id: CONSTITUTION_VIOLATION,
        severity: Severity::Error,
        summary: "A spec breaks a machine-checkable principle of the constitution.",
    },
    Rule {
        id: NEAR_DUPLICATE,
        severity: Severity::Warning,
        summary: "A requirement says nearly what one in another document says (checked by meaning as you write; \
                  the duplicates report lists every pair).",
    },
    Rule {
        id: API_WITHOUT_OPERATION,
        severity: Severity::Warning,
        summary: "A requirement marked (API) is carried out by no operation of the project's contracts \
                  (x-requirements).",
    },
];

/// Every rule: the spec lint's, then the contract lint's (`contract::rules`).
pub fn all_rules() -> impl Iterator<Item = Rule> {
    RULES.iter().copied().chain(crate::contract::rules::RULES.iter().map(|&(id, severity, summary)| Rule {
        id,
        severity,
        summary,
    }))
}

/// The principle checks a constitution can ask for (`**Check:** requirements-have-acceptance`).
pub const PRINCIPLE_CHECKS: [(&str, &str); 4] = [
    ("requirements-have-acceptance", "every requirement has an acceptance scenario"),
    ("requirements-use-shall", "every requirement says SHALL or MUST (or follows an EARS pattern)"),
    ("requirements-have-priority", "every requirement has a priority (P1–P3)"),
    ("no-open-clarifications", "no spec keeps an open [NEEDS CLARIFICATION] marker"),
];

/// Which rules run, at which severity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    severities: HashMap<&'static str, Option<Severity>>,
}

impl Default for Config {
    fn default() -> Config {
        Config { severities: all_rules().map(|rule| (rule.id, Some(rule.severity))).collect() }
    }
}

/// A rule's severity as the constitution sets it: a severity, or `off` (`Some(None)`).
fn severity_setting(text: &str) -> Option<Option<Severity>> {
    if text == "off" {
        Some(None)
    } else {
        text.parse().ok().map(Some)
    }
}

impl Config {
    /// The defaults, changed by `rule: severity` settings; unknown rules and severities
    /// are ignored (the constitution is prose first).
    pub fn from_settings(settings: &[(String, String)]) -> Config {
        let mut config = Config::default();
        for (rule, severity) in settings {
            if let (Some(rule), Some(severity)) =
                (all_rules().find(|known| known.id == rule), severity_setting(severity))
            {
                config.severities.insert(rule.id, severity);
            }
        }
        config
    }

    pub fn severity(&self, rule: &str) -> Option<Severity> {
        self.severities.get(rule).copied().flatten()
    }

    /// Every rule with the severity it runs at (`None`: off).
    pub fn rules(&self) -> Vec<(Rule, Option<Severity>)> {
        all_rules().map(|rule| (rule, self.severity(rule.id))).collect()
    }
}

fn vague_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)\b(fast|quickly|user-friendly|robust|as appropriate|etc\.|scalable|intuitive|easy to use|seamless(?:ly)?|efficient(?:ly)?)(?:\b|$|\s)",
        )
        .unwrap()
    })
}

fn shall_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?i)\b(shall|must)\b|^(when|while|where)\b|^if\b.*\bthen\b").unwrap())
}

fn check_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?i)\bcheck\b\**\s*:\s*\**\s*`?([a-z][a-z-]+)`?").unwrap())
}

pub(crate) fn has_shall(requirement: &Requirement) -> bool {
    shall_regex().is_match(requirement.text.trim()) || shall_regex().is_match(requirement.title.trim())
}

/// The machine check a principle asks for, if any (from its `Check:` line).
pub fn principle_check(principle: &Requirement) -> Option<&'static str> {
    let wanted = check_regex().captures(&principle.text)?;
    PRINCIPLE_CHECKS.iter().map(|(id, _)| *id).find(|id| wanted[1].eq_ignore_ascii_case(id))
}

struct Out<'a> {
    config: &'a Config,
    doc: &'a Doc,
    findings: Vec<Finding>,
}

impl Config {
    /// A finding of `rule` in `doc`, at the severity the rule runs at; `None` when the
    /// constitution turns the rule off.
    pub fn finding(
        &self,
        rule: &str,
        doc: &Doc,
        (line, column, length): (usize, usize, usize),
        message: String,
    ) -> Option<Finding> {
        self.severity(rule).map(|severity| Finding {
            rule: rule.to_owned(),
            severity,
            message,
            document_id: doc.id,
            document: doc.title.clone(),
            line,
            column,
            length: length.max(1),
        })
    }
}

impl Out<'_> {
    fn push(&mut self, rule: &str, line: usize, column: usize, length: usize, message: String) {
        self.findings.extend(self.config.finding(rule, self.doc, (line, column, length), message));
    }
}

/// At most this many other places are named in one message.
const LISTED: usize = 5;

/// `names` joined, saying how many of `total` are left out.
fn listed(names: Vec<String>, total: usize) -> String {
    let more = total.saturating_sub(names.len());
    let names = names.join(", ");
    if more == 0 {
        names
    } else {
        format!("{names} and {more} more")
    }
}

/// The findings for one document of the corpus, in line order.
pub fn document(corpus: &Corpus, doc: &Doc) -> Vec<Finding> {
    let config = corpus.config();
    if doc.kind == Kind::Contract {
        return super::contracts::findings(corpus, &config, doc);
    }
    let mut out = Out { config: &config, doc, findings: Vec::new() };
    let structure = doc.structure();
    let is_constitution = doc.kind == Kind::Constitution;

    for marker in &structure.clarifications {
        let message = format!("Open question: {}", marker.question);
        out.push(OPEN_CLARIFICATION, marker.line, marker.column, parse::utf16_len(&marker.raw), message);
    }
    for requirement in &structure.requirements {
        let (line, column, length) = (requirement.line, requirement.column, parse::utf16_len(&requirement.key));
        let defined = corpus.definition_count(&requirement.key);
        if defined > 1 {
            let elsewhere: Vec<String> = corpus
                .definitions(&requirement.key)
                .filter(|(other, r)| !(other.id == doc.id && r.line == requirement.line))
                .take(LISTED)
                .map(|(other, r)| format!("{} line {}", other.title, r.line))
                .collect();
            let message =
                format!("{} is defined more than once: also in {}", requirement.key, listed(elsewhere, defined - 1));
            out.push(DUPLICATE_ID, line, column, length, message);
        }
        if is_constitution {
            continue;
        }
        if requirement.acceptance.is_empty() {
            let message = format!("{} has no acceptance scenario (Given / When / Then)", requirement.key);
            out.push(MISSING_ACCEPTANCE, line, column, length, message);
        }
        if requirement.api && !corpus.contracts().carries(&requirement.key) {
            let message = format!(
                "{} is marked (API), but no contract operation carries it out: name it in an operation's x-requirements",
                requirement.key
            );
            out.push(API_WITHOUT_OPERATION, line, column, length, message);
        }
        if !has_shall(requirement) {
            let message = format!(
                "{} says neither SHALL nor MUST and follows no EARS pattern (When, While, If … then, Where)",
                requirement.key
            );
            out.push(MISSING_SHALL, line, column, length, message);
        }
    }
    vague_terms(&mut out);
    for link in &structure.links {
        if corpus.resolve(&link.target).is_none() {
            let message = format!("[[{}]] names no requirement, principle or document", link.target);
            out.push(DANGLING_LINK, link.line, link.column, link.length, message);
        }
    }
    for criterion in &structure.criteria {
        if !has_measure(&criterion.text) {
            let message = "This success criterion has no number to measure it by".to_owned();
            out.push(
                UNMEASURED_CRITERION,
                criterion.line,
                criterion.column,
                parse::utf16_len(&criterion.text),
                message,
            );
        }
    }
    let prefixes = corpus.prefixes();
    for task in &structure.tasks {
        for mention in &task.references {
            let prefix = mention.key.rsplit_once('-').map_or("", |(prefix, _)| prefix);
            if !corpus.defines(&mention.key) && prefixes.contains(prefix) {
                let message = format!("This task refers to {}, which no spec defines", mention.key);
                out.push(UNKNOWN_TASK_REFERENCE, mention.line, mention.column, parse::utf16_len(&mention.key), message);
            }
        }
    }
    if !is_constitution {
        principle_violations(corpus, &mut out);
    }
    let mut findings = out.findings;
    findings.sort_by_key(|finding| (finding.line, finding.column));
    findings
}

/// Vague words on the lines of requirements and success criteria, unless that line
/// also gives a number.
fn vague_terms(out: &mut Out<'_>) {
    let doc = out.doc;
    let structure = doc.structure();
    let ranges = structure
        .requirements
        .iter()
        .map(|requirement| (requirement.line, requirement.end_line))
        .chain(structure.criteria.iter().map(|criterion| (criterion.line, criterion.line)));
    let covered = parse::covered_lines(ranges);
    if covered.is_empty() {
        return;
    }
    for line in parse::lines(doc.text()) {
        if !covered.get(line.number).copied().unwrap_or(false) || has_measure(&line.text) {
            continue;
        }
        let mut columns = parse::Columns::new(line.raw);
        for found in vague_regex().captures_iter(&line.text) {
            let term = found.get(1).expect("group 1");
            let message =
                format!("\"{}\" is vague without a measure: say how much, how fast or how many", term.as_str());
            out.push(VAGUE_TERM, line.number, columns.of(term.start()), parse::utf16_len(term.as_str()), message);
        }
    }
}

/// A number other than an ID (`AUTH-001`) or a priority (`P1`) on the line.
fn has_measure(text: &str) -> bool {
    static PRIORITY: OnceLock<Regex> = OnceLock::new();
    let without_ids = parse::id_regex().replace_all(text, " ");
    let without_priorities = PRIORITY.get_or_init(|| Regex::new(r"\bP[1-3]\b").unwrap()).replace_all(&without_ids, " ");
    without_priorities.chars().any(|c| c.is_ascii_digit())
}

/// Requirements that break the constitution's machine-checkable principles. Principles
/// asking for the same check share one finding per requirement.
fn principle_violations(corpus: &Corpus, out: &mut Out<'_>) {
    let Some(constitution) = corpus.constitution() else { return };
    let mut by_check: Vec<(&str, Vec<String>, usize)> = Vec::new();
    for principle in &constitution.structure().requirements {
        let Some(check) = principle_check(principle) else { continue };
        let at = by_check.iter().position(|(known, ..)| *known == check).unwrap_or_else(|| {
            by_check.push((check, Vec::new(), 0));
            by_check.len() - 1
        });
        let (_, names, count) = &mut by_check[at];
        if names.len() < LISTED {
            names.push(format!("{} ({})", principle.key, principle.title));
        }
        *count += 1;
    }
    let structure = out.doc.structure();
    for (check, names, count) in by_check {
        let name = listed(names, count);
        let mut violations: Vec<(usize, usize, usize, String)> = Vec::new();
        match check {
            "no-open-clarifications" => {
                for marker in &structure.clarifications {
                    violations.push((
                        marker.line,
                        marker.column,
                        parse::utf16_len(&marker.raw),
                        "an open question remains".into(),
                    ));
                }
            }
            _ => {
                for requirement in &structure.requirements {
                    let broken = match check {
                        "requirements-have-acceptance" => requirement
                            .acceptance
                            .is_empty()
                            .then(|| format!("{} has no acceptance scenario", requirement.key)),
                        "requirements-use-shall" => (!has_shall(requirement))
                            .then(|| format!("{} says neither SHALL nor MUST", requirement.key)),
                        _ => requirement.priority.is_none().then(|| format!("{} has no priority", requirement.key)),
                    };
                    if let Some(what) = broken {
                        violations.push((
                            requirement.line,
                            requirement.column,
                            parse::utf16_len(&requirement.key),
                            what,
                        ));
                    }
                }
            }
        }
        for (line, column, length, what) in violations {
            out.push(CONSTITUTION_VIOLATION, line, column, length, format!("Violates {name}: {what}"));
        }
    }
}

/// Every document's findings, documents in corpus order.
pub fn all(corpus: &Corpus, budget: &Budget) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    for doc in &corpus.docs {
        budget.check()?;
        findings.extend(document(corpus, doc));
    }
    Ok(findings)
}

#[cfg(test)]
mod tests;
