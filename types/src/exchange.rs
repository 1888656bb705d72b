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

/// What an import would do, or did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ImportPlan {
    pub layout: Layout,
    pub documents: Vec<ImportedDocument>,
    /// Files of the archive that are not documents in this layout, left out.
    pub skipped: Vec<String>,
}

/// An import made: its branch and the change request that proposes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Imported {
    pub branch: String,
    /// The change request's number in the project.
    pub number: i32,
    pub plan: ImportPlan,
}
