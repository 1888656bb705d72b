use serde_json::json;

use super::*;
use crate::contract::Contract;

const SHOP: &str = include_str!("../fixtures/shop.yaml");
const SHOP_3_0: &str = include_str!("../fixtures/shop-3.0.json");
const ORDER_SCHEMA: &str = include_str!("../fixtures/order.schema.json");

/// What the structure check finds: rule, line, column and message.
fn found(text: &str) -> Vec<(&'static str, usize, usize, String)> {
    structure(&Contract::read(text))
        .into_iter()
        .map(|problem| (problem.rule, problem.place.line, problem.place.column, problem.message))
        .collect()
}

fn one(text: &str) -> (&'static str, usize, usize, String) {
    let found = found(text);
    assert_eq!(found.len(), 1, "{found:#?}");
    found.into_iter().next().unwrap()
}

#[test]
fn the_fixtures_are_valid() {
    for fixture in [SHOP, SHOP_3_0, ORDER_SCHEMA] {
        assert_eq!(found(fixture), vec![], "{fixture}");
    }
}

#[test]
fn text_that_is_not_yaml_or_json_is_placed() {
    let (rule, line, _, message) = one("openapi: 3.1.0\ninfo: {title: x\npaths: {}\n");
    assert_eq!(rule, CONTRACT_SYNTAX);
    assert_eq!(line, 3);
    assert!(message.starts_with("not valid YAML or JSON"), "{message}");

    let (rule, line, column, _) = one("{\n  \"openapi\": \"3.1.0\",,\n}");
    assert_eq!((rule, line, column), (CONTRACT_SYNTAX, 2, 22));
}

#[test]
fn a_key_written_twice_is_a_finding() {
    let text = "openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths: {}\npaths: {}\n";
    assert_eq!(
        found(text),
        vec![(CONTRACT_SYNTAX, 4, 1, "`paths` is written twice in one mapping; only the last one counts".to_owned())]
    );
}

#[test]
fn a_missing_required_field_points_at_the_object() {
    let (rule, line, column, message) = one("openapi: 3.1.0\npaths: {}\n");
    assert_eq!((rule, line, column), (CONTRACT_SCHEMA, 1, 1));
    assert!(message.contains("\"info\" is a required property"), "{message}");

    let (_, line, column, message) = one("openapi: 3.1.0\ninfo:\n  title: Shop\npaths: {}\n");
    assert_eq!((line, column), (2, 1));
    assert!(message.contains("\"version\" is a required property"), "{message}");
}

#[test]
fn a_value_of_the_wrong_type_points_at_its_key() {
    let (rule, line, column, message) = one("openapi: 3.1.0\ninfo: {title: Shop, version: 2}\npaths: {}\n");
    assert_eq!((rule, line, column), (CONTRACT_SCHEMA, 2, 21));
    assert!(message.contains("`version`") && message.contains("\"string\""), "{message}");

    let (_, line, column, message) = one("openapi: 3.1.0\ninfo: {title: Shop, version: '1'}\npaths: [1]\n");
    assert_eq!((line, column), (3, 1));
    assert!(message.contains("`paths`") && message.contains("object"), "{message}");
}

#[test]
fn an_unknown_field_is_named() {
    let (rule, line, column, message) = one("openapi: 3.1.0\ninfo: {title: Shop, version: '1'}\npaths: {}\npath: {}\n");
    assert_eq!((rule, line, column), (CONTRACT_SCHEMA, 4, 1));
    assert!(message.contains("'path'"), "{message}");
}

#[test]
fn a_response_needs_a_description_and_a_status() {
    let text = "openapi: 3.1.0\ninfo: {title: Shop, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200': {}\n";
    let (rule, line, column, message) = one(text);
    assert_eq!((rule, line, column), (CONTRACT_SCHEMA, 7, 9));
    assert!(message.contains("description"), "{message}");

    let text = "openapi: 3.0.3\ninfo: {title: Shop, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        ok: {description: fine}\n";
    let (rule, line, column, message) = one(text);
    assert_eq!((rule, line, column), (CONTRACT_SCHEMA, 7, 9));
    assert!(message.contains("'ok' was unexpected"), "{message}");
}

