//! A stand-in for the service an OpenAPI contract describes, so that front-end work and
//! coding agents can start before the service exists: a request is matched to its
//! operation, checked against the operation's parameters and body, and answered from
//! the contract's examples, or with values made from its schemas. A request that breaks
//! the contract is answered with the contract's own error response.
//!
//! The caller may choose the answer as Prism lets them: `Prefer: code=404` picks a
//! declared status, `Prefer: example=name` a named example.

mod generate;
mod request;

use charter_types::HttpMethod;
use serde_json::{Map, Value};

use super::check::Checker;
use super::{operation_name, Kind, Readable};
pub use request::Request;

/// How deep `$ref`s are followed before giving up on a cycle of references.
const MAX_HOPS: usize = 16;

/// What the mock answers.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub status: u16,
    /// The media type of `body`.
    pub content_type: Option<String>,
    pub body: Option<Value>,
    /// The operation that answered, `POST /orders`.
    pub operation: Option<String>,
    /// `Allow` for a path whose operations do not include the request's method.
    pub allow: Vec<HttpMethod>,
}

impl Answer {
    /// The mock's own refusal (no operation answers): Charter's error shape.
    fn refusal(status: u16, code: &str, message: String) -> Answer {
        let body = serde_json::json!({ "error": { "code": code, "message": message } });
        Answer {
            status,
            content_type: Some("application/json".into()),
            body: Some(body),
            operation: None,
            allow: vec![],
        }
    }
}

/// A value of the contract with where it is (its JSON pointer's segments), once its
/// `$ref`s are followed.
#[derive(Clone)]
pub(crate) struct Located<'a> {
    pub path: Vec<String>,
    pub value: &'a Value,
}

