use leptos::server_fn::ServerFn;
use reqwest::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::harness::{call, error_code, read, TestApp, PASSWORD};

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn cookie_requests_that_change_state_need_the_sites_origin(db: PgPool) {
    let app = TestApp::spawn(db).await;
    app.signup("ada").await;
    let login = |origin: Option<&str>| {
        let mut request =
            app.bare().post(app.url("/api/v1/auth/login")).json(&json!({ "username": "ada", "password": PASSWORD }));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        async move { request.send().await.unwrap() }
    };
    let refused = login(Some("https://evil.example")).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let (_, body) = read(refused).await;
    assert_eq!(error_code(&body), "forbidden");
    assert_eq!(login(None).await.status(), StatusCode::FORBIDDEN, "no Origin, no change");
    assert_eq!(login(Some("null")).await.status(), StatusCode::FORBIDDEN);
    let accepted = login(Some(&app.base)).await;
    assert_eq!(accepted.status(), StatusCode::OK);
    let cookie = accepted.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();

    // A signed-in browser tricked by another site changes nothing.
    let forged = app
        .bare()
        .post(app.url("/api/v1/projects"))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .json(&json!({ "name": "Planted" }))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM projects").fetch_one(&app.db).await.unwrap();
    assert_eq!(count, 0);

    // Server functions are state-changing requests too.
    let rpc = |origin: &str| {
        app.bare()
            .post(app.url(<charter_app::projects::CreateProject as ServerFn>::PATH))
            .header("cookie", &cookie)
            .header("origin", origin)
            .form(&[("name", "Via the page")])
            .send()
    };
    assert_eq!(rpc("https://evil.example").await.unwrap().status(), StatusCode::FORBIDDEN);
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM projects").fetch_one(&app.db).await.unwrap();
    assert_eq!(count, 0);
    let same_site = rpc(&app.base).await.unwrap();
    assert!(same_site.status().is_success(), "{}", same_site.status());
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM projects").fetch_one(&app.db).await.unwrap();
    assert_eq!(count, 1, "the same call from the site's own page works");

    // Reads need no Origin.
    let me = app.bare().get(app.url("/api/v1/me")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn responses_carry_security_headers_and_pages_a_matching_script_nonce(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let page = app.bare().get(app.url("/login")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    let policy = headers[CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(
        !policy.contains("'unsafe-inline' 'wasm") && !policy.contains("script-src 'self' 'unsafe-inline'"),
        "{policy}"
    );
    let nonce =
        policy.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a script nonce").to_owned();
    let html = page.text().await.unwrap();
    assert!(html.contains("<h1>Log in</h1>"), "the page is rendered on the server");
    let scripts = html.matches("<script").count();
    assert!(scripts > 0, "the page loads its hydration script");
    assert_eq!(
        html.matches(&format!("nonce=\"{nonce}\"")).count(),
        scripts,
        "every script carries this response's nonce"
    );

    let second = app.bare().get(app.url("/login")).send().await.unwrap();
    assert!(!second.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap().contains(&nonce), "nonces are per response");

    let api = app.bare().get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn limits_unknown_routes_and_health(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;

    let big = "x".repeat(4 * 1024 * 1024 + 10);
    let response =
        ada.post(app.url("/api/v1/projects")).header(CONTENT_TYPE, "application/json").body(big).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let (status, body) = call(&ada, Method::GET, &app.url("/api/v1/no-such-thing"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "not_found");

    let page = app.bare().get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(page.text().await.unwrap().contains("There is no page at this address."));

    let (status, body) = call(&app.bare(), Method::GET, &app.url("/healthz"), None).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ok")));
}

/// Each schema name stands for one shape: two types under one name leave the document
/// describing one of them with the other's fields (a change request's summary and a
/// traceability summary, a document's backlinks and a requirement's).
#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn each_schema_name_stands_for_one_shape(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (_, doc) = call(&app.bare(), Method::GET, &app.url("/api/openapi.json"), None).await;
    let fields = |schema: &Value| -> Vec<String> {
        let name = schema["$ref"].as_str().unwrap_or_else(|| panic!("a named schema: {schema}"));
        let name = name.trim_start_matches("#/components/schemas/");
        let properties = doc["components"]["schemas"][name]["properties"].as_object();
        properties.unwrap_or_else(|| panic!("{name} has properties")).keys().cloned().collect()
    };
    let answer = |method: &str, path: &str| {
        doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"].clone()
    };

    let change_requests = fields(&answer("get", "/api/v1/projects/{id}/change-requests")["items"]);
    assert!(change_requests.contains(&"number".to_owned()), "{change_requests:?}");
    let report = fields(&answer("get", "/api/v1/projects/{id}/traceability"));
    let report_name = answer("get", "/api/v1/projects/{id}/traceability")["$ref"].as_str().unwrap().to_owned();
    let report_name = report_name.trim_start_matches("#/components/schemas/");
    assert!(report.contains(&"summary".to_owned()), "{report:?}");
    let summary = fields(&doc["components"]["schemas"][report_name]["properties"]["summary"]);
    assert!(summary.contains(&"untested_p1".to_owned()), "{summary:?}");

    let document_backlinks = fields(&answer("get", "/api/v1/documents/{id}/backlinks")["items"]);
    assert!(document_backlinks.contains(&"target".to_owned()), "{document_backlinks:?}");
    let detail = answer("get", "/api/v1/requirements/{id}");
    let detail_name = detail["$ref"].as_str().unwrap().trim_start_matches("#/components/schemas/");
    let detail = &doc["components"]["schemas"][detail_name];
    let backlinks = detail["properties"]["backlinks"]["items"].clone();
    let backlinks = if backlinks.is_null() {
        // A flattened struct is described as an `allOf` of its parts.
        let parts = detail["allOf"].as_array().unwrap_or_else(|| panic!("{detail}"));
        parts
            .iter()
            .find_map(|part| part["properties"]["backlinks"]["items"].as_object())
            .map(|items| Value::Object(items.clone()))
            .unwrap()
    } else {
        backlinks
    };
    let requirement_backlinks = fields(&backlinks);
    assert!(!requirement_backlinks.contains(&"target".to_owned()), "{requirement_backlinks:?}");
    assert!(requirement_backlinks.contains(&"kind".to_owned()), "{requirement_backlinks:?}");
}

/// Every `$ref` names a schema the document has: a type named in a view (an id type, an
/// enum) whose schema is not collected would leave clients a hole.
#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn every_schema_reference_resolves(db: PgPool) {
    fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push(target);
                }
                map.values().for_each(|child| refs(child, found));
            }
            Value::Array(items) => items.iter().for_each(|child| refs(child, found)),
            _ => {}
        }
    }
    let app = TestApp::spawn(db).await;
    let (_, doc) = call(&app.bare(), Method::GET, &app.url("/api/openapi.json"), None).await;
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 50, "the views are named schemas: {}", found.len());
    let dangling: Vec<&str> = found
        .into_iter()
        .filter(|target| {
            let name = target.trim_start_matches("#/components/schemas/");
            doc["components"]["schemas"].get(name).is_none()
        })
        .collect();
    assert!(dangling.is_empty(), "references to missing schemas: {dangling:?}");
    for (name, format) in [("ProjectId", "uuid"), ("DocumentId", "uuid")] {
        assert_eq!(doc["components"]["schemas"][name]["format"], format, "{name}");
    }
    let kinds = &doc["components"]["schemas"]["PrincipleChangeKind"]["enum"];
    assert_eq!(kinds.as_array().map(Vec::len), Some(5), "{kinds}");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn the_openapi_document_describes_every_route(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (status, doc) = call(&app.bare(), Method::GET, &app.url("/api/openapi.json"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let expected = [
        ("post", "/api/v1/auth/signup"),
        ("post", "/api/v1/auth/login"),
        ("post", "/api/v1/auth/logout"),
        ("post", "/api/v1/auth/password"),
        ("get", "/api/v1/me"),
        ("post", "/api/v1/tokens"),
        ("get", "/api/v1/tokens"),
        ("delete", "/api/v1/tokens/{id}"),
        ("post", "/api/v1/projects"),
        ("get", "/api/v1/projects"),
        ("get", "/api/v1/projects/{id}"),
        ("put", "/api/v1/projects/{id}/members/{username}"),
        ("delete", "/api/v1/projects/{id}/members/{username}"),
        ("get", "/api/v1/projects/{id}/members"),
        ("get", "/api/v1/projects/{id}/documents"),
        ("post", "/api/v1/projects/{id}/documents"),
        ("get", "/api/v1/documents/{id}"),
        ("patch", "/api/v1/documents/{id}"),
        ("put", "/api/v1/documents/{id}/content"),
        ("delete", "/api/v1/documents/{id}"),
        ("post", "/api/v1/documents/{id}/restore"),
        ("get", "/api/v1/projects/{id}/activity"),
        ("post", "/api/v1/render"),
        ("get", "/api/v1/projects/{id}/branches"),
        ("post", "/api/v1/projects/{id}/branches"),
        ("delete", "/api/v1/projects/{id}/branches/{name}"),
        ("post", "/api/v1/projects/{id}/change-requests"),
        ("get", "/api/v1/projects/{id}/change-requests"),
        ("get", "/api/v1/projects/{id}/change-requests/{number}"),
        ("post", "/api/v1/projects/{id}/change-requests/{number}/reviews"),
        ("post", "/api/v1/projects/{id}/change-requests/{number}/comments"),
        ("put", "/api/v1/projects/{id}/change-requests/{number}/comments/{comment_id}/resolution"),
        ("post", "/api/v1/projects/{id}/change-requests/{number}/merge"),
        ("post", "/api/v1/projects/{id}/change-requests/{number}/resolve"),
        ("post", "/api/v1/projects/{id}/change-requests/{number}/close"),
        ("post", "/api/v1/projects/{id}/change-requests/{number}/reopen"),
        ("get", "/api/v1/projects/{id}/versions"),
        ("get", "/api/v1/projects/{id}/tags"),
        ("post", "/api/v1/projects/{id}/tags"),
        ("get", "/api/v1/documents/{id}/at/{version}"),
        ("get", "/api/v1/documents/{id}/diff"),
        ("patch", "/api/v1/projects/{id}/settings"),
        ("post", "/api/v1/projects/{id}/versions/{version}/restore"),
        ("get", "/api/v1/projects/{id}/export"),
        ("post", "/api/v1/projects/{id}/import"),
        ("post", "/api/v1/projects/{id}/change-requests/{number}/constitution"),
        ("post", "/api/v1/projects/{id}/change-requests/{number}/bumps"),
        ("get", "/api/v1/projects/{id}/requirements"),
        ("get", "/api/v1/requirements/{id}"),
        ("get", "/api/v1/projects/{id}/lint"),
        ("get", "/api/v1/documents/{id}/lint"),
        ("post", "/api/v1/documents/{id}/lint"),
        ("get", "/api/v1/projects/{id}/clarifications"),
        ("post", "/api/v1/clarifications/{id}/answer"),
        ("get", "/api/v1/projects/{id}/templates"),
        ("post", "/api/v1/projects/{id}/traceability"),
        ("get", "/api/v1/projects/{id}/traceability"),
        ("get", "/api/v1/documents/{id}/backlinks"),
        ("get", "/api/v1/documents/{id}/raw"),
        ("get", "/api/v1/documents/{id}/operations"),
        ("post", "/api/v1/documents/{id}/conformance"),
        ("get", "/api/v1/documents/{id}/conformance"),
        ("get", "/api/v1/projects/{id}/change-requests/{number}/api-diff"),
        ("get", "/api/v1/projects/{id}/lint/rules"),
        ("get", "/api/v1/projects/{id}/search"),
        ("get", "/api/v1/requirements/{id}/related"),
        ("get", "/api/v1/projects/{id}/duplicates"),
        ("post", "/api/v1/projects/{id}/duplicates/dismiss"),
        ("get", "/api/v1/projects/{id}/embeddings"),
        ("put", "/api/v1/projects/{id}/embeddings"),
        ("post", "/api/v1/projects/{id}/reindex"),
        ("get", "/api/v1/jobs/{id}"),
        ("post", "/api/v1/projects/{id}/incidents"),
        ("get", "/api/v1/projects/{id}/incidents"),
        ("post", "/api/v1/projects/{id}/hooks/{tool}"),
        ("post", "/api/v1/projects/{id}/hooks/otlp/v1/logs"),
        ("get", "/api/v1/projects/{id}/integrations"),
        ("put", "/api/v1/projects/{id}/integrations/{tool}"),
        ("get", "/api/v1/incidents/{id}"),
        ("post", "/api/v1/incidents/{id}/links"),
        ("delete", "/api/v1/incidents/{id}/links/{requirement_id}"),
        ("post", "/api/v1/incidents/{id}/dismiss"),
        ("post", "/api/v1/incidents/{id}/draft"),
        ("get", "/api/v1/projects/{id}/webhooks"),
        ("post", "/api/v1/projects/{id}/webhooks"),
        ("get", "/api/v1/projects/{id}/webhooks/{webhook_id}"),
        ("patch", "/api/v1/projects/{id}/webhooks/{webhook_id}"),
        ("delete", "/api/v1/projects/{id}/webhooks/{webhook_id}"),
        ("get", "/api/v1/projects/{id}/webhooks/{webhook_id}/deliveries"),
        ("post", "/api/v1/projects/{id}/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"),
        ("post", "/api/v1/projects/{id}/webhooks/{webhook_id}/ping"),
    ];
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in expected {
        assert!(paths.get(path).and_then(|item| item.get(method)).is_some(), "{method} {path} is documented");
    }
    let documented: usize = paths.values().map(|item| item.as_object().unwrap().len()).sum();
    assert_eq!(documented, expected.len(), "nothing undocumented, nothing extra");
    assert!(doc["components"]["securitySchemes"]["token"].is_object());

    let reference = app.bare().get(app.url("/api-docs")).send().await.unwrap().text().await.unwrap();
    assert!(reference.contains("/api/v1/projects/{id}/documents"), "the readable reference lists the routes");
}
