//! Accounts: sign-up, log-in and log-out, shared by the JSON API and the UI.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use tower_sessions::Session;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::access::{self, Change};
use crate::api::Json;
use crate::audit::{self, Entry};
use crate::auth::{password, Actor, ClientIp, SESSION_EPOCH_KEY, SESSION_USER_KEY};
use crate::error::{Error, Result};
use crate::AppState;

#[derive(Clone, Debug, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[sqlx(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// Sessions that began in an earlier epoch no longer authenticate.
    #[serde(skip)]
    pub session_epoch: i64,
}

#[derive(Deserialize, ToSchema)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

const PASSWORD_MIN: usize = 10;
// Argon2 takes any length; a ceiling keeps one request from costing unbounded work.
const PASSWORD_MAX: usize = 256;

fn validate_username(username: &str) -> Result<()> {
    let ok_chars = username.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !(3..=32).contains(&username.len()) || !ok_chars {
        return Err(Error::Invalid("usernames are 3 to 32 characters: letters, digits, '_', '-' or '.'".into()));
    }
    Ok(())
}

fn validate_password(password: &str) -> Result<()> {
    let length = password.chars().count();
    if length < PASSWORD_MIN {
        return Err(Error::Invalid(format!("passwords need at least {PASSWORD_MIN} characters")));
    }
    if length > PASSWORD_MAX {
        return Err(Error::Invalid(format!("passwords may have at most {PASSWORD_MAX} characters")));
    }
    Ok(())
}

/// Counts an attempt against the caller's IP and the username they name.
fn limit_attempt(state: &AppState, ip: ClientIp, username: &str) -> Result<()> {
    let settings = &state.settings;
    state.limiter.check(&format!("ip:{}", ip.0), settings.auth_attempts_per_ip)?;
    state.limiter.check(&format!("user:{}", username.to_lowercase()), settings.auth_attempts_per_username)
}

pub async fn find_by_id(db: &PgPool, id: Uuid) -> Result<Option<User>> {
    Ok(sqlx::query_as("SELECT id, username, created_at, session_epoch FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?)
}

pub async fn find_by_username(db: &PgPool, username: &str) -> Result<Option<User>> {
    Ok(sqlx::query_as("SELECT id, username, created_at, session_epoch FROM users WHERE lower(username) = lower($1)")
        .bind(username)
        .fetch_optional(db)
        .await?)
}

pub async fn signup(state: &AppState, ip: ClientIp, credentials: Credentials) -> Result<User> {
    let username = credentials.username.trim();
    limit_attempt(state, ip, username)?;
    validate_username(username)?;
    validate_password(&credentials.password)?;
    let hash = password::hash(credentials.password).await?;
    let mut tx = state.db.begin().await?;
    let user: User = sqlx::query_as(
        "INSERT INTO users (id, username, password_hash) VALUES ($1, $2, $3)
         RETURNING id, username, created_at, session_epoch",
    )
    .bind(Uuid::now_v7())
    .bind(username)
    .bind(hash)
    .fetch_one(&mut *tx)
    .await
    .map_err(Error::from)
    .map_err(|err| match err.is_unique_violation("users_username_key") {
        true => Error::Conflict(format!("the username `{username}` is taken")),
        false => err,
    })?;
    audit::record(&mut *tx, Entry::account(user.id, "account.signup", format!("{} signed up", user.username))).await?;
    tx.commit().await?;
    Ok(user)
}

pub async fn login(state: &AppState, ip: ClientIp, credentials: Credentials) -> Result<User> {
    let username = credentials.username.trim();
    limit_attempt(state, ip, username)?;
    let row: Option<(Uuid, String, String, i64)> = sqlx::query_as(
        "SELECT id, username, password_hash, session_epoch FROM users WHERE lower(username) = lower($1)",
    )
    .bind(username)
    .fetch_optional(&state.db)
    .await?;
    let (user, stored) = match row {
        Some((id, username, hash, session_epoch)) => {
            (Some(User { id, username, created_at: None, session_epoch }), Some(hash))
        }
        None => (None, None),
    };
    match (password::verify(credentials.password, stored).await?, user) {
        (true, Some(user)) => Ok(user),
        _ => Err(Error::InvalidCredentials),
    }
}

/// Binds the session to `user` in their current epoch, under a fresh session id so a
/// planted id is useless.
pub async fn start_session(session: &Session, user: &User) -> Result<()> {
    session.cycle_id().await.map_err(Error::internal)?;
    session.insert(SESSION_USER_KEY, user.id).await.map_err(Error::internal)?;
    session.insert(SESSION_EPOCH_KEY, user.session_epoch).await.map_err(Error::internal)
}

/// Deletes the session; what was opened with it (editor connections) closes.
pub async fn end_session(db: &PgPool, session: &Session) -> Result<()> {
    let user: Option<Uuid> = session.get(SESSION_USER_KEY).await.map_err(Error::internal)?;
    session.flush().await.map_err(Error::internal)?;
    if let Some(user) = user {
        access::changed(&mut *db.acquire().await?, Change::User(user)).await?;
    }
    Ok(())
}

/// Ends all of the user's sessions, on every device, by moving the user to a new session
/// epoch; returns it. A caller that keeps its own session (a password change) starts it
/// again (`start_session`) with the user as they now are.
pub async fn end_other_sessions(tx: &mut PgConnection, user_id: Uuid) -> Result<i64> {
    let epoch =
        sqlx::query_scalar("UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1 RETURNING session_epoch")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
    access::changed(tx, Change::User(user_id)).await?;
    Ok(epoch)
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup_handler))
        .routes(routes!(login_handler))
        .routes(routes!(logout_handler))
        .routes(routes!(me_handler))
}

