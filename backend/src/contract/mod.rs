//! Contracts: OpenAPI 3.0 / 3.1 and JSON Schema (2020-12) documents, in YAML or JSON.
//! `source` reads the text with each value's place; this module says what a contract
//! is (its format, version, operations and named schemas); `validate` checks it against
//! the official schemas and its `$ref`s; `rules` is the contract lint; `reference`
//! renders it as an API reference. Nothing here touches storage: the spec structure
//! reads contracts through `read`, as it reads Markdown through its parser.

pub mod check;
pub mod diff;
pub mod mock;
pub mod reference;
pub mod rules;
pub mod source;
pub mod validate;
pub mod version;
pub mod walk;

use charter_types::{HttpMethod, Operation};
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
    /// `openapi: 2.0`, `swagger: "2.0"`, a document that is neither: named, not read.
    Unsupported(String),
}

impl Kind {
    /// Why a contract of this kind is not read, if it is not.
    pub fn refusal(&self) -> Option<String> {
        match self {
            Kind::Unsupported(what) => {
                Some(format!("{what} is not read here: a contract is OpenAPI 3.0 or 3.1, or a JSON Schema (2020-12)"))
            }
            _ => None,
        }
    }
}

/// Keywords that make a mapping a JSON Schema, when it names no `$schema`.
const SCHEMA_KEYWORDS: [&str; 14] = [
    "type",
    "properties",
    "items",
    "$ref",
    "$defs",
    "definitions",
    "allOf",
    "anyOf",
    "oneOf",
    "enum",
    "const",
    "required",
    "$id",
    "not",
];

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
    /// Each requirement key its operations name, where it is written.
    pub requirement_keys: Vec<(String, Place)>,
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
                let (operations, requirement_keys) = match kind {
                    Kind::OpenApi(_) => operations(&source),
                    _ => (Vec::new(), Vec::new()),
                };
                Readable { source, kind, operations, requirement_keys }
            }),
        }
    }

    pub fn readable(&self) -> Option<&Readable> {
        self.read.as_ref().ok()
    }

    pub fn operations(&self) -> &[Operation] {
        self.readable().map_or(&[], |readable| &readable.operations)
    }

    /// Every requirement key its operations name, where it is written.
    pub fn requirement_keys(&self) -> &[(String, Place)] {
        self.readable().map_or(&[], |readable| &readable.requirement_keys)
    }
}

impl Readable {
    /// `info.version`, the contract's semantic version.
    pub fn version(&self) -> Option<&str> {
        self.source.value.pointer("/info/version").and_then(Value::as_str)
    }

    /// The schemas it names: `components.schemas` of an OpenAPI contract, `$defs` of a
    /// JSON Schema; what `[[Order]]` links to.
    fn named_schemas(&self) -> Option<&serde_json::Map<String, Value>> {
        match self.kind {
            Kind::OpenApi(_) => self.source.value.pointer("/components/schemas"),
            Kind::JsonSchema => self.source.value.get("$defs"),
            Kind::Unsupported(_) => None,
        }
        .and_then(Value::as_object)
    }

    pub fn schema_names(&self) -> Vec<&str> {
        self.named_schemas().map(|map| map.keys().map(String::as_str).collect()).unwrap_or_default()
    }

    /// A named schema.
    pub fn schema(&self, name: &str) -> Option<&Value> {
        self.named_schemas()?.get(name)
    }
}

/// What the value is: OpenAPI by its `openapi` field, Swagger by `swagger`, a JSON
/// Schema by `$schema` or its keywords (or `true` / `false`).
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
    } else if value.is_boolean() || SCHEMA_KEYWORDS.iter().chain(&["$schema"]).any(|key| value.get(key).is_some()) {
        Kind::JsonSchema
    } else if value.is_null() {
        Kind::Unsupported("An empty contract".into())
    } else {
        Kind::Unsupported("A document with neither `openapi` nor any JSON Schema keyword".into())
    }
}

/// The requirement keys an operation names (`x-requirements: PAY-001` or a list of
/// them), each with its index in the list (none for a single key).
fn requirement_keys(value: Option<&Value>) -> Vec<(String, Option<usize>)> {
    let keys: Vec<(&str, Option<usize>)> = match value {
        Some(Value::String(one)) => vec![(one.as_str(), None)],
        Some(Value::Array(items)) => {
            items.iter().enumerate().filter_map(|(index, item)| Some((item.as_str()?, Some(index)))).collect()
        }
        _ => Vec::new(),
    };
    keys.into_iter().map(|(key, index)| (key.trim().to_owned(), index)).filter(|(key, _)| !key.is_empty()).collect()
}

/// Strings, from a string or a list of them (`tags`).
fn strings(value: Option<&Value>) -> Vec<String> {
    requirement_keys(value).into_iter().map(|(text, _)| text).collect()
}