impl<'a> Located<'a> {
    fn child(&self, segment: &str) -> Option<Located<'a>> {
        let value = match self.value {
            Value::Object(members) => members.get(segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
        let mut path = self.path.clone();
        path.push(segment.to_owned());
        Some(Located { path, value })
    }

    /// What it stands for once its `$ref`s into the contract are followed; `None` when
    /// one leads outside it, nowhere, or round in circles.
    pub(crate) fn followed(self, root: &'a Value) -> Option<Located<'a>> {
        let mut at = self;
        for _ in 0..MAX_HOPS {
            let Some(reference) = at.value.get("$ref").and_then(Value::as_str) else { return Some(at) };
            let pointer = reference.strip_prefix('#')?;
            let decoded = percent_encoding::percent_decode_str(pointer).decode_utf8().ok()?;
            let value = root.pointer(&decoded)?;
            let path =
                decoded.split('/').skip(1).map(|segment| segment.replace("~1", "/").replace("~0", "~")).collect();
            at = Located { path, value };
        }
        None
    }

    fn path(&self) -> Vec<&str> {
        self.path.iter().map(String::as_str).collect()
    }
}

/// Answers `request` as the service the contract describes would.
pub fn answer(readable: &Readable, request: &Request<'_>) -> Answer {
    if !matches!(readable.kind, Kind::OpenApi(_)) {
        return Answer::refusal(404, "not_found", "only an OpenAPI contract describes a service to mock".into());
    }
    let root = &readable.source.value;
    let Some((template, parameters)) = request::route(readable, request.path) else {
        return Answer::refusal(404, "not_found", format!("the contract has no path that matches {}", request.path));
    };
    let found = readable.operations.iter().find(|op| op.path == template && Some(op.method) == request.method);
    let (Some(operation), Some(method)) = (found, request.method) else {
        let allow = readable.operations.iter().filter(|op| op.path == template).map(|op| op.method).collect();
        let message = format!("{template} has no {} operation in the contract", request.method_name);
        return Answer { allow, ..Answer::refusal(405, "method_not_allowed", message) };
    };
    let name = operation_name(operation);
    let top = Located { path: Vec::new(), value: root };
    let Some(item) = top.child("paths").and_then(|paths| paths.child(&template)) else {
        return Answer::refusal(404, "not_found", format!("the contract has no path {template}"));
    };
    let Some(op) = item.child(method.as_str()) else {
        return Answer::refusal(404, "not_found", format!("the contract has no operation {name}"));
    };
    let checker = Checker::new(readable);
    let answer = match request::problem(root, &item, &op, &parameters, request, checker.as_ref()) {
        Some(problem) => refused(root, &op, request, &problem),
        None => answered(root, &op, request),
    };
    Answer { operation: Some(name), ..answer }
}

/// The operation's success answer: the status `Prefer: code=` asks for when declared,
/// else the first 2xx, else `default`.
fn answered(root: &Value, op: &Located<'_>, request: &Request<'_>) -> Answer {
    let responses = op.child("responses");
    let declared: Vec<String> =
        responses.iter().flat_map(|r| r.value.as_object()).flat_map(Map::keys).cloned().collect();
    let preferred = request.prefer("code").filter(|code| declared.contains(code));
    let status = preferred
        .or_else(|| {
            let mut success: Vec<&String> = declared.iter().filter(|code| code.starts_with('2')).collect();
            success.sort();
            success.first().map(|code| (*code).clone())
        })
        .or_else(|| declared.iter().find(|code| *code == "default").cloned());
    let Some(status) = status else {
        return Answer { status: 200, content_type: None, body: None, operation: None, allow: vec![] };
    };
    response(root, responses.and_then(|r| r.child(&status)), &status, request, None)
}

/// The contract's own error for a request that breaks it: its `400`, else `422`, else
/// its first 4xx, else `default`; the mock's own `400` when it declares none. The
/// reason goes into the error's `message`, `detail`, `error` or `title`, whichever its
/// body has.
fn refused(root: &Value, op: &Located<'_>, request: &Request<'_>, problem: &str) -> Answer {
    let responses = op.child("responses");
    let declared: Vec<String> =
        responses.iter().flat_map(|r| r.value.as_object()).flat_map(Map::keys).cloned().collect();
    let mut client_errors: Vec<&String> = declared.iter().filter(|code| code.starts_with('4')).collect();
    client_errors.sort();
    let chosen = ["400", "422"]
        .into_iter()
        .find(|code| declared.iter().any(|declared| declared == code))
        .map(str::to_owned)
        .or_else(|| client_errors.first().map(|code| (*code).clone()))
        .or_else(|| declared.iter().find(|code| *code == "default").cloned());
    match chosen {
        Some(status) => response(root, responses.and_then(|r| r.child(&status)), &status, request, Some(problem)),
        None => Answer::refusal(400, "invalid_request", problem.to_owned()),
    }
}

/// A declared response as an answer: its status (`default` as `fallback`'s), and its
/// first JSON media type's example, or a value made from its schema.
fn response(
    root: &Value,
    declared: Option<Located<'_>>,
    status: &str,
    request: &Request<'_>,
    problem: Option<&str>,
) -> Answer {
    let code = status.parse::<u16>().ok().filter(|code| (100..600).contains(code));
    let code = code.unwrap_or(if problem.is_some() { 400 } else { 200 });
    let content = declared.and_then(|d| d.followed(root)).and_then(|d| d.child("content"));
    let media = content.as_ref().and_then(|content| {
        let types = content.value.as_object()?;
        let chosen = types.keys().find(|name| is_json(name)).or_else(|| types.keys().next())?;
        Some((chosen.clone(), content.child(chosen)?))
    });
    let Some((content_type, media)) = media else {
        return Answer { status: code, content_type: None, body: None, operation: None, allow: vec![] };
    };
    let mut body = example(root, &media, request.prefer("example").as_deref())
        .or_else(|| media.child("schema").map(|schema| generate::value(root, schema)));
    if let (Some(problem), Some(Value::Object(members))) = (problem, body.as_mut()) {
        let key = ["message", "detail", "error", "title"]
            .into_iter()
            .find(|key| members.get(*key).is_some_and(Value::is_string));
        if let Some(key) = key {
            members.insert(key.to_owned(), Value::String(problem.to_owned()));
        }
    }
    Answer { status: code, content_type: Some(content_type), body, operation: None, allow: vec![] }
}

/// A media type's example: the one named (when it has it), else its first.
fn example(root: &Value, media: &Located<'_>, named: Option<&str>) -> Option<Value> {
    let examples = media.value.get("examples").and_then(Value::as_object);
    let from_examples = examples.and_then(|examples| {
        let key =
            named.filter(|name| examples.contains_key(*name)).or_else(|| examples.keys().next().map(String::as_str))?;
        let example = Located { path: Vec::new(), value: examples.get(key)? }.followed(root)?;
        example.value.get("value").cloned()
    });
    from_examples.or_else(|| media.value.get("example").cloned())
}

/// JSON, or a JSON-based media type (`application/problem+json`).
pub fn is_json(media_type: &str) -> bool {
    let essence = media_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

#[cfg(test)]
mod tests;
