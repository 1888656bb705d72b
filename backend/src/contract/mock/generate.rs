//! A value made from a schema, for an answer the contract gives no example of: the
//! schema's own example, default, const or first enum value where it has one, else the
//! simplest value of its type within its bounds, every property filled in. Bounded in
//! depth and size, so a recursive schema makes a finite value.

use serde_json::{Map, Value};

use super::Located;

/// How deep objects and lists nest with every property and an item; below, objects
/// hold only their required properties and lists are empty, so a recursive schema
/// ends where it may.
const FULL_DEPTH: usize = 8;
/// How deep a value nests at most (a schema that requires itself has no finite value).
const MAX_DEPTH: usize = 32;
/// How many values one answer holds at most.
const MAX_VALUES: usize = 10_000;

pub(super) fn value(root: &Value, schema: Located<'_>) -> Value {
    let mut budget = MAX_VALUES;
    make(root, schema, 0, &mut budget)
}

fn make(root: &Value, schema: Located<'_>, depth: usize, budget: &mut usize) -> Value {
    if *budget == 0 || depth > MAX_DEPTH {
        return Value::Null;
    }
    *budget -= 1;
    // A reference that leads outside the contract (or round in circles) gives nothing.
    let Some(schema) = schema.followed(root) else { return Value::Null };
    let Value::Object(members) = schema.value else { return Value::Null };
    for key in ["example", "default", "const"] {
        if let Some(value) = members.get(key) {
            return value.clone();
        }
    }
    for key in ["examples", "enum"] {
        if let Some(first) = members.get(key).and_then(Value::as_array).and_then(|values| values.first()) {
            return first.clone();
        }
    }
    if let Some(parts) = members.get("allOf").and_then(Value::as_array) {
        // Every part holds: their objects merged.
        let mut merged = Map::new();
        for index in 0..parts.len() {
            let part = schema.child("allOf").and_then(|all| all.child(&index.to_string()));
            if let Some(Value::Object(made)) = part.map(|part| make(root, part, depth + 1, budget)) {
                merged.extend(made);
            }
        }
        return Value::Object(merged);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(first) = schema.child(key).and_then(|choices| choices.child("0")) {
            return make(root, first, depth + 1, budget);
        }
    }
    let type_name = match members.get("type") {
        Some(Value::String(name)) => Some(name.as_str()),
        // `[string, "null"]`: the first type that is not null.
        Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).find(|name| *name != "null"),
        _ => None,
    };
    let type_name = type_name.or(if members.contains_key("properties") { Some("object") } else { None });
    let number = |key: &str| members.get(key).and_then(Value::as_f64);
    match type_name {
        Some("object") => {
            let required: Vec<&str> = members
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let mut made = Map::new();
            let properties = schema.child("properties");
            for name in properties.iter().flat_map(|p| p.value.as_object()).flat_map(Map::keys) {
                if depth >= FULL_DEPTH && !required.contains(&name.as_str()) {
                    continue;
                }
                if let Some(property) = properties.as_ref().and_then(|p| p.child(name)) {
                    made.insert(name.clone(), make(root, property, depth + 1, budget));
                }
            }
            Value::Object(made)
        }
        Some("array") => {
            let wanted = if depth < FULL_DEPTH { 1 } else { 0 };
            let count = number("minItems").map_or(wanted, |min| (min as usize).clamp(wanted, 3));
            let items = schema.child("items");
            let made = (0..count).filter_map(|_| Some(make(root, items.clone()?, depth + 1, budget))).collect();
            Value::Array(made)
        }
        // Zero, or the bound nearest to it.
        Some("integer") => {
            let low = number("minimum").or(number("exclusiveMinimum").map(|min| min.floor() + 1.0));
            let high = number("maximum").or(number("exclusiveMaximum").map(|max| max.ceil() - 1.0));
            Value::from(0f64.max(low.unwrap_or(f64::MIN)).min(high.unwrap_or(f64::MAX)) as i64)
        }
        Some("number") => {
            let low = number("minimum").or(number("exclusiveMinimum").map(|min| min + 1.0));
            let high = number("maximum").or(number("exclusiveMaximum").map(|max| max - 1.0));
            let value = 0f64.max(low.unwrap_or(f64::MIN)).min(high.unwrap_or(f64::MAX));
            serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
        }
        Some("boolean") => Value::Bool(true),
        Some("null") => Value::Null,
        Some("string") => {
            let format = members.get("format").and_then(Value::as_str).unwrap_or_default();
            let text = match format {
                "date-time" => "2026-01-01T00:00:00Z",
                "date" => "2026-01-01",
                "time" => "00:00:00Z",
                "email" => "user@example.com",
                "uri" | "url" => "https://example.com/",
                "uuid" => "00000000-0000-4000-8000-000000000000",
                "ipv4" => "192.0.2.1",
                "ipv6" => "2001:db8::1",
                "hostname" => "example.com",
                _ => "string",
            };
            let min = number("minLength").map_or(0, |min| min as usize);
            let max = number("maxLength").map_or(usize::MAX, |max| max as usize);
            let mut text = text.to_owned();
            while text.chars().count() < min.min(1024) {
                text.push('x');
            }
            Value::String(text.chars().take(max).collect())
        }
        _ => Value::Object(Map::new()),
    }
}
