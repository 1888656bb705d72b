//! One firing and one quiet case per rule: the shop fixture is quiet for every rule,
//! and each firing case changes one thing about it.

use std::collections::HashSet;

use serde_json::{json, Value};

use super::*;

const SHOP: &str = include_str!("../fixtures/shop.yaml");
const ORDER_SCHEMA: &str = include_str!("../fixtures/order.schema.json");

/// What `rule` finds in `text`, as (line, column, message), with PAY-001 and PAY-002
/// defined, a `common.yaml` contract, and camelCase names unless `style` says else.
fn lint_with(text: &str, rule: &str, style: Option<Style>, used_elsewhere: &[&str]) -> Vec<(usize, usize, String)> {
    let common = json!({"components": {"schemas": {"Error": {"type": "object"}}}});
    let defines = |key: &str| key == "PAY-001" || key == "PAY-002";
    let other = |name: &str| -> Option<&Value> { (name == "common.yaml").then_some(&common) };
    let used_elsewhere: HashSet<String> = used_elsewhere.iter().map(|s| (*s).to_owned()).collect();
    let context = Context { defines: &defines, other: &other, used_elsewhere: &used_elsewhere, style };
    check(&Contract::read(text), &context)
        .into_iter()
        .filter(|problem| problem.rule == rule)
        .map(|problem| (problem.place.line, problem.place.column, problem.message))
        .collect()
}

fn lint(text: &str, rule: &str) -> Vec<(usize, usize, String)> {
    lint_with(text, rule, Some(Style::Camel), &[])
}

/// The shop fixture with `from` replaced by `to` (which must be there).
fn shop(from: &str, to: &str) -> String {
    assert!(SHOP.contains(from), "{from}");
    SHOP.replacen(from, to, 1)
}

#[test]
fn the_shop_is_quiet_for_every_rule() {
    for (rule, _, _) in RULES {
        assert_eq!(lint(SHOP, rule), vec![], "{rule}");
    }
    for (rule, _, _) in RULES {
        assert_eq!(lint(ORDER_SCHEMA, rule), vec![], "{rule}");
    }
}

#[test]
fn every_rule_is_documented_once() {
    let ids: HashSet<&str> = RULES.iter().map(|(id, _, _)| *id).collect();
    assert_eq!(ids.len(), RULES.len());
    assert!(RULES.iter().all(|(_, _, summary)| summary.ends_with('.')));
}

#[test]
fn operation_id_fires_when_missing_or_shared() {
    let missing = shop("      operationId: placeOrder\n", "");
    assert_eq!(lint(&missing, OPERATION_ID), vec![(11, 5, "POST /orders has no operationId".to_owned())]);
    let shared = shop("operationId: getOrder", "operationId: placeOrder");
    let found = lint(&shared, OPERATION_ID);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0], (12, 7, "operationId `placeOrder` is used by more than one operation".to_owned()));
}

#[test]
fn operation_summary_fires_when_missing() {
    let text = shop("      summary: Read an order\n", "");
    assert_eq!(lint(&text, OPERATION_SUMMARY), vec![(39, 5, "GET /orders/{orderId} has no summary".to_owned())]);
}

#[test]
fn error_response_fires_without_a_4xx() {
    let text = shop("        '404':\n          $ref: '#/components/responses/Problem'\n", "");
    let found = lint(&text, ERROR_RESPONSE);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].0, found[0].1), (39, 5));
    assert!(found[0].2.starts_with("GET /orders/{orderId} documents no 4xx response"));
}

#[test]
fn path_parameters_fire_when_undeclared_or_unused() {
    let undeclared = shop("      - name: orderId\n", "      - name: id\n");
    assert_eq!(
        lint(&undeclared, PATH_PARAMETERS),
        vec![
            (
                39,
                5,
                "GET /orders/{orderId}: `{orderId}` is in the path but not declared as a path parameter".to_owned()
            ),
            (39, 5, "GET /orders/{orderId}: the path parameter `id` is not in the path".to_owned()),
        ]
    );
    // Declared through a reference to a shared parameter: quiet.
    let shared = shop(
        "      - name: orderId\n        in: path\n        required: true\n        schema: {type: string, format: uuid}\n",
        "      - $ref: '#/components/parameters/OrderId'\n",
    )
    .replace(
        "  responses:\n    Problem:",
        "  parameters:\n    OrderId: {name: orderId, in: path, required: true, schema: {type: string}}\n  responses:\n    Problem:",
    );
    assert_eq!(lint(&shared, PATH_PARAMETERS), vec![]);
    assert_eq!(lint(&shared, UNUSED_COMPONENT), vec![]);
}

