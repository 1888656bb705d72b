//! The site's static files (the WebAssembly bundle, its script and style, the editor
//! bundle): sent as the build's precompressed copies where it made them. The bundle's
//! files carry a hash of their content in their names (the build's `hash.txt`), and so do
//! the editor's chunks (`editor-<hash>.js`), so a browser keeps them for good without
//! asking; the others (the editor's entry, the icon) keep their names when they change,
//! so a browser asks first whether they did, which costs a `304` of a few bytes when
//! they did not.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, LAST_MODIFIED};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use leptos::config::LeptosOptions;
use tower::{Service, ServiceExt};
use tower_http::services::ServeDir;

const ASK_FIRST: HeaderValue = HeaderValue::from_static("no-cache");
const KEEP: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");

/// The paths of the files whose names change with their content: the bundle's script,
/// WebAssembly and style, as `hash.txt` beside the server's executable names them (where
/// Leptos reads them to link them). None when the build hashed nothing.
pub fn hashed(options: &LeptosOptions) -> HashSet<String> {
    if !options.hash_files {
        return HashSet::new();
    }
    let hash_file = std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.join(options.hash_file.as_ref())));
    let Some(hashes) = hash_file.and_then(|path| std::fs::read_to_string(path).ok()) else {
        return HashSet::new();
    };
    hashes
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(extension, _)| matches!(extension.trim(), "js" | "wasm" | "css"))
        .map(|(extension, hash)| {
            format!("/{}/{}.{}.{}", options.site_pkg_dir, options.output_name, hash.trim(), extension.trim())
        })
        .collect()
}

/// The editor bundle's chunks, `/editor-<hash>.js`: esbuild names them by their content.
fn editor_chunk(path: &str) -> bool {
    let hash = path.strip_prefix("/editor-").and_then(|rest| rest.strip_suffix(".js"));
    hash.is_some_and(|hash| {
        !hash.is_empty() && hash.bytes().all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit())
    })
}

/// The files under `root`; `missing` answers every request that names no file there
/// (any method: a file is only ever read). Those at the `hashed` paths are kept for good.
pub fn files<M>(
    root: &str,
    hashed: HashSet<String>,
    missing: M,
) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send> + Clone + Send + Sync + 'static
where
    M: Service<Request, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    M::Future: Send + 'static,
{
    let hashed = Arc::new(hashed);
    let serve = ServeDir::new(root)
        .precompressed_br()
        .precompressed_gzip()
        .call_fallback_on_method_not_allowed(true)
        .fallback(missing);
    tower::service_fn(move |request: Request| {
        let path = request.uri().path();
        let keep = if hashed.contains(path) || editor_chunk(path) { KEEP } else { ASK_FIRST };
        let serve = serve.clone();
        async move {
            let Ok(response) = serve.oneshot(request).await;
            let mut response = response.into_response();
            // A file, or a `304` for one; never what `missing` answered.
            let file = response.headers().contains_key(LAST_MODIFIED) || response.status() == StatusCode::NOT_MODIFIED;
            if file {
                response.headers_mut().insert(CACHE_CONTROL, keep);
            }
            Ok::<_, Infallible>(response)
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_editors_content_named_chunks_are_kept_for_good() {
        assert!(super::editor_chunk("/editor-DLBELKXS.js"));
        for path in ["/editor.js", "/editor-.js", "/editor-abc.js", "/editor-X/../a.js", "/pkg/editor-AB.js"] {
            assert!(!super::editor_chunk(path), "{path}");
        }
    }
}
