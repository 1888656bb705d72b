//! Reads a Markdown document into its structure: requirements with their acceptance
//! scenarios, `[NEEDS CLARIFICATION: …]` markers, `[[links]]`, task items, success
//! criteria and (in a constitution) version metadata. Line-based and deterministic, so
//! a structure can be pointed at lines in the editor; text in fenced code blocks and in
//! inline code spans is never structure.

use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A requirement (a principle, in a constitution), in either accepted form:
/// `- **AUTH-001** The system SHALL …` with its scenarios in an indented sub-list, or a
/// heading `### AUTH-001: Title` followed by its text and scenarios.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Requirement {
    pub key: String,
    pub title: String,
    pub text: String,
    /// Given / When / Then scenarios (or whatever its list items say).
    pub acceptance: Vec<String>,
    /// `P1`–`P3`, from the requirement itself or the heading it sits under.
    pub priority: Option<String>,
    /// 1-based line of the ID.
    pub line: usize,
    /// 1-based column of the ID, in UTF-16 code units (as browsers count).
    pub column: usize,
    /// 1-based line where its block ends.
    pub end_line: usize,
    /// The heading path it sits under, e.g. `Requirements › Functional`.
    pub section: String,
}

/// A `[NEEDS CLARIFICATION: question]` marker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Marker {
    pub question: String,
    /// The marker exactly as written.
    pub raw: String,
    pub line: usize,
    pub column: usize,
}

/// A `[[target]]` or `[[target|label]]` link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Link {
    pub target: String,
    pub line: usize,
    pub column: usize,
    /// Length of the whole `[[…]]`, in UTF-16 code units.
    pub length: usize,
}

/// A checklist item `- [ ] …` / `- [x] …` and the requirement IDs it mentions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Task {
    pub text: String,
    pub done: bool,
    pub references: Vec<Mention>,
    pub line: usize,
}

/// An ID-shaped word in running text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Mention {
    pub key: String,
    pub line: usize,
    pub column: usize,
}

/// An item under a "Success criteria" heading.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Criterion {
    pub text: String,
    pub line: usize,
    pub column: usize,
}

/// A constitution's `**Version**: 1.2.0 | **Ratified**: … | **Last Amended**: …` line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Metadata {
    pub version: Option<String>,
    pub ratified: Option<String>,
    pub amended: Option<String>,
    /// The line holding the version (1-based), if any.
    pub line: Option<usize>,
}

/// Everything Charter reads out of one document.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Structure {
    pub requirements: Vec<Requirement>,
    pub clarifications: Vec<Marker>,
    pub links: Vec<Link>,
    pub tasks: Vec<Task>,
    pub criteria: Vec<Criterion>,
    /// Every ID-shaped word outside code: links, task references, prose.
    pub mentions: Vec<Mention>,
    pub metadata: Metadata,
    /// `rule: severity` items under a "Checks" heading (constitutions configure lint so).
    pub settings: Vec<(String, String)>,
}

/// Letters, a dash, digits: `AUTH-001`, `P-01`, `ÉCHANGE-7`.
pub const ID_PATTERN: &str = r"\p{L}+-\d+";

pub(crate) fn id_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(&format!(r"(?:^|[^\p{{L}}\p{{N}}_-])({ID_PATTERN})(?:$|[^\p{{L}}\p{{N}}_-])")).unwrap()
    })
}

/// True when the whole of `text` is a requirement ID.
pub fn is_id(text: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(&format!("^{ID_PATTERN}$")).unwrap()).is_match(text)
}

fn list_item_regex() -> &'static Regex {
    // indent, bullet, optional checkbox, rest
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^(\s*)(?:[-*+]|\d{1,9}[.)])(?:\s+|$)(\[[ xX]\]\s+)?(.*)$").unwrap())
}

fn bold_id_regex() -> &'static Regex {
    // `**AUTH-001**`, `**AUTH-001:**` or `**AUTH-001**:` at the start of an item.
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(&format!(r"^\*\*({ID_PATTERN}):?\*\*:?\s*(.*)$")).unwrap())
}

fn heading_id_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // `AUTH-001: Title`, `AUTH-001 — Title`, `AUTH-001. Title` or the bare ID; not
    // `COVID-19 impact`, which is prose.
    RE.get_or_init(|| Regex::new(&format!(r"^({ID_PATTERN})(?:\s*:\s*|\s+[–—-]\s+|\.\s+|\s*$)(.*)$")).unwrap())
}