#[test]
fn unused_component_fires_unless_another_contract_uses_it() {
    let text = shop("  responses:\n    Problem:", "    Spare: {type: string}\n  responses:\n    Problem:");
    assert_eq!(lint(&text, UNUSED_COMPONENT), vec![(84, 5, "`Spare` (schemas) is never referenced".to_owned())]);
    let used = lint_with(&text, UNUSED_COMPONENT, Some(Style::Camel), &["/components/schemas/Spare"]);
    assert_eq!(used, vec![]);
}

#[test]
fn invalid_example_fires_on_each_kind_of_example() {
    // A media type's example.
    let text = shop("items: [{sku: A-1, quantity: 2}]", "items: [{sku: A-1, quantity: 0}]");
    let found = lint(&text, INVALID_EXAMPLE);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].0, found[0].1), (22, 13));
    assert!(found[0].2.contains("items.0.quantity") && found[0].2.contains("minimum"), "{}", found[0].2);
    // A schema's examples (3.1).
    let text = shop("status: paid, totalCents: 1250", "status: lost, totalCents: 1250");
    let found = lint(&text, INVALID_EXAMPLE);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].0, found[0].1), (77, 11));
    // A JSON Schema's examples.
    let text = ORDER_SCHEMA.replace("{ \"sku\": \"A-1\" }", "{ \"sku\": \"a1\" }");
    let found = lint(&text, INVALID_EXAMPLE);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].2.contains("pattern") || found[0].2.contains("match"), "{}", found[0].2);
    // OpenAPI 3.0's `nullable` lets an example be null.
    let nullable = include_str!("../fixtures/shop-3.0.json");
    assert_eq!(lint(nullable, INVALID_EXAMPLE), vec![]);
    let not_nullable = nullable.replace(", \"nullable\": true", "");
    assert_eq!(lint(&not_nullable, INVALID_EXAMPLE).len(), 1);
}

#[test]
fn naming_style_fires_on_names_of_another_style() {
    let text = shop("totalCents: {type: integer}", "total_cents: {type: integer}");
    assert_eq!(
        lint(&text, NAMING_STYLE),
        vec![(75, 9, "`total_cents` is not camelCase, as the project's property names are".to_owned())]
    );
    // The project's style, where set, wins over what names show.
    let found = lint_with(SHOP, NAMING_STYLE, Some(Style::Snake), &[]);
    assert_eq!(
        found.iter().map(|(_, _, message)| message.split('`').nth(1).unwrap()).collect::<Vec<_>>(),
        ["orderId", "totalCents"]
    );
    assert_eq!(lint_with(&text, NAMING_STYLE, None, &[]), vec![]);
}

#[test]
fn the_majority_style_is_the_one_most_names_show() {
    let readable = |text: &str| Contract::read(text).read.unwrap();
    let snake = readable("type: object\nproperties: {order_id: {}, total_cents: {}, name: {}}\n");
    let camel = readable("type: object\nproperties: {orderId: {}}\n");
    assert_eq!(naming::majority([&snake, &camel]), Some(Style::Snake));
    assert_eq!(naming::majority([&camel]), Some(Style::Camel));
    assert_eq!(naming::majority([&readable("type: object\nproperties: {name: {}}\n")]), None);
}

#[test]
fn error_schema_fires_when_error_responses_differ() {
    let text = shop(
        "        '404':\n          $ref: '#/components/responses/Problem'\n",
        "        '404':\n          description: Not there.\n          content:\n            application/json:\n              schema: {type: string}\n",
    );
    let found = lint(&text, ERROR_SCHEMA);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].0, found[0].1), (51, 9));
    assert!(found[0].2.starts_with("GET /orders/{orderId} answers 404 with another schema"), "{}", found[0].2);
}

#[test]
fn unlinked_operation_and_unknown_requirement() {
    let unlinked = shop("      x-requirements: [PAY-002]\n", "");
    assert_eq!(
        lint(&unlinked, UNLINKED_OPERATION),
        vec![(39, 5, "GET /orders/{orderId} names no requirement it carries out (x-requirements)".to_owned())]
    );
    let unknown = shop("x-requirements: [PAY-002]", "x-requirements: [PAY-002, PAY-404]");
    assert_eq!(
        lint(&unknown, UNKNOWN_REQUIREMENT),
        vec![(43, 7, "GET /orders/{orderId} names PAY-404, which no spec defines".to_owned())]
    );
}

#[test]
fn broken_ref_and_structure_come_through_check() {
    let text =
        shop("$ref: '#/components/schemas/Order'\n        '404'", "$ref: '#/components/schemas/Gone'\n        '404'");
    let found = lint(&text, BROKEN_REF);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].2, "`#/components/schemas/Gone` names nothing in this contract");
    assert_eq!(lint("a: [\n", CONTRACT_SYNTAX).len(), 1);
    let schema = lint("openapi: 3.1.0\n", CONTRACT_SCHEMA);
    assert!(schema.iter().any(|(_, _, message)| message.contains("\"info\" is a required property")), "{schema:?}");
}
