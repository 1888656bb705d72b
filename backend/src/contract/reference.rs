//! A contract as people read it: an API reference with its operations grouped by tag,
//! each with its parameters, request body, responses, examples and the requirements it
//! carries out (linked, with their hover previews), then the named schemas. Every
//! string from the contract is escaped; descriptions are Markdown, rendered and
//! sanitized like any document's. Each operation is marked with its line
//! (`<span data-line>`) so the editor scrolls its text and the reference together.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use charter_types::Operation;
use serde_json::Value;

use super::{operation_name, Contract, Kind, Readable};
use crate::budget::Budget;
use crate::error::Result;
use crate::markdown::{self, escape, Resolver};

/// Schemas inside schemas are shown this deep; a `$ref` is a link, never expanded.
const MAX_SCHEMA_DEPTH: usize = 6;

struct Out<'a> {
    html: String,
    budget: &'a Budget,
    resolve: Option<&'a Resolver<'a>>,
    root: &'a Value,
    /// Ids given so far, so no two elements share one.
    ids: HashMap<String, usize>,
}

/// The id of an operation's or a schema's heading: prefixed as every id a document
/// brings is, so none can clobber the page's own.
pub fn anchor(kind: &str, name: &str) -> String {
    format!("user-content-{kind}-{}", markdown::slug(name))
}

/// A short name for a schema's type: `string (date-time)`, `array of Order`, `Order`.
fn type_name(schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let last = reference.rsplit('/').next().unwrap_or(reference);
        // As the key it names is written: percent- and pointer-decoded.
        let decoded = percent_encoding::percent_decode_str(last).decode_utf8_lossy();
        return decoded.replace("~1", "/").replace("~0", "~");
    }
    let base = match schema.get("type") {
        Some(Value::String(name)) => name.clone(),
        Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | "),
        _ if schema.get("properties").is_some() => "object".to_owned(),
        _ => ["oneOf", "anyOf", "allOf"]
            .into_iter()
            .find(|key| schema.get(key).is_some())
            .map_or("any".to_owned(), str::to_owned),
    };
    match (base.as_str(), schema.get("items"), schema.get("format").and_then(Value::as_str)) {
        ("array", Some(items), _) => format!("array of {}", type_name(items)),
        (_, _, Some(format)) => format!("{base} ({format})"),
        _ => base,
    }
}

/// What a hover card says of a schema that has no description: its type and, for an
/// object, its properties with those it requires marked.
pub fn outline(schema: &Value) -> String {
    // The card is Markdown: names become code spans, with no backtick to end one early.
    let code = |text: &str| format!("`{}`", text.replace('`', ""));
    let required: Vec<&str> =
        schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    let properties: Vec<String> = schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(
            |(name, _)| {
                if required.contains(&name.as_str()) {
                    format!("{} (required)", code(name))
                } else {
                    code(name)
                }
            },
        )
        .collect();
    let kind = code(&type_name(schema));
    if properties.is_empty() {
        kind
    } else {
        format!("{kind} with {}", properties.join(", "))
    }
}

/// The example a schema carries: `example`, or the first of its `examples`.
fn schema_example(schema: &Value) -> Option<&Value> {
    schema.get("example").or_else(|| schema.get("examples")?.as_array()?.first())
}

impl<'a> Out<'a> {
    fn text(&mut self, text: &str) {
        self.html.push_str(&escape(text));
    }

    /// `anchor(kind, name)`, numbered from the second element that would share it.
    fn id(&mut self, kind: &str, name: &str) -> String {
        let id = anchor(kind, name);
        let seen = self.ids.entry(id.clone()).or_insert(0);
        *seen += 1;
        let id = if *seen == 1 { id } else { format!("{id}-{seen}") };
        escape(&id)
    }

    fn description(&mut self, value: &Value) -> Result<()> {
        if let Some(text) = value.get("description").and_then(Value::as_str) {
            self.budget.check()?;
            let html = markdown::to_html_within(text, self.budget)?;
            let _ = write!(self.html, "<div class=\"api-description\">{html}</div>");
        }
        Ok(())
    }

    fn requirement(&mut self, key: &str) {
        let found = self.resolve.and_then(|resolve| resolve(key));
        self.html.push_str(&markdown::wikilink(key, key, key, found.as_ref()));
    }

