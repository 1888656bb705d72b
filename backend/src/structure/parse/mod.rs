//! Reads a Markdown document into its structure: requirements with their acceptance
//! scenarios, `[NEEDS CLARIFICATION: …]` markers, `[[links]]`, task items, success
//! criteria and (in a constitution) version metadata. Line-based and deterministic, so
//! a structure can be pointed at lines in the editor; text in fenced code blocks and in
//! inline code spans is never structure.

mod lines;
mod named;

use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub(crate) use crate::markdown::syntax::heading;
use crate::markdown::syntax::{clarification_regex, link_regex};
use lines::indent_of;
pub use lines::{column, utf16_len};
pub(crate) use lines::{covered_lines, lines, Columns, Line};
pub use named::{key_comment, key_of_comment, title as requirement_title, unkeyed};

/// A requirement (a principle, in a constitution), in any accepted form:
/// `- **AUTH-001** The system SHALL …` with its scenarios in an indented sub-list, a
/// heading `### AUTH-001: Title` followed by its text and scenarios, or a heading
/// `### Requirement: Title` (OpenSpec) or `### Requirement 1: Title` (Kiro) whose block
/// carries its key in a comment (`named`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Requirement {
    pub key: String,
    pub title: String,
    pub text: String,
    /// Given / When / Then scenarios (or whatever its list items say).
    pub acceptance: Vec<String>,
    /// `P1`–`P3`, from the requirement itself or the heading it sits under.
    pub priority: Option<String>,
    /// Marked `(API)` (itself, or the heading it sits under): callers reach it through
    /// an API, so some contract operation should carry it out.
    pub api: bool,
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

/// Text with its written priority marker (`(P1)`, `[P2]`, `(Priority: P3)`) taken out,
/// for showing beside a badge that already says it.
pub fn without_priority_marker(text: &str) -> String {
    static RE: OnceLock<Regex> = OnceLock::new();
    // At a line's start the spaces after it go, elsewhere those before it.
    let marker = RE.get_or_init(|| {
        let marker = r"[(\[](?:priority\s*:\s*)?P[1-3][)\]]";
        Regex::new(&format!(r"(?im)^[ \t]*{marker}[ \t]*|[ \t]*{marker}")).unwrap()
    });
    marker.replace_all(text, "").trim().to_owned()
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
    // A rule's severity, or a naming style (`property-names: camelCase`).
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)^`?([a-z][a-z0-9-]*)`?\s*[:=→—–-]\s*`?(error|warning|info|off|camelcase|snake_case|kebab-case|pascalcase)`?(?:$|[^\w-])",
        )
        .unwrap()
    })
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
            // Its block: up to the next heading of the same or a higher level.
            let block_end = || {
                lines[index + 1..]
                    .iter()
                    .position(|l| heading(&l.text).is_some_and(|(other, _)| other <= level))
                    .map_or(lines.len(), |offset| index + 1 + offset)
            };
            if let Some((end, id)) = named::title(&masked).and_then(|_| {
                let end = block_end();
                named::key(&lines[index + 1..end]).map(|id| (end, id))
            }) {
                let block = &lines[index + 1..end];
                let (body, acceptance) = named::body(block);
                let title = named::title(&text).unwrap_or_default();
                let requirement = Requirement {
                    title: if title.is_empty() { title_of(&body) } else { title.to_owned() },
                    key: id.key,
                    text: body,
                    acceptance,
                    priority: id.priority.or_else(|| priority_in(&text)).or_else(|| inherited_priority(&path)),
                    api: api_in(&text) || inherited_api(&path),
                    line: line.number,
                    column: column(line.raw, line.raw.find("Requirement").unwrap_or(0)),
                    end_line: lines[index..end].last().map_or(line.number, |last| last.number),
                    section: section_path(&path),
                };
                push_requirement(&mut structure, requirement, &path);
                // The key comment is not a mention of the key.
                for inner in block {
                    if inner.number != id.line {
                        scan_inline(inner, &mut structure);
                    }
                    scan_items(inner, &path, &mut structure);
                }
                path.push((level, text));
                index = end;
                continue;
            }
            if let Some(captures) =
                heading_id_regex().is_match(&masked).then(|| heading_id_regex().captures(&text)).flatten()
            {
                let key = captures[1].to_owned();
                let title = captures.get(2).map_or("", |m| m.as_str()).trim().to_owned();
                let end = block_end();
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
                    api: api_in(&text) || inherited_api(&path),
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
                        api: api_in(first) || inherited_api(&path),
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

pub(crate) fn section_path(path: &[(usize, String)]) -> String {
    path.iter().filter(|(level, _)| *level > 1).map(|(_, text)| text.as_str()).collect::<Vec<_>>().join(" › ")
}

fn priority_in(text: &str) -> Option<String> {
    priority_regex().captures(text).map(|c| format!("P{}", &c[1]))
}

fn inherited_priority(path: &[(usize, String)]) -> Option<String> {
    path.iter().rev().find_map(|(_, text)| priority_in(text))
}

/// Whether text carries the `(API)` or `[API]` marker.
fn api_in(text: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"[(\[]API[)\]]").unwrap()).is_match(text)
}

fn inherited_api(path: &[(usize, String)]) -> bool {
    path.iter().any(|(_, text)| api_in(text))
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
    let mut columns = Columns::new(line.raw);
    let mut at = 0;
    while let Some(captures) = id_regex().captures_at(&line.text, at) {
        let m = captures.get(1).expect("group 1");
        found.push(Mention { key: m.as_str().to_owned(), line: line.number, column: columns.of(m.start()) });
        // The delimiter after the ID may start the next match.
        at = m.end();
    }
    found
}

fn scan_inline(line: &Line<'_>, structure: &mut Structure) {
    let mut columns = Columns::new(line.raw);
    for captures in clarification_regex().captures_iter(&line.text) {
        let whole = captures.get(0).expect("group 0");
        structure.clarifications.push(Marker {
            question: line.raw[captures.get(1).expect("group 1").range()].trim().to_owned(),
            raw: line.raw[whole.range()].to_owned(),
            line: line.number,
            column: columns.of(whole.start()),
        });
    }
    let mut columns = Columns::new(line.raw);
    for captures in link_regex().captures_iter(&line.text) {
        let whole = captures.get(0).expect("group 0");
        let target = line.raw[captures.get(1).expect("group 1").range()].trim();
        if target.is_empty() {
            continue;
        }
        structure.links.push(Link {
            target: target.to_owned(),
            line: line.number,
            column: columns.of(whole.start()),
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
mod tests;
