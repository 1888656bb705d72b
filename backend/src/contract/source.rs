//! A contract's text read into JSON values, remembering where each value is written, so
//! that a finding about `/paths/~1orders/post` can point at its line. YAML and JSON are
//! both read as YAML 1.2 (JSON is a subset of it), one event at a time onto a stack of
//! our own: nesting is bounded without recursion, and aliases are counted as the nodes
//! they stand for, so a text that expands into billions of nodes is refused early.

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
    /// JSON starts with an object or an array; anything else is read as YAML.
    pub fn of(text: &str) -> Syntax {
        match text.trim_start_matches('\u{feff}').trim_start().chars().next() {
            Some('{' | '[') => Syntax::Json,
            _ => Syntax::Yaml,
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Syntax::Yaml => "application/yaml",
            Syntax::Json => "application/json",
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
    /// How many nodes it holds, itself included (what an alias to it costs).
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
        key: Option<(String, Place)>,
        size: usize,
    },
}

/// The line and UTF-16 column of a parser's marker (which counts characters).
fn place_of(text: &str, lines: &[usize], marker: &Marker) -> Place {
    let line = marker.line().max(1);
    let start = lines.get(line - 1).copied().unwrap_or(text.len());
    let column =
        text[start..].chars().take_while(|c| *c != '\n').take(marker.col()).map(char::len_utf16).sum::<usize>();
    Place { line, column: column + 1 }
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

/// Reads a contract's text. Only its first YAML document is read.
pub fn read(text: &str) -> Result<Source, SyntaxError> {
    let mut lines = vec![0];
    lines.extend(text.match_indices('\n').map(|(at, _)| at + 1));
    let place = |marker: &Marker| place_of(text, &lines, marker);

    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: std::collections::HashMap<usize, (Value, Spot, usize)> = std::collections::HashMap::new();
    let mut duplicate_keys = Vec::new();
    let mut nodes = 0usize;
    let mut root: Option<Node> = None;
    let error = |at: Place, message: String| SyntaxError { place: at, message };

    loop {
        let (event, marker) = parser.next_token().map_err(|err| {
            let at = place(err.marker());
            error(at, format!("not valid YAML or JSON: {}", err.info()))
        })?;
        let at = place(&marker);
        let finished = match event {
            Event::StreamEnd | Event::DocumentEnd => break,
            Event::Nothing | Event::StreamStart | Event::DocumentStart => None,
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(error(at, format!("nested more than {MAX_DEPTH} levels deep")));
                }
                stack.push(match event {
                    Event::SequenceStart(..) => {
                        Frame::List { at, anchor, values: Vec::new(), spots: Vec::new(), size: 1 }
                    }
                    _ => Frame::Map { at, anchor, values: Map::new(), spots: Vec::new(), key: None, size: 1 },
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::List { at, anchor, values, spots, size }) => Some((
                    Node { value: Value::Array(values), spot: Spot { at, key: None, inner: Inner::List(spots) }, size },
                    anchor,
                )),
                Some(Frame::Map { at, anchor, values, spots, size, .. }) => {
                    // A block mapping is reported where its first value starts: it is
                    // written where its first key is.
                    let at = spots.iter().filter_map(|(_, spot)| spot.key).min().map_or(at, |first| first.min(at));
                    Some((
                        Node {
                            value: Value::Object(values),
                            spot: Spot { at, key: None, inner: Inner::Map(spots) },
                            size,
                        },
                        anchor,
                    ))
                }
                None => return Err(error(at, "a collection ends that never began".into())),
            },
            Event::Scalar(text, style, anchor, tag) => {
                Some((Node { value: scalar(text, style, tag.as_ref()), spot: Spot::leaf(at), size: 1 }, anchor))
            }
            Event::Alias(anchor) => match anchors.get(&anchor) {
                Some((value, spot, size)) => {
                    Some((Node { value: value.clone(), spot: Spot { at, ..spot.clone() }, size: *size }, 0))
                }
                None => return Err(error(at, "an alias names no anchor before it".into())),
            },
        };
        let Some((node, anchor)) = finished else { continue };
        nodes += node.size;
        if nodes > MAX_NODES {
            return Err(error(at, format!("stands for more than {MAX_NODES} values (aliases included)")));
        }
        if anchor != 0 {
            anchors.insert(anchor, (node.value.clone(), node.spot.clone(), node.size));
        }
        match stack.last_mut() {
            None => {
                root = Some(node);
                break;
            }
            Some(Frame::List { values, spots, size, .. }) => {
                *size += node.size;
                values.push(node.value);
                spots.push(node.spot);
            }
            Some(Frame::Map { values, spots, key, size, .. }) => match key.take() {
                None => {
                    let Some(name) = key_text(&node.value) else {
                        return Err(error(node.spot.at, "a key must be a plain value, not a list or a mapping".into()));
                    };
                    *key = Some((name, node.spot.at));
                }
                Some((name, key_at)) => {
                    *size += node.size;
                    if values.insert(name.clone(), node.value).is_some() {
                        duplicate_keys.push((name.clone(), key_at));
                        spots.retain(|(existing, _)| *existing != name);
                    }
                    spots.push((name, Spot { key: Some(key_at), ..node.spot }));
                }
            },
        }
    }
    let root = root.unwrap_or(Node { value: Value::Null, spot: Spot::leaf(Place { line: 1, column: 1 }), size: 1 });
    Ok(Source { syntax: Syntax::of(text), value: root.value, spots: root.spot, duplicate_keys })
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
