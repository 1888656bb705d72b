//! Kiro: steering documents in `.kiro/steering/` (the constitution is `constitution.md`
//! there; the project's other documents outside any spec join it), and a folder per
//! feature, `.kiro/specs/<feature>/`, holding `requirements.md` (`### Requirement 1:`,
//! a `**User Story:**`, numbered `WHEN … THE system SHALL …` acceptance criteria),
//! `design.md` and `tasks.md`, whose tasks name the criteria they meet
//! (`_Requirements: 1.1, 2.3_`).

use std::sync::OnceLock;

use charter_types::Kind;
use regex::{Captures, Regex};

use super::{first_heading, humanize, Doc, Folders};
use crate::exchange::archive::File;
use crate::structure::parse::parse;

pub(super) const FOLDERS: Folders = Folders {
    constitution: ".kiro/steering/constitution.md",
    spec_folder: |_, slug| format!(".kiro/specs/{slug}"),
    spec: "requirements.md",
    plan: "design.md",
    tasks: "tasks.md",
    others: ".kiro/steering",
    contracts: "",
};

pub(super) fn docs(files: Vec<File>) -> (Vec<Doc>, Vec<String>) {
    // Kiro heads every requirements file "Requirements Document": the folder names it.
    FOLDERS.read(files, ".kiro/specs/", |text, folder| {
        first_heading(text)
            .filter(|title| !title.eq_ignore_ascii_case("Requirements Document"))
            .unwrap_or_else(|| humanize(folder))
    })
}

fn references_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"_Requirements:\s*([0-9][0-9.,\s]*?)\s*_(\s*\([^)\n]*\))?").unwrap())
}

/// Kiro's tasks name acceptance criteria by number (`_Requirements: 1.1, 2.3_`: the
/// first requirement's first criterion, the second's third); the keys of the
/// requirements named are written after them (`_Requirements: 1.1, 2.3_ (CART-001,
/// CART-002)`), so that Charter traces the tasks to them. Run after keys are given.
pub fn link_tasks(docs: &mut [Doc]) {
    for index in 0..docs.len() {
        let Some(spec) = docs[index].parent.filter(|&parent| docs[parent].kind == Kind::Spec) else { continue };
        if docs[index].kind != Kind::Tasks {
            continue;
        }
        let keys: Vec<String> = parse(&docs[spec].content).requirements.into_iter().map(|r| r.key).collect();
        let linked = references_regex().replace_all(&docs[index].content, |found: &Captures<'_>| {
            let mut named: Vec<&str> = found[1]
                .split(',')
                .filter_map(|number| number.trim().split('.').next()?.parse::<usize>().ok())
                .filter_map(|number| keys.get(number.checked_sub(1)?).map(String::as_str))
                .collect();
            named.dedup();
            match (found.get(2), named.is_empty()) {
                // Linked already (an export of Charter's), or naming nothing known.
                (Some(_), _) | (None, true) => found[0].to_owned(),
                (None, false) => format!("{} ({})", &found[0], named.join(", ")),
            }
        });
        docs[index].content = linked.into_owned();
    }
}
