//! Presence (awareness) states are relayed to every client of a document, whose editors
//! render them: only what the editor uses goes through, in the shape it expects. A state
//! is `null` (the client left) or an object with `user` (the name is always who the
//! connection belongs to; the colour `#rrggbb`) and `cursor` (two Yjs relative
//! positions, or `null`).

use std::collections::HashSet;

use serde_json::{json, Map, Value};
use yrs::sync::AwarenessUpdate;

/// A state larger than this is not relayed (a state with a cursor is about 200 bytes).
const MAX_STATE_BYTES: usize = 2048;
/// The colour of people whose client sent none that can be shown.
const FALLBACK_COLOR: &str = "#6b7280";
/// Yjs ids are JavaScript numbers: integers up to 2^53 - 1.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
const MAX_TYPE_NAME: usize = 100;

/// Keeps the entries of `update` that `username`'s connection may send: client ids no
/// other connection speaks for (`taken`: the first connection to use an id owns it),
/// with states fit to relay. The ids it keeps become the connection's (`mine`).
pub(super) fn own(
    mut update: AwarenessUpdate,
    taken: &HashSet<u64>,
    mine: &mut HashSet<u64>,
    username: &str,
) -> Option<AwarenessUpdate> {
    update.clients.retain(|client, entry| {
        if taken.contains(&client.get()) {
            return false;
        }
        let Some(json) = sanitize(&entry.json, username) else { return false };
        mine.insert(client.get());
        entry.json = json.into();
        true
    });
    (!update.clients.is_empty()).then_some(update)
}

/// The state to relay for `json`, sent by `username`'s client; `None` drops it.
pub(super) fn sanitize(json: &str, username: &str) -> Option<String> {
    if json.len() > MAX_STATE_BYTES {
        return None;
    }
    let state = match serde_json::from_str::<Value>(json).ok()? {
        Value::Null => return Some("null".into()),
        Value::Object(state) => state,
        _ => return None,
    };
    let color = state.get("user").and_then(|user| user.get("color")).and_then(Value::as_str).filter(|c| is_color(c));
    let color = color.unwrap_or(FALLBACK_COLOR);
    let mut clean = Map::new();
    clean.insert("user".into(), json!({ "name": username, "color": color, "colorLight": format!("{color}33") }));
    if let Some(cursor) = state.get("cursor") {
        clean.insert("cursor".into(), sanitize_cursor(cursor).unwrap_or(Value::Null));
    }
    Some(Value::Object(clean).to_string())
}

/// `#rrggbb`, the only colour form the editor accepts.
fn is_color(value: &str) -> bool {
    value.len() == 7 && value.starts_with('#') && value[1..].bytes().all(|byte| byte.is_ascii_hexdigit())
}

fn sanitize_cursor(cursor: &Value) -> Option<Value> {
    Some(json!({
        "anchor": relative_position(cursor.get("anchor")?)?,
        "head": relative_position(cursor.get("head")?)?,
    }))
}

/// A Yjs relative position as JSON: `type` and `item` are ids (or absent), `tname` names
/// a root type, `assoc` says which side it sticks to.
fn relative_position(position: &Value) -> Option<Value> {
    let position = position.as_object()?;
    let mut clean = Map::new();
    for (key, value) in position {
        let value = match (key.as_str(), value) {
            ("type" | "item" | "tname" | "assoc", Value::Null) => Value::Null,
            ("type" | "item", id_value) => id(id_value)?,
            ("tname", Value::String(name)) if name.len() <= MAX_TYPE_NAME => Value::String(name.clone()),
            ("assoc", number) => Value::from(i32::try_from(number.as_i64()?).ok()?),
            _ => return None,
        };
        clean.insert(key.clone(), value);
    }
    Some(Value::Object(clean))
}

fn id(value: &Value) -> Option<Value> {
    let number = |key| value.get(key)?.as_u64().filter(|n| *n <= MAX_SAFE_INTEGER);
    let (client, clock) = (number("client")?, number("clock")?);
    (value.as_object()?.len() == 2).then(|| json!({ "client": client, "clock": clock }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relayed(json: &str) -> Option<Value> {
        sanitize(json, "ada").map(|out| serde_json::from_str(&out).unwrap())
    }

    #[test]
    fn what_the_editor_sends_goes_through_under_the_real_name() {
        let cursor = json!({
            "anchor": { "type": { "client": 12, "clock": 3 }, "tname": null, "item": { "client": 12, "clock": 4 }, "assoc": 0 },
            "head": { "type": null, "tname": "content", "item": null, "assoc": -1 },
        });
        let sent =
            json!({ "user": { "name": "Mallory", "color": "#30bced", "colorLight": "#30bced33" }, "cursor": cursor });
        let out = relayed(&sent.to_string()).unwrap();
        assert_eq!(out["user"], json!({ "name": "ada", "color": "#30bced", "colorLight": "#30bced33" }));
        assert_eq!(out["cursor"], cursor);
        assert_eq!(relayed("null"), Some(Value::Null), "leaving is relayed");
    }

    #[test]
    fn hostile_colours_and_extra_fields_are_replaced_or_dropped() {
        let hostile = json!({
            "user": { "name": "x", "color": "red; position:fixed; background-image:url(https://evil.example/x)",
                      "colorLight": "url(https://evil.example/y)", "html": "<img src=x onerror=alert(1)>" },
            "script": "alert(1)",
        });
        let out = relayed(&hostile.to_string()).unwrap();
        assert_eq!(out, json!({ "user": { "name": "ada", "color": FALLBACK_COLOR, "colorLight": "#6b728033" } }));
        for color in ["#30bced33", "#30bcez", "30bced", "#fff", "#30BCED "] {
            let out = relayed(&json!({ "user": { "color": color } }).to_string()).unwrap();
            assert_eq!(out["user"]["color"], FALLBACK_COLOR, "{color}");
        }
        let out = relayed(&json!({ "user": "not an object", "cursor": null }).to_string()).unwrap();
        assert_eq!(out["user"]["name"], "ada");
        assert_eq!(out["cursor"], Value::Null);
    }

    #[test]
    fn malformed_cursors_are_cleared() {
        let bad_positions = [
            json!("text"),
            json!({ "anchor": { "item": { "client": "12", "clock": 1 } }, "head": {} }),
            json!({ "anchor": { "item": { "client": 1u64 << 60, "clock": 1 } }, "head": {} }),
            json!({ "anchor": { "item": { "client": 1, "clock": 1, "extra": 1 } }, "head": {} }),
            json!({ "anchor": { "tname": "x".repeat(500) }, "head": {} }),
            json!({ "anchor": { "assoc": 1.5 }, "head": {} }),
            json!({ "anchor": { "evil": true }, "head": {} }),
            json!({ "anchor": {} }),
        ];
        for cursor in bad_positions {
            let out = relayed(&json!({ "cursor": cursor }).to_string()).unwrap();
            assert_eq!(out["cursor"], Value::Null, "{cursor}");
        }
    }

    #[test]
    fn states_that_are_not_json_objects_or_too_large_are_dropped() {
        for json in ["{not json", "", "[1,2]", "\"text\"", "42", "{\"user\":"] {
            assert_eq!(sanitize(json, "ada"), None, "{json}");
        }
        let large = json!({ "user": { "color": "#30bced" }, "padding": "x".repeat(MAX_STATE_BYTES) });
        assert_eq!(sanitize(&large.to_string(), "ada"), None);
    }
}
