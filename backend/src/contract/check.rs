//! Values checked against the contract's own schemas: its examples (the lint) and the
//! requests a mock of it receives. `$ref`s into the contract are followed; those into
//! other contracts are `broken-ref`'s business, and a schema that reaches outside is
//! not checked. Patterns run on a bounded backtracking engine (ECMA's lookarounds
//! read), each compiled to at most 64 KiB.

use jsonschema::{Draft, PatternOptions, Registry, Validator};
use serde_json::Value;

use super::rules::pointer;
use super::{Kind, OpenApiVersion, Readable};

/// Where the contract is known to the validator, so `#/components/…` resolves.
const BASE: &str = "https://contract.invalid/this";
/// What a URI fragment cannot hold as it is.
const FRAGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'/').remove(b'~').remove(b'-').remove(b'.').remove(b'_');

/// A contract made ready to check values against its schemas.
pub struct Checker {
    draft: Draft,
    base: String,
    registry: Registry<'static>,
}

impl Checker {
    /// `None` for a contract that is neither OpenAPI nor JSON Schema, or whose schemas
    /// cannot be put together (the structure's findings say why).
    pub fn new(readable: &Readable) -> Option<Checker> {
        let draft = match readable.kind {
            Kind::OpenApi(OpenApiVersion::V3_0) => Draft::Draft4,
            Kind::OpenApi(OpenApiVersion::V3_1) | Kind::JsonSchema => Draft::Draft202012,
            Kind::Unsupported(_) => return None,
        };
        let mut root = readable.source.value.clone();
        if draft == Draft::Draft4 {
            nullable_as_types(&mut root);
        }
        // A JSON Schema with an absolute `$id` resolves its references against it.
        let base = match (&readable.kind, root.get("$id").and_then(Value::as_str)) {
            (Kind::JsonSchema, Some(id)) if id.contains("://") => id.split('#').next().unwrap_or(id).to_owned(),
            _ => BASE.to_owned(),
        };
        let registry = Registry::new().draft(draft).add(&base, root).and_then(|registry| registry.prepare()).ok()?;
        Some(Checker { draft, base, registry })
    }

    /// A validator for the schema at `path` in the contract; `None` when it cannot be
    /// built.
    pub fn validator(&self, path: &[&str]) -> Option<Validator> {
        // The pointer as a URI fragment: `{id}` in a path is percent-encoded.
        let fragment = percent_encoding::utf8_percent_encode(&pointer(path), FRAGMENT).to_string();
        let schema = serde_json::json!({ "$ref": format!("{}#{fragment}", self.base) });
        jsonschema::options()
            .with_draft(self.draft)
            .with_registry(&self.registry)
            .with_pattern_options(PatternOptions::fancy_regex().backtrack_limit(10_000).size_limit(1 << 16))
            .should_validate_formats(true)
            .build(&schema)
            .ok()
    }
}

/// Why `value` does not match, in a sentence about `what` ("the example", "the request
/// body"); `None` when it matches.
pub fn mismatch(validator: &Validator, value: &Value, what: &str) -> Option<String> {
    validator.iter_errors(value).next().map(|error| {
        let at: Vec<String> = error.instance_path().iter().map(|segment| segment.to_string()).collect();
        let name = at.last().map_or(what.to_owned(), |last| format!("`{last}`"));
        let within = if at.is_empty() { String::new() } else { format!(" (at {})", at.join(".")) };
        format!("{what} does not match its schema{within}: {}", error.masked_with(name.as_str()))
    })
}

/// OpenAPI 3.0's `nullable: true` in JSON Schema's words: `null` joins the types (and
/// the values of an `enum`).
fn nullable_as_types(value: &mut Value) {
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(members) => {
                if members.get("nullable") == Some(&Value::Bool(true)) {
                    if let Some(Value::String(name)) = members.get("type") {
                        let types = Value::Array(vec![Value::String(name.clone()), Value::String("null".into())]);
                        members.insert("type".into(), types);
                    }
                    if let Some(Value::Array(values)) = members.get_mut("enum") {
                        values.push(Value::Null);
                    }
                }
                stack.extend(members.values_mut());
            }
            Value::Array(items) => stack.extend(items.iter_mut()),
            _ => {}
        }
    }
}
