//! Comparing an operation's parameters, bodies and responses, and two schemas, from the
//! caller's side (see `Direction`).

use std::collections::{BTreeSet, HashSet};

use serde_json::{Map, Value};

use super::{followed, Direction, Out};

/// Schemas inside schemas are compared this deep (a recursive schema stops sooner).
const MAX_DEPTH: usize = 32;

pub(super) struct Compare<'a, 'o> {
    old_root: &'a Value,
    new_root: &'a Value,
    direction: Direction,
    out: &'o mut Out,
    /// Pairs of schemas compared so far (by address) in each direction: each pair is
    /// compared once, so a recursive schema ends and one shared by many operations is
    /// walked (and its changes told) once, where it is first reached.
    done: HashSet<(*const Value, *const Value, Direction)>,
}

/// The members of an object (none for anything else, or nothing).
fn members(value: Option<&Value>) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    value.and_then(Value::as_object).unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

fn flag(value: &Value, key: &str) -> bool {
    value.get(key) == Some(&Value::Bool(true))
}

/// The types a schema allows (`None`: any); `integer` is a kind of `number`.
fn types(schema: &Value) -> Option<BTreeSet<String>> {
    let mut found: BTreeSet<String> = match schema.get("type")? {
        Value::String(name) => [name.clone()].into(),
        Value::Array(names) => names.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => return None,
    };
    if flag(schema, "nullable") {
        found.insert("null".into());
    }
    Some(found)
}

/// Whether every type of `narrow` is one `wide` allows.
fn within(narrow: &Option<BTreeSet<String>>, wide: &Option<BTreeSet<String>>) -> bool {
    match (narrow, wide) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(narrow), Some(wide)) => {
            narrow.iter().all(|name| wide.contains(name) || (name == "integer" && wide.contains("number")))
        }
    }
}

fn describe(types: &Option<BTreeSet<String>>) -> String {
    types.as_ref().map_or("any type".to_owned(), |types| types.iter().cloned().collect::<Vec<_>>().join(" | "))
}

/// Lower bounds narrow as they rise, upper bounds as they fall.
const LOWER: [&str; 4] = ["minLength", "minimum", "exclusiveMinimum", "minItems"];
const UPPER: [&str; 4] = ["maxLength", "maximum", "exclusiveMaximum", "maxItems"];

impl<'a, 'o> Compare<'a, 'o> {
    pub(super) fn new(old_root: &'a Value, new_root: &'a Value, direction: Direction, out: &'o mut Out) -> Self {
        Compare { old_root, new_root, direction, out, done: HashSet::new() }
    }

    fn words(&mut self, location: &str, old: &'a Value, new: &'a Value) {
        let text = |value: &'a Value| (value.get("summary"), value.get("description"), value.get("example"));
        let (old, new) = (followed(self.old_root, old), followed(self.new_root, new));
        if text(old) != text(new) {
            self.out.push("description-changed", location, format!("{location}: its words changed"));
        }
    }

    /// An operation's changes: its ID and deprecation, parameters, request body and
    /// responses. Items are the path items (whose parameters the operation shares).
    pub(super) fn operation(
        &mut self,
        name: &str,
        (old_item, old): (&'a Value, &'a Value),
        (new_item, new): (&'a Value, &'a Value),
    ) {
        if !flag(old, "deprecated") && flag(new, "deprecated") {
            self.out.push("operation-deprecated", name, format!("{name} is deprecated"));
        }
        if let (Some(before), Some(after)) = (old.get("operationId"), new.get("operationId")) {
            if before != after {
                self.out.push("operation-id-changed", name, format!("{name}: operationId {before} became {after}"));
            }
        }
        self.words(name, old, new);
        self.parameters(name, [old_item, old], [new_item, new]);
        self.request_body(name, old.get("requestBody"), new.get("requestBody"));
        self.responses(name, old.get("responses"), new.get("responses"));
    }

