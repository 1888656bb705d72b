//! The one error type of the backend, and how it reaches an API client:
//! `{"error": {"code": "...", "message": "..."}}` with a fitting status.
//! Internal causes are logged here and never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::request_id::RequestId;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("authentication required")]
    Unauthorized,
    #[error("invalid username or password")]
    InvalidCredentials,
    /// A webhook delivery its signature does not prove (or that no secret can): the
    /// reason is for whoever sets up the tool.
    #[error("{0}")]
    BadSignature(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A conflict the client can act on: `details` says what conflicts.
    #[error("{message}")]
    ConflictWith { message: String, details: serde_json::Value },
    /// Well-formed input that breaks a rule (too long, unknown kind, ...).
    #[error("{0}")]
    Invalid(String),
    /// Input that could not be read at all (malformed JSON, a bad id in the path).
    #[error("{0}")]
    BadRequest(String),
    #[error("request body is too large")]
    PayloadTooLarge,
    #[error("too many attempts; try again in {retry_after} seconds")]
    RateLimited { retry_after: u64 },
    /// An embedding provider this server asked failed or refused; the message says how,
    /// for the project's owners (never shown to a mere reader).
    #[error("{0}")]
    Provider(String),
    #[error("a database error occurred")]
    Database(sqlx::Error),
    /// The database cannot be reached just now (restarting, out of connections): the
    /// request may well succeed if sent again shortly.
    #[error("the database is unavailable just now; try again in {RETRY_SECONDS} seconds")]
    DatabaseUnavailable(Unavailable),
    /// The request took longer than every request may.
    #[error("the server took longer than {} seconds to answer; try again in {RETRY_SECONDS} seconds", .0.as_secs())]
    TimedOut(std::time::Duration),
    #[error("an internal error occurred")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why the database could not serve a request.
#[derive(Debug)]
pub struct Unavailable {
    pub cause: String,
    /// A connection broke, or the server said it is going away or not up: it has most
    /// likely gone. Otherwise no connection came in time or the server had no slot left,
    /// which a busy database does too.
    pub connection_lost: bool,
}

/// How long a client is told to wait before trying again after a 503.
pub const RETRY_SECONDS: u64 = 5;

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Unauthorized | Error::InvalidCredentials | Error::BadSignature(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) | Error::ConflictWith { .. } => StatusCode::CONFLICT,
            Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Provider(_) => StatusCode::BAD_GATEWAY,
            Error::DatabaseUnavailable(_) | Error::TimedOut(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Database(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthorized => "unauthorized",
            Error::InvalidCredentials => "invalid_credentials",
            Error::BadSignature(_) => "bad_signature",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) | Error::ConflictWith { .. } => "conflict",
            Error::Invalid(_) => "invalid",
            Error::BadRequest(_) => "bad_request",
            Error::PayloadTooLarge => "payload_too_large",
            Error::RateLimited { .. } => "rate_limited",
            Error::Provider(_) => "provider_failed",
            Error::DatabaseUnavailable(_) => "unavailable",
            Error::TimedOut(_) => "timed_out",
            Error::Database(_) | Error::Internal(_) => "internal",
        }
    }

    pub fn not_found(what: &str) -> Self {
        Error::NotFound(format!("{what} not found"))
    }

    /// Text holding U+0000, which Postgres `text` cannot store: refused wherever text
    /// comes in (the API's extractors, document content), and caught at the database
    /// for any other way in (server functions' arguments).
    pub fn nul_character() -> Self {
        Error::Invalid("text may not contain the NUL character (U+0000)".into())
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Error::Internal(cause.to_string())
    }

    /// A session that could not be read or written: its store is the database, so a
    /// failing store is a database that cannot be reached (a session that cannot be
    /// decoded is not, and sending it again would not help).
    pub fn session(err: tower_sessions::session::Error) -> Self {
        use tower_sessions::session::Error as Session;
        use tower_sessions::session_store::Error as Store;
        match err {
            Session::Store(Store::Backend(cause)) => {
                Error::DatabaseUnavailable(Unavailable { cause, connection_lost: false })
            }
            other => Error::internal(other),
        }
    }

    /// True when a database error is a violation of the named unique constraint.
    pub fn is_unique_violation(&self, constraint: &str) -> bool {
        matches!(self, Error::Database(sqlx::Error::Database(db))
            if db.is_unique_violation() && db.constraint() == Some(constraint))
    }

    /// True when the database refused with this SQLSTATE, e.g. `40001` (a transaction
    /// that could not be serialized with others) or `55P03` (a lock not available).
    pub fn is_sqlstate(&self, code: &str) -> bool {
        matches!(self, Error::Database(sqlx::Error::Database(db)) if db.code().as_deref() == Some(code))
    }

    /// True when the database answered with an error (a row it refused, a deadlock),
    /// rather than could not be reached.
    pub fn is_refusal(&self) -> bool {
        matches!(self, Error::Database(sqlx::Error::Database(_)))
    }

    /// Seconds the client should wait before sending the request again, if it should.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::RateLimited { retry_after } => Some(*retry_after),
            Error::DatabaseUnavailable(_) | Error::TimedOut(_) => Some(RETRY_SECONDS),
            _ => None,
        }
    }

    /// Logs what the client will not see, once, where the error turns into a response.
    pub fn log(&self) {
        match self {
            Error::Database(cause) => tracing::error!(error = %cause, "database error"),
            Error::DatabaseUnavailable(why) => tracing::warn!(error = %why.cause, "database unavailable"),
            Error::TimedOut(limit) => tracing::warn!(limit = ?limit, "request timed out"),
            Error::Internal(cause) => tracing::error!(error = %cause, "internal error"),
            _ => {}
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Error {
        // 22021: "invalid byte sequence" (a NUL in a text parameter); 22P05: the same in
        // JSON (`\u0000` in jsonb). Nothing else can produce these from Rust strings.
        match &err {
            sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("22021" | "22P05")) => {
                Error::nul_character()
            }
            _ => match connection_lost(&err) {
                Some(connection_lost) => {
                    Error::DatabaseUnavailable(Unavailable { cause: err.to_string(), connection_lost })
                }
                None => Error::Database(err),
            },
        }
    }
}

