//! `invalid-example`: each example checked against the schema it illustrates, `$ref`s
//! into the contract followed (those into other contracts are `broken-ref`'s business,
//! and an example whose schema reaches outside is left unchecked).

use serde_json::Value;

use super::{pointer, Problem, INVALID_EXAMPLE};
use crate::contract::check::{mismatch, Checker};
use crate::contract::{Kind, Readable};
/// Examples checked per contract at most.
const MAX_EXAMPLES: usize = 500;

/// Keywords whose value is a schema, a list of schemas or a map of them.
const ONE: [&str; 8] = ["items", "not", "additionalProperties", "if", "then", "else", "contains", "propertyNames"];
const LIST: [&str; 4] = ["allOf", "anyOf", "oneOf", "prefixItems"];
const MAP: [&str; 4] = ["properties", "patternProperties", "$defs", "definitions"];

type Path = Vec<String>;

fn child(path: &[String], segment: &str) -> Path {
    let mut inner = path.to_vec();
    inner.push(segment.to_owned());
    inner
}

/// A schema and every schema inside it, with their paths.
fn schemas_within(path: Path, schema: &Value) -> Vec<(Path, &Value)> {
    let mut found = Vec::new();
    let mut stack = vec![(path, schema)];
    while let Some((path, schema)) = stack.pop() {
        let Some(members) = schema.as_object() else { continue };
        for (key, value) in members {
            if ONE.contains(&key.as_str()) && value.is_object() {
                stack.push((child(&path, key), value));
            } else if LIST.contains(&key.as_str()) || (key == "items" && value.is_array()) {
                for (index, item) in value.as_array().into_iter().flatten().enumerate() {
                    stack.push((child(&child(&path, key), &index.to_string()), item));
                }
            } else if MAP.contains(&key.as_str()) {
                for (name, item) in value.as_object().into_iter().flatten() {
                    stack.push((child(&child(&path, key), name), item));
                }
            }
        }
        found.push((path, schema));
    }
    found
}

/// Where each example is, and the schema it should match: a schema's own `example` and
/// `examples` (a list), and a parameter's, header's or media type's `example` and
/// `examples.*.value` beside its `schema`.
fn pairs(readable: &Readable) -> Vec<(Path, Path, &Value)> {
    let root = &readable.source.value;
    let mut schemas: Vec<(Path, &Value)> = Vec::new();
    let mut pairs = Vec::new();
    match readable.kind {
        Kind::JsonSchema => schemas = schemas_within(Vec::new(), root),
        Kind::OpenApi(_) => {
            for (path, schema) in super::super::validate::schema_objects(root) {
                let holder_path = &path[..path.len() - 1];
                if path.last().map(String::as_str) == Some("schema") {
                    let segments: Vec<&str> = holder_path.iter().map(String::as_str).collect();
                    if let Some(holder) = root.pointer(&pointer(&segments)) {
                        if let Some(example) = holder.get("example") {
                            pairs.push((path.clone(), child(holder_path, "example"), example));
                        }
                        for (name, example) in holder.get("examples").and_then(Value::as_object).into_iter().flatten() {
                            if let Some(value) = example.get("value") {
                                pairs.push((
                                    path.clone(),
                                    child(&child(&child(holder_path, "examples"), name), "value"),
                                    value,
                                ));
                            }
                        }
                    }
                }
                schemas.extend(schemas_within(path, schema));
            }
        }
        Kind::Unsupported(_) => return Vec::new(),
    }
    for (path, schema) in schemas {
        if let Some(example) = schema.get("example") {
            pairs.push((path.clone(), child(&path, "example"), example));
        }
        if let Some(Value::Array(examples)) = schema.get("examples") {
            for (index, example) in examples.iter().enumerate() {
                pairs.push((path.clone(), child(&child(&path, "examples"), &index.to_string()), example));
            }
        }
    }
    // Grouped by schema, each group's examples in the order written.
    pairs.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    pairs.truncate(MAX_EXAMPLES);
    pairs
}

/// The examples that do not match their schemas, one validator built per schema for
/// all its examples.
pub(super) fn invalid(readable: &Readable) -> Vec<Problem> {
    let pairs = pairs(readable);
    if pairs.is_empty() {
        return Vec::new();
    }
    let Some(checker) = Checker::new(readable) else { return Vec::new() };
    let mut problems = Vec::new();
    let mut at = 0;
    while at < pairs.len() {
        let schema_path = &pairs[at].0;
        let same = pairs[at..].iter().take_while(|(path, _, _)| path == schema_path).count();
        let group = &pairs[at..at + same];
        at += same;
        let segments: Vec<&str> = schema_path.iter().map(String::as_str).collect();
        // A schema that cannot be built is the structure's or a reference's finding.
        let Some(validator) = checker.validator(&segments) else { continue };
        for (_, example_path, example) in group {
            if let Some(message) = mismatch(&validator, example, "the example") {
                let place = readable.source.spots.place(example_path.iter().map(String::as_str));
                problems.push(Problem { rule: INVALID_EXAMPLE, place, message });
            }
        }
    }
    problems
}
