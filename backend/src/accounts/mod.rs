//! Accounts: sign-up, log-in and log-out, shared by the JSON API and the UI.

pub mod password;

use axum::extract::State;
use axum::http::StatusCode;
use charter_types::UserId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use tower_sessions::Session;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::access::Actor;
use crate::access::{self, Change};
use crate::audit::{self, Entry};
use crate::error::{Error, Result};
use crate::extract::ClientIp;
use crate::extract::Json;
use crate::ratelimit::Attempt;
use crate::AppState;

/// The session key that holds the signed-in user's id.
pub(crate) const SESSION_USER_KEY: &str = "user_id";
/// The session key that holds the user's session epoch when the session began.
pub(crate) const SESSION_EPOCH_KEY: &str = "epoch";

#[derive(Clone, Debug, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct User {
    pub id: UserId,
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

/// NIST SP 800-63B (rev. 4) for passwords that are a single factor: at least 15
/// characters, at least 64 allowed, no composition rules, and a check against values
/// known to be common or easily guessed.
const PASSWORD_MIN: usize = 15;
// Argon2 takes any length; a ceiling keeps one request from costing unbounded work.
const PASSWORD_MAX: usize = 256;
/// zxcvbn's "safely unguessable" (about 10^10 guesses): below it, a password is a
/// common one, a word with small changes, a repeat, a sequence or a keyboard walk.
const PASSWORD_MIN_SCORE: zxcvbn::Score = zxcvbn::Score::Three;

fn validate_username(username: &str) -> Result<()> {
    let ok_chars = username.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !(3..=32).contains(&username.len()) || !ok_chars {
        return Err(Error::Invalid("usernames are 3 to 32 characters: letters, digits, '_', '-' or '.'".into()));
    }
    Ok(())
}

/// Checks a new password against the policy above; `username` counts as a word an
/// attacker would try first.
fn validate_password(password: &str, username: &str) -> Result<()> {
    let length = password.chars().count();
    if length < PASSWORD_MIN {
        return Err(Error::Invalid(format!(
            "passwords need at least {PASSWORD_MIN} characters; a few unrelated words make a good one"
        )));
    }
    if length > PASSWORD_MAX {
        return Err(Error::Invalid(format!("passwords may have at most {PASSWORD_MAX} characters")));
    }
    let estimate = zxcvbn::zxcvbn(password, &[username, "charter"]);
    if estimate.score() < PASSWORD_MIN_SCORE {
        let why = estimate
            .feedback()
            .and_then(|feedback| feedback.warning())
            .map_or_else(|| "It is too easy to guess.".to_owned(), |warning| warning.to_string());
        return Err(Error::Invalid(format!("choose another password: {why} A few unrelated words make a good one")));
    }
    Ok(())
}

/// Reserves an attempt against the caller's address, and against the pair of address
/// and username: a guesser elsewhere cannot lock an account's owner out.
fn limit_attempt<'a>(state: &'a AppState, ip: ClientIp, username: &str) -> Result<Attempt<'a>> {
    let settings = &state.settings;
    state.limiter.reserve(&[
        (format!("ip:{}", ip.limit_key()), settings.auth_attempts_per_ip),
        (format!("user:{}@{}", username.to_lowercase(), ip.limit_key()), settings.auth_attempts_per_username_and_ip),
    ])
}

/// Where to go after logging in: `next` when it is a path on this site, else the
/// projects. `next` is read the way a browser's URL parser reads it (tabs and newlines
/// dropped, backslashes as slashes, `//host` as another host), so no spelling of another
/// origin gets through.
pub fn redirect_after_login(next: Option<&str>) -> String {
    const HOME: &str = "/projects";
    let Some(next) = next.filter(|next| next.starts_with('/')) else { return HOME.to_owned() };
    let base = url::Url::parse("http://charter.invalid/").expect("a valid base URL");
    match base.join(next) {
        Ok(target) if target.origin() == base.origin() => {
            let mut path = target.path().to_owned();
            if let Some(query) = target.query() {
                path.push('?');
                path.push_str(query);
            }
            if let Some(fragment) = target.fragment() {
                path.push('#');
                path.push_str(fragment);
            }
            path
        }
        _ => HOME.to_owned(),
    }
}

pub async fn find_by_id(db: &PgPool, id: UserId) -> Result<Option<User>> {
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
    let attempt = limit_attempt(state, ip, username)?;
    validate_username(username)?;
    validate_password(&credentials.password, username)?;
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
    attempt.succeeded();
    Ok(user)
}

pub async fn login(state: &AppState, ip: ClientIp, credentials: Credentials) -> Result<User> {
    let username = credentials.username.trim();
    let attempt = limit_attempt(state, ip, username)?;
    let row: Option<(UserId, String, String, i64)> = sqlx::query_as(
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
        (true, Some(user)) => {
            attempt.succeeded();
            Ok(user)
        }
        _ => Err(Error::InvalidCredentials),
    }
}

/// Binds the session to `user` in their current epoch, under a fresh session id so a
/// planted id is useless.
pub async fn start_session(session: &Session, user: &User) -> Result<()> {
    session.cycle_id().await.map_err(Error::session)?;
    session.insert(SESSION_USER_KEY, user.id).await.map_err(Error::session)?;
    session.insert(SESSION_EPOCH_KEY, user.session_epoch).await.map_err(Error::session)
}

/// Whether someone is signed in with this session (rather than a visitor's session
/// holding something else).
pub async fn signed_in(session: &Session) -> Result<bool> {
    Ok(session.get::<UserId>(SESSION_USER_KEY).await.map_err(Error::session)?.is_some())
}

