//! The classification on a matrix of crafted before/after pairs: each pair changes one
//! thing about a small shop contract, and must be found by exactly the rule named.

use std::collections::HashSet;

use charter_types::Bump;

use super::*;
use crate::contract::Contract;

const SHOP: &str = "openapi: 3.1.0
info: {title: Shop, version: 1.0.0}
paths:
  /orders:
    parameters:
      - {name: tenant, in: header, required: true, schema: {type: string}}
    get:
      operationId: listOrders
      summary: List orders
      parameters:
        - {name: limit, in: query, schema: {type: integer, maximum: 100}}
        - {name: status, in: query, schema: {type: string, enum: [open, paid]}}
      responses:
        '200':
          description: The orders.
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Order'}}
        '400': {description: Bad query.}
    post:
      operationId: placeOrder
      summary: Place an order
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/NewOrder'}
      responses:
        '201':
          description: Placed.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Order'}
components:
  schemas:
    NewOrder:
      type: object
      required: [sku]
      properties:
        sku: {type: string, maxLength: 20}
        quantity: {type: integer, minimum: 1}
        note: {type: string}
        gift: {type: boolean}
    Order:
      type: object
      required: [id, status, total]
      properties:
        id: {type: string}
        status: {type: string, enum: [open, paid]}
        total: {type: number}
        parent: {$ref: '#/components/schemas/Order'}
";

/// The changes from the shop to the shop with `from` replaced by `to`.
fn changes(from: &str, to: &str) -> Vec<Change> {
    assert!(SHOP.contains(from), "{from}");
    let (old, new) = (Contract::read(SHOP), Contract::read(&SHOP.replacen(from, to, 1)));
    diff(old.readable().unwrap(), new.readable().unwrap())
}

/// Each kind of change: what is replaced, with what, the one rule that must classify
/// it, and whether it breaks callers.
const MATRIX: &[(&str, &str, &str, bool)] = &[
    ("    post:\n      operationId: placeOrder", "    put:\n      operationId: placeOrder", "operation-removed", true),
    ("components:\n", "  /health:\n    get:\n      responses: {'200': {description: Up.}}\ncomponents:\n", "operation-added", false),
    ("      operationId: listOrders\n", "      operationId: listOrders\n      deprecated: true\n", "operation-deprecated", false),
    ("operationId: listOrders", "operationId: getOrders", "operation-id-changed", true),
    ("        - {name: limit,", "        - {name: cursor, in: query, required: true, schema: {type: string}}\n        - {name: limit,", "parameter-added-required", true),
    ("        - {name: limit,", "        - {name: cursor, in: query, schema: {type: string}}\n        - {name: limit,", "parameter-added-optional", false),
    ("        - {name: status, in: query, schema: {type: string, enum: [open, paid]}}\n", "", "parameter-removed", true),
    ("{name: limit, in: query, schema", "{name: limit, in: query, required: true, schema", "parameter-made-required", true),
    ("{name: tenant, in: header, required: true,", "{name: tenant, in: header,", "parameter-made-optional", false),
    ("    get:\n      operationId: listOrders\n      summary: List orders\n", "    get:\n      operationId: listOrders\n      summary: List orders\n      requestBody: {required: true, content: {application/json: {schema: {type: object}}}}\n", "request-body-added-required", true),
    ("      requestBody:\n        content:", "      requestBody:\n        required: true\n        content:", "request-body-made-required", true),
    ("      requestBody:\n        content:\n          application/json:\n            schema: {$ref: '#/components/schemas/NewOrder'}\n", "", "request-body-removed", true),
    ("        gift: {type: boolean}\n", "        gift: {type: boolean}\n        address: {type: string}\n      required: [sku, address]\n", "request-property-added-required", true),
    ("      required: [sku]\n", "      required: [sku, quantity]\n", "request-property-made-required", true),
    ("        note: {type: string}\n", "", "request-property-removed", true),
    ("        parent: {$ref: '#/components/schemas/Order'}\n", "        parent: {$ref: '#/components/schemas/Order'}\n        placedAt: {type: string}\n", "property-added", false),
    ("        total: {type: number}\n", "", "response-property-removed", true),
    ("      required: [id, status, total]\n", "      required: [id, status]\n", "response-property-made-optional", true),
    ("quantity: {type: integer, minimum: 1}", "quantity: {type: string, minimum: 1}", "type-changed", true),
    ("gift: {type: boolean}", "gift: {type: [boolean, string]}", "type-widened", false),
    ("{name: status, in: query, schema: {type: string, enum: [open, paid]}}", "{name: status, in: query, schema: {type: string, enum: [open]}}", "enum-value-removed", true),
    ("{name: status, in: query, schema: {type: string, enum: [open, paid]}}", "{name: status, in: query, schema: {type: string, enum: [open, paid, void]}}", "enum-value-added", false),
    ("status: {type: string, enum: [open, paid]}\n        total", "status: {type: string, enum: [open, paid, refunded]}\n        total", "response-enum-value-added", true),
    ("sku: {type: string, maxLength: 20}", "sku: {type: string, maxLength: 10}", "constraint-tightened", true),
    ("{name: limit, in: query, schema: {type: integer, maximum: 100}}", "{name: limit, in: query, schema: {type: integer, maximum: 500}}", "constraint-relaxed", false),
    ("        '201':\n          description: Placed.", "        '202':\n          description: Placed.", "success-status-removed", true),
    ("        '400': {description: Bad query.}\n", "        '400': {description: Bad query.}\n        '429': {description: Slow down.}\n", "response-added", false),
    ("        '400': {description: Bad query.}\n", "", "error-response-removed", false),
    ("      requestBody:\n        content:\n          application/json:", "      requestBody:\n        content:\n          application/xml:", "media-type-removed", true),
    ("summary: List orders", "summary: List every order", "description-changed", false),
];

