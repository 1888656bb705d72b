//! The error every server function returns, readable as it stands in the page.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please sign in to continue.")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("Too many attempts; try again in {0} seconds.")]
    RateLimited(u64),
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    #[error("Could not reach Charter ({0}). Check your connection and try again.")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(why) | ServerFnErrorErr::MissingArg(why) => AppError::Invalid(why),
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<charter_backend::Error> for AppError {
    fn from(err: charter_backend::Error) -> AppError {
        use charter_backend::Error;
        err.log();
        match err {
            Error::Unauthorized => AppError::Unauthorized,
            Error::InvalidCredentials => AppError::Invalid(err.to_string()),
            // Only webhook routes refuse a signature; no page sends one.
            Error::BadSignature(_) => AppError::Unauthorized,
            Error::Forbidden(why) => AppError::Forbidden(why),
            Error::NotFound(why) => AppError::NotFound(why),
            Error::Conflict(why) | Error::ConflictWith { message: why, .. } => AppError::Conflict(why),
            Error::Invalid(why) | Error::BadRequest(why) => AppError::Invalid(why),
            Error::PayloadTooLarge => AppError::Invalid(err.to_string()),
            Error::RateLimited { retry_after } => AppError::RateLimited(retry_after),
            // A provider's own words are for the project's owners, who see them in its settings.
            Error::Provider(_) | Error::Database(_) | Error::Internal(_) => AppError::Internal,
        }
    }
}