/// Whether the database could not be reached or is going away, as opposed to having
/// refused what it was asked, and if so whether a connection was lost: a broken one, or
/// a server shutting down or starting up (SQLSTATE class 08, 57P01–03), against none in
/// time (a refused one is retried until then) or a server out of connections (53300).
fn connection_lost(err: &sqlx::Error) -> Option<bool> {
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => Some(false),
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed => Some(true),
        sqlx::Error::Database(db) => db.code().and_then(|code| match code.as_ref() {
            "53300" => Some(false),
            "57P01" | "57P02" | "57P03" => Some(true),
            code if code.starts_with("08") => Some(true),
            _ => None,
        }),
        _ => None,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `unauthorized`, `invalid_credentials`, `bad_signature`, `forbidden`, `not_found`, `conflict`,
    /// `invalid`, `bad_request`, `payload_too_large`, `rate_limited`, `provider_failed`, `unavailable`, `timed_out`,
    /// `internal`.
    pub code: String,
    pub message: String,
    /// The request's id, as in its `X-Request-Id` header and the server's log lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// More about some errors (the conflicts that block a merge, say).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        self.log();
        self.response()
    }
}

impl Error {
    /// What this error says of the database's availability, if anything.
    pub fn trouble(&self) -> Option<DatabaseTrouble> {
        match self {
            Error::DatabaseUnavailable(why) => Some(DatabaseTrouble { connection_lost: why.connection_lost }),
            _ => None,
        }
    }

    /// The answer, without logging the error: for answers given many times over for one
    /// cause already logged (a database known to be unreachable).
    pub fn response(self) -> Response {
        let (message, code, status, retry_after) =
            (self.to_string(), self.code().to_owned(), self.status(), self.retry_after());
        let trouble = self.trouble();
        let details = match self {
            Error::ConflictWith { details, .. } => Some(details),
            _ => None,
        };
        let request_id = RequestId::current().map(|id| id.to_string());
        let body = ErrorBody { error: ErrorDetail { code, message, request_id, details } };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(retry_after) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        if let Some(trouble) = trouble {
            response.extensions_mut().insert(trouble);
        }
        response
    }
}

/// Marks a response that found the database unavailable, for the layer that keeps
/// track (`Availability::note_trouble`).
#[derive(Clone, Copy, Debug)]
pub struct DatabaseTrouble {
    pub connection_lost: bool,
}