    fn parameters(&mut self, name: &str, old: [&'a Value; 2], new: [&'a Value; 2]) {
        let listed = |root: &'a Value, holders: [&'a Value; 2]| -> Vec<(String, &'a Value)> {
            let mut found: Vec<(String, &'a Value)> = Vec::new();
            for holder in holders {
                for parameter in holder.get("parameters").and_then(Value::as_array).into_iter().flatten() {
                    let parameter = followed(root, parameter);
                    let key = format!(
                        "{} {}",
                        parameter.get("in").and_then(Value::as_str).unwrap_or("?"),
                        parameter.get("name").and_then(Value::as_str).unwrap_or("?")
                    );
                    // An operation's own parameter overrides the path's.
                    found.retain(|(other, _)| *other != key);
                    found.push((key, parameter));
                }
            }
            found
        };
        let (before, after) = (listed(self.old_root, old), listed(self.new_root, new));
        for (key, _) in &before {
            if !after.iter().any(|(other, _)| other == key) {
                let location = format!("{name} › parameter {key}");
                self.out.push("parameter-removed", &location, format!("{location} was removed"));
            }
        }
        for (key, parameter) in &after {
            let location = format!("{name} › parameter {key}");
            let required = flag(parameter, "required");
            match before.iter().find(|(other, _)| other == key) {
                None if required => {
                    self.out.push("parameter-added-required", &location, format!("{location} was added, required"))
                }
                None => self.out.push("parameter-added-optional", &location, format!("{location} was added, optional")),
                Some((_, old)) => {
                    match (flag(old, "required"), required) {
                        (false, true) => {
                            self.out.push("parameter-made-required", &location, format!("{location} is now required"))
                        }
                        (true, false) => {
                            self.out.push("parameter-made-optional", &location, format!("{location} is now optional"))
                        }
                        _ => {}
                    }
                    if let (Some(old_schema), Some(new_schema)) = (old.get("schema"), parameter.get("schema")) {
                        self.reading(Direction::Request, |compare| {
                            compare.schema(&location, old_schema, new_schema, 0)
                        });
                    }
                }
            }
        }
    }

    /// Runs `compare` reading schemas in `direction`.
    fn reading(&mut self, direction: Direction, compare: impl FnOnce(&mut Self)) {
        let kept = self.direction;
        // A contract's own JSON Schema stays read both ways.
        if kept != Direction::Both {
            self.direction = direction;
        }
        compare(self);
        self.direction = kept;
    }

    fn request_body(&mut self, name: &str, old: Option<&'a Value>, new: Option<&'a Value>) {
        let location = format!("{name} › request body");
        match (old.map(|old| followed(self.old_root, old)), new.map(|new| followed(self.new_root, new))) {
            (None, None) => {}
            (None, Some(new)) if flag(new, "required") => {
                self.out.push("request-body-added-required", &location, format!("{location} was added, required"));
            }
            (None, Some(_)) => self.out.push("property-added", &location, format!("{location} was added, optional")),
            (Some(_), None) => self.out.push("request-body-removed", &location, format!("{location} was removed")),
            (Some(old), Some(new)) => {
                if !flag(old, "required") && flag(new, "required") {
                    self.out.push("request-body-made-required", &location, format!("{location} is now required"));
                }
                self.reading(Direction::Request, |compare| compare.content(&location, old, new));
            }
        }
    }

    fn responses(&mut self, name: &str, old: Option<&'a Value>, new: Option<&'a Value>) {
        let (old, new) = (members(old), members(new));
        for status in old.keys() {
            if new.contains_key(status) {
                continue;
            }
            let location = format!("{name} › response {status}");
            let rule = if status.starts_with('2') { "success-status-removed" } else { "error-response-removed" };
            self.out.push(rule, &location, format!("{location} was removed"));
        }
        for (status, response) in new {
            let location = format!("{name} › response {status}");
            let Some(before) = old.get(status) else {
                self.out.push("response-added", &location, format!("{location} was added"));
                continue;
            };
            let (before, after) = (followed(self.old_root, before), followed(self.new_root, response));
            self.words(&location, before, after);
            self.reading(Direction::Response, |compare| compare.content(&location, before, after));
        }
    }

    /// A body's media types: one removed breaks its callers; each kept is compared.
    fn content(&mut self, location: &str, old: &'a Value, new: &'a Value) {
        let (before, after) = (members(old.get("content")), members(new.get("content")));
        for (media_type, media) in before {
            let Some(now) = after.get(media_type) else {
                let place = format!("{location} › {media_type}");
                self.out.push("media-type-removed", &place, format!("{place} was removed"));
                continue;
            };
            if let (Some(old_schema), Some(new_schema)) = (media.get("schema"), now.get("schema")) {
                self.schema(location, old_schema, new_schema, 0);
            }
        }
    }

    /// Two schemas at `location`, read in the current direction.
    pub(super) fn schema(&mut self, location: &str, old: &'a Value, new: &'a Value, depth: usize) {
        let (old, new) = (followed(self.old_root, old), followed(self.new_root, new));
        if depth > MAX_DEPTH || !self.done.insert((old as *const Value, new as *const Value, self.direction)) {
            return;
        }
        let direction = self.direction;
        let (requests, responses) = (direction != Direction::Response, direction != Direction::Request);
        self.words(location, old, new);

        let (before, after) = (types(old), types(new));
        let narrowed = if requests { !within(&before, &after) } else { false };
        let widened_out = if responses { !within(&after, &before) } else { false };
        if narrowed || widened_out {
            let change = format!("{location}: {} became {}", describe(&before), describe(&after));
            self.out.push("type-changed", location, change);
        } else if before != after && requests {
            self.out.push(
                "type-widened",
                location,
                format!("{location}: {} became {}", describe(&before), describe(&after)),
            );
        }

        self.enumeration(location, old.get("enum"), new.get("enum"), requests, responses);
        if requests {
            self.constraints(location, old, new);
        }
        self.properties(location, old, new, depth, requests, responses);
        if let (Some(old_items), Some(new_items)) = (old.get("items"), new.get("items")) {
            self.schema(&format!("{location}[]"), old_items, new_items, depth + 1);
        }
        for key in ["allOf", "anyOf", "oneOf"] {
            match (old.get(key).and_then(Value::as_array), new.get(key).and_then(Value::as_array)) {
                (Some(before), Some(after)) if before.len() == after.len() => {
                    for (index, (old_part, new_part)) in before.iter().zip(after).enumerate() {
                        self.schema(&format!("{location} › {key}[{index}]"), old_part, new_part, depth + 1);
                    }
                }
                (None, None) => {}
                _ => self.out.push("type-changed", location, format!("{location}: its {key} changed")),
            }
        }
    }

