//! The contract lint: rules with IDs, default severities and one-line explanations,
//! configured in the constitution's Checks like the spec lint's. Each rule looks at one
//! contract; what it needs from the rest of the project (which requirement keys exist,
//! the other contracts, the naming style) comes in a `Context`.

mod examples;
pub mod naming;

use std::collections::{BTreeMap, HashMap, HashSet};

use charter_types::Severity;
use serde_json::Value;

pub use naming::Style;

use super::validate::{self, Problem};
use super::{operation_name, Contract, Kind, Place, Readable, METHODS};

pub const CONTRACT_SYNTAX: &str = "contract-syntax";
pub const CONTRACT_SCHEMA: &str = "contract-schema";
pub const BROKEN_REF: &str = "broken-ref";
pub const OPERATION_ID: &str = "operation-id";
pub const OPERATION_SUMMARY: &str = "operation-summary";
pub const ERROR_RESPONSE: &str = "error-response";
pub const PATH_PARAMETERS: &str = "path-parameters";
pub const UNUSED_COMPONENT: &str = "unused-component";
pub const INVALID_EXAMPLE: &str = "invalid-example";
pub const NAMING_STYLE: &str = "naming-style";
pub const ERROR_SCHEMA: &str = "error-schema";
pub const UNLINKED_OPERATION: &str = "unlinked-operation";
pub const UNKNOWN_REQUIREMENT: &str = "unknown-requirement";

/// A rule: its ID, the severity it runs at unless the constitution says otherwise, and
/// what it checks.
pub type Rule = (&'static str, Severity, &'static str);

pub const RULES: [Rule; 13] = [
    (CONTRACT_SYNTAX, Severity::Error, "A contract's text is not valid YAML or JSON, or writes a key twice in one mapping."),
    (CONTRACT_SCHEMA, Severity::Error, "A contract breaks the OpenAPI (3.0, 3.1) or JSON Schema (2020-12) specification, checked against the official schemas."),
    (BROKEN_REF, Severity::Error, "A `$ref` names nothing in its contract, or in the project's other contracts."),
    (OPERATION_ID, Severity::Warning, "An operation has no `operationId`, or shares one with another operation."),
    (OPERATION_SUMMARY, Severity::Warning, "An operation has no summary."),
    (ERROR_RESPONSE, Severity::Warning, "An operation documents no 4xx response, so its callers cannot tell how it refuses them."),
    (PATH_PARAMETERS, Severity::Error, "A path's `{parameter}` is not declared as a path parameter, or a declared path parameter is not in the path."),
    (UNUSED_COMPONENT, Severity::Warning, "A component (schema, response, parameter, …) is defined and never referenced."),
    (INVALID_EXAMPLE, Severity::Error, "An example does not match its schema."),
    (NAMING_STYLE, Severity::Warning, "A property name breaks the project's naming style: the constitution's `property-names` setting (camelCase, snake_case, kebab-case, PascalCase), else the style most names in the project's contracts use."),
    (ERROR_SCHEMA, Severity::Warning, "Error responses (4xx, 5xx) do not all share one schema."),
    (UNLINKED_OPERATION, Severity::Warning, "An operation names no requirement it carries out (`x-requirements: [PAY-001]`)."),
    (UNKNOWN_REQUIREMENT, Severity::Error, "An operation's `x-requirements` names a requirement that no spec defines."),
];

/// What the rules need from the rest of the project.
pub struct Context<'a> {
    /// Whether a spec defines the requirement key.
    pub defines: &'a dyn Fn(&str) -> bool,
    /// Another contract of the project, by the name a `$ref` gives it.
    pub other: &'a dyn Fn(&str) -> Option<&'a Value>,
    /// Pointers into this contract that other contracts refer to (`#/components/…`).
    pub used_elsewhere: &'a HashSet<String>,
    /// The style property names follow, if one is set or most names agree on one.
    pub style: Option<Style>,
}

/// A JSON pointer's escaping of one segment.
pub(crate) fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// The pointer of a path of segments.
pub(crate) fn pointer(path: &[&str]) -> String {
    path.iter().map(|segment| format!("/{}", escape(segment))).collect()
}

