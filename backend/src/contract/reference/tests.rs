//! The reference as a reader sees it: sections per tag in the contract's order, each
//! operation once, its parameters, bodies, responses and examples, and the schemas.

use super::*;
use crate::budget::{Budget, LIMIT};

const SHOP: &str = include_str!("../fixtures/shop.yaml");
const ORDER_SCHEMA: &str = include_str!("../fixtures/order.schema.json");

fn html(text: &str) -> String {
    render(&Contract::read(text), None, &Budget::new(LIMIT)).unwrap()
}

/// Where `needle` starts in `haystack`; fails the test when it is not there.
fn at(haystack: &str, needle: &str) -> usize {
    haystack.find(needle).unwrap_or_else(|| panic!("{needle:?} is not in {haystack}"))
}

const TAGGED: &str = "openapi: 3.1.0
info: {title: Tags, version: 1.0.0}
tags:
  - {name: payments, description: Money in and out.}
  - {name: orders}
  - {name: unused}
paths:
  /ping:
    get: {summary: Untagged, responses: {'200': {description: Up.}}}
  /health:
    get: {summary: Undeclared tag, tags: [ops], responses: {'200': {description: Up.}}}
  /orders:
    post: {summary: Two tags, tags: [orders, payments], responses: {'201': {description: Placed.}}}
  /refunds:
    post: {summary: Declared first, tags: [payments], responses: {'201': {description: Refunded.}}}
";

#[test]
fn operations_are_grouped_by_their_first_tag_in_the_order_the_contract_declares() {
    let html = html(TAGGED);
    let sections = [
        "user-content-tag-payments",
        "user-content-tag-orders",
        "user-content-tag-ops",
        "user-content-tag-other-operations",
    ];
    let places: Vec<usize> = sections.iter().map(|id| at(&html, &format!("<h2 id=\"{id}\">"))).collect();
    assert!(
        places.windows(2).all(|pair| pair[0] < pair[1]),
        "declared tags, then undeclared, then untagged: {places:?}"
    );
    assert!(!html.contains("user-content-tag-unused"), "a tag with no operation has no section");
    assert_eq!(html.matches("<article class=\"api-operation\"").count(), 4, "each operation once");
    assert!(at(&html, "Two tags") > places[1] && at(&html, "Two tags") < places[2], "under its first tag only");
    assert!(at(&html, "Declared first") < places[1]);
    assert!(at(&html, "Untagged") > places[3]);
    assert!(at(&html, "Money in and out.") < places[1], "a declared tag's description heads its section");
}

#[test]
fn parameters_of_the_path_and_of_the_operation_are_listed_with_type_and_need() {
    let shop = SHOP
        .replace(
            "      x-requirements: [PAY-002]\n",
            "      x-requirements: [PAY-002]\n      parameters:\n        - $ref: '#/components/parameters/Expand'\n",
        )
        .replace(
            "  responses:\n    Problem:",
            "  parameters:\n    Expand:\n      name: expand\n      in: query\n      description: Related objects to *include*.\n      schema: {type: array, items: {type: string}}\n  responses:\n    Problem:",
        );
    let html = html(&shop);
    let reading = &html[at(&html, "id=\"user-content-op-get-orders-orderid\"")..];
    assert!(reading.contains("<h4>Parameters</h4>"), "{reading}");
    assert!(
        reading.contains("<tr><td><code>orderId</code></td><td>path</td><td>string (uuid)</td><td>yes</td>"),
        "the path item's parameter: {reading}"
    );
    assert!(
        reading.contains("<tr><td><code>expand</code></td><td>query</td><td>array of string</td><td>no</td><td><div class=\"api-description\"><p>Related objects to <em>include</em>.</p>"),
        "the operation's own, through its $ref, with its description as Markdown: {reading}"
    );
    assert!(at(reading, "<code>orderId</code>") < at(reading, "<code>expand</code>"), "the path's first");
    let placing =
        &html[at(&html, "id=\"user-content-op-post-orders\"")..at(&html, "id=\"user-content-op-get-orders-orderid\"")];
    assert!(!placing.contains("<h4>Parameters</h4>"), "no table when there is none");
}