#[test]
fn a_schema_object_is_checked_against_the_dialect() {
    let text = "openapi: 3.1.0\ninfo: {title: Shop, version: '1'}\ncomponents:\n  schemas:\n    Order:\n      type: object\n      properties:\n        total: {type: money}\n";
    let found = found(text);
    assert!(!found.is_empty());
    assert!(found.iter().all(|(rule, line, _, _)| *rule == CONTRACT_SCHEMA && *line == 8), "{found:#?}");

    let text =
        "openapi: 3.1.0\ninfo: {title: Shop, version: '1'}\ncomponents:\n  schemas:\n    Order: {required: yes}\n";
    let (_, line, column, message) = one(text);
    assert_eq!((line, column), (5, 13));
    assert!(message.contains("`required`"), "{message}");
}

#[test]
fn a_json_schema_is_checked_against_2020_12() {
    let (rule, line, column, message) =
        one("{\n  \"type\": \"object\",\n  \"properties\": {\"a\": {\"minLength\": -1}}\n}");
    assert_eq!((rule, line, column), (CONTRACT_SCHEMA, 3, 24));
    assert!(message.contains("`minLength`"), "{message}");

    let (_, line, _, message) = one("$schema: http://json-schema.org/draft-07/schema#\ntype: object\n");
    assert_eq!(line, 1);
    assert!(message.contains("2020-12"), "{message}");
    let (_, _, _, message) = one("[1, 2]");
    assert!(
        message.starts_with("A document with neither `openapi` nor any JSON Schema keyword is not read here"),
        "{message}"
    );
    let (_, _, _, message) = one("asyncapi: 2.6.0\n");
    assert!(message.contains("neither `openapi`"), "{message}");
}

#[test]
fn other_versions_are_named() {
    let (rule, _, _, message) = one("swagger: '2.0'\ninfo: {title: x, version: '1'}\n");
    assert_eq!(rule, CONTRACT_SCHEMA);
    assert!(message.starts_with("Swagger 2.0 is not read here"), "{message}");
}

#[test]
fn references_are_followed_here_and_into_other_contracts() {
    let text = "openapi: 3.1.0\ninfo: {title: Shop, version: '1'}\ncomponents:\n  schemas:\n    A: {$ref: '#/components/schemas/B'}\n    C: {$ref: '#/components/schemas/Nowhere'}\n    D: {$ref: 'common.yaml#/components/schemas/Error'}\n    E: {$ref: 'common.yaml#/components/schemas/Gone'}\n    F: {$ref: 'elsewhere.json'}\n    G: {$ref: 'https://example.com/schemas/x.json'}\n    B: {type: string}\n    H: {$ref: '#/components/schemas/A~1b%20c'}\n    A/b c: {type: string}\n";
    let contract = Contract::read(text);
    let common = json!({"components": {"schemas": {"Error": {"type": "object"}}}});
    let broken = broken_references(contract.readable().unwrap(), |name| (name == "common.yaml").then_some(&common));
    let found: Vec<(usize, usize, &str)> =
        broken.iter().map(|problem| (problem.place.line, problem.place.column, problem.message.as_str())).collect();
    assert_eq!(
        found,
        vec![
            (6, 9, "`#/components/schemas/Nowhere` names nothing in this contract"),
            (8, 9, "`common.yaml#/components/schemas/Gone`: `common.yaml` has nothing at `#/components/schemas/Gone`"),
            (9, 9, "`elsewhere.json` names no other contract of the project (`elsewhere.json`)"),
        ]
    );
    assert!(broken.iter().all(|problem| problem.rule == BROKEN_REF));
}

#[test]
fn references_in_data_or_to_identified_parts_are_not_broken() {
    let text = "{\"$id\": \"https://example.com/order.json\", \"properties\": {\"to\": {\"$ref\": \"address.json\"}, \"x\": {\"const\": {\"$ref\": \"#/nowhere\"}}}, \"$defs\": {\"a\": {\"$id\": \"https://example.com/address.json\", \"type\": \"object\"}}, \"examples\": [{\"$ref\": \"#/gone\"}]}";
    let contract = Contract::read(text);
    assert_eq!(broken_references(contract.readable().unwrap(), |_| None), vec![]);
}
