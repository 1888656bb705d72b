//! OpenSpec's change folders: an open change request as `openspec/changes/<id>/` (a
//! `proposal.md`, and per spec it changes a `specs/<capability>/spec.md` of deltas:
//! `## ADDED`, `## MODIFIED`, `## REMOVED` and `## RENAMED Requirements`), and such a
//! folder applied to the specs it changes. Deltas name requirements by key where they
//! carry Charter's comment, else by name, as OpenSpec does.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use regex::Regex;

use super::forms::{self, Style};
use super::{assign_keys, Doc};
use crate::budget::Budget;
use crate::error::{Error, Result};
use crate::structure::parse::{self, heading, Requirement};
use crate::structure::splice::{self, Form};

/// What a change request does to one spec's requirements, from its text before (`old`)
/// and after (`new`).
pub fn deltas(old: &str, new: &str) -> Option<String> {
    let (before, after) = (parse::parse(old).requirements, parse::parse(new).requirements);
    let by_key = |list: &[Requirement]| -> HashMap<String, Requirement> {
        list.iter().map(|r| (r.key.to_uppercase(), r.clone())).collect()
    };
    let (before_keys, after_keys) = (by_key(&before), by_key(&after));
    let find = |keys: &HashMap<String, Requirement>, key: &str| keys.get(&key.to_uppercase()).cloned();
    let (mut added, mut modified, mut removed, mut renamed) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for requirement in &after {
        match find(&before_keys, &requirement.key) {
            None => added.push(requirement.clone()),
            Some(was) => {
                if forms::plain_title(&was.title) != forms::plain_title(&requirement.title) {
                    renamed.push((forms::plain_title(&was.title), forms::plain_title(&requirement.title)));
                }
                let same = (&was.text, &was.acceptance, &was.priority)
                    == (&requirement.text, &requirement.acceptance, &requirement.priority);
                if !same {
                    modified.push(requirement.clone());
                }
            }
        }
    }
    removed.extend(before.iter().filter(|r| find(&after_keys, &r.key).is_none()).cloned());
    if added.is_empty() && modified.is_empty() && removed.is_empty() && renamed.is_empty() {
        return None;
    }
    let mut out = String::new();
    let mut section = |name: &str, blocks: Vec<String>| {
        if !blocks.is_empty() {
            out.push_str(&format!("## {name} Requirements\n\n{}\n\n", blocks.join("\n\n")));
        }
    };
    let render = |r: &Requirement| forms::render(Style::OpenSpec, 0, 3, r);
    section("ADDED", added.iter().map(render).collect());
    section("MODIFIED", modified.iter().map(render).collect());
    section(
        "REMOVED",
        removed
            .iter()
            .map(|r| {
                let comment = parse::key_comment(&r.key, None);
                format!(
                    "### Requirement: {}\n{comment}\n\n**Reason**: removed by the change request.",
                    forms::plain_title(&r.title)
                )
            })
            .collect(),
    );
    section(
        "RENAMED",
        renamed
            .iter()
            .map(|(from, to)| format!("- FROM: `### Requirement: {from}`\n- TO: `### Requirement: {to}`"))
            .collect(),
    );
    Some(out.trim_end().to_owned() + "\n")
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Added,
    Modified,
    Removed,
    Renamed,
}

/// A delta's requirement block: its name, its key if it carries one, its lines.
struct Block {
    op: Op,
    name: String,
    key: Option<String>,
    text: String,
}

fn section_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?i)^(ADDED|MODIFIED|REMOVED|RENAMED)\s+Requirements\s*$").unwrap())
}

fn renamed_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^\s*[-*]\s*(FROM|TO):\s*`?\s*#{1,6}\s*Requirement:\s*(.*?)\s*`?\s*$").unwrap())
}

