//! Contracts: OpenAPI and JSON Schema documents kept beside the specs, their operations
//! linked to requirements.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::DocumentId;

text_enum! {
    /// What a contract is written in. Read from its text (`openapi: 3.1.0` is OpenAPI;
    /// anything else a JSON Schema), and chosen when one is created from a template.
    pub enum ContractFormat as "contract format" {
        OpenApi = "openapi",
        JsonSchema = "json-schema",
    }
}

text_enum! {
    /// An HTTP method an OpenAPI operation answers.
    pub enum HttpMethod as "HTTP method" {
        Get = "get",
        Put = "put",
        Post = "post",
        Delete = "delete",
        Options = "options",
        Head = "head",
        Patch = "patch",
        Trace = "trace",
    }
}

/// One operation of an OpenAPI contract, with the requirements it carries out
/// (`x-requirements: [PAY-001]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Operation {
    pub method: HttpMethod,
    pub path: String,
    pub operation_id: Option<String>,
    pub summary: Option<String>,
    pub tags: Vec<String>,
    pub requirements: Vec<String>,
    /// The line of the contract it is written on (1-based).
    pub line: usize,
}

/// An operation with the contract it is in: what a requirement's page lists of the
/// operations that carry it out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ContractOperation {
    pub document_id: DocumentId,
    /// The contract's title.
    pub document: String,
    #[serde(flatten)]
    pub operation: Operation,
}

text_enum! {
    /// How a change to a contract touches its callers, and so the version bump it asks
    /// for: words only (PATCH), something callers may ignore (MINOR), something that
    /// breaks callers written against the old contract (MAJOR).
    #[derive(PartialOrd, Ord)]
    pub enum ApiImpact as "API impact" {
        Docs = "docs",
        Additive = "additive",
        Breaking = "breaking",
    }
}

/// One change to a contract, classified by the rule that decided its impact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ApiChange {
    pub document_id: DocumentId,
    /// What changed, in a sentence.
    pub change: String,
    pub breaking: bool,
    pub impact: ApiImpact,
    /// The rule that classified it (`response-property-removed`, …).
    pub rule: String,
    /// Where: `POST /orders › response 201 › total`.
    pub location: String,
}

/// What a change request does to one contract: its API changes, and the version bump
/// they ask for from the version the target holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ContractReview {
    pub changes: Vec<ApiChange>,
    /// None when nothing a caller sees changed.
    pub bump: Option<crate::Bump>,
    /// `info.version` before the change.
    pub current_version: Option<String>,
    /// The version the bump leads to (none when `current_version` is not a semantic
    /// version: then there is nothing to confirm or stamp).
    pub proposed_version: Option<String>,
    /// `info.version` as the change writes it, when it changes it.
    pub written_version: Option<String>,
    /// The written version is below the proposed one: merging writes a larger one.
    pub written_too_small: bool,
    /// A reviewer's confirmation of the bump.
    pub confirmed: Option<crate::ConfirmedBump>,
    /// The version merging gives (the confirmed bump applied, or the written version
    /// when larger); once merged, the version it gave.
    pub next_version: Option<String>,
}

impl ContractReview {
    /// Its bump must be confirmed before merging, and has not been (for what the change
    /// holds now).
    pub fn needs_confirmation(&self) -> bool {
        self.proposed_version.is_some() && self.confirmed_bump().is_none()
    }

    /// The bump a reviewer confirmed for what the change holds now.
    pub fn confirmed_bump(&self) -> Option<crate::Bump> {
        self.confirmed.as_ref().filter(|confirmed| !confirmed.stale).map(|confirmed| confirmed.bump)
    }

    /// Some change breaks the contract's callers.
    pub fn breaking(&self) -> bool {
        self.changes.iter().any(|change| change.breaking)
    }
}

text_enum! {
    /// How the code serves an operation of its contract.
    pub enum Conformity as "conformity" {
        /// Served as the contract says (at most additions callers may ignore).
        Implemented = "implemented",
        /// Not served at all.
        Missing = "missing",
        /// Served differently, in a way that breaks the contract's callers.
        Drifted = "drifted",
    }
}

/// One operation of a contract as an implementation serves it, with what differs (from
/// the caller's side, the contract being what they were promised).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct OperationConformance {
    /// `POST /orders`, as the contract names it.
    pub operation: String,
    pub method: HttpMethod,
    pub path: String,
    pub status: Conformity,
    pub differences: Vec<ApiChange>,
}

/// How the code conformed to a contract at a commit: each operation implemented,
/// missing or drifted, and the operations it serves that the contract does not have.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ContractCheck {
    pub document_id: DocumentId,
    /// The branch whose contract the code was checked against.
    pub branch: String,
    /// The commit checked, as the uploader named it.
    pub commit: String,
    pub checked_at: DateTime<Utc>,
    pub checked_by: String,
    pub operations: Vec<OperationConformance>,
    /// Operations the code serves that the contract does not have.
    pub extra: Vec<String>,
}

impl ContractCheck {
    /// Some operation is missing or drifted: the code breaks the contract's callers.
    pub fn breaks(&self) -> bool {
        self.operations.iter().any(|operation| operation.status != Conformity::Implemented)
    }
}

/// An implementation's OpenAPI document to check against a contract and keep.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewContractCheck {
    /// The commit of the code the document was produced from.
    pub commit: String,
    /// The OpenAPI document (YAML or JSON) the code's build produced.
    pub implementation: String,
}
