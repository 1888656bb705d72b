//! Contracts: OpenAPI 3.0 / 3.1 and JSON Schema (2020-12) documents, in YAML or JSON.
//! `source` reads the text with each value's place; this module says what a contract
//! is (its format, version, operations and named schemas); `validate` checks it against
//! the official schemas and its `$ref`s; `rules` is the contract lint; `reference`
//! renders it as an API reference. Nothing here touches storage: the spec structure
//! reads contracts through `read`, as it reads Markdown through its parser.

pub mod reference;
pub mod rules;
pub mod source;
pub mod validate;

use charter_types::{ContractFormat, HttpMethod, Operation};
use serde_json::Value;

pub use source::{Source, Syntax, SyntaxError};

/// A place in a text: 1-based line, 1-based column in UTF-16 units (as browsers count).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Place {
    pub line: usize,
    pub column: usize,
}

/// Which OpenAPI: the two read alike, but are checked against their own schemas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenApiVersion {
    V3_0,
    V3_1,
}

/// What a contract's text turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    OpenApi(OpenApiVersion),
    JsonSchema,
    /// `openapi: 2.0`, `swagger: "2.0"`, `openapi: 4.0.0`: named, and not read.
    Unsupported(String),
}

impl Kind {
    pub fn format(&self) -> Option<ContractFormat> {
        match self {
            Kind::OpenApi(_) => Some(ContractFormat::OpenApi),
            Kind::JsonSchema => Some(ContractFormat::JsonSchema),
            Kind::Unsupported(_) => None,
        }
    }
}

/// A contract read: its text's values with their places, or why they could not be read.
#[derive(Clone, Debug)]
pub struct Contract {
    pub read: Result<Readable, SyntaxError>,
}

/// A contract whose text could be read.
#[derive(Clone, Debug)]
pub struct Readable {
    pub source: Source,
    pub kind: Kind,
    pub operations: Vec<Operation>,
}

/// The method keys of an OpenAPI path item, in the order the reference lists them.
pub const METHODS: [HttpMethod; 8] = [
    HttpMethod::Get,
    HttpMethod::Put,
    HttpMethod::Post,
    HttpMethod::Delete,
    HttpMethod::Options,
    HttpMethod::Head,
    HttpMethod::Patch,
    HttpMethod::Trace,
];

impl Contract {
    pub fn read(text: &str) -> Contract {
        Contract {
            read: source::read(text).map(|source| {
                let kind = kind_of(&source.value);
                let operations = match kind {
                    Kind::OpenApi(_) => operations(&source),
                    _ => Vec::new(),
                };
                Readable { source, kind, operations }
            }),
        }
    }

    pub fn readable(&self) -> Option<&Readable> {
        self.read.as_ref().ok()
    }

    pub fn operations(&self) -> &[Operation] {
        self.readable().map_or(&[], |readable| &readable.operations)
    }

    /// Every requirement key its operations name, with the line naming it.
    pub fn requirement_keys(&self) -> impl Iterator<Item = (&str, usize)> {
        self.operations()
            .iter()
            .flat_map(|operation| operation.requirements.iter().map(|key| (key.as_str(), operation.line)))
    }
}

impl Readable {
    /// `info.version`, the contract's semantic version.
    pub fn version(&self) -> Option<&str> {
        self.source.value.pointer("/info/version").and_then(Value::as_str)
    }

    /// The schemas it names: `components.schemas` of an OpenAPI contract, `$defs` of a
    /// JSON Schema; what `[[Order]]` links to.
    pub fn schema_names(&self) -> Vec<&str> {
        let named = match self.kind {
            Kind::OpenApi(_) => self.source.value.pointer("/components/schemas"),
            Kind::JsonSchema => self.source.value.get("$defs"),
            Kind::Unsupported(_) => None,
        };
        named.and_then(Value::as_object).map(|map| map.keys().map(String::as_str).collect()).unwrap_or_default()
    }
}

