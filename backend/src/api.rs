//! The `/api/v1` JSON API: every module's routes under one prefix, the OpenAPI
//! document generated from those same handlers, and extractors whose rejections use
//! the API's error format.

use axum::body::{Body, Bytes};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::error::Error;
use crate::{
    accounts, audit, branches, change_requests, documents, history, markdown, projects, structure, tokens, AppState,
};

/// Request bodies above this are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// JSON in and out; a body that cannot be read becomes a 400/413/422 in the API format.
/// Text holding U+0000 is refused here, for every route at once: Postgres `text` cannot
/// store it (see [`Error::nul_character`]).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Error> {
        let (parts, body) = request.into_parts();
        let bytes =
            Bytes::from_request(Request::from_parts(parts.clone(), body), state).await.map_err(|rejection| {
                match rejection.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge,
                    _ => Error::BadRequest(rejection.body_text()),
                }
            })?;
        // A JSON text can carry U+0000 only as the escape `\u0000` (raw control
        // characters are not JSON): the body is checked before it is parsed.
        if escapes_nul(&bytes) {
            return Err(Error::nul_character());
        }
        let axum::Json(value) = axum::Json::from_request(Request::from_parts(parts, Body::from(bytes)), state).await?;
        Ok(Json(value))
    }
}

/// True when a JSON text has the escape `\u0000` (not an escaped backslash before `u0000`).
fn escapes_nul(json: &[u8]) -> bool {
    let mut bytes = json.iter();
    while let Some(&byte) = bytes.next() {
        // Every escape is consumed whole, so `\\u0000` never matches.
        if byte == b'\\' && bytes.next() == Some(&b'u') && bytes.as_slice().starts_with(b"0000") {
            return true;
        }
    }
    false
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters, percent-decoded; U+0000 in any is refused.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        if let Ok(raw) = RawPathParams::from_request_parts(parts, state).await {
            if raw.iter().any(|(_, value)| value.contains('\0')) {
                return Err(Error::nul_character());
            }
        }
        let axum::extract::Path(value) = axum::extract::Path::from_request_parts(parts, state).await?;
        Ok(Path(value))
    }
}

/// The query string, percent-decoded; U+0000 in any name or value is refused.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        // Decoded as the typed query below decodes it, pair by pair.
        if let Ok(axum::extract::Query(pairs)) = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
        {
            if pairs.iter().any(|(name, value)| name.contains('\0') || value.contains('\0')) {
                return Err(Error::nul_character());
            }
        }
        let axum::extract::Query(value) = axum::extract::Query::try_from_uri(&parts.uri)?;
        Ok(Query(value))
    }
}

impl From<JsonRejection> for Error {
    fn from(rejection: JsonRejection) -> Error {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge,
            StatusCode::UNPROCESSABLE_ENTITY => Error::Invalid(rejection.body_text()),
            _ => Error::BadRequest(rejection.body_text()),
        }
    }
}

impl From<PathRejection> for Error {
    fn from(rejection: PathRejection) -> Error {
        Error::BadRequest(rejection.body_text())
    }
}

impl From<QueryRejection> for Error {
    fn from(rejection: QueryRejection) -> Error {
        Error::BadRequest(rejection.body_text())
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Charter API",
        description = "Specifications as the durable source of truth. Authenticate with a session \
                       cookie (browser) or `Authorization: Bearer <token>`; cookie-authenticated \
                       requests that change state must carry the site's own `Origin`.",
    ),
    modifiers(&SecuritySchemes),
    components(schemas(crate::error::ErrorBody)),
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
            .merge(projects::router())
            .merge(documents::router())
            .merge(audit::router())
            .merge(markdown::router())
            .merge(structure::router()),
    )
}

/// The OpenAPI 3.1 description of every `/api/v1` route.
pub fn openapi() -> OpenApiDoc {
    routes().into_openapi()
}

/// `/api/v1/*` and `/api/openapi.json`; unknown paths under `/api/v1` answer in JSON.
pub fn router(state: AppState) -> Router {
    let (api, doc) = routes().split_for_parts();
    let doc = std::sync::Arc::new(doc);
    api.route("/api/openapi.json", get(move || async move { axum::Json(doc.as_ref().clone()) }))
        .route("/api/v1/{*rest}", axum::routing::any(not_found))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn not_found() -> Error {
    Error::NotFound("no such API route".into())
}
