//! What server functions need from the request: the backend state, the caller, the
//! session and the client address. Server-side only.

use axum::http::request::Parts;
use charter_backend::access::Actor;
use charter_backend::extract::ClientIp;
use charter_backend::AppState;
use leptos::prelude::use_context;
use tower_sessions::Session;

use crate::error::AppError;

fn parts() -> Result<Parts, AppError> {
    use_context::<Parts>().ok_or(AppError::Internal)
}

pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or(AppError::Internal)
}

/// The signed-in caller, or `Unauthorized`.
pub async fn actor() -> Result<(AppState, Actor), AppError> {
    let state = state()?;
    let actor = charter_backend::auth::authenticate(&mut parts()?, &state).await?;
    Ok((state, actor))
}

pub fn session() -> Result<Session, AppError> {
    parts()?.extensions.get::<Session>().cloned().ok_or(AppError::Internal)
}

pub fn client_ip() -> Result<ClientIp, AppError> {
    Ok(ClientIp::of(&parts()?.extensions))
}

/// Ids arrive from the page as text; a malformed one names nothing.
pub fn parse_id<T: std::str::FromStr>(id: &str, what: &str) -> Result<T, AppError> {
    id.parse().map_err(|_| AppError::NotFound(format!("{what} not found")))
}