/// The blocks and renames of a delta file.
fn read(delta: &str) -> (Vec<Block>, Vec<(String, String)>) {
    let (mut blocks, mut renames) = (Vec::new(), Vec::new());
    let mut op = None;
    let mut from: Option<String> = None;
    let mut current: Option<Block> = None;
    for line in delta.replace("\r\n", "\n").split('\n') {
        if let Some((level, title)) = heading(line) {
            if level <= 2 {
                blocks.extend(current.take());
                op = section_regex().captures(&title).map(|c| match c[1].to_uppercase().as_str() {
                    "ADDED" => Op::Added,
                    "MODIFIED" => Op::Modified,
                    "REMOVED" => Op::Removed,
                    _ => Op::Renamed,
                });
                continue;
            }
            if let (Some(op), Some(name)) = (op, parse::requirement_title(&title)) {
                if op != Op::Renamed {
                    blocks.extend(current.take());
                    current = Some(Block { op, name: name.to_owned(), key: None, text: format!("{line}\n") });
                    continue;
                }
            }
        }
        if op == Some(Op::Renamed) {
            if let Some(c) = renamed_regex().captures(line) {
                match &c[1] {
                    "FROM" => from = Some(c[2].to_owned()),
                    _ => renames.extend(from.take().map(|from| (from, c[2].to_owned()))),
                }
            }
            continue;
        }
        if let Some(block) = current.as_mut() {
            if block.key.is_none() {
                block.key = parse::key_of_comment(line);
            }
            block.text.push_str(line);
            block.text.push('\n');
        }
    }
    blocks.extend(current);
    (blocks, renames)
}

/// How many requirement blocks one delta may hold.
pub const MAX_BLOCKS: usize = 1_000;

/// `spec` with `delta` applied, in OpenSpec's order (renames, removals, changes,
/// additions); new requirements are given keys past `taken`. Refused, saying why, when
/// a requirement the delta names is not in the spec, or one it renames is a list item
/// (its title is its first sentence). A block takes the form of the requirement it
/// replaces (a list item for a list item) and the level of the one it follows, so that
/// it neither swallows the blocks after it nor leaves its scenarios out.
pub fn apply(spec: &Doc, delta: &str, taken: &mut HashSet<String>, budget: &Budget) -> Result<String> {
    let (blocks, renames) = read(delta);
    if blocks.len() + renames.len() > MAX_BLOCKS {
        return Err(Error::Invalid(format!("a delta may change at most {MAX_BLOCKS} requirements")));
    }
    let crlf = spec.content.contains("\r\n");
    let mut text = spec.content.replace("\r\n", "\n");
    let locate = |text: &str, key: Option<&str>, name: &str| -> Result<Requirement> {
        let requirements = parse::parse(text).requirements;
        let found = match key {
            Some(key) => requirements.into_iter().find(|r| r.key.eq_ignore_ascii_case(key)),
            None => {
                let name = forms::plain_title(name);
                requirements.into_iter().find(|r| forms::plain_title(&r.title).eq_ignore_ascii_case(&name))
            }
        };
        found.ok_or_else(|| Error::Invalid(format!("“{name}” is not a requirement of {}", spec.title)))
    };
    for (from, to) in &renames {
        budget.check()?;
        let requirement = locate(&text, None, from)?;
        let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
        lines[requirement.line - 1] = renamed(&lines[requirement.line - 1], to).ok_or_else(|| {
            Error::Invalid(format!("“{from}” is a list item, whose title is its text: change it instead"))
        })?;
        text = lines.join("\n");
    }
    for op in [Op::Removed, Op::Modified] {
        for block in blocks.iter().filter(|block| block.op == op) {
            budget.check()?;
            let requirement = locate(&text, block.key.as_deref(), &block.name)?;
            text = match (op, Form::of(&text, Some(&requirement))) {
                (Op::Removed, _) => splice::remove(&text, &requirement),
                (_, Form::List) => splice::replace(&text, &requirement, &as_list(&block.text, &requirement.key)),
                (_, Form::Heading(level)) => {
                    splice::replace(&text, &requirement, &relevel(&keyed(&block.text, &requirement.key), level))
                }
            };
        }
    }
    for block in blocks.iter().filter(|block| block.op == Op::Added) {
        budget.check()?;
        let last = parse::parse(&text).requirements.last().cloned();
        // After a list, a heading would take what follows it: it goes at the end of the
        // requirements instead.
        text = match last.as_ref().map(|last| Form::of(&text, Some(last))) {
            Some(Form::Heading(level)) => {
                splice::insert_new(&text, last.as_ref(), &relevel(block.text.trim_end(), level))
            }
            _ => splice::insert_new(&text, None, &relevel(block.text.trim_end(), 3)),
        };
    }
    let mut doc = Doc { content: text, ..spec.clone() };
    assign_keys(std::slice::from_mut(&mut doc), taken);
    Ok(if crlf { doc.content.replace('\n', "\r\n") } else { doc.content })
}

