use charter_types::HttpMethod;
use serde_json::json;

use super::{answer, Answer, Request};
use crate::contract::check::{mismatch, Checker};
use crate::contract::Contract;

const SHOP: &str = include_str!("../fixtures/shop.yaml");
const ORDER_ID: &str = "6f1c1f39-7c38-4f4e-9d1c-3a3c6a1e2b10";

fn ask(text: &str, method: HttpMethod, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let contract = Contract::read(text);
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let method_name = method.as_str().to_uppercase();
    let request = Request {
        method: Some(method),
        method_name: &method_name,
        path,
        query: url::form_urlencoded::parse(query.as_bytes()).into_owned().collect(),
        headers: headers.iter().map(|(name, value)| (name.to_ascii_lowercase(), (*value).to_owned())).collect(),
        body: body.as_bytes(),
    };
    answer(contract.readable().unwrap(), &request)
}

const JSON: [(&str, &str); 1] = [("content-type", "application/json")];

#[test]
fn an_operation_answers_with_its_example() {
    let answer = ask(SHOP, HttpMethod::Get, &format!("/orders/{ORDER_ID}"), &[], "");
    assert_eq!((answer.status, answer.content_type.as_deref()), (200, Some("application/json")));
    assert_eq!(answer.body.unwrap(), json!({ "orderId": ORDER_ID, "status": "paid", "totalCents": 1250 }));
    assert_eq!(answer.operation.as_deref(), Some("GET /orders/{orderId}"));

    let placed = ask(SHOP, HttpMethod::Post, "/orders", &JSON, r#"{"items": [{"sku": "A-1", "quantity": 2}]}"#);
    assert_eq!(placed.status, 201, "{placed:?}");
}

#[test]
fn a_request_that_breaks_the_contract_gets_the_contracts_error() {
    // The quantity is below its minimum: the operation's 422, its message the reason.
    let refused = ask(SHOP, HttpMethod::Post, "/orders", &JSON, r#"{"items": [{"sku": "A-1", "quantity": 0}]}"#);
    assert_eq!(refused.status, 422);
    let body = refused.body.unwrap();
    assert_eq!(body["code"], "string", "made from the Error schema: {body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.starts_with("the request body does not match its schema (at items.0.quantity)"), "{message}");

    let missing = ask(SHOP, HttpMethod::Post, "/orders", &JSON, "");
    assert_eq!((missing.status, missing.body.unwrap()["message"].clone()), (422, json!("a request body is required")));
    let not_json = ask(SHOP, HttpMethod::Post, "/orders", &JSON, "{items");
    assert!(not_json.body.unwrap()["message"].as_str().unwrap().starts_with("the request body is not valid JSON"));
    let wrong_type = ask(SHOP, HttpMethod::Post, "/orders", &[("content-type", "text/plain")], "items");
    assert_eq!(
        wrong_type.body.unwrap()["message"],
        "the request body's media type (text/plain) is not one the operation takes (application/json)"
    );
    // A path parameter that is not a uuid: the 404 is the operation's only error.
    let bad_id = ask(SHOP, HttpMethod::Get, "/orders/42", &[], "");
    assert_eq!(bad_id.status, 404);
    assert!(bad_id.body.unwrap()["message"].as_str().unwrap().contains("the path parameter `orderId`"));
}

#[test]
fn parameters_are_read_as_their_types_and_required_ones_are_enforced() {
    let contract = "openapi: 3.0.3
info: {title: Search, version: 1.0.0}
servers: [{url: 'https://api.example.com/v1'}]
paths:
  /search:
    get:
      parameters:
        - {name: q, in: query, required: true, schema: {type: string, minLength: 2}}
        - {name: limit, in: query, schema: {type: integer, maximum: 50}}
        - {name: tags, in: query, schema: {type: array, items: {type: string}}}
        - {name: X-Tenant, in: header, required: true, schema: {type: string}}
      responses:
        '200':
          description: Results.
          content:
            application/json:
              schema: {type: array, items: {type: object, properties: {id: {type: integer, minimum: 1}, at: {type: string, format: date-time}}}}
        '400':
          description: Bad query.
          content:
            application/problem+json:
              schema: {type: object, properties: {type: {type: string}, detail: {type: string}}}
";
    let tenant = [("x-tenant", "acme")];
    let found = ask(contract, HttpMethod::Get, "/search?q=ab&limit=5&tags=a&tags=b", &tenant, "");
    assert_eq!(found.status, 200, "{found:?}");
    assert_eq!(found.body.unwrap(), json!([{ "id": 1, "at": "2026-01-01T00:00:00Z" }]));
    let below_server = ask(contract, HttpMethod::Get, "/v1/search?q=ab", &tenant, "");
    assert_eq!(below_server.status, 200, "the server's path is optional");

    for (path, headers, reason) in [
        ("/search", &tenant[..], "the query parameter `q` is required"),
        ("/search?q=ab&limit=ten", &tenant[..], "the query parameter `limit` does not match its schema"),
        ("/search?q=ab&limit=51", &tenant[..], "the query parameter `limit` does not match its schema"),
        ("/search?q=a", &tenant[..], "the query parameter `q` does not match its schema"),
        ("/search?q=ab", &[][..], "the header parameter `X-Tenant` is required"),
    ] {
        let refused = ask(contract, HttpMethod::Get, path, headers, "");
        assert_eq!((refused.status, refused.content_type.as_deref()), (400, Some("application/problem+json")));
        let detail = refused.body.unwrap()["detail"].as_str().unwrap().to_owned();
        assert!(detail.starts_with(reason), "{path}: {detail}");
    }
}

#[test]
fn unknown_paths_and_methods_are_told_apart() {
    let missing = ask(SHOP, HttpMethod::Get, "/carts", &[], "");
    assert_eq!((missing.status, missing.operation), (404, None));
    assert!(missing.body.unwrap()["error"]["message"].as_str().unwrap().contains("/carts"));
    let wrong = ask(SHOP, HttpMethod::Delete, "/orders", &[], "");
    assert_eq!((wrong.status, wrong.allow), (405, vec![HttpMethod::Post]));
    let schema = ask("{\"type\": \"object\"}", HttpMethod::Get, "/", &[], "");
    assert_eq!(schema.status, 404, "a JSON Schema describes no service");
}

#[test]
fn the_caller_may_prefer_another_declared_answer() {
    let not_found = ask(SHOP, HttpMethod::Get, &format!("/orders/{ORDER_ID}"), &[("prefer", "code=404")], "");
    assert_eq!(not_found.status, 404);
    assert_eq!(not_found.body.unwrap(), json!({ "code": "string", "message": "string" }));
    let undeclared = ask(SHOP, HttpMethod::Get, &format!("/orders/{ORDER_ID}"), &[("prefer", "code=418")], "");
    assert_eq!(undeclared.status, 200, "only a declared status is chosen");
}

#[test]
fn made_up_answers_match_their_schemas_and_recursion_ends() {
    let contract = "openapi: 3.1.0
info: {title: Tree, version: 1.0.0}
paths:
  /tree:
    get:
      responses:
        '200':
          description: A tree.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Node'}
components:
  schemas:
    Node:
      type: object
      required: [name, children, size, kind]
      properties:
        name: {type: string, minLength: 3, maxLength: 5}
        size: {type: number, exclusiveMinimum: 10}
        kind: {oneOf: [{type: string, enum: [leaf, branch]}, {type: integer}]}
        owner: {allOf: [{type: object, properties: {id: {type: string, format: uuid}}}, {properties: {email: {type: string, format: email}}}]}
        children: {type: array, items: {$ref: '#/components/schemas/Node'}}
";
    let answer = ask(contract, HttpMethod::Get, "/tree", &[], "");
    let body = answer.body.unwrap();
    let read = Contract::read(contract);
    let checker = Checker::new(read.readable().unwrap()).unwrap();
    let validator = checker.validator(&["components", "schemas", "Node"]).unwrap();
    assert_eq!(mismatch(&validator, &body, "the answer"), None, "{body}");
    assert_eq!(body["name"], "strin");
    assert_eq!(body["owner"], json!({ "id": "00000000-0000-4000-8000-000000000000", "email": "user@example.com" }));
    let depth = std::iter::successors(Some(&body), |node| node["children"].get(0)).count();
    // A node and its list of children are two levels of nesting each: full to 8, then empty lists.
    assert_eq!(depth, 5);
    assert!(serde_json::to_string(&body).unwrap().len() < 1 << 20);
}

#[test]
fn schemas_that_only_refer_to_themselves_end_and_numbers_keep_their_bounds() {
    let contract = "openapi: 3.1.0
info: {title: Loops, version: 1.0.0}
paths:
  /loop:
    get:
      responses:
        '200':
          description: A loop.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Loop'}
components:
  schemas:
    Loop:
      oneOf: [{$ref: '#/components/schemas/Loop'}]
    Debt:
      type: object
      properties:
        owed: {type: integer, maximum: -5}
        rate: {type: number, exclusiveMaximum: 0}
        count: {type: integer, exclusiveMinimum: 2.5, maximum: 10}
";
    // Each step through oneOf is a level deeper: the chain ends instead of the stack.
    assert_eq!(ask(contract, HttpMethod::Get, "/loop", &[], "").body, Some(serde_json::Value::Null));
    let read = Contract::read(contract);
    let readable = read.readable().unwrap();
    let debt = super::Located { path: vec![], value: &readable.source.value }
        .child("components")
        .and_then(|c| c.child("schemas"))
        .and_then(|s| s.child("Debt"))
        .unwrap();
    let made = super::generate::value(&readable.source.value, debt);
    assert_eq!(made, json!({ "owed": -5, "rate": -1.0, "count": 3 }));
}