/// Deletes the session; what was opened with it (editor connections) closes.
pub async fn end_session(db: &PgPool, session: &Session) -> Result<()> {
    let user: Option<UserId> = session.get(SESSION_USER_KEY).await.map_err(Error::session)?;
    session.flush().await.map_err(Error::session)?;
    if let Some(user) = user {
        access::changed(&mut *db.acquire().await?, Change::User(user)).await?;
    }
    Ok(())
}

/// Ends all of the user's sessions, on every device, by moving the user to a new session
/// epoch; returns it. A caller that keeps its own session (a password change) starts it
/// again (`start_session`) with the user as they now are.
pub async fn end_other_sessions(tx: &mut PgConnection, user_id: UserId) -> Result<i64> {
    let epoch =
        sqlx::query_scalar("UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1 RETURNING session_epoch")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
    access::changed(tx, Change::User(user_id)).await?;
    Ok(epoch)
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Changes the signed-in user's password after checking the current one (limited like a
/// log-in). Every session of the user ends, on every device, and their open editor
/// connections close; the caller's own session starts again under a fresh id.
pub async fn change_password(state: &AppState, ip: ClientIp, actor: &Actor, change: PasswordChange) -> Result<User> {
    actor.require_session()?;
    let user = login(state, ip, Credentials { username: actor.username.clone(), password: change.current_password })
        .await
        .map_err(|err| match err {
            Error::InvalidCredentials => Error::Forbidden("the current password is not right".into()),
            err => err,
        })?;
    validate_password(&change.new_password, &user.username)?;
    let hash = password::hash(change.new_password).await?;
    let mut tx = state.db.begin().await?;
    sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1").bind(user.id).bind(hash).execute(&mut *tx).await?;
    let session_epoch = end_other_sessions(&mut tx, user.id).await?;
    audit::record(
        &mut *tx,
        Entry::account(user.id, "account.password", format!("{} changed their password", user.username)),
    )
    .await?;
    tx.commit().await?;
    Ok(User { session_epoch, ..user })
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup_handler))
        .routes(routes!(login_handler))
        .routes(routes!(logout_handler))
        .routes(routes!(password_handler))
        .routes(routes!(me_handler))
}

/// Change your password (browser session only). Signs out every other session.
#[utoipa::path(post, path = "/auth/password", tag = "accounts",
    extensions(("x-charter-access" = json!("signed-in"))), request_body = PasswordChange,
    responses((status = 204), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
async fn password_handler(
    State(state): State<AppState>,
    ip: ClientIp,
    actor: Actor,
    session: Session,
    Json(change): Json<PasswordChange>,
) -> Result<StatusCode> {
    let user = change_password(&state, ip, &actor, change).await?;
    start_session(&session, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create an account and sign in.
#[utoipa::path(post, path = "/auth/signup", tag = "accounts",
    extensions(("x-charter-access" = json!("public"))), request_body = Credentials,
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
#[utoipa::path(post, path = "/auth/login", tag = "accounts",
    extensions(("x-charter-access" = json!("public"))), request_body = Credentials,
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
#[utoipa::path(post, path = "/auth/logout", tag = "accounts",
    extensions(("x-charter-access" = json!("public"))), responses((status = 204)))]
async fn logout_handler(State(state): State<AppState>, session: Session) -> Result<StatusCode> {
    end_session(&state.db, &session).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/me", tag = "accounts",
    extensions(("x-charter-access" = json!("signed-in"))),
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
        assert!(validate_password("short", "ada").is_err());
        assert!(validate_password("correct horse battery", "ada").is_ok());
        assert!(validate_password(&"x".repeat(PASSWORD_MAX + 1), "ada").is_err());
    }

    #[test]
    fn common_repeated_and_personal_passwords_are_refused() {
        for weak in [
            "aaaaaaaaaaaaaaaa",
            "                ",
            "1234567890123456",
            "passwordpassword",
            "qwertyuiopasdfgh",
            "ada.lovelace2026",
            "abcdefghijklmnop",
        ] {
            let err = validate_password(weak, "ada.lovelace").unwrap_err();
            assert!(matches!(&err, Error::Invalid(why) if why.starts_with("choose another password")), "{weak}: {err}");
        }
        // No composition rules: long lower-case phrases are fine.
        for strong in ["correct horse battery", "benchmark of seven lamps", "tangerine oboe stapler"] {
            assert!(validate_password(strong, "ada").is_ok(), "{strong}");
        }
    }

    #[test]
    fn only_paths_on_this_site_are_followed_after_login() {
        for (next, expected) in [
            (Some("/p/demo"), "/p/demo"),
            (Some("/p/demo/doc/1?branch=x#s"), "/p/demo/doc/1?branch=x#s"),
            (Some("/p/../projects"), "/projects"),
            (None, "/projects"),
            (Some("//evil.example"), "/projects"),
            (Some("/\\evil.example"), "/projects"),
            (Some("/\t/evil.example/x"), "/projects"),
            (Some("/\n/evil.example"), "/projects"),
            (Some("/\t\\evil.example"), "/projects"),
            (Some("https://evil.example"), "/projects"),
            (Some(" /evil"), "/projects"),
            (Some("javascript:alert(1)"), "/projects"),
        ] {
            assert_eq!(redirect_after_login(next), expected, "{next:?}");
        }
        let encoded = redirect_after_login(Some("/%2F%2Fevil.example"));
        assert!(encoded.starts_with("/%2F"), "an encoded slash stays a path: {encoded}");
    }
}
