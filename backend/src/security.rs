//! Cross-cutting protections applied to every route: the same-origin check for
//! cookie-authenticated requests that change state, and security headers with a
//! per-request CSP nonce for the page's own inline scripts.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, HOST, ORIGIN};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;

use crate::error::Error;
use crate::state::Settings;

/// The nonce that this response's Content-Security-Policy allows inline scripts with.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// True when the request's `Origin` is the site itself: the configured public origin,
/// or else the origin the request was addressed to (its `Host`).
pub fn is_same_origin(headers: &HeaderMap, settings: &Settings) -> bool {
    let Some(origin) = headers.get(ORIGIN).and_then(|value| value.to_str().ok()) else {
        return false;
    };
    match &settings.public_origin {
        Some(expected) => origin.eq_ignore_ascii_case(expected.trim_end_matches('/')),
        None => {
            let host = headers.get(HOST).and_then(|value| value.to_str().ok());
            let authority = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
            matches!((authority, host), (Some(authority), Some(host)) if authority.eq_ignore_ascii_case(host))
        }
    }
}

/// Refuses state-changing requests authenticated by cookie (anything without a bearer
/// token) unless they come from the site's own pages. Browsers always send `Origin` on
/// such requests, and a cross-site page cannot forge it.
pub async fn require_same_origin(State(settings): State<Arc<Settings>>, request: Request, next: Next) -> Response {
    let bearer = request.headers().get(AUTHORIZATION).is_some();
    if request.method().is_safe() || bearer || is_same_origin(request.headers(), &settings) {
        return next.run(request).await;
    }
    Error::Forbidden("cross-origin request refused: the Origin header must be this site's".into()).into_response()
}

pub async fn security_headers(mut request: Request, next: Next) -> Response {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let nonce = hex::encode(bytes);
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut response = next.run(request).await;
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; connect-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    );
    let headers = response.headers_mut();
    let fixed: [(&str, &str); 3] =
        [("x-content-type-options", "nosniff"), ("x-frame-options", "DENY"), ("referrer-policy", "same-origin")];
    for (name, value) in fixed {
        headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        headers.insert(HeaderName::from_static("content-security-policy"), policy);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(HeaderName, &str)]) -> HeaderMap {
        pairs.iter().map(|(name, value)| (name.clone(), HeaderValue::from_str(value).unwrap())).collect()
    }

    #[test]
    fn same_origin_follows_the_host_or_the_configured_origin() {
        let by_host = Settings::default();
        assert!(is_same_origin(&headers(&[(ORIGIN, "http://127.0.0.1:3000"), (HOST, "127.0.0.1:3000")]), &by_host));
        assert!(!is_same_origin(&headers(&[(ORIGIN, "http://evil.example"), (HOST, "127.0.0.1:3000")]), &by_host));
        assert!(!is_same_origin(&headers(&[(ORIGIN, "null"), (HOST, "127.0.0.1:3000")]), &by_host));
        assert!(!is_same_origin(&headers(&[(HOST, "127.0.0.1:3000")]), &by_host));

        let configured = Settings { public_origin: Some("https://charter.example.com/".into()), ..Settings::default() };
        let proxied = [(ORIGIN, "https://charter.example.com"), (HOST, "10.0.0.5:3000")];
        assert!(is_same_origin(&headers(&proxied), &configured));
        assert!(!is_same_origin(&headers(&[(ORIGIN, "http://10.0.0.5:3000"), (HOST, "10.0.0.5:3000")]), &configured));
    }
}
