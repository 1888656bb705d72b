//! A request to the mock: which operation it is for, and what in it breaks the
//! contract (a parameter missing or of the wrong shape, a body that does not match).

use charter_types::HttpMethod;
use serde_json::Value;

use super::{is_json, Located};
use crate::contract::check::{mismatch, Checker};
use crate::contract::Readable;

/// A request as the mock sees it.
pub struct Request<'a> {
    /// `None` for a method no OpenAPI operation can have (`QUERY`, `PROPFIND`).
    pub method: Option<HttpMethod>,
    /// The method as sent, for messages.
    pub method_name: &'a str,
    /// The path below the contract's mock (`/orders/42`), as sent.
    pub path: &'a str,
    /// The query's pairs, decoded.
    pub query: Vec<(String, String)>,
    /// The headers, names in lowercase.
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
}

impl Request<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(key, _)| *key == name).map(|(_, value)| value.as_str())
    }

    /// A preference the caller states in `Prefer: code=404, example=bad`.
    pub(super) fn prefer(&self, key: &str) -> Option<String> {
        self.header("prefer")?.split([',', ';']).find_map(|part| {
            let (name, value) = part.split_once('=')?;
            (name.trim().eq_ignore_ascii_case(key)).then(|| value.trim().trim_matches('"').to_owned())
        })
    }
}

/// The contract's path template a request path matches, with its path parameters'
/// values. Paths are tried as sent and below a server's path (`/v1` of
/// `https://api.example.com/v1`); a template with more fixed segments wins, as OpenAPI
/// asks.
pub(super) fn route(readable: &Readable, path: &str) -> Option<(String, Vec<(String, String)>)> {
    let mut candidates = vec![path.to_owned()];
    let servers = readable.source.value.get("servers").and_then(Value::as_array);
    for url in servers.into_iter().flatten().filter_map(|server| server.get("url").and_then(Value::as_str)) {
        let base = match url.split_once("://") {
            Some((_, rest)) => rest.find('/').map_or("", |slash| &rest[slash..]),
            None => url,
        };
        let base = base.trim_end_matches('/');
        if let Some(below) = path.strip_prefix(base).filter(|_| !base.is_empty() && !base.contains('{')) {
            if below.is_empty() || below.starts_with('/') {
                candidates.push(if below.is_empty() { "/".to_owned() } else { below.to_owned() });
            }
        }
    }
    let mut templates: Vec<&str> = readable.operations.iter().map(|op| op.path.as_str()).collect();
    templates.dedup();
    candidates.iter().find_map(|candidate| {
        let segments: Vec<String> = candidate
            .split('/')
            .map(|segment| percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned())
            .collect();
        templates
            .iter()
            .filter_map(|template| {
                let (fixed, values) = matches(template, &segments)?;
                Some((fixed, (*template).to_owned(), values))
            })
            .max_by_key(|(fixed, ..)| *fixed)
            .map(|(_, template, values)| (template, values))
    })
}

/// How many fixed segments `template` matches `segments` by, and its parameters'
/// values; `None` when it does not match. A segment holds at most one parameter, with
/// fixed text around it (`{id}.json`).
fn matches(template: &str, segments: &[String]) -> Option<(usize, Vec<(String, String)>)> {
    let parts: Vec<&str> = template.split('/').collect();
    if parts.len() != segments.len() {
        return None;
    }
    let (mut fixed, mut values) = (0, Vec::new());
    for (part, segment) in parts.iter().zip(segments) {
        match (part.find('{'), part.find('}')) {
            (Some(open), Some(close)) if open < close => {
                let (prefix, suffix) = (&part[..open], &part[close + 1..]);
                let value = segment.strip_prefix(prefix)?.strip_suffix(suffix)?;
                if value.is_empty() {
                    return None;
                }
                values.push((part[open + 1..close].to_owned(), value.to_owned()));
            }
            _ if part == segment => fixed += 1,
            _ => return None,
        }
    }
    Some((fixed, values))
}

