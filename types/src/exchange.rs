//! Import and export of a project's documents in other tools' layouts.

use serde::{Deserialize, Serialize};

use crate::Kind;

text_enum! {
    /// How a folder of Markdown lays out a project's documents: Charter's own (the
    /// tree as folders), or a spec tool's.
    pub enum Layout as "layout" {
        Charter = "charter",
        SpecKit = "speckit",
        OpenSpec = "openspec",
        Kiro = "kiro",
    }
}

text_enum! {
    /// What an export is written as: a layout (a `.tar.gz`), or ReqIF 1.2 (a `.reqifz`),
    /// which is export only.
    pub enum ExportFormat as "export format" {
        Charter = "charter",
        SpecKit = "speckit",
        OpenSpec = "openspec",
        Kiro = "kiro",
        ReqIf = "reqif",
    }
}

impl ExportFormat {
    /// The layout it writes, unless it is ReqIF.
    pub fn layout(self) -> Option<Layout> {
        match self {
            ExportFormat::Charter => Some(Layout::Charter),
            ExportFormat::SpecKit => Some(Layout::SpecKit),
            ExportFormat::OpenSpec => Some(Layout::OpenSpec),
            ExportFormat::Kiro => Some(Layout::Kiro),
            ExportFormat::ReqIf => None,
        }
    }
}

impl Layout {
    /// What a person calls it.
    pub fn label(self) -> &'static str {
        match self {
            Layout::Charter => "Charter",
            Layout::SpecKit => "Spec Kit",
            Layout::OpenSpec => "OpenSpec",
            Layout::Kiro => "Kiro",
        }
    }
}

text_enum! {
    /// What an import does to one document.
    pub enum ImportAction as "import action" {
        Create = "create",
        Update = "update",
        Unchanged = "unchanged",
    }
}

/// One document of an archive, as an import would bring it in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ImportedDocument {
    /// The file it is read from.
    pub file: String,
    /// Its place in the project: its and its parents' titles, as slugs.
    pub path: String,
    pub title: String,
    pub kind: Kind,
    pub action: ImportAction,
    /// How many requirements it defines.
    pub requirements: usize,
    /// Keys the import gave requirements that had none (OpenSpec's and Kiro's).
    pub keys_assigned: usize,
}

/// An OpenSpec change folder of an archive, which an import proposes as a change
/// request of its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ImportedChange {
    /// Its folder's name, `openspec/changes/<id>/`.
    pub id: String,
    /// From its `proposal.md`.
    pub title: String,
    /// The capabilities whose specs it changes.
    pub specs: Vec<String>,
}

/// What an import would do, or did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ImportPlan {
    pub layout: Layout,
    pub documents: Vec<ImportedDocument>,
    /// Change folders (OpenSpec's), each to be a change request.
    pub changes: Vec<ImportedChange>,
    /// Files of the archive that are not documents in this layout, left out.
    pub skipped: Vec<String>,
}

/// A change request an import opened, and its branch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Opened {
    pub branch: String,
    /// Its number in the project.
    pub number: i32,
    pub title: String,
}

/// An import made: the change requests that propose it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Imported {
    /// The one bringing the archive's documents; none when the target has them all as
    /// they are (an archive of change folders).
    pub documents: Option<Opened>,
    /// One per change folder, each built on the documents' branch.
    pub changes: Vec<Opened>,
    pub plan: ImportPlan,
}
