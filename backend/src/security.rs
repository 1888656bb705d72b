//! Cross-cutting protections applied to every route: the same-origin check for
//! requests that change state without a valid bearer token, and security headers with
//! a per-request CSP nonce for the page's own inline scripts.

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, HOST, ORIGIN};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;

use crate::auth;
use crate::error::Error;
use crate::state::Settings;
use crate::AppState;

/// The nonce that this response's Content-Security-Policy allows inline scripts with.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// Where tools report incidents (`/api/v1/projects/{id}/incidents` and `/hooks/…`):
/// those routes take only an API token or a signature under the project's secret, never
/// a session, so a cross-site page has nothing to borrow there; and the tools post from
/// servers, without an `Origin`.
fn is_ingest(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/api/v1/projects/") else { return false };
    let segments: Vec<&str> = rest.split('/').collect();
    matches!(segments.as_slice(), [_, "incidents"] | [_, "hooks", ..])
}

/// True when the request's `Origin` is the site itself: the configured public origin,
/// or else `http://` and the `Host` the request was addressed to (Charter itself serves
/// plain HTTP; behind TLS the public origin must be configured).
pub fn is_same_origin(headers: &HeaderMap, settings: &Settings) -> bool {
    let Some(origin) = headers.get(ORIGIN).and_then(|value| value.to_str().ok()) else {
        return false;
    };
    match &settings.public_origin {
        Some(expected) => origin.eq_ignore_ascii_case(expected.trim_end_matches('/')),
        None => {
            let host = headers.get(HOST).and_then(|value| value.to_str().ok());
            let authority =
                origin.get(..7).filter(|scheme| scheme.eq_ignore_ascii_case("http://")).map(|_| &origin[7..]);
            matches!((authority, host), (Some(authority), Some(host)) if authority.eq_ignore_ascii_case(host))
        }
    }
}

/// Refuses state-changing requests that do not come from the site's own pages, unless
/// they carry a valid bearer token. Browsers always send `Origin` on such requests, and
/// a cross-site page can neither forge it nor attach a token; a header that merely says
/// `Authorization` proves nothing, so the token is checked here (and the caller it
/// stands for is handed on, not looked up twice).
pub async fn require_same_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method().is_safe()
        || is_same_origin(request.headers(), &state.settings)
        || is_ingest(request.uri().path())
        // `/mcp` takes bearer tokens only, never the cookie, and checks Origin itself.
        || request.uri().path() == "/mcp"
    {
        return next.run(request).await;
    }
    if request.headers().contains_key(AUTHORIZATION) {
        let (mut parts, body) = request.into_parts();
        // Scopes are the route's to check: this only proves a token, not what it may do.
        return match auth::identify(&mut parts, &state).await {
            Ok(actor) => {
                parts.extensions.insert(actor);
                next.run(Request::from_parts(parts, body)).await
            }
            Err(err) => err.into_response(),
        };
    }
    Error::Forbidden("cross-origin request refused: the Origin header must be this site's".into()).into_response()
}

