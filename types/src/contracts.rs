//! Contracts: OpenAPI and JSON Schema documents kept beside the specs, their operations
//! linked to requirements.

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
