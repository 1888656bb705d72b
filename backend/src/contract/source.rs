//! A contract's text read into JSON values, remembering where each value is written, so
//! that a finding about `/paths/~1orders/post` can point at its line. YAML and JSON are
//! both read as YAML 1.2 (JSON is a subset of it), one event at a time onto a stack of
//! our own: nesting is bounded without recursion, and aliases are counted as the nodes
//! they stand for, so a text that expands into billions of nodes is refused early.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};
use yaml_rust2::Yaml;

use super::Place;

/// Deeper nesting than any real contract has; past it the text is refused.
pub const MAX_DEPTH: usize = 128;
/// Nodes a text may stand for, its aliases expanded.
pub const MAX_NODES: usize = 200_000;

/// How the text is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    Yaml,
    Json,
}

impl Syntax {
    /// JSON when the whole text is JSON; anything else is YAML (of which JSON is a part,
    /// so `{openapi: 3.1.0}` is YAML).
    pub fn of(text: &str) -> Syntax {
        match serde_json::from_str::<serde::de::IgnoredAny>(text.trim_start_matches('\u{feff}')) {
            Ok(_) => Syntax::Json,
            Err(_) => Syntax::Yaml,
        }
    }

    /// How the text is served, and the extension of its file.
    pub fn media_type(self) -> (&'static str, &'static str) {
        match self {
            Syntax::Yaml => ("application/yaml", "yaml"),
            Syntax::Json => ("application/json", "json"),
        }
    }
}

/// Where a value is written: its own place and, for a member of a mapping, its key's.
#[derive(Clone, Debug, PartialEq)]
pub struct Spot {
    pub at: Place,
    pub key: Option<Place>,
    pub inner: Inner,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Inner {
    Leaf,
    List(Vec<Spot>),
    Map(Vec<(String, Spot)>),
}

impl Spot {
    fn leaf(at: Place) -> Spot {
        Spot { at, key: None, inner: Inner::Leaf }
    }

    /// The spot of a member or an item, by property name or index.
    pub fn child(&self, segment: &str) -> Option<&Spot> {
        match &self.inner {
            Inner::Leaf => None,
            Inner::List(items) => segment.parse::<usize>().ok().and_then(|index| items.get(index)),
            Inner::Map(members) => members.iter().find(|(key, _)| key == segment).map(|(_, spot)| spot),
        }
    }

    /// Where the value at `path` (property names and indexes) is written: its key where
    /// it has one (a finding about a member points at its name), else the value; the
    /// deepest spot that exists when the path goes past what the text holds.
    pub fn place<'a>(&self, path: impl IntoIterator<Item = &'a str>) -> Place {
        let mut spot = self;
        for segment in path {
            match spot.child(segment) {
                Some(child) => spot = child,
                None => break,
            }
        }
        spot.key.unwrap_or(spot.at)
    }
}

/// A text read: its value and where each part of it is written.
#[derive(Clone, Debug)]
pub struct Source {
    pub syntax: Syntax,
    pub value: Value,
    pub spots: Spot,
    /// Keys written twice in one mapping (the last one counts, as most readers do).
    pub duplicate_keys: Vec<(String, Place)>,
    /// How many values it holds, aliases counted as what they stand for.
    pub size: usize,
}

/// Why a text could not be read, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub place: Place,
    pub message: String,
}

struct Node {
    value: Value,
    spot: Spot,
    /// How many values it holds, itself included (what an alias to it costs).
    size: usize,
}

enum Frame {
    List {
        at: Place,
        anchor: usize,
        values: Vec<Value>,
        spots: Vec<Spot>,
        size: usize,
    },
    Map {
        at: Place,
        anchor: usize,
        values: Map<String, Value>,
        spots: Vec<(String, Spot)>,
        /// Where each key's spot is in `spots`, so a key written twice is found at once.
        index: HashMap<String, usize>,
        key: Option<(String, Place)>,
        size: usize,
    },
}