/// Every check of a contract: the structure, its references, then the lint, in order
/// of place.
pub fn check<'a>(contract: &'a Contract, context: &Context<'a>) -> Vec<Problem> {
    let mut problems = validate::structure(contract);
    if let Some(readable) = contract.readable() {
        problems.extend(validate::broken_references(readable, context.other));
        problems.extend(examples::invalid(readable));
        problems.extend(naming::breaches(readable, context.style));
        if let Kind::OpenApi(_) = readable.kind {
            problems.extend(operations(readable, context));
            problems.extend(path_parameters(readable, context));
            problems.extend(unused_components(readable, context.used_elsewhere));
            problems.extend(error_schemas(readable));
        }
    }
    problems.sort_by_key(|problem| problem.place);
    problems
}

fn at(readable: &Readable, path: &[&str]) -> Place {
    readable.source.spots.place(path.iter().copied())
}

/// The rules about each operation on its own: its ID, summary, 4xx response and
/// requirements.
fn operations(readable: &Readable, context: &Context<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
    for operation in &readable.operations {
        if let Some(id) = &operation.operation_id {
            *ids.entry(id.as_str()).or_default() += 1;
        }
    }
    for operation in &readable.operations {
        let name = operation_name(operation);
        let path = ["paths", operation.path.as_str(), operation.method.as_str()];
        let place = at(readable, &path);
        let value = &readable.source.value["paths"][&operation.path][operation.method.as_str()];
        match &operation.operation_id {
            None => problems.push(Problem { rule: OPERATION_ID, place, message: format!("{name} has no operationId") }),
            Some(id) if ids[id.as_str()] > 1 => problems.push(Problem {
                rule: OPERATION_ID,
                place: at(readable, &[path[0], path[1], path[2], "operationId"]),
                message: format!("operationId `{id}` is used by more than one operation"),
            }),
            Some(_) => {}
        }
        if operation.summary.as_deref().is_none_or(|summary| summary.trim().is_empty()) {
            problems.push(Problem { rule: OPERATION_SUMMARY, place, message: format!("{name} has no summary") });
        }
        let responses = value.get("responses").and_then(Value::as_object);
        let refuses = responses
            .is_some_and(|responses| responses.keys().any(|status| status.starts_with('4') && status.len() == 3));
        if !refuses {
            let message = format!("{name} documents no 4xx response: say how it refuses a caller's mistake");
            problems.push(Problem { rule: ERROR_RESPONSE, place, message });
        }
        if operation.requirements.is_empty() {
            let message = format!("{name} names no requirement it carries out (x-requirements)");
            problems.push(Problem { rule: UNLINKED_OPERATION, place, message });
        }
        for key in operation.requirements.iter().filter(|key| !(context.defines)(key)) {
            problems.push(Problem {
                rule: UNKNOWN_REQUIREMENT,
                place: at(readable, &[path[0], path[1], path[2], "x-requirements"]),
                message: format!("{name} names {key}, which no spec defines"),
            });
        }
    }
    problems
}

/// `{name}`s of a path template.
fn template_names(path: &str) -> Vec<&str> {
    path.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name)).collect()
}

/// Parameters as declared, references followed (into other contracts too); `None`
/// when one of them leads nowhere known (`broken-ref` says so), as nothing can then be
/// said of what is declared.
fn declared<'v>(root: &'v Value, parameters: Option<&'v Value>, context: &Context<'v>) -> Option<Vec<&'v Value>> {
    let Some(Value::Array(parameters)) = parameters else { return Some(Vec::new()) };
    parameters.iter().map(|parameter| validate::followed(root, parameter, context.other)).collect()
}

/// Path parameters declared and used: each `{name}` of a path is a path parameter of
/// every operation under it (declared on the operation or the path), and each declared
/// path parameter is in the path.
fn path_parameters<'v>(readable: &'v Readable, context: &Context<'v>) -> Vec<Problem> {
    let root = &readable.source.value;
    let Some(paths) = root.get("paths").and_then(Value::as_object) else { return Vec::new() };
    let mut problems = Vec::new();
    for (path, item) in paths {
        let names = template_names(path);
        let Some(shared) = declared(root, item.get("parameters"), context) else { continue };
        for method in METHODS {
            let Some(operation) = item.get(method.as_str()) else { continue };
            let Some(own) = declared(root, operation.get("parameters"), context) else { continue };
            let in_path: Vec<&str> = shared
                .iter()
                .chain(&own)
                .filter(|parameter| parameter.get("in").and_then(Value::as_str) == Some("path"))
                .filter_map(|parameter| parameter.get("name").and_then(Value::as_str))
                .collect();
            let label = format!("{} {path}", method.as_str().to_uppercase());
            let place = at(readable, &["paths", path, method.as_str()]);
            for name in names.iter().filter(|name| !in_path.contains(name)) {
                problems.push(Problem {
                    rule: PATH_PARAMETERS,
                    place,
                    message: format!("{label}: `{{{name}}}` is in the path but not declared as a path parameter"),
                });
            }
            for name in in_path.iter().filter(|name| !names.contains(name)) {
                problems.push(Problem {
                    rule: PATH_PARAMETERS,
                    place,
                    message: format!("{label}: the path parameter `{name}` is not in the path"),
                });
            }
        }
    }
    problems
}

