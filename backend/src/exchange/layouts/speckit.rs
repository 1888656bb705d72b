//! GitHub Spec Kit: `.specify/memory/constitution.md`, and a folder per feature,
//! `specs/001-name/`, holding `spec.md`, `plan.md`, `tasks.md` and the plan's other
//! documents (`research.md`, `data-model.md`, `quickstart.md`, `contracts/`,
//! `checklists/`). Charter's own requirement forms are Spec Kit's (`- **FR-001**:
//! System MUST …`, user stories with a priority, Given / When / Then), so texts go as
//! they are.

use super::{first_heading, humanize, Doc, Folders};
use crate::exchange::archive::File;

pub(super) const FOLDERS: Folders = Folders {
    constitution: ".specify/memory/constitution.md",
    spec_folder: |n, slug| format!("specs/{n:03}-{slug}"),
    spec: "spec.md",
    plan: "plan.md",
    tasks: "tasks.md",
    others: ".specify/memory",
    // Spec Kit keeps a feature's API contracts in its `contracts/` folder.
    contracts: "contracts/",
};

pub(super) fn docs(files: Vec<File>) -> (Vec<Doc>, Vec<String>) {
    FOLDERS.read(files, "specs/", |text, folder| {
        first_heading(text)
            .map(|title| title.strip_prefix("Feature Specification:").map_or(title.clone(), |t| t.trim().to_owned()))
            .filter(|title| !title.is_empty())
            .unwrap_or_else(|| humanize(folder))
    })
}
