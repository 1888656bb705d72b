//! Walking a contract's values with their paths: one walk for every search that looks
//! through a contract, leaving out what is data rather than declarations.

use serde_json::Value;

/// Whether a member holds data rather than declarations, so nothing in it is a `$ref`,
/// a schema or a property to check: examples (a JSON Schema's `examples` list, an
/// OpenAPI Example's `value`), defaults, constants, enumerations and extensions.
/// `path` is where the member's parent is.
pub fn is_data(path: &[String], key: &str, member: &Value) -> bool {
    match key {
        "example" | "default" | "const" | "enum" => true,
        "examples" => member.is_array(),
        "value" | "externalValue" => path.len() >= 2 && path[path.len() - 2] == "examples",
        _ => key.starts_with("x-"),
    }
}

/// Calls `visit` with each value under `value` (itself first) and its path, in order;
/// when `visit` answers false, what is under that value is left alone, as is data.
/// Contracts are nested at most `source::MAX_DEPTH` deep, which bounds the recursion.
pub fn each<'v>(value: &'v Value, visit: &mut dyn FnMut(&[String], &'v Value) -> bool) {
    fn inner<'v>(value: &'v Value, path: &mut Vec<String>, visit: &mut dyn FnMut(&[String], &'v Value) -> bool) {
        if !visit(path, value) {
            return;
        }
        match value {
            Value::Object(members) => {
                for (key, member) in members {
                    if is_data(path, key, member) {
                        continue;
                    }
                    path.push(key.clone());
                    inner(member, path, visit);
                    path.pop();
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    path.push(index.to_string());
                    inner(item, path, visit);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    inner(value, &mut Vec::new(), visit);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn data_is_left_alone() {
        let value = json!({
            "a": {"$ref": "#/x"},
            "example": {"$ref": "#/y"},
            "examples": {"e": {"value": {"$ref": "#/z"}}, "f": {"$ref": "#/w"}},
            "schema": {"examples": [{"$ref": "#/v"}], "x-note": {"$ref": "#/u"}, "properties": {"value": {"$ref": "#/t"}}}
        });
        let mut found = Vec::new();
        each(&value, &mut |path, value| {
            if let Some(target) = value.get("$ref").and_then(Value::as_str) {
                found.push((path.join("/"), target.to_owned()));
            }
            true
        });
        found.sort();
        assert_eq!(
            found,
            [
                ("a".to_owned(), "#/x".to_owned()),
                ("examples/f".to_owned(), "#/w".to_owned()),
                ("schema/properties/value".to_owned(), "#/t".to_owned()),
            ]
        );
    }
}