/// Every pointer a reference names and each of its ancestors (`/components/schemas/A`
/// for `#/components/schemas/A/properties/b`), percent-decoded as JSON pointers are.
pub fn referred<'a>(pointers: impl IntoIterator<Item = &'a str>) -> HashSet<String> {
    let mut all = HashSet::new();
    for pointer in pointers {
        let decoded = percent_encoding::percent_decode_str(pointer).decode_utf8_lossy();
        let mut end = decoded.len();
        while end > 0 && all.insert(decoded[..end].to_owned()) {
            end = decoded[..end].rfind('/').unwrap_or(0);
        }
    }
    all
}

/// Components nobody refers to, here or from another contract.
fn unused_components(readable: &Readable, used_elsewhere: &HashSet<String>) -> Vec<Problem> {
    let root = &readable.source.value;
    let Some(components) = root.get("components").and_then(Value::as_object) else { return Vec::new() };
    let here = validate::references(root);
    let used = referred(here.iter().filter_map(|(_, reference)| reference.strip_prefix('#')));
    let mut problems = Vec::new();
    for (section, members) in components {
        // Security schemes are used by name from `security`, not by `$ref`.
        if section == "securitySchemes" || section.starts_with("x-") {
            continue;
        }
        let Some(members) = members.as_object() else { continue };
        for name in members.keys() {
            let pointer = pointer(&["components", section, name]);
            if !(used.contains(&pointer) || used_elsewhere.contains(&pointer)) {
                problems.push(Problem {
                    rule: UNUSED_COMPONENT,
                    place: at(readable, &["components", section, name]),
                    message: format!("`{name}` ({section}) is never referenced"),
                });
            }
        }
    }
    problems
}

/// What an error response answers with, to compare them: the schema's `$ref`, or the
/// schema as written.
fn error_body<'v>(root: &'v Value, response: &'v Value) -> Option<&'v Value> {
    let response = validate::followed(root, response, &|_| None)?;
    let content = response.get("content")?.as_object()?;
    let (_, media) =
        content.iter().find(|(media_type, _)| media_type.contains("json")).or_else(|| content.iter().next())?;
    media.get("schema")
}

/// Error responses (4xx, 5xx and `default`) that answer with another schema than most.
fn error_schemas(readable: &Readable) -> Vec<Problem> {
    let root = &readable.source.value;
    let mut bodies: Vec<(Vec<&str>, String)> = Vec::new();
    for operation in &readable.operations {
        let responses = &root["paths"][&operation.path][operation.method.as_str()]["responses"];
        let Some(responses) = responses.as_object() else { continue };
        for (status, response) in responses {
            let error = status.starts_with('4') || status.starts_with('5') || status == "default";
            if let (true, Some(body)) = (error, error_body(root, response)) {
                let path = vec!["paths", operation.path.as_str(), operation.method.as_str(), "responses", status];
                bodies.push((path, body.to_string()));
            }
        }
    }
    // The most used schema is the shared one (the first written, between equals).
    let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
    for (order, (_, body)) in bodies.iter().enumerate() {
        counts.entry(body).or_insert((0, order)).0 += 1;
    }
    let Some((shared, _)) = counts.iter().max_by_key(|(_, (count, first))| (*count, std::cmp::Reverse(*first))) else {
        return Vec::new();
    };
    let shared_value: Value = serde_json::from_str(shared).unwrap_or(Value::Null);
    let shared_name =
        shared_value.get("$ref").and_then(Value::as_str).map_or("the others'".to_owned(), |r| format!("`{r}`"));
    bodies
        .iter()
        .filter(|(_, body)| body != shared)
        .map(|(path, _)| Problem {
            rule: ERROR_SCHEMA,
            place: at(readable, path),
            message: format!(
                "{} {} answers {} with another schema than the other error responses ({shared_name})",
                path[2].to_uppercase(),
                path[1],
                path[4]
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests;
