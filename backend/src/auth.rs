//! Who is calling: the [`Actor`] behind a request, from a bearer token or the session
//! cookie, with the token's scopes enforced; and whether credentials held open (by
//! co-editing connections) still authenticate.

use std::collections::HashSet;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sqlx::PgPool;
use tower_sessions::Session;

use charter_types::{Scope, UserId};

use crate::access::{Actor, Credential};
use crate::accounts::{self, SESSION_EPOCH_KEY, SESSION_USER_KEY};
use crate::error::{Error, Result};
use crate::extract::ClientIp;
use crate::{tokens, AppState};

/// Who is calling: a `Bearer` token when the header is present (never falling back to
/// the cookie), else the session. The token's scopes are left to the door it came
/// through: [`authenticate`] for the API's routes, the incident routes their own.
pub async fn identify(parts: &mut Parts, state: &AppState) -> Result<Actor> {
    // Already identified by the Origin check (a bearer token on a cross-site call).
    if let Some(actor) = parts.extensions.get::<Actor>() {
        return Ok(actor.clone());
    }
    if let Some(header) = parts.headers.get(AUTHORIZATION) {
        // The scheme is case-insensitive (RFC 7235).
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token)
            .ok_or(Error::Unauthorized)?;
        return authenticate_token(parts, state, token.trim()).await;
    }
    let session = Session::from_request_parts(parts, state).await.map_err(|(_, why)| Error::internal(why))?;
    let user_id: UserId = session.get(SESSION_USER_KEY).await.map_err(Error::session)?.ok_or(Error::Unauthorized)?;
    // Sessions from before epochs existed have none: they began in the first one.
    let epoch: i64 = session.get(SESSION_EPOCH_KEY).await.map_err(Error::session)?.unwrap_or(0);
    let id = session.id().ok_or(Error::Unauthorized)?;
    let user = accounts::find_by_id(&state.db, user_id).await?.ok_or(Error::Unauthorized)?;
    // The user ended their sessions (changing their password) after this one began.
    if user.session_epoch != epoch {
        return Err(Error::Unauthorized);
    }
    Ok(Actor { user_id: user.id, username: user.username, credential: Credential::Session { id, epoch } })
}

/// The token's holder, within the limits: tokens that do not authenticate, per client
/// address (past it they are answered 429, not 401; a good token from the same address
/// still goes through, so nobody can lock others' scripts out), and requests per account
/// and minute.
async fn authenticate_token(parts: &Parts, state: &AppState, token: &str) -> Result<Actor> {
    let settings = &state.settings;
    let Some(actor) = tokens::authenticate(&state.db, token).await? else {
        let address = ClientIp::of(&parts.extensions).limit_key();
        // A failure counts from here on: the attempt is never given back.
        let _failed = state.limiter.reserve(&[(format!("token-ip:{address}"), settings.token_failures_per_ip)])?;
        return Err(Error::Unauthorized);
    };
    let limit = [(format!("token-user:{}", actor.user_id), settings.token_requests_per_minute)];
    // A use, not a guess: it counts until its minute is over.
    let _counted = state.token_limiter.reserve(&limit)?;
    Ok(actor)
}

/// Who is calling, with a token's scope enough for the request: reads need `read`,
/// anything that changes state needs `write`.
pub async fn authenticate(parts: &mut Parts, state: &AppState) -> Result<Actor> {
    let actor = identify(parts, state).await?;
    let needed = if parts.method.is_safe() { Scope::Read } else { Scope::Write };
    actor.require_scope(needed)?;
    Ok(actor)
}

/// Which of `held` (credentials, each with the user it authenticated) still authenticate,
/// in order: tokens not revoked, and sessions that still exist, unexpired, in their user's
/// current epoch. A session is bound to a user only under a fresh id (signing in cycles
/// it) and logging out deletes it, so an id that still exists is still bound to the user
/// it was bound to.
pub async fn still_valid(db: &PgPool, held: &[(UserId, &Credential)]) -> Result<Vec<bool>> {
    let mut tokens = Vec::new();
    let (mut sessions, mut session_ids, mut session_users, mut session_epochs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (at, (user_id, credential)) in held.iter().enumerate() {
        match credential {
            Credential::Token { token_id, .. } => tokens.push(*token_id),
            Credential::Session { id, epoch } => {
                sessions.push(at);
                session_ids.push(id.to_string());
                session_users.push(*user_id);
                session_epochs.push(*epoch);
            }
        }
    }
    let live_tokens: HashSet<uuid::Uuid> = if tokens.is_empty() {
        HashSet::new()
    } else {
        sqlx::query_scalar("SELECT id FROM api_tokens WHERE id = ANY($1) AND revoked_at IS NULL")
            .bind(&tokens)
            .fetch_all(db)
            .await?
            .into_iter()
            .collect()
    };
    let mut valid: Vec<bool> = held
        .iter()
        .map(|(_, credential)| matches!(credential, Credential::Token { token_id, .. } if live_tokens.contains(token_id)))
        .collect();
    if !sessions.is_empty() {
        // Positions (from 1) among the sessions asked about.
        let live: Vec<i64> = sqlx::query_scalar(
            "SELECT h.at FROM unnest($1::text[], $2::uuid[], $3::bigint[]) WITH ORDINALITY AS h(id, user_id, epoch, at)
             JOIN tower_sessions.session s ON s.id = h.id AND s.expiry_date > now()
             JOIN users u ON u.id = h.user_id AND u.session_epoch = h.epoch",
        )
        .bind(&session_ids)
        .bind(&session_users)
        .bind(&session_epochs)
        .fetch_all(db)
        .await?;
        for at in live {
            valid[sessions[usize::try_from(at - 1).map_err(Error::internal)?]] = true;
        }
    }
    Ok(valid)
}

impl<S> FromRequestParts<S> for Actor
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        authenticate(parts, &AppState::from_ref(state)).await
    }
}