/// Turns the parser's markers (a character index, a line) into places, walking the text
/// once: markers come in order, and one that goes back restarts at its line's start.
struct Places<'t> {
    text: &'t str,
    /// Each line's start: its byte offset and its character index.
    lines: Vec<(usize, usize)>,
    byte: usize,
    chars: usize,
    line: usize,
    column: usize,
}

impl<'t> Places<'t> {
    fn new(text: &'t str) -> Places<'t> {
        let mut lines = vec![(0, 0)];
        for (chars, (byte, c)) in text.char_indices().enumerate() {
            if c == '\n' {
                lines.push((byte + 1, chars + 1));
            }
        }
        Places { text, lines, byte: 0, chars: 0, line: 1, column: 0 }
    }

    fn of(&mut self, marker: &Marker) -> Place {
        let target = marker.index();
        if target < self.chars {
            let line = marker.line().clamp(1, self.lines.len());
            let (byte, chars) = self.lines[line - 1];
            (self.byte, self.chars, self.line, self.column) = (byte, chars, line, 0);
            if target < chars {
                (self.byte, self.chars, self.line) = (0, 0, 1);
            }
        }
        for c in self.text[self.byte..].chars() {
            if self.chars >= target {
                break;
            }
            if c == '\n' {
                self.line += 1;
                self.column = 0;
            } else {
                self.column += c.len_utf16();
            }
            self.byte += c.len_utf8();
            self.chars += 1;
        }
        Place { line: self.line, column: self.column + 1 }
    }
}

fn scalar(text: String, style: TScalarStyle, tag: Option<&yaml_rust2::parser::Tag>) -> Value {
    if style != TScalarStyle::Plain || tag.is_some_and(|tag| tag.suffix == "str") {
        return Value::String(text);
    }
    match Yaml::from_str(&text) {
        Yaml::Null => Value::Null,
        Yaml::Boolean(flag) => Value::Bool(flag),
        Yaml::Integer(number) => Value::Number(number.into()),
        Yaml::Real(real) => real
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            // `.inf` and `.nan` have no JSON spelling: kept as written.
            .unwrap_or(Value::String(text)),
        _ => Value::String(text),
    }
}

/// A map key as text: JSON keys are strings, so a YAML key `200` is `"200"`.
fn key_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Null => Some("null".to_owned()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

fn error(place: Place, message: impl Into<String>) -> SyntaxError {
    SyntaxError { place, message: message.into() }
}

/// Reads a contract's text: one YAML document (or JSON value), nothing after it.
pub fn read(text: &str) -> Result<Source, SyntaxError> {
    let mut places = Places::new(text);
    let mut parser = Parser::new_from_str(text);
    let mut next = |places: &mut Places<'_>| {
        parser.next_token().map_err(|err| {
            let at = places.of(err.marker());
            error(at, format!("not valid YAML or JSON: {}", err.info()))
        })
    };
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, (Value, Spot, usize)> = HashMap::new();
    let mut duplicate_keys = Vec::new();
    // Values read so far, aliases counted as what they stand for.
    let mut count = 0usize;
    let mut root: Option<Node> = None;

    while root.is_none() {
        let (event, marker) = next(&mut places)?;
        let at = places.of(&marker);
        let starts_value = matches!(event, Event::SequenceStart(..) | Event::MappingStart(..) | Event::Scalar(..));
        if starts_value {
            count += 1;
        }
        let finished = match event {
            Event::StreamEnd => break,
            Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => None,
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(error(at, format!("nested more than {MAX_DEPTH} levels deep")));
                }
                stack.push(match event {
                    Event::SequenceStart(..) => {
                        Frame::List { at, anchor, values: Vec::new(), spots: Vec::new(), size: 1 }
                    }
                    _ => Frame::Map {
                        at,
                        anchor,
                        values: Map::new(),
                        spots: Vec::new(),
                        index: HashMap::new(),
                        key: None,
                        size: 1,
                    },
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::List { at, anchor, values, spots, size }) => Some((
                    Node { value: Value::Array(values), spot: Spot { at, key: None, inner: Inner::List(spots) }, size },
                    anchor,
                )),
                Some(Frame::Map { at, anchor, values, spots, size, .. }) => {
                    // A block mapping is placed where it is written: at its first key.
                    let at = spots.iter().filter_map(|(_, spot)| spot.key).min().map_or(at, |first| first.min(at));
                    let spot = Spot { at, key: None, inner: Inner::Map(spots) };
                    Some((Node { value: Value::Object(values), spot, size }, anchor))
                }
                None => return Err(error(at, "a collection ends that never began")),
            },
            Event::Scalar(text, style, anchor, tag) => {
                Some((Node { value: scalar(text, style, tag.as_ref()), spot: Spot::leaf(at), size: 1 }, anchor))
            }
            Event::Alias(anchor) => match anchors.get(&anchor) {
                Some((value, spot, size)) => {
                    count += size;
                    Some((Node { value: value.clone(), spot: Spot { at, ..spot.clone() }, size: *size }, 0))
                }
                None => return Err(error(at, "an alias names no anchor before it")),
            },
        };
        if count > MAX_NODES {
            return Err(error(at, format!("stands for more than {MAX_NODES} values (aliases included)")));
        }
        let Some((node, anchor)) = finished else { continue };
        if anchor != 0 {
            anchors.insert(anchor, (node.value.clone(), node.spot.clone(), node.size));
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::List { values, spots, size, .. }) => {
                *size += node.size;
                values.push(node.value);
                spots.push(node.spot);
            }
            Some(Frame::Map { values, spots, index, key, size, .. }) => match key.take() {
                None => {
                    let Some(name) = key_text(&node.value) else {
                        return Err(error(node.spot.at, "a key must be a plain value, not a list or a mapping"));
                    };
                    *key = Some((name, node.spot.at));
                }
                Some((name, key_at)) => {
                    *size += node.size;
                    let spot = Spot { key: Some(key_at), ..node.spot };
                    values.insert(name.clone(), node.value);
                    match index.get(&name) {
                        Some(&at) => {
                            duplicate_keys.push((name.clone(), key_at));
                            spots[at] = (name, spot);
                        }
                        None => {
                            index.insert(name.clone(), spots.len());
                            spots.push((name, spot));
                        }
                    }
                }
            },
        }
    }
    // Nothing may follow the one value but the end (a second YAML document is refused).
    loop {
        let (event, marker) = next(&mut places)?;
        match event {
            Event::StreamEnd => break,
            Event::DocumentEnd | Event::Nothing => {}
            _ => {
                return Err(error(places.of(&marker), "a contract is one YAML document or JSON value; more follows it"))
            }
        }
    }
    let root = root.unwrap_or(Node { value: Value::Null, spot: Spot::leaf(Place { line: 1, column: 1 }), size: 1 });
    Ok(Source { syntax: Syntax::of(text), value: root.value, spots: root.spot, duplicate_keys, size: count.max(1) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_and_json_read_alike_with_places() {
        let yaml =
            "openapi: 3.1.0\npaths:\n  /orders:\n    post:\n      responses:\n        '201': {description: ok}\n";
        let source = read(yaml).unwrap();
        assert_eq!(source.syntax, Syntax::Yaml);
        assert_eq!(
            source.value,
            json!({"openapi": "3.1.0", "paths": {"/orders": {"post": {"responses": {"201": {"description": "ok"}}}}}})
        );
        assert_eq!(source.spots.place(["paths", "/orders", "post"]), Place { line: 4, column: 5 });
        assert_eq!(source.spots.place(["paths", "/orders", "post", "responses", "201", "description"]).line, 6);

        let json = "{\n  \"a\": [1, 2.5, true, null],\n  \"é\": {\"b\": \"x\"}\n}";
        let source = read(json).unwrap();
        assert_eq!(source.syntax, Syntax::Json);
        assert_eq!(source.value, json!({"a": [1, 2.5, true, null], "é": {"b": "x"}}));
        assert_eq!(source.spots.place(["a", "1"]), Place { line: 2, column: 12 });
        // Past what the text holds: the deepest spot there is.
        assert_eq!(source.spots.place(["é", "b", "c"]), Place { line: 3, column: 9 });
    }

    #[test]
    fn columns_count_utf16_units() {
        let source = read("x: {\"😀\": 1, b: 2}\n").unwrap();
        // 😀 is two UTF-16 units: `b` starts at column 14.
        assert_eq!(source.spots.place(["x", "b"]), Place { line: 1, column: 14 });
    }

    #[test]
    fn quoted_and_tagged_scalars_stay_text_and_keys_become_text() {
        let source = read("a: '1'\nb: !!str true\n200: yes\nc: 1e3\nd: .inf\n").unwrap();
        assert_eq!(source.value, json!({"a": "1", "b": "true", "200": "yes", "c": 1000.0, "d": ".inf"}));
    }

    #[test]
    fn duplicate_keys_are_reported_and_the_last_counts() {
        let source = read("a: 1\nb: 2\na: 3\n").unwrap();
        assert_eq!(source.value, json!({"a": 3, "b": 2}));
        assert_eq!(source.duplicate_keys, vec![("a".to_owned(), Place { line: 3, column: 1 })]);
        assert_eq!(source.spots.place(["a"]).line, 3);
    }

    #[test]
    fn mistakes_are_placed() {
        let error = read("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(error.message.starts_with("not valid YAML or JSON"), "{error:?}");
        assert_eq!(error.place.line, 2);
        let error = read("{\"a\": 1,, }").unwrap_err();
        assert_eq!(error.place.line, 1);
        let error = read("a: *nowhere\n").unwrap_err();
        assert!(error.message.contains("anchor"), "{error:?}");
        let error = read("? [1, 2]\n: x\n").unwrap_err();
        assert!(error.message.contains("key"), "{error:?}");
    }

    #[test]
    fn one_value_and_nothing_after_it() {
        assert!(read("{\"a\": 1} }").unwrap_err().message.starts_with("not valid YAML or JSON"));
        let error = read("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!((error.place.line, error.message.contains("one YAML document")), (2, true));
        assert_eq!(read("a: 1\n...\n").unwrap().value, json!({"a": 1}));
        // YAML's flow style is not JSON.
        assert_eq!(read("{openapi: 3.1.0}").unwrap().syntax, Syntax::Yaml);
        assert_eq!(read("{\"openapi\": \"3.1.0\"}").unwrap().syntax, Syntax::Json);
    }

    #[test]
    fn places_on_one_long_line_are_found_in_one_pass() {
        let items: Vec<String> = (0..20_000).map(|n| format!("{{\"é{n}\": {n}}}")).collect();
        let text = format!("[{}]", items.join(","));
        let source = read(&text).unwrap();
        // The list, and per item its mapping, key and value.
        assert_eq!(source.size, 1 + 3 * 20_000);
        let last = source.spots.place(["19999", "é19999"]);
        let before: usize = items[..19_999].iter().map(|item| item.encode_utf16().count() + 1).sum();
        assert_eq!(last, Place { line: 1, column: before + 3 });
    }

    #[test]
    fn nesting_and_expansion_are_bounded() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(read(&deep).unwrap_err().message.contains("nested"));
        let fine = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(read(&fine).is_ok());
        // A billion laughs: each level ten aliases of the one before.
        let mut laughs = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for level in 1..9 {
            let before = format!("*a{}", level - 1);
            laughs.push_str(&format!("a{level}: &a{level} [{}]\n", [before.as_str(); 10].join(", ")));
        }
        assert!(read(&laughs).unwrap_err().message.contains("more than"));
        // Aliases within the bound expand.
        assert_eq!(read("a: &x {b: 1}\nc: *x\n").unwrap().value, json!({"a": {"b": 1}, "c": {"b": 1}}));
    }
}