/// A requirement heading line with its title made `to`, keeping what names it
/// (`Requirement:`, `Requirement 2:`, `AUTH-001:`); `None` for a line that is no heading.
fn renamed(line: &str, to: &str) -> Option<String> {
    let (level, text) = heading(line)?;
    let named = parse::requirement_title(&text).map(|title| text[..text.len() - title.len()].trim_end().to_owned());
    let prefix = named.unwrap_or_else(|| text.split_once(':').map_or(text.clone(), |(key, _)| format!("{key}:")));
    let prefix = if prefix.ends_with(':') { prefix } else { format!("{prefix}:") };
    Some(format!("{} {prefix} {to}", "#".repeat(level)))
}

/// A delta's block written as a list item, `- **KEY** text` over its scenarios.
fn as_list(block: &str, key: &str) -> String {
    let keyed = keyed(block, key);
    let Some(requirement) = parse::parse(&keyed).requirements.into_iter().next() else {
        return format!("- **{key}**");
    };
    let marked = match &requirement.priority {
        Some(priority) if parse::without_priority_marker(&requirement.text) == requirement.text => {
            format!("({priority}) {}", requirement.text)
        }
        _ => requirement.text.clone(),
    };
    let mut out = format!("- **{key}** {marked}");
    for scenario in &requirement.acceptance {
        out.push_str(&format!("\n  - {scenario}"));
    }
    out
}

