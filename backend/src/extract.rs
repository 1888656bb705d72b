//! Request extractors: JSON, path and query values whose rejections use the API's
//! error format, and which refuse U+0000 in any text (Postgres `text` cannot store it:
//! see [`Error::nul_character`]); a raw body; and the client's address.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::body::{Body, Bytes};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::Extensions;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::Error;

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

/// A request's body as it came (an uploaded archive); one too large is a 413 in the API's
/// format.
pub struct Upload(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Upload {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Error> {
        match Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(Upload(bytes)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(Error::PayloadTooLarge),
            Err(rejection) => Err(Error::BadRequest(rejection.body_text())),
        }
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

/// The client's address: the connection's peer, or, behind a proxy the deployment
/// trusts, the address it forwarded (see [`crate::forwarded`]).
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// What rate limits count by: the address, or for IPv6 its /64 (one subscriber's
    /// network), so that a client cannot take a fresh address for every attempt.
    pub fn limit_key(self) -> String {
        match self.0.to_canonical() {
            IpAddr::V6(ip) => {
                let network = u128::from(ip) & !((1u128 << 64) - 1);
                format!("{}/64", std::net::Ipv6Addr::from(network))
            }
            ip => ip.to_string(),
        }
    }

    pub fn of(extensions: &Extensions) -> ClientIp {
        if let Some(client) = extensions.get::<ClientIp>() {
            return *client;
        }
        let ip = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        ClientIp(ip)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(ClientIp::of(&parts.extensions))
    }
}