    /// A schema's type name, linked to the named schema it refers to (an array's items
    /// included).
    fn type_link(&mut self, schema: &Value) {
        let named = |schema: &Value| {
            let reference = schema.get("$ref")?.as_str()?;
            (reference.starts_with("#/components/schemas/") || reference.starts_with("#/$defs/"))
                .then(|| type_name(schema))
        };
        let link = |out: &mut Self, name: &str| {
            let _ = write!(out.html, "<a href=\"#{}\">", escape(&anchor("schema", name)));
            out.text(name);
            out.html.push_str("</a>");
        };
        let shown = type_name(schema);
        // Only a plain array of a named schema: a union (`[array, null]`) stays as written.
        let item = schema.get("items").and_then(named).filter(|name| shown == format!("array of {name}"));
        match (named(schema), item) {
            (Some(name), _) => link(self, &name),
            (None, Some(name)) => {
                self.html.push_str("array of ");
                link(self, &name);
            }
            (None, None) => self.text(&shown),
        }
    }

    /// A schema as a nested list of its properties (or its type, when it has none).
    fn schema(&mut self, schema: &Value, depth: usize) -> Result<()> {
        self.budget.check()?;
        self.html.push_str("<div class=\"api-schema\"><span class=\"api-type\">");
        self.type_link(schema);
        self.html.push_str("</span>");
        if let Some(Value::Array(values)) = schema.get("enum") {
            let values: Vec<String> = values.iter().map(Value::to_string).collect();
            self.html.push_str(" <span class=\"muted\">one of ");
            self.text(&values.join(", "));
            self.html.push_str("</span>");
        }
        let required: Vec<&str> =
            schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        let properties =
            schema.get("properties").and_then(Value::as_object).filter(|properties| !properties.is_empty());
        match (properties, depth < MAX_SCHEMA_DEPTH) {
            (Some(properties), true) => {
                self.html.push_str("<ul class=\"api-properties\">");
                for (name, property) in properties {
                    self.html.push_str("<li><code>");
                    self.text(name);
                    self.html.push_str("</code>");
                    if required.contains(&name.as_str()) {
                        self.html.push_str(" <span class=\"badge\">required</span>");
                    }
                    self.description(property)?;
                    self.schema(property, depth + 1)?;
                    self.html.push_str("</li>");
                }
                self.html.push_str("</ul>");
            }
            (Some(_), false) => self.html.push_str(" <span class=\"muted\">…</span>"),
            (None, _) => {
                if let (Some(items), true) = (schema.get("items"), depth < MAX_SCHEMA_DEPTH) {
                    if items.get("properties").is_some() {
                        self.schema(items, depth + 1)?;
                    }
                }
            }
        }
        self.html.push_str("</div>");
        Ok(())
    }

    fn example(&mut self, example: &Value) {
        let text = serde_json::to_string_pretty(example).unwrap_or_default();
        self.html.push_str("<details class=\"api-example\"><summary>Example</summary><pre><code>");
        self.text(&text);
        self.html.push_str("</code></pre></details>");
    }

    /// A request body's or a response's content, per media type.
    fn content(&mut self, holder: &Value) -> Result<()> {
        for (media_type, media) in holder.get("content").and_then(Value::as_object).into_iter().flatten() {
            self.html.push_str("<div class=\"api-media\"><code class=\"muted\">");
            self.text(media_type);
            self.html.push_str("</code>");
            if let Some(schema) = media.get("schema") {
                self.schema(schema, 0)?;
            }
            let example = media
                .get("example")
                .or_else(|| media.get("examples")?.as_object()?.values().find_map(|example| example.get("value")))
                .or_else(|| {
                    // The schema's own, when the media type gives none (it may be a `$ref`).
                    let schema = super::validate::followed(self.root, media.get("schema")?, &|_| None)?;
                    schema_example(schema)
                });
            if let Some(example) = example {
                self.example(example);
            }
            self.html.push_str("</div>");
        }
        Ok(())
    }

