//! `invalid-example`: each example checked against the schema it illustrates, `$ref`s
//! into the contract followed (those into other contracts are `broken-ref`'s business,
//! and an example whose schema reaches outside is left unchecked).

use jsonschema::{Draft, PatternOptions, Registry};
use serde_json::Value;

use super::{pointer, Problem, INVALID_EXAMPLE};
use crate::contract::{Kind, OpenApiVersion, Readable};

/// Where the contract is known to the validator, so `#/components/…` resolves.
const BASE: &str = "https://contract.invalid/this";
/// What a URI fragment cannot hold as it is.
const FRAGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'/').remove(b'~').remove(b'-').remove(b'.').remove(b'_');
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

/// The examples that do not match their schemas. One validator is built per schema,
/// for all its examples; patterns run on a bounded backtracking engine (ECMA's
/// lookarounds read), each compiled to at most 64 KiB.
pub(super) fn invalid(readable: &Readable) -> Vec<Problem> {
    let draft = match readable.kind {
        Kind::OpenApi(OpenApiVersion::V3_0) => Draft::Draft4,
        Kind::OpenApi(OpenApiVersion::V3_1) | Kind::JsonSchema => Draft::Draft202012,
        Kind::Unsupported(_) => return Vec::new(),
    };
    let pairs = pairs(readable);
    if pairs.is_empty() {
        return Vec::new();
    }
    let mut root = readable.source.value.clone();
    if draft == Draft::Draft4 {
        nullable_as_types(&mut root);
    }
    // A JSON Schema with an absolute `$id` resolves its references against it.
    let base = match (&readable.kind, root.get("$id").and_then(Value::as_str)) {
        (Kind::JsonSchema, Some(id)) if id.contains("://") => id.split('#').next().unwrap_or(id).to_owned(),
        _ => BASE.to_owned(),
    };
    let Ok(registry) = Registry::new().draft(draft).add(&base, root).and_then(|registry| registry.prepare()) else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    let mut at = 0;
    while at < pairs.len() {
        let schema_path = &pairs[at].0;
        let same = pairs[at..].iter().take_while(|(path, _, _)| path == schema_path).count();
        let group = &pairs[at..at + same];
        at += same;
        let segments: Vec<&str> = schema_path.iter().map(String::as_str).collect();
        // The pointer as a URI fragment: `{id}` in a path is percent-encoded.
        let fragment = percent_encoding::utf8_percent_encode(&pointer(&segments), FRAGMENT).to_string();
        let schema = serde_json::json!({ "$ref": format!("{base}#{fragment}") });
        let validator = jsonschema::options()
            .with_draft(draft)
            .with_registry(&registry)
            .with_pattern_options(PatternOptions::fancy_regex().backtrack_limit(10_000).size_limit(1 << 16))
            .should_validate_formats(true)
            .build(&schema);
        // A schema that cannot be built is the structure's or a reference's finding.
        let Ok(validator) = validator else { continue };
        for (_, example_path, example) in group {
            let first = validator.iter_errors(example).next().map(|error| {
                let at: Vec<String> = error.instance_path().iter().map(|segment| segment.to_string()).collect();
                let name = at.last().map_or("the example".to_owned(), |last| format!("`{last}`"));
                let within = if at.is_empty() { String::new() } else { format!(" (at {})", at.join(".")) };
                format!("the example does not match its schema{within}: {}", error.masked_with(name.as_str()))
            });
            if let Some(message) = first {
                let place = readable.source.spots.place(example_path.iter().map(String::as_str));
                problems.push(Problem { rule: INVALID_EXAMPLE, place, message });
            }
        }
    }
    problems
}