fn priority_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\bP([1-3])\b").unwrap())
}

fn marker_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?i)\[NEEDS CLARIFICATION:\s*([^\]\n]*?)\s*\]").unwrap())
}

fn link_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\[\[([^\[\]\n|]+)(?:\|[^\[\]\n]*)?\]\]").unwrap())
}

fn metadata_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)\*{0,2}(version|ratified|last amended|amended)\*{0,2}\s*:\s*\*{0,2}\s*([0-9][0-9A-Za-z.\-]*)")
            .unwrap()
    })
}

fn setting_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?i)^`?([a-z][a-z0-9-]*)`?\s*[:=→—–-]\s*`?(error|warning|info|off)`?\b").unwrap())
}

/// 1-based column of byte offset `at` in `line`, in UTF-16 code units.
pub fn column(line: &str, at: usize) -> usize {
    line[..at].encode_utf16().count() + 1
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

/// A line of the document outside code fences, with code spans masked.
pub(crate) struct Line<'a> {
    pub number: usize,
    pub raw: &'a str,
    /// The line with inline code blanked out.
    pub text: String,
    indent: usize,
}

impl Line<'_> {
    fn is_blank(&self) -> bool {
        self.text.trim().is_empty()
    }
}

/// An ATX heading's level and text (`## Title ##` gives `(2, "Title")`), if the line is one.
pub(crate) fn heading(line: &str) -> Option<(usize, String)> {
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

fn indent_of(line: &str) -> usize {
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

/// A list item on a line: indent, whether it is a checkbox (and ticked), and its text
/// with the byte offset where that text starts.
struct Item<'a> {
    indent: usize,
    checkbox: Option<bool>,
    text: &'a str,
    offset: usize,
}

fn item(line: &str) -> Option<Item<'_>> {
    let captures = list_item_regex().captures(line)?;
    let rest = captures.get(3)?;
    Some(Item {
        indent: indent_of(line),
        checkbox: captures.get(2).map(|b| b.as_str().to_lowercase().contains('x')),
        text: rest.as_str(),
        offset: rest.start(),
    })
}

fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A list form requirement's title: its first sentence, at most 120 characters.
fn title_of(text: &str) -> String {
    let end = text.find(". ").map_or(text.len(), |at| at + 1);
    let sentence = text[..end].trim();
    if sentence.chars().count() <= 120 {
        return sentence.to_owned();
    }
    let cut: String = sentence.chars().take(117).collect();
    format!("{}…", cut.trim_end())
}

