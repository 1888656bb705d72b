//! The `/api/v1` JSON API: every module's routes under one prefix, and the OpenAPI
//! document generated from those same handlers.

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use utoipa::openapi::header::Header;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
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
    with_unavailable(routes().into_openapi())
}

/// Any operation may answer 503 with `Retry-After`: past the request deadline, or while
/// the database cannot be reached.
fn with_unavailable(mut doc: OpenApiDoc) -> OpenApiDoc {
    let retry_after = Header::new(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)));
    let unavailable = ResponseBuilder::new()
        .description(
            "Charter could not answer in time, or its database is unavailable; retry after `Retry-After` seconds",
        )
        .content("application/json", Content::new(Some(Ref::from_schema_name("ErrorBody"))))
        .header("Retry-After", retry_after)
        .build();
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            operation.responses.responses.insert("503".into(), unavailable.clone().into());
        }
    }
    doc
}

/// `/api/v1/*` and `/api/openapi.json`; unknown paths under `/api/v1` answer in JSON.
pub fn router(state: AppState) -> Router {
    let (api, doc) = routes().split_for_parts();
    let doc = std::sync::Arc::new(with_unavailable(doc));
    api.route("/api/openapi.json", get(move || async move { axum::Json(doc.as_ref().clone()) }))
        .route("/api/v1/{*rest}", axum::routing::any(not_found))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn not_found() -> Error {
    Error::NotFound("no such API route".into())
}
