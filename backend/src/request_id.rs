//! Every request gets an id of its own: its log lines carry it (they run in its span),
//! the response returns it in `X-Request-Id`, and error bodies quote it, so a person
//! reporting an error can name the lines that explain it. A caller's own
//! `X-Request-Id` is not taken: an id anyone can choose would let one request pass
//! for another in the logs.

use std::fmt;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use uuid::Uuid;

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static CURRENT: RequestId;
}

/// One request's id: 32 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestId(Uuid);

impl RequestId {
    /// The id of the request being answered, if any (background work has none).
    pub fn current() -> Option<RequestId> {
        CURRENT.try_with(|id| *id).ok()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.simple().fmt(f)
    }
}

/// Gives the request its id and span, and the response its `X-Request-Id`. Outermost,
/// so that every answer (a timeout's, a refused Origin's) carries it.
pub async fn assign(request: Request, next: Next) -> Response {
    let id = RequestId(Uuid::new_v4());
    // The client's address is filled in by the layer that works it out (`forwarded`).
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %request.method(),
        path = request.uri().path(),
        client = tracing::field::Empty
    );
    let mut response = CURRENT.scope(id, next.run(request)).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}