#[test]
fn every_kind_of_change_is_classified_by_its_rule() {
    let mut kinds = HashSet::new();
    for (from, to, rule, breaking) in MATRIX {
        let found = changes(from, to);
        let rules: Vec<&str> = found.iter().map(|change| change.rule).collect();
        assert!(rules.contains(rule), "{rule}: {found:#?}");
        // Nothing else but words may come with it (a media type renamed is one removed
        // and another given).
        assert!(
            found.iter().all(|change| change.rule == *rule || change.impact <= Impact::Additive),
            "{rule}: {found:#?}"
        );
        let change = found.iter().find(|change| change.rule == *rule).unwrap();
        assert_eq!(change.impact == Impact::Breaking, *breaking, "{rule}: {change:?}");
        kinds.insert(*rule);
    }
    assert_eq!(kinds.len(), RULES.len(), "every rule has its pair: {} kinds of change", kinds.len());
}

#[test]
fn a_number_narrowed_to_an_integer_breaks_requests_not_responses() {
    let response = changes("total: {type: number}", "total: {type: integer}");
    assert!(response.iter().all(|change| change.impact != Impact::Breaking), "{response:#?}");
    let request = changes("note: {type: string}", "note: {type: integer}");
    assert_eq!(request.iter().map(|change| change.rule).collect::<Vec<_>>(), ["type-changed"]);
    assert_eq!(request[0].location, "POST /orders › request body › note");
    assert_eq!(request[0].change, "POST /orders › request body › note: string became integer");
}

#[test]
fn the_bump_follows_the_most_breaking_change() {
    assert_eq!(bump(&changes("summary: List orders", "summary: List every order")), Some(Bump::Patch));
    assert_eq!(
        bump(&changes(
            "        '400': {description: Bad query.}\n",
            "        '400': {description: Bad query.}\n        '429': {description: Slow down.}\n"
        )),
        Some(Bump::Minor)
    );
    assert_eq!(bump(&changes("        total: {type: number}\n", "")), Some(Bump::Major));
    assert_eq!(bump(&changes("summary: List orders", "summary: List orders")), None);

    let before = SHOP;
    let after = SHOP.replace("        total: {type: number}\n", "");
    let id = charter_types::DocumentId::from_uuid(uuid::Uuid::from_u128(7));
    let review = review(id, before, &after, None).unwrap();
    assert_eq!(
        (review.bump, review.current_version.as_deref(), review.proposed_version.as_deref()),
        (Some(Bump::Major), Some("1.0.0"), Some("2.0.0"))
    );
    assert!(review
        .changes
        .iter()
        .all(|change| change.breaking && change.document_id == id && change.rule == "response-property-removed"));
    assert_eq!(review.changes.len(), 1, "told once, where the Order is first reached: {:?}", review.changes);
    assert!(super::review(id, "a: [", SHOP, None).is_none());
    // Made or deleted in the change: every operation added, or removed.
    let made = super::review(id, "", SHOP, None).unwrap();
    assert_eq!((made.bump, made.changes.len()), (Some(Bump::Minor), 2));
    let deleted = super::review(id, SHOP, "", None).unwrap();
    let removed = deleted.changes.iter().filter(|change| change.rule == "operation-removed").count();
    assert_eq!((deleted.bump, removed), (Some(Bump::Major), 2));
}