    fn enumeration(
        &mut self,
        location: &str,
        old: Option<&Value>,
        new: Option<&Value>,
        requests: bool,
        responses: bool,
    ) {
        let (Some(Value::Array(before)), Some(Value::Array(after))) = (old, new) else {
            if old.is_none() && new.is_some() && requests {
                self.out.push(
                    "constraint-tightened",
                    location,
                    format!("{location}: only listed values are accepted now"),
                );
            }
            return;
        };
        let show = |value: &Value| value.to_string();
        for value in before.iter().filter(|value| !after.contains(value)) {
            if requests {
                self.out.push(
                    "enum-value-removed",
                    location,
                    format!("{location}: {} is no longer accepted", show(value)),
                );
            }
        }
        for value in after.iter().filter(|value| !before.contains(value)) {
            if responses {
                self.out.push(
                    "response-enum-value-added",
                    location,
                    format!("{location}: {} may now be given", show(value)),
                );
            } else {
                self.out.push("enum-value-added", location, format!("{location}: {} is accepted too", show(value)));
            }
        }
    }

    /// Limits on what a caller may send: a rising lower bound, a falling upper bound, a
    /// new or changed pattern or format narrow it.
    fn constraints(&mut self, location: &str, old: &Value, new: &Value) {
        let number = |schema: &Value, key: &str| schema.get(key).and_then(Value::as_f64);
        for (keys, narrower) in [(LOWER, true), (UPPER, false)] {
            for key in keys {
                let change = match (number(old, key), number(new, key)) {
                    (None, Some(_)) => Some(true),
                    (Some(_), None) => Some(false),
                    (Some(before), Some(after)) if before != after => Some((after > before) == narrower),
                    _ => None,
                };
                match change {
                    Some(true) => {
                        self.out.push("constraint-tightened", location, format!("{location}: {key} narrowed"))
                    }
                    Some(false) => self.out.push("constraint-relaxed", location, format!("{location}: {key} relaxed")),
                    None => {}
                }
            }
        }
        for key in ["pattern", "format"] {
            match (old.get(key), new.get(key)) {
                (before, Some(after)) if before != Some(after) => {
                    self.out.push("constraint-tightened", location, format!("{location}: {key} is now {after}"));
                }
                (Some(_), None) => self.out.push("constraint-relaxed", location, format!("{location}: {key} dropped")),
                _ => {}
            }
        }
        if old.get("additionalProperties") != Some(&Value::Bool(false))
            && new.get("additionalProperties") == Some(&Value::Bool(false))
        {
            self.out.push("constraint-tightened", location, format!("{location}: other fields are refused now"));
        }
    }

    fn properties(
        &mut self,
        location: &str,
        old: &'a Value,
        new: &'a Value,
        depth: usize,
        requests: bool,
        responses: bool,
    ) {
        let required = |schema: &Value| -> BTreeSet<String> {
            schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        };
        let (old_required, new_required) = (required(old), required(new));
        let (before, after) = (members(old.get("properties")), members(new.get("properties")));
        let at = |name: &str| if location.is_empty() { name.to_owned() } else { format!("{location} › {name}") };
        for name in before.keys().filter(|name| !after.contains_key(*name)) {
            let place = at(name);
            let rule = if responses { "response-property-removed" } else { "request-property-removed" };
            self.out.push(rule, &place, format!("{place} was removed"));
        }
        for (name, schema) in after {
            let place = at(name);
            let Some(old_schema) = before.get(name) else {
                if requests && new_required.contains(name) {
                    self.out.push("request-property-added-required", &place, format!("{place} was added, required"));
                } else {
                    self.out.push("property-added", &place, format!("{place} was added"));
                }
                continue;
            };
            match (old_required.contains(name), new_required.contains(name)) {
                (false, true) if requests => {
                    self.out.push("request-property-made-required", &place, format!("{place} is now required"));
                }
                (true, false) if responses => {
                    self.out.push("response-property-made-optional", &place, format!("{place} may now be left out"));
                }
                _ => {}
            }
            self.schema(&place, old_schema, schema, depth + 1);
        }
    }
}
