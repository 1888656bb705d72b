//! The site's static files (the WebAssembly bundle, its script and style, the editor
//! bundle): sent as the build's precompressed copies where it made them, and kept by
//! browsers only after asking whether they changed, which costs a `304` of a few bytes
//! when they did not. (Their names do not change with their content, so a browser may
//! not keep them for longer without asking.)

use std::convert::Infallible;

use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, LAST_MODIFIED};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::{Service, ServiceExt};
use tower_http::services::ServeDir;

const ASK_FIRST: HeaderValue = HeaderValue::from_static("no-cache");

/// The files under `root`; `missing` answers every request that names no file there
/// (any method: a file is only ever read).
pub fn files<M>(
    root: &str,
    missing: M,
) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send> + Clone + Send + Sync + 'static
where
    M: Service<Request, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    M::Future: Send + 'static,
{
    ServeDir::new(root)
        .precompressed_br()
        .precompressed_gzip()
        .call_fallback_on_method_not_allowed(true)
        .fallback(missing)
        .map_response(|response| {
            let mut response = response.into_response();
            // A file, or a `304` for one; never what `missing` answered.
            let file = response.headers().contains_key(LAST_MODIFIED) || response.status() == StatusCode::NOT_MODIFIED;
            if file {
                response.headers_mut().insert(CACHE_CONTROL, ASK_FIRST);
            }
            response
        })
}
