//! Every request has a deadline for its answer, so no route can hang a client (or hold
//! its connection and what the handler holds) however it is stuck. The answer's body,
//! once it starts, is not timed: exports stream for as long as they take.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::Error;

/// Answers 503 with `Retry-After` when the rest of the stack has not answered within
/// `limit`; what the handler was doing is dropped (an open transaction rolls back).
pub async fn enforce(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Error::TimedOut(limit).into_response(),
    }
}
