//! The error every server function returns, readable as it stands in the page.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What went wrong, in words for the person who asked. The services word their
/// messages for the API (lower case, names in backticks); [`for_people`] turns them into
/// sentences when they are shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please sign in to continue.")]
    Unauthorized,
    /// A sign-in with a wrong username or password.
    #[error("{}", for_people(.0))]
    SignInFailed(String),
    #[error("{}", for_people(.0))]
    Forbidden(String),
    #[error("{}", for_people(.0))]
    NotFound(String),
    #[error("{}", for_people(.0))]
    Conflict(String),
    /// A well-formed request the rules refuse (a title too long, a name taken).
    #[error("{}", for_people(.0))]
    Invalid(String),
    /// A request that could not be read at all (a missing or malformed field).
    #[error("{}", for_people(.0))]
    BadRequest(String),
    #[error("Too many attempts; try again in {0} seconds.")]
    RateLimited(u64),
    /// Charter could not answer just now (its database restarting, say).
    #[error("Charter is briefly unavailable; please try again in {0} seconds.")]
    Unavailable(u64),
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    #[error("Could not reach Charter ({0}). Check your connection and try again.")]
    Transport(String),
}

impl AppError {
    /// The HTTP status a response carrying this error has: a person's mistake is a 4xx,
    /// only Charter's own failure a 5xx.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthorized | AppError::SignInFailed(_) => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::Invalid(_) => 422,
            AppError::BadRequest(_) => 400,
            AppError::RateLimited(_) => 429,
            AppError::Unavailable(_) => 503,
            AppError::Internal | AppError::Transport(_) => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(why) | ServerFnErrorErr::MissingArg(why) => AppError::BadRequest(why),
            // On the server, a request that could not be read; in the browser, an answer
            // that could not (a proxy's error page, say): Charter was not reached.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(why) | ServerFnErrorErr::UnsupportedRequestMethod(why) => {
                AppError::BadRequest(why)
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}

/// A service's message as a sentence: capitalised, names in quotes instead of
/// backticks, ending in a full stop.
pub fn for_people(message: &str) -> String {
    let mut sentence = String::with_capacity(message.len() + 8);
    let mut open = true;
    for c in message.trim().chars() {
        match c {
            '`' => {
                sentence.push(if open { '“' } else { '”' });
                open = !open;
            }
            c if sentence.is_empty() => sentence.extend(c.to_uppercase()),
            c => sentence.push(c),
        }
    }
    if !sentence.ends_with(['.', '!', '?']) {
        sentence.push('.');
    }
    sentence
}

#[cfg(feature = "ssr")]
impl From<charter_backend::Error> for AppError {
    fn from(err: charter_backend::Error) -> AppError {
        use charter_backend::Error;
        err.log();
        match err {
            Error::Unauthorized => AppError::Unauthorized,
            Error::InvalidCredentials => AppError::SignInFailed(err.to_string()),
            // Only webhook routes refuse a signature; no page sends one.
            Error::BadSignature(_) => AppError::Unauthorized,
            Error::Forbidden(why) => AppError::Forbidden(why),
            Error::NotFound(why) => AppError::NotFound(why),
            Error::Conflict(why) | Error::ConflictWith { message: why, .. } => AppError::Conflict(why),
            Error::Invalid(why) => AppError::Invalid(why),
            Error::BadRequest(why) => AppError::BadRequest(why),
            Error::PayloadTooLarge => AppError::Invalid(err.to_string()),
            Error::RateLimited { retry_after } => AppError::RateLimited(retry_after),
            Error::DatabaseUnavailable(_) | Error::TimedOut(_) => {
                AppError::Unavailable(err.retry_after().unwrap_or(charter_backend::error::RETRY_SECONDS))
            }
            // A provider's own words are for the project's owners, who see them in its settings.
            Error::Provider(_) | Error::Database(_) | Error::Internal(_) => AppError::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{for_people, AppError};

    #[test]
    fn service_messages_read_as_sentences() {
        assert_eq!(for_people("a branch named `draft` already exists"), "A branch named “draft” already exists.");
        assert_eq!(for_people("`main` is the project's source of truth"), "“main” is the project's source of truth.");
        assert_eq!(for_people("Dimensions must be a whole number."), "Dimensions must be a whole number.");
        assert_eq!(for_people("is it?"), "Is it?");
        assert_eq!(AppError::Conflict("someone changed it".into()).to_string(), "Someone changed it.");
    }

    #[test]
    fn mistakes_are_client_errors() {
        for mistake in [
            AppError::Unauthorized,
            AppError::SignInFailed(String::new()),
            AppError::Forbidden(String::new()),
            AppError::NotFound(String::new()),
            AppError::Conflict(String::new()),
            AppError::Invalid(String::new()),
            AppError::BadRequest(String::new()),
            AppError::RateLimited(3),
        ] {
            assert!((400..500).contains(&mistake.status()), "{mistake:?}");
        }
        assert_eq!(AppError::Internal.status(), 500);
        assert_eq!(AppError::Unavailable(5).status(), 503);
    }
}
