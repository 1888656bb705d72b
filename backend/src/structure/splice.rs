//! Requirement blocks spliced into a spec's text: a new one after the spec's last (or
//! where a spec without any takes its first), one replaced, one removed, always keeping
//! the blank lines the spec's form wants around it. Pure text in, text out; lines end
//! with `\n` (callers keep CRLF specs CRLF).

use super::parse::{heading, Requirement};

/// How a spec writes its requirements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    /// `- **KEY** text` with scenarios as a sub-list.
    List,
    /// `### KEY: Title` (at this level) with text and scenarios below.
    Heading(usize),
}

impl Form {
    /// The form `like` is written in; a spec without requirements gets the list form.
    pub(crate) fn of(text: &str, like: Option<&Requirement>) -> Form {
        like.and_then(|requirement| heading_level(text, requirement.line)).map_or(Form::List, Form::Heading)
    }
}

/// The heading level of line `number` (1-based), if it is a heading.
pub(crate) fn heading_level(text: &str, number: usize) -> Option<usize> {
    level(text.split('\n').nth(number.checked_sub(1)?)?)
}

/// The heading level of `line`, if the spec parser reads a heading there.
fn level(line: &str) -> Option<usize> {
    heading(line).map(|(level, _)| level)
}

/// `text` with `block` inserted after the spec's last requirement (`last`), or at the
/// end when it has none. A heading requirement keeps blank lines around it; a list item
/// joins the list it follows.
pub(crate) fn insert_new(text: &str, last: Option<&Requirement>, block: &str) -> String {
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

/// `text` with `requirement`'s block replaced by `block`.
pub(crate) fn replace(text: &str, requirement: &Requirement, block: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let end = trimmed_end(&lines, requirement);
    let mut out: Vec<String> = lines[..requirement.line - 1].iter().map(|line| line.to_string()).collect();
    out.extend(block.trim_end_matches('\n').split('\n').map(str::to_owned));
    out.extend(lines[end..].iter().map(|line| line.to_string()));
    out.join("\n")
}

/// `text` without `requirement`'s block; the blank lines that set it apart go with it,
/// so the blocks around it keep one blank line between them.
pub(crate) fn remove(text: &str, requirement: &Requirement) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut end = trimmed_end(&lines, requirement);
    let start = requirement.line - 1;
    let blank_before = start == 0 || lines[start - 1].trim().is_empty();
    while blank_before && end < lines.len() && lines[end].trim().is_empty() && end + 1 < lines.len() {
        end += 1;
    }
    let mut out: Vec<&str> = lines[..start].to_vec();
    let rest = &lines[end..];
    if rest.iter().all(|line| line.trim().is_empty()) {
        // It ended the text: so do the blank lines before it.
        while out.last().is_some_and(|line| line.trim().is_empty()) {
            out.pop();
        }
        if !out.is_empty() && text.ends_with('\n') {
            out.push("");
        }
        return out.join("\n");
    }
    out.extend(rest);
    out.join("\n")
}

/// The index just past the requirement's block, without its trailing blank lines.
pub(crate) fn trimmed_end(lines: &[&str], requirement: &Requirement) -> usize {
    let mut end = requirement.end_line.min(lines.len());
    while end > requirement.line && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    end
}

/// `lines` with `block` inserted before index `at`; `apart` keeps blank lines around it.
pub(crate) fn splice(lines: &[&str], at: usize, block: &str, apart: bool) -> String {
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

#[cfg(test)]
mod tests {
    use super::{insert_new, remove, replace};
    use crate::structure::parse::parse;

    const LIST: &str = "# Spec\n\n## Requirements\n\n- **A-001** The system SHALL a.\n  - Given x, When y, Then z.\n- **A-002** The system SHALL b.\n- **A-003** The system SHALL c.\n";
    const HEADINGS: &str = "# Spec\n\n### A-001: One\n\nThe system SHALL a.\n\n### A-002: Two\n\nThe system SHALL b.\n";

    fn keys(text: &str) -> Vec<String> {
        parse(text).requirements.into_iter().map(|requirement| requirement.key).collect()
    }

    #[test]
    fn removing_a_list_requirement_takes_its_scenarios_and_nothing_else() {
        let first = &parse(LIST).requirements[0];
        let out = remove(LIST, first);
        assert_eq!(keys(&out), ["A-002", "A-003"]);
        assert_eq!(
            out,
            "# Spec\n\n## Requirements\n\n- **A-002** The system SHALL b.\n- **A-003** The system SHALL c.\n"
        );
        let last = &parse(LIST).requirements[2];
        assert!(remove(LIST, last).ends_with("SHALL b.\n"), "{}", remove(LIST, last));
    }

    #[test]
    fn removing_a_heading_requirement_keeps_one_blank_line_between_blocks() {
        let requirements = parse(HEADINGS).requirements;
        assert_eq!(remove(HEADINGS, &requirements[0]), "# Spec\n\n### A-002: Two\n\nThe system SHALL b.\n");
        assert_eq!(remove(HEADINGS, &requirements[1]), "# Spec\n\n### A-001: One\n\nThe system SHALL a.\n");
    }

    #[test]
    fn replacing_and_adding_keep_the_spec_form() {
        let requirements = parse(LIST).requirements;
        let replaced = replace(LIST, &requirements[1], "- **A-002** The system SHALL b, twice.");
        assert_eq!(keys(&replaced), ["A-001", "A-002", "A-003"]);
        assert!(replaced.contains("SHALL b, twice."));
        let added = insert_new(LIST, requirements.last(), "- **A-004** The system SHALL d.");
        assert_eq!(keys(&added), ["A-001", "A-002", "A-003", "A-004"]);
        assert!(added.ends_with("SHALL d.\n"));
    }
}
