//! While the database is known to be unreachable (`charter_backend::availability`), every
//! route that needs it answers 503 with `Retry-After` at once, in the form its caller
//! reads: a page, a server function's error, or the API's error. Liveness (`/healthz`
//! says so itself), metrics, the API's description and the site's files answer as usual.

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use charter_app::error::AppError;
use charter_backend::availability::Availability;
use charter_backend::error::{DatabaseTrouble, Error, Unavailable, RETRY_SECONDS};

const SEC_FETCH_MODE: &str = "sec-fetch-mode";

/// Routes that answer without the database.
const WITHOUT_DATABASE: [&str; 3] = ["/healthz", "/metrics", "/api/openapi.json"];

/// What a person sees instead of a page meanwhile; the browser asks again by itself.
const PAGE: &str = concat!(
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
    "<meta http-equiv=\"refresh\" content=\"5\"><title>Charter is unavailable</title></head>",
    "<body><h1>Charter cannot reach its database just now</h1>",
    "<p>Nothing you saved is lost. This page tries again in 5 seconds.</p></body></html>"
);
/// What a person sees after sending a form the browser posted itself (no script ran).
const FORM: &str = concat!(
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
    "<title>Charter is unavailable</title></head>",
    "<body><h1>Charter cannot reach its database just now</h1>",
    "<p>What this form sent was not saved. Go back and send it again in a few seconds.</p></body></html>"
);

#[derive(Clone)]
pub struct Gate {
    availability: Availability,
    /// The server functions' paths: their callers read errors as `AppError`.
    server_fns: Arc<HashSet<&'static str>>,
}

impl Gate {
    pub fn new(availability: Availability) -> Gate {
        let server_fns = leptos::server_fn::axum::server_fn_paths().map(|(path, _)| path).collect();
        Gate { availability, server_fns: Arc::new(server_fns) }
    }
}

/// Around the routes: a matched route that needs the database. Only reads pass to the
/// routes that need none: anything else may carry a token, which the Origin check
/// looks up before the route answers 405.
pub async fn gate(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    let read = request.method().is_safe();
    let needs_database = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|path| !(read && WITHOUT_DATABASE.contains(&path.as_str())));
    match needs_database {
        true => refuse_while_unreachable(State(gate), request, next).await,
        false => next.run(request).await,
    }
}

/// Around one route or service that needs the database, whatever its path (the
/// "not found" page).
pub async fn refuse_while_unreachable(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    if !gate.availability.is_reachable() {
        return unavailable(&gate, &request);
    }
    let response = next.run(request).await;
    if let Some(trouble) = response.extensions().get::<DatabaseTrouble>().copied() {
        gate.availability.note_trouble(trouble).await;
    }
    response
}

fn unavailable(gate: &Gate, request: &Request) -> Response {
    let path = request.uri().path();
    // A person's browser navigating: to a page, or posting a form without the page's script.
    let (content_type, body) = if is_navigation(request) {
        let page = if request.method() == Method::GET { PAGE } else { FORM };
        ("text/html; charset=utf-8", page.as_bytes().to_vec())
    } else if gate.server_fns.contains(path) {
        ("application/json", serde_json::to_vec(&AppError::Unavailable(RETRY_SECONDS)).unwrap_or_default())
    } else {
        let why = Unavailable { cause: "known to be unreachable".into(), connection_lost: true };
        return Error::DatabaseUnavailable(why).response();
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(RETRY_SECONDS));
    response
}

/// What browsers say of a navigation (`Sec-Fetch-Mode`), or, from one that does not say,
/// a request for HTML outside the API and the server functions (`/api/…`): an API client
/// may accept HTML among other things and still read only JSON.
fn is_navigation(request: &Request) -> bool {
    match request.headers().get(SEC_FETCH_MODE) {
        Some(mode) => mode == "navigate",
        None => {
            !request.uri().path().starts_with("/api/")
                && request
                    .headers()
                    .get_all(ACCEPT)
                    .iter()
                    .any(|value| value.to_str().is_ok_and(|value| value.contains("text/html")))
        }
    }
}