/// Create an account and sign in.
#[utoipa::path(post, path = "/auth/signup", tag = "accounts", request_body = Credentials,
    responses((status = 201, body = User), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
async fn signup_handler(
    State(state): State<AppState>,
    ip: ClientIp,
    session: Session,
    Json(credentials): Json<Credentials>,
) -> Result<(StatusCode, Json<User>)> {
    let user = signup(&state, ip, credentials).await?;
    start_session(&session, &user).await?;
    Ok((StatusCode::CREATED, Json(User { created_at: None, ..user })))
}

/// Sign in; the response sets a new session cookie.
#[utoipa::path(post, path = "/auth/login", tag = "accounts", request_body = Credentials,
    responses((status = 200, body = User), (status = 401, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody)))]
async fn login_handler(
    State(state): State<AppState>,
    ip: ClientIp,
    session: Session,
    Json(credentials): Json<Credentials>,
) -> Result<Json<User>> {
    let user = login(&state, ip, credentials).await?;
    start_session(&session, &user).await?;
    Ok(Json(user))
}

/// Sign out: the session is deleted.
#[utoipa::path(post, path = "/auth/logout", tag = "accounts", responses((status = 204)))]
async fn logout_handler(State(state): State<AppState>, session: Session) -> Result<StatusCode> {
    end_session(&state.db, &session).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/me", tag = "accounts",
    responses((status = 200, body = User), (status = 401, body = crate::error::ErrorBody)))]
async fn me_handler(actor: Actor) -> Json<User> {
    // The epoch is not part of the answer.
    Json(User { id: actor.user_id, username: actor.username, created_at: None, session_epoch: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_and_passwords_are_validated() {
        assert!(validate_username("ada.lovelace_1").is_ok());
        assert!(validate_username("ab").is_err());
        assert!(validate_username("has space").is_err());
        assert!(validate_username("ümlaut").is_err());
        assert!(validate_password("short").is_err());
        assert!(validate_password("long enough pass").is_ok());
        assert!(validate_password(&"x".repeat(PASSWORD_MAX + 1)).is_err());
    }
}