/// Adds the security headers (and mints the CSP nonce). Responses of the API and of
/// server functions are never cached: they carry one user's data.
pub async fn security_headers(
    State(settings): State<std::sync::Arc<Settings>>,
    mut request: Request,
    next: Next,
) -> Response {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let nonce = hex::encode(bytes);
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let path = request.uri().path();
    // A contract's mock answers with what a project member wrote in the contract (HTML,
    // say): it runs nothing, and is nobody's to cache.
    let mock = path.starts_with("/mock/");
    let uncacheable = path.starts_with("/api/") || mock;
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed: [(&str, &str); 3] =
        [("x-content-type-options", "nosniff"), ("x-frame-options", "DENY"), ("referrer-policy", "same-origin")];
    for (name, value) in fixed {
        headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    if uncacheable && !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let policy = match mock {
        true => Ok(HeaderValue::from_static(MOCK_POLICY)),
        false => HeaderValue::from_str(&content_security_policy(&nonce, &settings)),
    };
    if let Ok(policy) = policy {
        headers.insert(HeaderName::from_static("content-security-policy"), policy);
    }
    response
}

/// A mock's answers: a sandbox of their own origin, loading and running nothing.
const MOCK_POLICY: &str = "sandbox; default-src 'none'; frame-ancestors 'none'";

fn content_security_policy(nonce: &str, settings: &Settings) -> String {
    let mut images = String::from("'self' data:");
    for source in settings.image_sources.iter().filter(|source| is_plain_source(source)) {
        images.push(' ');
        images.push_str(source);
    }
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src {images}; connect-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// A CSP source expression without anything that could end the directive or add one.
pub fn is_plain_source(source: &str) -> bool {
    !source.is_empty()
        && source.bytes().all(|byte| byte.is_ascii_graphic() && !matches!(byte, b';' | b',' | b'\'' | b'"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(HeaderName, &str)]) -> HeaderMap {
        pairs.iter().map(|(name, value)| (name.clone(), HeaderValue::from_str(value).unwrap())).collect()
    }

    #[test]
    fn only_the_routes_tools_report_to_skip_the_origin_check() {
        let id = "0193c0de-0000-7000-8000-000000000001";
        for path in ["incidents", "hooks/sentry", "hooks/alertmanager", "hooks/otlp/v1/logs"] {
            assert!(is_ingest(&format!("/api/v1/projects/{id}/{path}")), "{path}");
        }
        for path in [
            format!("/api/v1/projects/{id}/incidents/x"),
            format!("/api/v1/projects/{id}/integrations/sentry"),
            format!("/api/v1/projects/{id}/members/ada"),
            format!("/api/v1/incidents/{id}/dismiss"),
            "/api/v1/hooks/sentry".to_owned(),
        ] {
            assert!(!is_ingest(&path), "{path}");
        }
    }

    #[test]
    fn same_origin_follows_the_host_or_the_configured_origin() {
        let by_host = Settings::default();
        assert!(is_same_origin(&headers(&[(ORIGIN, "http://127.0.0.1:3000"), (HOST, "127.0.0.1:3000")]), &by_host));
        assert!(!is_same_origin(&headers(&[(ORIGIN, "http://evil.example"), (HOST, "127.0.0.1:3000")]), &by_host));
        assert!(!is_same_origin(&headers(&[(ORIGIN, "null"), (HOST, "127.0.0.1:3000")]), &by_host));
        assert!(!is_same_origin(&headers(&[(HOST, "127.0.0.1:3000")]), &by_host));
        assert!(
            !is_same_origin(&headers(&[(ORIGIN, "https://127.0.0.1:3000"), (HOST, "127.0.0.1:3000")]), &by_host),
            "the scheme is part of the origin"
        );
        assert!(!is_same_origin(&headers(&[(ORIGIN, "http:/"), (HOST, "127.0.0.1:3000")]), &by_host));

        let configured = Settings { public_origin: Some("https://charter.example.com/".into()), ..Settings::default() };
        let proxied = [(ORIGIN, "https://charter.example.com"), (HOST, "10.0.0.5:3000")];
        assert!(is_same_origin(&headers(&proxied), &configured));
        assert!(!is_same_origin(
            &headers(&[(ORIGIN, "http://charter.example.com"), (HOST, "10.0.0.5:3000")]),
            &configured
        ));
        assert!(!is_same_origin(&headers(&[(ORIGIN, "http://10.0.0.5:3000"), (HOST, "10.0.0.5:3000")]), &configured));
    }

    #[test]
    fn images_come_from_the_site_unless_a_setting_widens_it() {
        let policy = content_security_policy("n", &Settings::default());
        assert!(policy.contains("img-src 'self' data:;"), "{policy}");
        let widened = Settings {
            image_sources: vec!["https://images.example.com".into(), "x; script-src *".into()],
            ..Settings::default()
        };
        let policy = content_security_policy("n", &widened);
        assert!(policy.contains("img-src 'self' data: https://images.example.com;"), "{policy}");
        assert!(!policy.contains("script-src *"), "a source cannot smuggle a directive: {policy}");
    }
}
