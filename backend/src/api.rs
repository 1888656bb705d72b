//! The `/api/v1` JSON API: every module's routes under one prefix, and the OpenAPI
//! document generated from those same handlers.

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Content, OpenApi as OpenApiDoc, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::error::Error;
use crate::{
    accounts, activity, branches, change_requests, checks, documents, exchange, history, incidents, preview, projects,
    restore, search, structure, templates, tokens, webhooks, AppState,
};

/// Request bodies above this are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Charter API",
        description = "Specifications as the durable source of truth. Authenticate with a session \
                       cookie (browser) or `Authorization: Bearer <token>`; cookie-authenticated \
                       requests that change state must carry the site's own `Origin`.",
    ),
    modifiers(&SecuritySchemes),
    security(("token" = []), ("session" = [])),
    components(schemas(crate::error::ErrorBody, charter_types::SearchMode, charter_types::Tool, charter_types::ExportFormat)),
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("charter_session"))),
        );
    }
}

fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi()).nest(
        "/api/v1",
        OpenApiRouter::new()
            .merge(accounts::router())
            .merge(tokens::router())
            .merge(branches::router())
            .merge(change_requests::router())
            .merge(history::router())
            .merge(restore::router())
            .merge(exchange::router())
            .merge(projects::router())
            .merge(documents::router())
            .merge(activity::router())
            .merge(preview::router())
            .merge(structure::router())
            .merge(checks::router())
            .merge(search::router())
            .merge(incidents::router())
            .merge(webhooks::router())
            .merge(templates::router()),
    )
}

/// The OpenAPI 3.1 description of every `/api/v1` route.
pub fn openapi() -> OpenApiDoc {
    with_common_answers(routes().into_openapi())
}

/// The extension in which each operation states who may call it: `public`, `signed-in`,
/// the least project role (`viewer`, `editor`, `reviewer`, `owner`), or `ingest` (an
/// editor's API token with the `incidents:write` scope, or a tool's signature).
pub const ACCESS: &str = "x-charter-access";

/// Answers that come from the layers every route shares rather than from its handler,
/// added to each operation they apply to (a handler's own description of one is kept).
fn with_common_answers(mut doc: OpenApiDoc) -> OpenApiDoc {
    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content("application/json", Content::new(Some(Ref::from_schema_name("ErrorBody"))))
    };
    let retry_after = Header::new(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)));
    let unavailable =
        error("Charter could not answer in time, or its database is unavailable; retry after `Retry-After` seconds")
            .header("Retry-After", retry_after.clone())
            .build();
    let malformed = error("A path or query value, or the body, could not be read as this operation expects").build();
    let unauthorized = error("No valid session or token came with the request").build();
    let forbidden = error(
        "The caller's role in the project or the token's scopes do not allow this, or a browser sent it from \
         another site (its `Origin`)",
    )
    .build();
    let missing = error("No such thing, or none the caller can see").build();
    let too_large = error("The body is larger than the API accepts (4 MiB)").build();
    let too_many = error(
        "Too many failed attempts from this address (log-ins, sign-ups, unknown tokens), or requests with this \
         account's tokens; retry after `Retry-After` seconds",
    )
    .header("Retry-After", retry_after)
    .build();
    let invalid = error("A query value or the body is well-formed but not acceptable; the message says which").build();
    for (path, item) in doc.paths.paths.iter_mut() {
        // Each with whether it changes state (and so passes the Origin check).
        let operations = [
            (false, &mut item.get),
            (true, &mut item.put),
            (true, &mut item.post),
            (true, &mut item.delete),
            (false, &mut item.options),
            (false, &mut item.head),
            (true, &mut item.patch),
            (false, &mut item.trace),
        ];
        for (changes, operation) in operations {
            let Some(operation) = operation else { continue };
            let has_path_values = path.contains('{');
            let has_body = operation.request_body.is_some();
            // Each handler states who may call it; anyone may call a public one, which the
            // document says with an empty security requirement.
            let access = operation.extensions.as_ref().and_then(|extensions| extensions.get(ACCESS));
            let public = access.is_some_and(|access| access == "public");
            if public {
                operation.security = Some(vec![SecurityRequirement::default()]);
            } else if access.is_some_and(|access| access == "ingest") {
                // Tools report with a token (or their own signature), never a session.
                operation.security = Some(vec![SecurityRequirement::new("token", Vec::<String>::new())]);
            }
            let has_query = operation
                .parameters
                .as_ref()
                .is_some_and(|parameters| parameters.iter().any(|p| p.parameter_in == ParameterIn::Query));
            let mut answers = vec![("503", &unavailable)];
            if has_path_values || has_query || has_body {
                answers.push(("400", &malformed));
            }
            if !public {
                answers.push(("401", &unauthorized));
            }
            if !public || changes {
                answers.push(("403", &forbidden));
            }
            if has_path_values {
                answers.push(("404", &missing));
            }
            if has_body {
                answers.push(("413", &too_large));
            }
            if has_query || has_body {
                answers.push(("422", &invalid));
            }
            for (status, response) in answers {
                operation.responses.responses.entry(status.into()).or_insert_with(|| response.clone().into());
            }
            // Every 429 says when to come back, whichever limit it comes from.
            let limited = !public || operation.responses.responses.contains_key("429");
            if limited {
                operation.responses.responses.insert("429".into(), too_many.clone().into());
            }
        }
    }
    doc
}

/// `/api/v1/*` and `/api/openapi.json`; unknown paths under `/api/v1` answer in JSON.
pub fn router(state: AppState) -> Router {
    let (api, doc) = routes().split_for_parts();
    let doc = std::sync::Arc::new(with_common_answers(doc));
    api.route("/api/openapi.json", get(move || async move { axum::Json(doc.as_ref().clone()) }))
        .route("/api/v1/{*rest}", axum::routing::any(not_found))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn not_found() -> Error {
    Error::NotFound("no such API route".into())
}