#[test]
fn bodies_and_responses_show_their_schemas_linked_and_their_examples() {
    let html = html(SHOP);
    let placing =
        &html[at(&html, "id=\"user-content-op-post-orders\"")..at(&html, "id=\"user-content-op-get-orders-orderid\"")];
    assert!(placing.contains("<h4>Request body (required)</h4>"), "{placing}");
    assert!(placing.contains("<code class=\"muted\">application/json</code>"));
    assert!(placing.contains("<a href=\"#user-content-schema-neworder\">NewOrder</a>"), "a $ref is a link: {placing}");
    let example = &placing[at(placing, "<details class=\"api-example\">")..];
    assert!(example.contains("&quot;sku&quot;: &quot;A-1&quot;"), "the media type's example, escaped: {example}");
    assert!(placing.contains("<span class=\"api-status api-status-2xx\">201</span>"));
    // A response given by $ref is shown as the one it names.
    let problem = &placing[at(placing, "<span class=\"api-status api-status-4xx\">422</span>")..];
    assert!(problem.contains("<p>What went wrong.</p>"), "{problem}");
    assert!(problem.contains("<a href=\"#user-content-schema-error\">Error</a>"));

    // A response without an example of its own shows its schema's.
    let reading =
        &html[at(&html, "id=\"user-content-op-get-orders-orderid\"")..at(&html, "<section class=\"api-schemas\">")];
    assert!(reading.contains("&quot;totalCents&quot;: 1250"), "{reading}");

    let schemas = &html[at(&html, "<section class=\"api-schemas\"><h2>Schemas</h2>")..];
    let order = &schemas[at(schemas, "<h3 id=\"user-content-schema-order\"><code>Order</code></h3>")
        ..at(schemas, "<h3 id=\"user-content-schema-error\"")];
    assert!(order.contains("<li><code>orderId</code> <span class=\"badge\">required</span>"), "{order}");
    assert!(
        order.contains("<li><code>totalCents</code><div class=\"api-schema\"><span class=\"api-type\">integer</span>"),
        "{order}"
    );
    assert!(
        order.contains("<span class=\"muted\">one of &quot;placed&quot;, &quot;paid&quot;, &quot;shipped&quot;</span>"),
        "{order}"
    );
    assert!(order.contains("<details class=\"api-example\">"), "a named schema shows its example: {order}");
    let new_order = &schemas
        [at(schemas, "<h3 id=\"user-content-schema-neworder\"")..at(schemas, "<h3 id=\"user-content-schema-line\"")];
    assert!(
        new_order.contains("<span class=\"api-type\">array of <a href=\"#user-content-schema-line\">Line</a></span>"),
        "an array's named items are linked too: {new_order}"
    );
}

#[test]
fn deep_schemas_stop_and_every_string_is_escaped() {
    let mut nested = String::from("{type: string}");
    for level in 0..10 {
        nested = format!("{{type: object, properties: {{level{level}: {nested}}}}}");
    }
    let hostile = format!(
        "openapi: 3.1.0
info: {{title: '<script>alert(1)</script>', version: 1.0.0, description: '**Bold** <img src=x onerror=alert(1)>'}}
tags: [{{name: '\"><svg onload=alert(1)>'}}]
paths:
  /x:
    get:
      summary: '<b>summary</b>'
      tags: ['\"><svg onload=alert(1)>']
      responses: {{'200': {{description: Ok., content: {{application/json: {{schema: {nested}}}}}}}}}
"
    );
    let html = html(&hostile);
    assert!(!html.contains("<script") && !html.contains("<svg") && !html.contains("<b>summary"), "{html}");
    assert!(!html.contains("onerror="), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
    assert!(html.contains("<strong>Bold</strong>"), "descriptions are Markdown: {html}");
    assert!(html.contains("<span class=\"muted\">…</span>"), "nesting stops: {html}");
    assert!(!html.contains("level0"), "the innermost levels are not shown: {html}");
}

#[test]
fn a_json_schema_shows_its_properties_example_and_definitions() {
    let html = html(ORDER_SCHEMA);
    assert!(html.contains("<p class=\"muted\">JSON Schema</p>"), "{html}");
    let definitions = at(&html, "<section class=\"api-schemas\"><h2>Definitions</h2>");
    assert!(at(&html, "<ul class=\"api-properties\">") < definitions, "the root's properties come first: {html}");
    assert!(at(&html, "<details class=\"api-example\">") < definitions, "then its example: {html}");
}

#[test]
fn an_unreadable_contract_says_where_it_stops() {
    let html = html("openapi: 3.1.0\ninfo: [unclosed\n");
    assert!(html.contains("<p class=\"api-unreadable\">This contract cannot be read (line "), "{html}");
    assert!(!html.contains("api-operation"), "{html}");
}

#[test]
fn outlines_name_the_type_and_the_properties() {
    let schema = serde_json::json!({"type": "object", "required": ["id"], "properties": {"id": {}, "`note`": {}}});
    assert_eq!(outline(&schema), "`object` with `id` (required), `note`");
    assert_eq!(outline(&serde_json::json!({"type": "array", "items": {"$ref": "#/$defs/Line"}})), "`array of Line`");
    // No backtick from the contract ends a code span early.
    assert_eq!(outline(&serde_json::json!({"type": "string", "format": "x` [y](z) `"})), "`string (x [y](z) )`");
}

#[test]
fn only_a_plain_array_of_a_named_schema_links_its_items() {
    let shop = SHOP.replace(
        "        totalCents: {type: integer}\n",
        "        totalCents: {type: integer}\n        lines: {type: array, items: {$ref: '#/components/schemas/Line'}}\n        previous: {type: [array, 'null'], items: {$ref: '#/components/schemas/Line'}}\n",
    );
    let shop = shop.replace(
        "      x-requirements: [PAY-002]\n",
        "      x-requirements: [PAY-002]\n      parameters:\n        - {name: skus, in: query, schema: {type: array, items: {$ref: '#/components/schemas/Line'}}}\n",
    );
    let html = html(&shop);
    let linked = "array of <a href=\"#user-content-schema-line\">Line</a>";
    assert!(
        html.contains(&format!(
            "<li><code>lines</code><div class=\"api-schema\"><span class=\"api-type\">{linked}</span>"
        )),
        "{html}"
    );
    assert!(
        html.contains(
            "<li><code>previous</code><div class=\"api-schema\"><span class=\"api-type\">array | null</span>"
        ),
        "a union stays as written: {html}"
    );
    assert!(
        html.contains(&format!("<tr><td><code>skus</code></td><td>query</td><td>{linked}</td>")),
        "parameters link too: {html}"
    );
}