/// What the value is: OpenAPI by its `openapi` field, Swagger by `swagger`, else a
/// JSON Schema.
fn kind_of(value: &Value) -> Kind {
    if let Some(version) = value.get("openapi") {
        let version = match version {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        if version.starts_with("3.0.") || version == "3.0" {
            Kind::OpenApi(OpenApiVersion::V3_0)
        } else if version.starts_with("3.1.") || version == "3.1" {
            Kind::OpenApi(OpenApiVersion::V3_1)
        } else {
            Kind::Unsupported(format!("OpenAPI {version}"))
        }
    } else if let Some(version) = value.get("swagger") {
        Kind::Unsupported(format!("Swagger {}", version.as_str().unwrap_or("2.0")))
    } else {
        Kind::JsonSchema
    }
}

/// Strings, from a string or a list of them (`x-requirements: PAY-001` or `[PAY-001]`).
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(one)) => vec![one.trim().to_owned()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(|s| s.trim().to_owned()).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|text| !text.is_empty())
    .collect()
}

/// Every operation under `paths`, in the order written.
fn operations(source: &Source) -> Vec<Operation> {
    let Some(paths) = source.value.get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (path, item) in paths {
        let Some(item) = item.as_object() else { continue };
        for method in METHODS {
            let Some(operation) = item.get(method.as_str()).and_then(Value::as_object) else { continue };
            let text = |key: &str| operation.get(key).and_then(Value::as_str).map(str::to_owned);
            found.push(Operation {
                method,
                path: path.clone(),
                operation_id: text("operationId"),
                summary: text("summary"),
                tags: strings(operation.get("tags")),
                requirements: strings(operation.get("x-requirements")),
                line: source.spots.place(["paths", path.as_str(), method.as_str()]).line,
            });
        }
    }
    found.sort_by_key(|operation| operation.line);
    found
}

/// `POST /orders` as people write it in a link, the method in capitals.
pub fn operation_name(operation: &Operation) -> String {
    format!("{} {}", operation.method.as_str().to_uppercase(), operation.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_read_with_their_requirements_and_lines() {
        let contract = Contract::read(
            "openapi: 3.1.0\ninfo: {title: Shop, version: 1.2.0}\npaths:\n  /orders:\n    get:\n      operationId: listOrders\n      tags: [orders]\n    post:\n      summary: Place an order\n      x-requirements: [PAY-001, ' ORD-2 ']\n  /orders/{id}:\n    delete:\n      x-requirements: PAY-002\ncomponents:\n  schemas:\n    Order: {type: object}\n",
        );
        let readable = contract.readable().unwrap();
        assert_eq!(readable.kind, Kind::OpenApi(OpenApiVersion::V3_1));
        assert_eq!(readable.version(), Some("1.2.0"));
        assert_eq!(readable.schema_names(), vec!["Order"]);
        let names: Vec<String> = contract.operations().iter().map(operation_name).collect();
        assert_eq!(names, ["GET /orders", "POST /orders", "DELETE /orders/{id}"]);
        let get = &contract.operations()[0];
        assert_eq!(
            (get.operation_id.as_deref(), get.tags.clone(), get.line),
            (Some("listOrders"), vec!["orders".to_owned()], 5)
        );
        assert_eq!(contract.operations()[1].requirements, ["PAY-001", "ORD-2"]);
        assert_eq!(contract.requirement_keys().collect::<Vec<_>>(), [("PAY-001", 8), ("ORD-2", 8), ("PAY-002", 12)]);
    }

    #[test]
    fn the_kind_is_read_from_the_text() {
        let kind = |text: &str| Contract::read(text).readable().map(|readable| readable.kind.clone());
        assert_eq!(kind("openapi: 3.0.3\n"), Some(Kind::OpenApi(OpenApiVersion::V3_0)));
        assert_eq!(kind("{\"openapi\": \"3.1.1\"}"), Some(Kind::OpenApi(OpenApiVersion::V3_1)));
        assert_eq!(kind("openapi: 2.0\n"), Some(Kind::Unsupported("OpenAPI 2.0".into())));
        assert_eq!(kind("swagger: '2.0'\n"), Some(Kind::Unsupported("Swagger 2.0".into())));
        assert_eq!(
            kind("$schema: https://json-schema.org/draft/2020-12/schema\ntype: object\n"),
            Some(Kind::JsonSchema)
        );
        assert_eq!(kind("a: [\n"), None);
    }
}
