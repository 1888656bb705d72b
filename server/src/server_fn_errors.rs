//! Server functions' errors as HTTP. A page's script gets the status the error names
//! (a person's mistake is a 4xx, never a 500). A form the browser posted itself, before
//! the page's script ran or without one, is sent back to its page as Leptos does, and
//! the error is kept in the session for that page to show beside the form.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{LOCATION, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use charter_app::error::AppError;
use charter_app::forms::{FormFlash, FLASH_KEY};
use leptos::server_fn::error::{ServerFnUrlError, SERVER_FN_ERROR_HEADER};
use tower_sessions::{Expiry, Session};

/// A server function's error body is one short JSON value.
const MAX_ERROR_BYTES: usize = 64 * 1024;
/// How long a session made only to carry a form's error lasts unread.
const FLASH_MINUTES: i64 = 5;

pub async fn server_fn_errors(request: Request, next: Next) -> Response {
    let session = request.extensions().get::<Session>().cloned();
    let response = next.run(request).await;
    let Some(path) = response.headers().get(SERVER_FN_ERROR_HEADER).and_then(|path| path.to_str().ok()) else {
        return response;
    };
    let path = path.to_owned();
    let (mut parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, MAX_ERROR_BYTES).await.unwrap_or_default();
    let (error, body) = match serde_json::from_slice::<AppError>(&body) {
        Ok(error) => (error, body),
        Err(err) => {
            tracing::error!(error = %err, path, "a server function's error could not be read");
            let internal = serde_json::to_vec(&AppError::Internal).unwrap_or_default();
            (AppError::Internal, internal.into())
        }
    };
    if parts.status.is_redirection() {
        // A plain form post, answered with a redirect back to its page. Leptos also
        // writes the error into that address: taken out, as the page shows only the
        // session's copy (`FormError` ignores an address's error, which anyone can write).
        if let Some(location) = parts.headers.get(LOCATION).and_then(|location| location.to_str().ok()) {
            let mut location = location.to_owned();
            ServerFnUrlError::<AppError>::strip_error_info(&mut location);
            if let Ok(location) = HeaderValue::from_str(&location) {
                parts.headers.insert(LOCATION, location);
            }
        }
        if let Some(session) = session {
            // A visitor without a session gets one for the error alone: it is dropped
            // once shown, and expires soon if never fetched.
            if session.id().is_none() {
                session.set_expiry(Some(Expiry::OnInactivity(time::Duration::minutes(FLASH_MINUTES))));
            }
            if let Err(err) = session.insert(FLASH_KEY, FormFlash { path, error }).await {
                tracing::error!(error = %err, "could not keep a form's error in the session");
            }
        }
    } else {
        parts.status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let AppError::RateLimited(seconds) | AppError::Unavailable(seconds) = error {
            parts.headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
    }
    Response::from_parts(parts, Body::from(body))
}
