//! Kiro: steering documents in `.kiro/steering/` (the constitution is `constitution.md`
//! there; the project's other documents outside any spec join it), and a folder per
//! feature, `.kiro/specs/<feature>/`, holding `requirements.md` (`### Requirement 1:`,
//! a `**User Story:**`, numbered `WHEN … THE system SHALL …` acceptance criteria),
//! `design.md` and `tasks.md`.

use super::{first_heading, humanize, Doc, Folders};
use crate::exchange::archive::File;

pub(super) const FOLDERS: Folders = Folders {
    constitution: ".kiro/steering/constitution.md",
    spec_folder: |_, slug| format!(".kiro/specs/{slug}"),
    spec: "requirements.md",
    plan: "design.md",
    tasks: "tasks.md",
    others: ".kiro/steering",
};

pub(super) fn docs(files: Vec<File>) -> (Vec<Doc>, Vec<String>) {
    // Kiro heads every requirements file "Requirements Document": the folder names it.
    FOLDERS.read(files, ".kiro/specs/", |text, folder| {
        first_heading(text)
            .filter(|title| !title.eq_ignore_ascii_case("Requirements Document"))
            .unwrap_or_else(|| humanize(folder))
    })
}