/// Reads a document. Never fails: what isn't structure is prose.
pub fn parse(markdown: &str) -> Structure {
    let lines = lines(markdown);
    let mut structure = Structure::default();
    // The heading path (level, text) above the current line.
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = &lines[index];
        scan_inline(line, &mut structure);
        if let Some((level, _)) = heading(&line.text) {
            // Detected on the masked line, read from the real one (code spans intact).
            let text = heading(line.raw).map(|(_, text)| text).unwrap_or_default();
            path.retain(|(l, _)| *l < level);
            let masked = heading(&line.text).map(|(_, text)| text).unwrap_or_default();
            if let Some(captures) =
                heading_id_regex().is_match(&masked).then(|| heading_id_regex().captures(&text)).flatten()
            {
                let key = captures[1].to_owned();
                let title = captures.get(2).map_or("", |m| m.as_str()).trim().to_owned();
                // Its block: up to the next heading of the same or a higher level.
                let end = lines[index + 1..]
                    .iter()
                    .position(|l| heading(&l.text).is_some_and(|(other, _)| other <= level))
                    .map_or(lines.len(), |offset| index + 1 + offset);
                let (body, acceptance) = block_body(&lines[index + 1..end]);
                let at = line.text.find(&key).unwrap_or(0);
                let priority = priority_in(&text).or_else(|| inherited_priority(&path));
                let section = section_path(&path);
                let requirement = Requirement {
                    title: if title.is_empty() { title_of(&body) } else { title },
                    key,
                    text: body,
                    acceptance,
                    priority,
                    line: line.number,
                    column: column(line.raw, at),
                    end_line: lines[index..end].last().map_or(line.number, |last| last.number),
                    section,
                };
                push_requirement(&mut structure, requirement, &path);
                for inner in &lines[index + 1..end] {
                    scan_inline(inner, &mut structure);
                    scan_items(inner, &path, &mut structure);
                }
                path.push((level, text));
                index = end;
                continue;
            }
            path.push((level, text));
            index += 1;
            continue;
        }
        if let Some(found) = item(&line.text) {
            if found.checkbox.is_none() {
                let raw = &line.raw[found.offset..];
                if let Some(captures) =
                    bold_id_regex().is_match(found.text).then(|| bold_id_regex().captures(raw)).flatten()
                {
                    let end = lines[index + 1..]
                        .iter()
                        .position(|l| !l.is_blank() && (l.indent <= found.indent || heading(&l.text).is_some()))
                        .map_or(lines.len(), |offset| index + 1 + offset);
                    let first = captures.get(2).map_or("", |m| m.as_str());
                    let (more, acceptance) = item_body(&lines[index + 1..end]);
                    let text = squash(&format!("{first} {more}"));
                    let key = captures[1].to_owned();
                    let at = found.offset + line.text[found.offset..].find(&key).unwrap_or(0);
                    let requirement = Requirement {
                        title: title_of(&text),
                        priority: priority_in(first).or_else(|| inherited_priority(&path)),
                        key,
                        text,
                        acceptance,
                        line: line.number,
                        column: column(line.raw, at),
                        end_line: lines[index..end].last().map_or(line.number, |last| last.number),
                        section: section_path(&path),
                    };
                    push_requirement(&mut structure, requirement, &path);
                    for inner in &lines[index + 1..end] {
                        scan_inline(inner, &mut structure);
                    }
                    index = end;
                    continue;
                }
            }
        }
        scan_items(line, &path, &mut structure);
        if let Some(captures) = heading_in(&path, "checks").then(|| item(line.raw)).flatten().and_then(|found| {
            setting_regex()
                .captures(found.text.trim_start_matches("**"))
                .map(|c| (c[1].to_lowercase(), c[2].to_lowercase()))
        }) {
            structure.settings.push(captures);
        }
        scan_metadata(line, &mut structure.metadata);
        index += 1;
    }
    structure
}

/// Success criteria and task items on a line that is not a requirement.
fn scan_items(line: &Line<'_>, path: &[(usize, String)], structure: &mut Structure) {
    let Some(found) = item(&line.text) else { return };
    if let Some(done) = found.checkbox {
        let references = mentions_in(line);
        structure.tasks.push(Task { text: squash(&line.raw[found.offset..]), done, references, line: line.number });
    } else if heading_in(path, "success criteria") && found.indent < 2 {
        let text = line.raw[found.offset..].trim();
        if !text.is_empty() {
            let text = bold_id_regex().captures(text).map_or(text.to_owned(), |c| c[2].to_owned());
            structure.criteria.push(Criterion {
                text: squash(&text),
                line: line.number,
                column: column(line.raw, found.offset),
            });
        }
    }
}

/// A requirement under a "Success criteria" heading is a criterion, not a requirement.
fn push_requirement(structure: &mut Structure, requirement: Requirement, path: &[(usize, String)]) {
    if heading_in(path, "success criteria") {
        structure.criteria.push(Criterion {
            text: requirement.text.clone(),
            line: requirement.line,
            column: requirement.column,
        });
    } else {
        structure.requirements.push(requirement);
    }
}

fn heading_in(path: &[(usize, String)], needle: &str) -> bool {
    path.iter().any(|(_, text)| text.to_lowercase().contains(needle))
}

fn section_path(path: &[(usize, String)]) -> String {
    path.iter().filter(|(level, _)| *level > 1).map(|(_, text)| text.as_str()).collect::<Vec<_>>().join(" › ")
}

fn priority_in(text: &str) -> Option<String> {
    priority_regex().captures(text).map(|c| format!("P{}", &c[1]))
}

fn inherited_priority(path: &[(usize, String)]) -> Option<String> {
    path.iter().rev().find_map(|(_, text)| priority_in(text))
}

/// A labelled line such as `**Acceptance:**` or `Scenarios:` names what follows.
fn is_label(text: &str) -> bool {
    let text = text.trim().trim_matches('*').trim();
    text.ends_with(':') && text.split_whitespace().count() <= 3
}