/// `block` with its headings moved so that its first is at `level`.
fn relevel(block: &str, level: usize) -> String {
    let first = block.lines().find_map(|line| heading(line).map(|(level, _)| level)).unwrap_or(level);
    block
        .split('\n')
        .map(|line| match heading(line) {
            Some((own, _)) => {
                let moved = (own + level).saturating_sub(first).clamp(1, 6);
                format!("{}{}", "#".repeat(moved), line.trim_start().trim_start_matches('#'))
            }
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A block with the key comment after its heading, unless it has one.
fn keyed(block: &str, key: &str) -> String {
    if block.lines().any(|line| parse::key_of_comment(line).is_some()) {
        return block.trim_end().to_owned();
    }
    let mut lines: Vec<&str> = block.trim_end().split('\n').collect();
    let comment = parse::key_comment(key, None);
    lines.insert(1, &comment);
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use charter_types::Kind;

    use super::{apply, deltas};
    use crate::budget::Budget;
    use crate::exchange::layouts::forms::{rewrite, Style};
    use crate::exchange::layouts::Doc;
    use crate::structure::parse::parse;

    const BEFORE: &str = "# Auth\n\n## Requirements\n\n\
- **AUTH-001** (P1) The system SHALL issue a token on login.\n  - Given an account, When I log in, Then I get a token.\n\
- **AUTH-002** The system SHALL expire sessions.\n\
- **AUTH-003** The system SHALL log logins.\n";

    fn spec(content: &str) -> Doc {
        Doc {
            file: "openspec/specs/auth/spec.md".into(),
            title: "Auth".into(),
            kind: Kind::Spec,
            parent: None,
            content: content.into(),
        }
    }

    /// Key, title, text, scenarios and priority of each requirement.
    type Summary = Vec<(String, String, String, Vec<String>, Option<String>)>;

    fn summary(text: &str) -> Summary {
        parse(text).requirements.into_iter().map(|r| (r.key, r.title, r.text, r.acceptance, r.priority)).collect()
    }

    #[test]
    fn a_change_requests_deltas_applied_to_the_exported_spec_give_its_requirements() {
        let after = BEFORE
            .replace("issue a token on login", "issue a token on login, and a refresh token")
            .replace("- **AUTH-002** The system SHALL expire sessions.\n", "")
            .replace("log logins.\n", "log logins.\n- **AUTH-004** (P2) The system SHALL offer recovery codes.\n  - Given a lost phone, When I use a code, Then I am in.\n");
        let delta = deltas(BEFORE, &after).expect("it changes requirements");
        assert!(delta.contains("## ADDED Requirements\n\n### Requirement: The system SHALL offer recovery codes.\n<!-- id: AUTH-004, priority: P2 -->"), "{delta}");
        assert!(delta.contains("## MODIFIED Requirements\n\n### Requirement: The system SHALL issue a token on login, and a refresh token.\n<!-- id: AUTH-001, priority: P1 -->"), "{delta}");
        assert!(
            delta.contains(
                "## REMOVED Requirements\n\n### Requirement: The system SHALL expire sessions.\n<!-- id: AUTH-002 -->"
            ),
            "{delta}"
        );
        // What the export writes for the spec, with the change applied, reads as the change's spec.
        let exported = spec(&rewrite(BEFORE, Style::OpenSpec));
        let applied = apply(&exported, &delta, &mut HashSet::new(), &Budget::new(crate::budget::LIMIT)).unwrap();
        let keyed = |list: Summary| {
            let mut list: Vec<_> =
                list.into_iter().map(|(key, _, text, scenarios, priority)| (key, text, scenarios, priority)).collect();
            list.sort();
            list
        };
        assert_eq!(keyed(summary(&applied)), keyed(summary(&after)));
        assert_eq!(deltas(BEFORE, BEFORE), None);
    }

    #[test]
    fn an_openspec_change_folder_without_keys_applies_by_name_and_new_requirements_get_keys() {
        let exported = spec(&rewrite(BEFORE, Style::OpenSpec));
        let delta = "# Delta\n\n## RENAMED Requirements\n\n\
- FROM: `### Requirement: The system SHALL log logins.`\n- TO: `### Requirement: Login audit`\n\n\
## MODIFIED Requirements\n\n### Requirement: The system SHALL issue a token on login.\nThe system SHALL issue a token after a second factor.\n\n\
#### Scenario: Two factors\n- **WHEN** both factors pass\n- **THEN** a token is issued\n\n\
## REMOVED Requirements\n\n### Requirement: The system SHALL expire sessions.\n**Reason**: sessions are gone.\n\n\
## ADDED Requirements\n\n### Requirement: Recovery codes\nThe system SHALL offer recovery codes.\n";
        let mut taken: HashSet<String> = ["AUTH-001", "AUTH-002", "AUTH-003"].into_iter().map(String::from).collect();
        let applied = apply(&exported, delta, &mut taken, &Budget::new(crate::budget::LIMIT)).unwrap();
        let found = summary(&applied);
        let keys: Vec<(&str, &str)> = found.iter().map(|(key, title, ..)| (key.as_str(), title.as_str())).collect();
        assert_eq!(
            keys,
            [
                ("AUTH-001", "The system SHALL issue a token on login."),
                ("AUTH-003", "Login audit"),
                ("AUTH-004", "Recovery codes")
            ]
        );
        assert_eq!(found[0].2, "The system SHALL issue a token after a second factor.");
        assert_eq!(found[0].3, ["Two factors: **WHEN** both factors pass **THEN** a token is issued"]);
        let listed = spec(&BEFORE.replace('\n', "\r\n"));
        let change = "## MODIFIED Requirements\n\n### Requirement: x\n<!-- id: AUTH-002 -->\nThe system SHALL expire sessions after an hour.\n\n#### Scenario: Idle\n- WHEN idle for an hour THEN the session ends\n";
        let applied = apply(&listed, change, &mut taken, &Budget::new(crate::budget::LIMIT)).unwrap();
        assert!(
            applied.contains("- **AUTH-002** The system SHALL expire sessions after an hour.\r\n  - Idle: WHEN idle"),
            "{applied}"
        );
        let keys: Vec<String> = summary(&applied).into_iter().map(|r| r.0).collect();
        assert_eq!(keys, ["AUTH-001", "AUTH-002", "AUTH-003"], "a list stays a list, and CRLF stays CRLF");
        let rename = "## RENAMED Requirements\n\n- FROM: `### Requirement: (P1) The system SHALL issue a token on login.`\n- TO: `### Requirement: Tokens`\n";
        let refused = apply(&listed, rename, &mut taken, &Budget::new(crate::budget::LIMIT)).unwrap_err();
        assert!(refused.to_string().contains("is a list item"), "{refused}");
        let missing = "## MODIFIED Requirements\n\n### Requirement: Nothing like it\nThe system SHALL.\n";
        let refused = apply(&exported, missing, &mut taken, &Budget::new(crate::budget::LIMIT)).unwrap_err();
        assert_eq!(refused.to_string(), "“Nothing like it” is not a requirement of Auth");
    }
}