#[test]
fn the_bump_starts_from_the_targets_version_and_a_written_version_too_small_is_flagged() {
    let id = charter_types::DocumentId::from_uuid(uuid::Uuid::from_u128(7));
    let breaking = SHOP.replace("        total: {type: number}\n", "");
    // Another change request took the target to 1.1.0 meanwhile: the bump starts there.
    let target = SHOP.replace("version: 1.0.0", "version: 1.1.0");
    let review = review(id, SHOP, &breaking, Some(&target)).unwrap();
    assert_eq!((review.current_version.as_deref(), review.proposed_version.as_deref()), (Some("1.1.0"), Some("2.0.0")));
    assert_eq!((review.written_version, review.written_too_small), (None, false), "the version was not touched");

    let too_small = breaking.replace("version: 1.0.0", "version: 1.2.0");
    let review = super::review(id, SHOP, &too_small, None).unwrap();
    assert_eq!((review.written_version.as_deref(), review.written_too_small), (Some("1.2.0"), true));
    let enough = breaking.replace("version: 1.0.0", "version: 3.0.0");
    let review = super::review(id, SHOP, &enough, None).unwrap();
    assert_eq!((review.written_version.as_deref(), review.written_too_small), (Some("3.0.0"), false));
}

#[test]
fn schemas_shared_many_times_over_are_compared_once() {
    // Each level refers to the next twice: walked on every path, 2^24 comparisons.
    let mut defs = String::new();
    for level in 0..24 {
        let next = level + 1;
        defs.push_str(&format!(
            "\"s{level}\": {{\"type\": \"object\", \"properties\": {{\"a\": {{\"$ref\": \"#/$defs/s{next}\"}}, \"b\": {{\"$ref\": \"#/$defs/s{next}\"}}}}}},"
        ));
    }
    let text =
        |last: &str| format!("{{\"$ref\": \"#/$defs/s0\", \"$defs\": {{{defs} \"s24\": {{\"type\": \"{last}\"}}}}}}");
    let (old, new) = (Contract::read(&text("string")), Contract::read(&text("integer")));
    let found = diff(old.readable().unwrap(), new.readable().unwrap());
    assert_eq!(found.iter().filter(|change| change.rule == "type-changed").count(), 1, "{found:#?}");
}

#[test]
fn recursive_schemas_and_json_schemas_are_compared() {
    // `Order.parent` is an Order: the comparison ends, and finds the change once per place.
    let found = changes("        id: {type: string}\n", "        id: {type: integer}\n");
    assert!(
        found.iter().any(|change| change.rule == "type-changed" && change.location.ends_with("› id")),
        "{found:#?}"
    );
    // A JSON Schema is data both written and read: a value added to its enum breaks readers.
    let old = Contract::read("{\"type\": \"object\", \"properties\": {\"kind\": {\"enum\": [\"a\"]}}}");
    let new = Contract::read("{\"type\": \"object\", \"properties\": {\"kind\": {\"enum\": [\"a\", \"b\"]}}}");
    let found = diff(old.readable().unwrap(), new.readable().unwrap());
    assert_eq!(
        found.iter().map(|change| (change.rule, change.location.as_str())).collect::<Vec<_>>(),
        [("response-enum-value-added", "schema › kind")]
    );
}