/// Every operation under `paths`, in the order written, with where each of its
/// requirement keys is written.
fn operations(source: &Source) -> (Vec<Operation>, Vec<(String, Place)>) {
    let (Some(paths), Some(spots)) = (source.value.get("paths"), source.spots.child("paths")) else {
        return (Vec::new(), Vec::new());
    };
    let source::Inner::Map(members) = &spots.inner else { return (Vec::new(), Vec::new()) };
    let mut found = Vec::new();
    let mut keys = Vec::new();
    for (path, item_spot) in members {
        let Some(item) = paths.get(path).and_then(Value::as_object) else { continue };
        for method in METHODS {
            let Some(operation) = item.get(method.as_str()).and_then(Value::as_object) else { continue };
            let Some(spot) = item_spot.child(method.as_str()) else { continue };
            let text = |key: &str| operation.get(key).and_then(Value::as_str).map(str::to_owned);
            let named = requirement_keys(operation.get("x-requirements"));
            let listed = spot.child("x-requirements");
            for (key, index) in &named {
                let place = match (listed, index) {
                    (Some(list), Some(index)) => list.place([index.to_string().as_str()]),
                    (Some(list), None) => list.at,
                    _ => spot.key.unwrap_or(spot.at),
                };
                keys.push((key.clone(), place));
            }
            found.push(Operation {
                method,
                path: path.clone(),
                operation_id: text("operationId"),
                summary: text("summary"),
                tags: strings(operation.get("tags")),
                requirements: named.into_iter().map(|(key, _)| key).collect(),
                line: spot.key.unwrap_or(spot.at).line,
            });
        }
    }
    found.sort_by_key(|operation| operation.line);
    (found, keys)
}

/// A contract cut into the parts a change is said to touch, each with its value as
/// written: its operations (`POST /orders`), components (`schemas/Order`) or
/// definitions (`$defs/line`), and the rest as one part.
pub fn sections(text: &str) -> Vec<(String, String)> {
    let contract = Contract::read(text);
    let Some(readable) = contract.readable() else { return vec![(REST.to_owned(), text.to_owned())] };
    let mut rest = readable.source.value.clone();
    let mut found = Vec::new();
    let (inner, parted) = match readable.kind {
        Kind::OpenApi(_) => ("paths", "components"),
        _ => ("", "$defs"),
    };
    if let Some(Value::Object(paths)) = rest.as_object_mut().and_then(|root| root.remove(inner)) {
        for operation in &readable.operations {
            let value = &paths[&operation.path][operation.method.as_str()];
            found.push((operation_name(operation), value.to_string()));
        }
        // What a path says for all its operations (shared parameters) is the rest's.
        let shared: serde_json::Map<String, Value> = paths
            .into_iter()
            .map(|(path, mut item)| {
                if let Some(item) = item.as_object_mut() {
                    item.retain(|key, _| !METHODS.iter().any(|method| method.as_str() == key));
                }
                (path, item)
            })
            .collect();
        rest[inner] = Value::Object(shared);
    }
    if let Some(Value::Object(parts)) = rest.as_object_mut().and_then(|root| root.remove(parted)) {
        for (name, value) in parts {
            match (readable.kind.clone(), value) {
                (Kind::OpenApi(_), Value::Object(members)) => {
                    found.extend(
                        members.into_iter().map(|(member, value)| (format!("{name}/{member}"), value.to_string())),
                    );
                }
                (_, value) => found.push((format!("{parted}/{name}"), value.to_string())),
            }
        }
    }
    found.push((REST.to_owned(), rest.to_string()));
    found
}

/// The part of a contract that is neither an operation nor a named part.
const REST: &str = "(the rest)";

/// A contract's name in URLs and tags (`shop-api` in `shop-api@2.0.0` and
/// `/mock/{project}/shop-api/…`): its title in lowercase ASCII letters and digits.
pub fn slug(title: &str) -> String {
    crate::markdown::slugify(title, |c| c.is_ascii_alphanumeric(), 80).unwrap_or_else(|| "contract".to_owned())
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
        let keys: Vec<(&str, usize, usize)> =
            contract.requirement_keys().iter().map(|(key, place)| (key.as_str(), place.line, place.column)).collect();
        assert_eq!(keys, [("PAY-001", 10, 24), ("ORD-2", 10, 33), ("PAY-002", 13, 23)]);
        // Items that are not keys keep the others' places.
        let odd = Contract::read("openapi: 3.1.0\npaths:\n  /a:\n    get:\n      x-requirements: [1, '', PAY-1]\n");
        let keys: Vec<(&str, usize)> =
            odd.requirement_keys().iter().map(|(key, place)| (key.as_str(), place.column)).collect();
        assert_eq!(keys, [("PAY-1", 31)]);
    }

    #[test]
    fn a_contract_is_cut_into_operations_and_named_parts() {
        let before = "openapi: 3.1.0\ninfo: {title: Shop, version: '1'}\npaths:\n  /a:\n    parameters: []\n    get: {summary: A}\n    post: {summary: B}\ncomponents:\n  schemas:\n    Order: {type: object}\n";
        let names: Vec<String> = sections(before).into_iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["GET /a", "POST /a", "schemas/Order", "(the rest)"]);
        let after = before.replace("{summary: B}", "{summary: C}");
        let changed: Vec<String> = sections(&after)
            .into_iter()
            .zip(sections(before))
            .filter(|(new, old)| new != old)
            .map(|(new, _)| new.0)
            .collect();
        assert_eq!(changed, ["POST /a"]);
        let names: Vec<String> =
            sections("{\"type\": \"object\", \"$defs\": {\"line\": {}}}").into_iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["$defs/line", "(the rest)"]);
        assert_eq!(sections("a: ["), [("(the rest)".to_owned(), "a: [".to_owned())]);
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