/// What in the request breaks the operation's contract, in a sentence; `None` when
/// nothing does.
pub(super) fn problem(
    root: &Value,
    item: &Located<'_>,
    op: &Located<'_>,
    path_values: &[(String, String)],
    request: &Request<'_>,
    checker: Option<&Checker>,
) -> Option<String> {
    // The operation's parameters override the path's of the same name and place.
    let mut parameters: Vec<Located<'_>> = Vec::new();
    for holder in [item, op] {
        let Some(list) = holder.child("parameters") else { continue };
        for index in 0..list.value.as_array().map_or(0, Vec::len) {
            let Some(parameter) = list.child(&index.to_string()).and_then(|p| p.followed(root)) else { continue };
            let key = |p: &Located<'_>| (p.value.get("name").cloned(), p.value.get("in").cloned());
            parameters.retain(|known| key(known) != key(&parameter));
            parameters.push(parameter);
        }
    }
    parameters.iter().find_map(|parameter| parameter_problem(root, parameter, path_values, request, checker)).or_else(
        || {
            let body = op.child("requestBody")?.followed(root)?;
            body_problem(&body, request, checker)
        },
    )
}

fn parameter_problem(
    root: &Value,
    parameter: &Located<'_>,
    path_values: &[(String, String)],
    request: &Request<'_>,
    checker: Option<&Checker>,
) -> Option<String> {
    let name = parameter.value.get("name").and_then(Value::as_str)?;
    let place = parameter.value.get("in").and_then(Value::as_str)?;
    let what = format!("the {place} parameter `{name}`");
    let values: Vec<String> = match place {
        "path" => path_values.iter().filter(|(key, _)| key == name).map(|(_, value)| value.clone()).collect(),
        "query" => request.query.iter().filter(|(key, _)| key == name).map(|(_, value)| value.clone()).collect(),
        "header" => request.header(name).map(str::to_owned).into_iter().collect(),
        // Cookies are the browser's business: not checked.
        _ => return None,
    };
    let required = place == "path" || parameter.value.get("required") == Some(&Value::Bool(true));
    if values.is_empty() {
        return required.then(|| format!("{what} is required"));
    }
    let schema = parameter.child("schema")?;
    let shape = schema.clone().followed(root)?;
    let value = typed(&shape, &values, root);
    let validator = checker?.validator(&schema.path())?;
    mismatch(&validator, &value, &what)
}

/// The text of a parameter as the value its schema expects: a number, a boolean, or a
/// list of them (repeated, or separated by commas).
fn typed(schema: &Located<'_>, values: &[String], root: &Value) -> Value {
    let type_of = |schema: &Value| schema.get("type").and_then(Value::as_str).map(str::to_owned);
    match type_of(schema.value).as_deref() {
        Some("array") => {
            let items = schema.child("items").and_then(|items| items.followed(root));
            let item_type = items.and_then(|items| type_of(items.value));
            let each: Vec<&str> = match values {
                [one] => one.split(',').collect(),
                many => many.iter().map(String::as_str).collect(),
            };
            Value::Array(each.into_iter().map(|value| scalar(item_type.as_deref(), value)).collect())
        }
        other => scalar(other, &values[0]),
    }
}

fn scalar(type_name: Option<&str>, text: &str) -> Value {
    let parsed = match type_name {
        Some("integer") => text.parse::<i64>().ok().map(Value::from),
        Some("number") => text.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Value::Number),
        Some("boolean") => text.parse::<bool>().ok().map(Value::Bool),
        _ => None,
    };
    // Text that is not of its type stays text, and the schema says why it is wrong.
    parsed.unwrap_or_else(|| Value::String(text.to_owned()))
}

fn body_problem(body: &Located<'_>, request: &Request<'_>, checker: Option<&Checker>) -> Option<String> {
    if request.body.is_empty() {
        let required = body.value.get("required") == Some(&Value::Bool(true));
        return required.then(|| "a request body is required".to_owned());
    }
    let content = body.child("content")?;
    let types: Vec<&String> = content.value.as_object()?.keys().collect();
    let sent = request.header("content-type").unwrap_or_default();
    let essence = sent.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let accepted = types.iter().find(|declared| {
        let declared = declared.to_ascii_lowercase();
        declared == essence
            || declared == "*/*"
            || declared.strip_suffix("/*").is_some_and(|kind| essence.split('/').next() == Some(kind))
    });
    let Some(media_type) = accepted else {
        let declared: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
        let sent = if essence.is_empty() { "none".to_owned() } else { essence };
        return Some(format!(
            "the request body's media type ({sent}) is not one the operation takes ({})",
            declared.join(", ")
        ));
    };
    if !is_json(&essence) {
        return None;
    }
    let value: Value = match serde_json::from_slice(request.body) {
        Ok(value) => value,
        Err(err) => return Some(format!("the request body is not valid JSON: {err}")),
    };
    let schema = content.child(media_type)?.child("schema")?;
    let validator = checker?.validator(&schema.path())?;
    mismatch(&validator, &value, "the request body")
}