/// A heading requirement's block: its prose, and its list items as scenarios (deeper
/// items join the item above them).
fn block_body(lines: &[Line<'_>]) -> (String, Vec<String>) {
    let mut prose = Vec::new();
    let mut scenarios: Vec<String> = Vec::new();
    let mut base: Option<usize> = None;
    let mut in_item = false;
    for line in lines {
        if line.is_blank() || heading(&line.text).is_some() {
            in_item = in_item && !line.is_blank();
            continue;
        }
        if let Some(found) = item(line.raw) {
            let base = *base.get_or_insert(found.indent);
            let text = squash(found.text);
            if found.indent <= base || scenarios.is_empty() {
                scenarios.push(text);
            } else if let Some(last) = scenarios.last_mut() {
                last.push(' ');
                last.push_str(&text);
            }
            in_item = true;
        } else if in_item && line.indent > 0 {
            if let Some(last) = scenarios.last_mut() {
                last.push(' ');
                last.push_str(&squash(line.raw));
            }
        } else if !is_label(line.raw) {
            prose.push(line.raw.trim());
            in_item = false;
        }
    }
    (squash(&prose.join(" ")), scenarios)
}

/// A list requirement's continuation: more text (lines that are not list items) and
/// its sub-list as scenarios.
fn item_body(lines: &[Line<'_>]) -> (String, Vec<String>) {
    let mut more = Vec::new();
    let mut scenarios: Vec<String> = Vec::new();
    let mut base: Option<usize> = None;
    for line in lines.iter().filter(|line| !line.is_blank()) {
        if let Some(found) = item(line.raw) {
            let base = *base.get_or_insert(found.indent);
            let text = squash(found.text);
            match scenarios.last_mut() {
                Some(last) if found.indent > base => {
                    last.push(' ');
                    last.push_str(&text);
                }
                _ => scenarios.push(text),
            }
        } else if let (Some(last), Some(_)) = (scenarios.last_mut(), base) {
            last.push(' ');
            last.push_str(&squash(line.raw));
        } else if !is_label(line.raw) {
            more.push(line.raw.trim());
        }
    }
    (more.join(" "), scenarios)
}

fn mentions_in(line: &Line<'_>) -> Vec<Mention> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(captures) = id_regex().captures_at(&line.text, at) {
        let m = captures.get(1).expect("group 1");
        found.push(Mention { key: m.as_str().to_owned(), line: line.number, column: column(line.raw, m.start()) });
        // The delimiter after the ID may start the next match.
        at = m.end();
    }
    found
}

fn scan_inline(line: &Line<'_>, structure: &mut Structure) {
    for captures in marker_regex().captures_iter(&line.text) {
        let whole = captures.get(0).expect("group 0");
        structure.clarifications.push(Marker {
            question: line.raw[captures.get(1).expect("group 1").range()].trim().to_owned(),
            raw: line.raw[whole.range()].to_owned(),
            line: line.number,
            column: column(line.raw, whole.start()),
        });
    }
    for captures in link_regex().captures_iter(&line.text) {
        let whole = captures.get(0).expect("group 0");
        let target = line.raw[captures.get(1).expect("group 1").range()].trim();
        if target.is_empty() {
            continue;
        }
        structure.links.push(Link {
            target: target.to_owned(),
            line: line.number,
            column: column(line.raw, whole.start()),
            length: utf16_len(whole.as_str()),
        });
    }
    structure.mentions.extend(mentions_in(line));
}

fn scan_metadata(line: &Line<'_>, metadata: &mut Metadata) {
    for captures in metadata_regex().captures_iter(&line.text) {
        let value = Some(captures[2].trim_end_matches('.').to_owned());
        match captures[1].to_lowercase().as_str() {
            "version" if metadata.version.is_none() => {
                metadata.version = value;
                metadata.line = Some(line.number);
            }
            "ratified" if metadata.ratified.is_none() => metadata.ratified = value,
            "last amended" | "amended" if metadata.amended.is_none() => metadata.amended = value,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::Kind;
    use crate::spec::templates;

    fn keys(structure: &Structure) -> Vec<&str> {
        structure.requirements.iter().map(|r| r.key.as_str()).collect()
    }

    #[test]
    fn list_requirements_take_their_sub_list_as_scenarios() {
        let text = "## Requirements\n\n\
            - **AUTH-001** The system SHALL lock an account\n  after 5 failed logins.\n\
            \x20 - Given 4 failed logins, When the 5th fails, Then the account is locked.\n\
            \x20   - and an email is sent\n\
            \x20 - Given a locked account, When 15 minutes pass, Then it unlocks.\n\
            - **AUTH-002**: The system MUST log every login.\n\
            - plain item\n";
        let structure = parse(text);
        assert_eq!(keys(&structure), ["AUTH-001", "AUTH-002"]);
        let first = &structure.requirements[0];
        assert_eq!(first.text, "The system SHALL lock an account after 5 failed logins.");
        assert_eq!(
            first.acceptance,
            [
                "Given 4 failed logins, When the 5th fails, Then the account is locked. and an email is sent",
                "Given a locked account, When 15 minutes pass, Then it unlocks."
            ]
        );
        assert_eq!((first.line, first.column, first.end_line), (3, 5, 7));
        assert_eq!(first.section, "Requirements");
        assert!(structure.requirements[1].acceptance.is_empty());
        assert_eq!(structure.requirements[1].text, "The system MUST log every login.");
    }

    #[test]
    fn heading_requirements_take_text_and_scenarios_until_the_next_heading() {
        let text = "# Spec\n\n## Stories (Priority: P2)\n\n### AUTH-003: Account lockout (P1) ##\n\n\
            When 5 logins fail, the system SHALL lock the account.\n\n**Acceptance:**\n\n\
            - Given 5 failures, When I log in, Then I see \"locked\".\n\n#### Notes\n\nMore prose.\n\n\
            ### AUTH-004\n\nThe system SHALL email the owner.\n\n## Next\n";
        let structure = parse(text);
        assert_eq!(keys(&structure), ["AUTH-003", "AUTH-004"]);
        let lockout = &structure.requirements[0];
        assert_eq!(lockout.title, "Account lockout (P1)", "trailing closing hashes are not the title");
        assert_eq!(lockout.text, "When 5 logins fail, the system SHALL lock the account. More prose.");
        assert_eq!(lockout.acceptance, ["Given 5 failures, When I log in, Then I see \"locked\"."]);
        assert_eq!(lockout.priority.as_deref(), Some("P1"), "its own priority wins");
        let email = &structure.requirements[1];
        assert_eq!(email.title, "The system SHALL email the owner.", "an untitled heading takes its first sentence");
        assert_eq!(email.priority.as_deref(), Some("P2"), "inherited from the heading above");
        assert_eq!(email.section, "Stories (Priority: P2)");
    }

    #[test]
    fn ids_in_code_are_not_structure() {
        let text = "```\n- **AUTH-009** not a requirement [NEEDS CLARIFICATION: no]\n### AUTH-010: nor this\n```\n\
            ~~~~md\n[[AUTH-001]]\n~~~~\n\
            Inline `- **AUTH-011** x` and `[[Nothing]]` and `[NEEDS CLARIFICATION: no]` stay code.\n\
            - **AUTH-012** The system SHALL count `AUTH-013` as code.\n";
        let structure = parse(text);
        assert_eq!(keys(&structure), ["AUTH-012"]);
        assert!(structure.clarifications.is_empty(), "{:?}", structure.clarifications);
        assert!(structure.links.is_empty(), "{:?}", structure.links);
        assert_eq!(
            structure.requirements[0].text, "The system SHALL count `AUTH-013` as code.",
            "code spans kept in text"
        );
        assert!(structure.mentions.iter().all(|m| m.key != "AUTH-013"));
    }

    #[test]
    fn headings_that_only_look_like_ids_are_prose() {
        let structure =
            parse("## COVID-19 impact\n\n### Session 2026-11-21\n\n### REQ-7 — Export\nThe system SHALL export.\n");
        assert_eq!(keys(&structure), ["REQ-7"]);
        assert_eq!(structure.requirements[0].title, "Export");
    }

    #[test]
    fn non_ascii_ids_text_and_columns() {
        let text = "- **ÜBER-001** Das System SOLL „Grüße“ zeigen — SHALL show greetings. [NEEDS CLARIFICATION: welche Sprache? 🌍]\n\
            Siehe [[ÜBER-001]] und 🌍 [[Straße]].\n";
        let structure = parse(text);
        assert_eq!(keys(&structure), ["ÜBER-001"]);
        assert_eq!(structure.clarifications[0].question, "welche Sprache? 🌍");
        let link = &structure.links[1];
        assert_eq!(link.target, "Straße");
        // "Siehe [[ÜBER-001]] und 🌍 " is 25 UTF-16 units (the emoji counts two).
        assert_eq!((link.line, link.column, link.length), (2, 27, 10));
    }

    #[test]
    fn markers_links_tasks_and_criteria() {
        let text = "# Tasks\n\n- [ ] T001 Write tests for [[AUTH-001]] and AUTH-002\n- [x] T002 Done, see [[Login spec|the spec]]\n\n\
            ## Success criteria\n\n- **SC-001** 95% of logins finish within 2 s.\n- Users are happy.\n  - a detail\n\n\
            ## Later\n\n- not a criterion\n";
        let structure = parse(text);
        assert_eq!(structure.tasks.len(), 2);
        assert!(!structure.tasks[0].done && structure.tasks[1].done);
        let refs: Vec<&str> = structure.tasks[0].references.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(refs, ["AUTH-001", "AUTH-002"]);
        assert_eq!(structure.links.iter().map(|l| l.target.as_str()).collect::<Vec<_>>(), ["AUTH-001", "Login spec"]);
        let criteria: Vec<&str> = structure.criteria.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(criteria, ["95% of logins finish within 2 s.", "Users are happy."]);
        assert!(structure.requirements.is_empty(), "an ID'd success criterion is not a requirement");
    }

    #[test]
    fn constitution_metadata_principles_and_settings() {
        let text = templates::render(
            Kind::Constitution,
            "Constitution",
            None,
            chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
        );
        let structure = parse(&text);
        assert_eq!(structure.metadata.version.as_deref(), Some("1.0.0"));
        assert_eq!(structure.metadata.ratified.as_deref(), Some("2026-01-02"));
        assert_eq!(structure.metadata.amended.as_deref(), Some("2026-01-02"));
        assert_eq!(keys(&structure), ["P-01", "P-02", "P-03"]);
        assert!(structure.requirements[1].text.contains("**Check:** `requirements-have-acceptance`"));
        assert!(structure.clarifications.is_empty(), "a marker in backticks is an example, not a question");
        assert_eq!(structure.settings.len(), 9);
        assert!(structure.settings.contains(&("duplicate-id".to_owned(), "error".to_owned())));
    }

    #[test]
    fn every_template_parses_into_its_structure() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let spec = parse(&templates::render(Kind::Spec, "Login", None, day));
        assert_eq!(keys(&spec), ["FR-001", "FR-002", "NFR-001"]);
        assert_eq!(spec.requirements[0].priority.as_deref(), Some("P1"));
        assert_eq!(spec.requirements[2].section, "Requirements › Non-functional requirements");
        assert!(spec.requirements.iter().all(|r| !r.acceptance.is_empty()));
        assert_eq!(spec.criteria.len(), 2);
        assert_eq!(spec.clarifications.len(), 2);

        let plan = parse(&templates::render(Kind::Plan, "Login plan", Some("Login"), day));
        assert!(plan.requirements.is_empty(), "decisions are not requirements");
        let targets: Vec<&str> = plan.links.iter().map(|l| l.target.as_str()).collect();
        assert_eq!(targets, ["Login", "P-01", "P-02", "FR-001"]);

        let tasks = parse(&templates::render(Kind::Tasks, "Login tasks", None, day));
        assert_eq!(tasks.tasks.len(), 4);
        assert_eq!(tasks.tasks[2].references[0].key, "FR-001");
    }

    #[test]
    fn structure_survives_an_export_round_trip() {
        // Exporting a spec as Markdown and reading it back gives the same structure.
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        for kind in Kind::ALL {
            let text = templates::render(kind, "Round trip", Some("Parent"), day);
            let structure = parse(&text);
            let exported = serde_json::to_string(&structure).unwrap();
            let again: Structure = serde_json::from_str(&exported).unwrap();
            assert_eq!(again, structure);
            let normalized = text.replace("\r\n", "\n");
            assert_eq!(parse(&normalized.replace('\n', "\r\n")), structure, "CRLF line endings read the same");
        }
    }
}