    /// An object as written, or the one its `$ref` names within the contract.
    fn followed<'v>(&self, value: &'v Value) -> &'v Value
    where
        'a: 'v,
    {
        super::validate::followed(self.root, value, &|_| None).unwrap_or(value)
    }

    fn operation(&mut self, operation: &Operation, item: &Value) -> Result<()> {
        let value = &item[operation.method.as_str()];
        let method = operation.method.as_str();
        let id = self.id("op", &operation_name(operation));
        let _ = write!(
            self.html,
            "<span data-line=\"{}\"></span><article class=\"api-operation\" id=\"{id}\"><h3><span class=\"api-method api-method-{method}\">{}</span> <code>",
            operation.line,
            method.to_uppercase()
        );
        self.text(&operation.path);
        self.html.push_str("</code>");
        if let Some(summary) = &operation.summary {
            self.html.push(' ');
            self.text(summary);
        }
        self.html.push_str("</h3>");
        if value.get("deprecated") == Some(&Value::Bool(true)) {
            self.html.push_str("<p><span class=\"badge\">deprecated</span></p>");
        }
        self.html.push_str("<p class=\"api-meta\">");
        if let Some(id) = &operation.operation_id {
            self.html.push_str("<code>");
            self.text(id);
            self.html.push_str("</code> ");
        }
        if operation.requirements.is_empty() {
            self.html.push_str("<span class=\"muted\">Carries out no requirement yet</span>");
        } else {
            self.html.push_str("Carries out ");
            for (index, key) in operation.requirements.iter().enumerate() {
                if index > 0 {
                    self.html.push_str(", ");
                }
                self.requirement(key);
            }
        }
        self.html.push_str("</p>");
        self.description(value)?;

        let mut parameters: Vec<&Value> = Vec::new();
        for holder in [item, value] {
            for parameter in holder.get("parameters").and_then(Value::as_array).into_iter().flatten() {
                parameters.push(self.followed(parameter));
            }
        }
        if !parameters.is_empty() {
            self.html.push_str("<h4>Parameters</h4><table class=\"api-parameters\"><thead><tr><th>Name</th><th>In</th><th>Type</th><th>Required</th><th>Description</th></tr></thead><tbody>");
            for parameter in parameters {
                let field = |key: &str| parameter.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
                self.html.push_str("<tr><td><code>");
                self.text(&field("name"));
                self.html.push_str("</code></td><td>");
                self.text(&field("in"));
                self.html.push_str("</td><td>");
                if let Some(schema) = parameter.get("schema") {
                    self.type_link(schema);
                }
                let required = parameter.get("required") == Some(&Value::Bool(true));
                let _ = write!(self.html, "</td><td>{}</td><td>", if required { "yes" } else { "no" });
                self.description(parameter)?;
                self.html.push_str("</td></tr>");
            }
            self.html.push_str("</tbody></table>");
        }
        if let Some(body) = value.get("requestBody") {
            let body = self.followed(body);
            let required = if body.get("required") == Some(&Value::Bool(true)) { " (required)" } else { "" };
            let _ = write!(self.html, "<h4>Request body{required}</h4>");
            self.description(body)?;
            self.content(body)?;
        }
        if let Some(responses) = value.get("responses").and_then(Value::as_object) {
            self.html.push_str("<h4>Responses</h4><dl class=\"api-responses\">");
            for (status, response) in responses {
                let response = self.followed(response);
                let class = status.chars().next().filter(char::is_ascii_digit).unwrap_or('x');
                let _ = write!(self.html, "<dt><span class=\"api-status api-status-{class}xx\">");
                self.text(status);
                self.html.push_str("</span></dt><dd>");
                self.description(response)?;
                self.content(response)?;
                self.html.push_str("</dd>");
            }
            self.html.push_str("</dl>");
        }
        self.html.push_str("</article>");
        Ok(())
    }

    fn schemas(&mut self, heading: &str, schemas: Option<&Value>) -> Result<()> {
        let Some(schemas) = schemas.and_then(Value::as_object).filter(|schemas| !schemas.is_empty()) else {
            return Ok(());
        };
        let _ = write!(self.html, "<section class=\"api-schemas\"><h2>{heading}</h2>");
        for (name, schema) in schemas {
            let id = self.id("schema", name);
            let _ = write!(self.html, "<h3 id=\"{id}\"><code>");
            self.text(name);
            self.html.push_str("</code></h3>");
            self.description(schema)?;
            self.schema(schema, 0)?;
            if let Some(example) = schema_example(schema) {
                self.example(example);
            }
        }
        self.html.push_str("</section>");
        Ok(())
    }

    fn openapi(&mut self, readable: &Readable) -> Result<()> {
        let root = &readable.source.value;
        let info = root.get("info").unwrap_or(&Value::Null);
        self.html.push_str("<span data-line=\"1\"></span><header class=\"api-header\"><h1>");
        self.text(info.get("title").and_then(Value::as_str).unwrap_or("API"));
        if let Some(version) = readable.version() {
            self.html.push_str(" <span class=\"badge\">");
            self.text(version);
            self.html.push_str("</span>");
        }
        self.html.push_str("</h1><p class=\"muted\">OpenAPI ");
        self.text(&root.get("openapi").map(|v| v.as_str().map_or(v.to_string(), str::to_owned)).unwrap_or_default());
        self.html.push_str("</p>");
        self.description(info)?;
        let servers: Vec<&str> = root
            .get("servers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|server| server.get("url")?.as_str())
            .collect();
        if !servers.is_empty() {
            self.html.push_str("<p>Servers: ");
            for (index, url) in servers.iter().enumerate() {
                self.html.push_str(if index == 0 { "<code>" } else { ", <code>" });
                self.text(url);
                self.html.push_str("</code>");
            }
            self.html.push_str("</p>");
        }
        self.html.push_str("</header>");

        // Tags in the order the contract declares them, then as operations first use
        // them; each operation is shown once, under its first tag.
        let declared = root.get("tags").and_then(Value::as_array);
        let mut tags: Vec<(&str, Option<&Value>)> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        for tag in declared.into_iter().flatten() {
            if let Some(name) = tag.get("name").and_then(Value::as_str) {
                if seen.insert(name) {
                    tags.push((name, Some(tag)));
                }
            }
        }
        let mut grouped: HashMap<&str, Vec<&Operation>> = HashMap::new();
        for operation in &readable.operations {
            let tag = operation.tags.first().map_or("", String::as_str);
            if seen.insert(tag) {
                tags.push((tag, None));
            }
            grouped.entry(tag).or_default().push(operation);
        }
        // Untagged operations come last.
        tags.sort_by_key(|(tag, _)| tag.is_empty());
        for (tag, declared) in tags {
            let Some(operations) = grouped.get(tag) else { continue };
            let id = self.id("tag", if tag.is_empty() { "other-operations" } else { tag });
            let _ = write!(self.html, "<section class=\"api-tag\"><h2 id=\"{id}\">");
            self.text(if tag.is_empty() { "Other operations" } else { tag });
            self.html.push_str("</h2>");
            if let Some(declared) = declared {
                self.description(declared)?;
            }
            for operation in operations {
                self.operation(operation, &root["paths"][&operation.path])?;
            }
            self.html.push_str("</section>");
        }
        if readable.operations.is_empty() {
            self.html.push_str("<p class=\"muted\">No operations yet: add them under <code>paths</code>.</p>");
        }
        self.schemas("Schemas", root.pointer("/components/schemas"))
    }

    fn json_schema(&mut self, readable: &Readable) -> Result<()> {
        let root = &readable.source.value;
        self.html.push_str("<span data-line=\"1\"></span><header class=\"api-header\"><h1>");
        self.text(root.get("title").and_then(Value::as_str).unwrap_or("Schema"));
        self.html.push_str("</h1><p class=\"muted\">JSON Schema</p>");
        self.description(root)?;
        self.html.push_str("</header>");
        self.schema(root, 0)?;
        if let Some(example) = schema_example(root) {
            self.example(example);
        }
        self.schemas("Definitions", root.get("$defs"))
    }
}

/// The contract's reference as HTML.
pub fn render(contract: &Contract, resolve: Option<&Resolver<'_>>, budget: &Budget) -> Result<String> {
    let readable = match &contract.read {
        Ok(readable) => readable,
        Err(error) => {
            return Ok(format!(
                "<div class=\"api-reference\"><p class=\"api-unreadable\">This contract cannot be read (line {}): {}</p></div>",
                error.place.line,
                escape(&error.message)
            ));
        }
    };
    let mut out = Out {
        html: String::from("<div class=\"api-reference\">"),
        budget,
        resolve,
        root: &readable.source.value,
        ids: HashMap::new(),
    };
    match &readable.kind {
        Kind::OpenApi(_) => out.openapi(readable)?,
        Kind::JsonSchema => out.json_schema(readable)?,
        Kind::Unsupported(_) => {
            out.html.push_str("<p class=\"api-unreadable\">");
            out.text(&readable.kind.refusal().unwrap_or_default());
            out.html.push_str("</p>");
        }
    }
    out.html.push_str("</div>");
    Ok(out.html)
}

#[cfg(test)]
mod tests;
