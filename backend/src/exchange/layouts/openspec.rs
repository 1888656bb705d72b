//! OpenSpec: `openspec/project.md` (the project's conventions: the constitution), and a
//! folder per capability, `openspec/specs/<capability>/spec.md`, its requirements as
//! `### Requirement: Name` with `#### Scenario:` headings; a capability's design and
//! other documents beside it. Change folders (`openspec/changes/`) are not documents.

use super::{first_heading, humanize, Doc, Folders};
use crate::exchange::archive::File;

pub(super) const FOLDERS: Folders = Folders {
    constitution: "openspec/project.md",
    spec_folder: |_, slug| format!("openspec/specs/{slug}"),
    spec: "spec.md",
    plan: "design.md",
    tasks: "tasks.md",
    others: "openspec/docs",
    contracts: "",
};

pub(super) fn docs(files: Vec<File>) -> (Vec<Doc>, Vec<String>) {
    FOLDERS.read(files, "openspec/specs/", |text, folder| first_heading(text).unwrap_or_else(|| humanize(folder)))
}
