//! Who is calling: the [`Actor`] behind a request, from a bearer token or the session
//! cookie, with the token's scopes enforced; plus password hashing and attempt limits.

pub mod password;
mod ratelimit;

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use tower_sessions::session::Id as SessionId;
use tower_sessions::Session;
use uuid::Uuid;

pub use ratelimit::{Attempt, RateLimiter};

use crate::error::{Error, Result};
use crate::{accounts, tokens, AppState};

/// The session key that holds the signed-in user's id.
pub(crate) const SESSION_USER_KEY: &str = "user_id";
/// The session key that holds the user's session epoch when the session began.
pub(crate) const SESSION_EPOCH_KEY: &str = "epoch";

/// What an API token may do. Browser sessions may do everything their roles allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Scope {
    #[serde(rename = "read")]
    Read,
    #[serde(rename = "write")]
    Write,
    #[serde(rename = "incidents:write")]
    IncidentsWrite,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Write, Scope::IncidentsWrite];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::IncidentsWrite => "incidents:write",
        }
    }

    pub fn parse(value: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == value)
    }
}

#[derive(Clone, Debug)]
pub enum Credential {
    /// A browser session, and the user's session epoch it began in.
    Session {
        id: SessionId,
        epoch: i64,
    },
    Token {
        token_id: Uuid,
        scopes: Vec<Scope>,
    },
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Uuid,
    pub username: String,
    pub credential: Credential,
}

impl Actor {
    pub fn require_scope(&self, scope: Scope) -> Result<()> {
        match &self.credential {
            Credential::Token { scopes, .. } if !scopes.contains(&scope) => {
                Err(Error::Forbidden(format!("this API token lacks the `{}` scope", scope.as_str())))
            }
            _ => Ok(()),
        }
    }

    /// Some things (managing API tokens) need a person at a browser, not a token.
    pub fn require_session(&self) -> Result<()> {
        match self.credential {
            Credential::Session { .. } => Ok(()),
            Credential::Token { .. } => {
                Err(Error::Forbidden("API tokens cannot do this; sign in to Charter instead".into()))
            }
        }
    }

    /// Authenticates from request parts: a `Bearer` token when the header is present
    /// (never falling back to the cookie), else the session.
    pub async fn from_parts(parts: &mut Parts, state: &AppState) -> Result<Actor> {
        // Already authenticated by the Origin check (a bearer token on a cross-site call).
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
            let actor = tokens::authenticate(&state.db, token.trim()).await?.ok_or(Error::Unauthorized)?;
            // Reads need `read`; anything that changes state needs `write`.
            let needed = if parts.method.is_safe() { Scope::Read } else { Scope::Write };
            actor.require_scope(needed)?;
            return Ok(actor);
        }
        let session = Session::from_request_parts(parts, state).await.map_err(|(_, why)| Error::internal(why))?;
        let user_id: Uuid = session.get(SESSION_USER_KEY).await.map_err(Error::internal)?.ok_or(Error::Unauthorized)?;
        // Sessions from before epochs existed have none: they began in the first one.
        let epoch: i64 = session.get(SESSION_EPOCH_KEY).await.map_err(Error::internal)?.unwrap_or(0);
        let id = session.id().ok_or(Error::Unauthorized)?;
        let user = accounts::find_by_id(&state.db, user_id).await?.ok_or(Error::Unauthorized)?;
        // The user ended their sessions (changing their password) after this one began.
        if user.session_epoch != epoch {
            return Err(Error::Unauthorized);
        }
        Ok(Actor { user_id: user.id, username: user.username, credential: Credential::Session { id, epoch } })
    }
}

impl<S> FromRequestParts<S> for Actor
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        Actor::from_parts(parts, &AppState::from_ref(state)).await
    }
}

/// The peer address of the connection. Charter does not trust forwarding headers; a
/// deployment behind a proxy limits attempts at the proxy too.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    pub fn of(parts: &Parts) -> ClientIp {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        ClientIp(ip)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(ClientIp::of(parts))
    }
}
