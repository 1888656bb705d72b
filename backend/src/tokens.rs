//! Personal API tokens for tools and coding agents. A token is shown once at creation;
//! only its SHA-256 and a short prefix (to find it and to show it in lists) are stored.

use axum::extract::State;
use axum::http::StatusCode;
use charter_types::{ApiToken, Scope, UserId};
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::access::{self, Change};
use crate::access::{Actor, Credential};
use crate::audit::{self, Entry};
use crate::error::{Error, Result};
use crate::extract::{Json, Path};
use crate::AppState;

const TOKEN_PREFIX: &str = "charter_";

#[derive(Deserialize, ToSchema)]
pub struct NewToken {
    pub name: String,
    pub scopes: Vec<Scope>,
}

/// The one response that carries the secret.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    pub id: Uuid,
    pub prefix: String,
    /// Shown once: store it now, Charter keeps only a hash.
    pub token: String,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: Uuid,
    name: String,
    prefix: String,
    scopes: Vec<String>,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
}

impl From<TokenRow> for ApiToken {
    fn from(row: TokenRow) -> ApiToken {
        ApiToken {
            id: row.id,
            name: row.name,
            prefix: row.prefix,
            scopes: row.scopes.iter().filter_map(|scope| scope.parse::<Scope>().ok()).collect(),
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        }
    }
}

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buffer);
    hex::encode(buffer)
}

pub async fn create(db: &PgPool, actor: &Actor, new: NewToken) -> Result<CreatedToken> {
    actor.require_session()?;
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::Invalid("a token needs a name of 1 to 100 characters".into()));
    }
    if new.scopes.is_empty() {
        return Err(Error::Invalid("a token needs at least one scope".into()));
    }
    let mut scopes: Vec<&str> = new.scopes.iter().map(|scope| scope.as_str()).collect();
    scopes.sort_unstable();
    scopes.dedup();
    let prefix = random_hex(6);
    let token = format!("{TOKEN_PREFIX}{prefix}_{}", random_hex(32));
    let id = Uuid::now_v7();
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO api_tokens (id, user_id, name, prefix, token_hash, scopes) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(actor.user_id)
    .bind(name)
    .bind(&prefix)
    .bind(digest(&token))
    .bind(&scopes)
    .execute(&mut *tx)
    .await?;
    let summary = format!("created API token {name} ({prefix}) with scopes {}", scopes.join(", "));
    audit::record(&mut *tx, Entry::account(actor.user_id, "token.create", summary)).await?;
    tx.commit().await?;
    Ok(CreatedToken { id, prefix, token })
}

pub async fn list(db: &PgPool, actor: &Actor) -> Result<Vec<ApiToken>> {
    actor.require_session()?;
    let rows: Vec<TokenRow> = sqlx::query_as(
        "SELECT id, name, prefix, scopes, created_at, last_used_at FROM api_tokens
         WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC",
    )
    .bind(actor.user_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(ApiToken::from).collect())
}

pub async fn revoke(db: &PgPool, actor: &Actor, id: Uuid) -> Result<()> {
    actor.require_session()?;
    let mut tx = db.begin().await?;
    let revoked: Option<(String, String)> = sqlx::query_as(
        "UPDATE api_tokens SET revoked_at = now()
         WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING name, prefix",
    )
    .bind(id)
    .bind(actor.user_id)
    .fetch_optional(&mut *tx)
    .await?;
    let (name, prefix) = revoked.ok_or_else(|| Error::not_found("token"))?;
    access::changed(&mut tx, Change::User(actor.user_id)).await?;
    audit::record(
        &mut *tx,
        Entry::account(actor.user_id, "token.revoke", format!("revoked API token {name} ({prefix})")),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The actor a bearer token stands for, if it is a live token.
pub async fn authenticate(db: &PgPool, token: &str) -> Result<Option<Actor>> {
    let Some(prefix) = token.strip_prefix(TOKEN_PREFIX).and_then(|rest| rest.split('_').next()) else {
        return Ok(None);
    };
    /// A live token with that prefix, and whether its last use is due to be written.
    #[derive(sqlx::FromRow)]
    struct Found {
        id: Uuid,
        user_id: UserId,
        username: String,
        token_hash: Vec<u8>,
        scopes: Vec<String>,
        stale: bool,
    }
    let found: Option<Found> = sqlx::query_as(
        "SELECT t.id, t.user_id, u.username, t.token_hash, t.scopes,
                t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute' AS stale
         FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.prefix = $1 AND t.revoked_at IS NULL",
    )
    .bind(prefix)
    .fetch_optional(db)
    .await?;
    let Some(Found { id: token_id, user_id, username, token_hash, scopes, stale }) = found else {
        return Ok(None);
    };
    if !bool::from(digest(token).ct_eq(&token_hash)) {
        return Ok(None);
    }
    // Coarse on purpose: one write a minute per token at most, and no statement at all
    // on the calls in between (a token reporting incidents calls thousands of times).
    if stale {
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = now()
             WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
        )
        .bind(token_id)
        .execute(db)
        .await?;
    }
    let scopes = scopes.iter().filter_map(|scope| scope.parse::<Scope>().ok()).collect();
    Ok(Some(Actor { user_id, username, credential: Credential::Token { token_id, scopes } }))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_handler, list_handler)).routes(routes!(revoke_handler))
}

/// Create a personal API token (browser session only). The token is in this response only.
#[utoipa::path(post, path = "/tokens", tag = "tokens",
    extensions(("x-charter-access" = json!("signed-in"))), request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 422, body = crate::error::ErrorBody)))]
async fn create_handler(
    State(state): State<AppState>,
    actor: Actor,
    Json(new): Json<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>)> {
    Ok((StatusCode::CREATED, Json(create(&state.db, &actor, new).await?)))
}

/// Your live API tokens, without their secrets.
#[utoipa::path(get, path = "/tokens", tag = "tokens",
    extensions(("x-charter-access" = json!("signed-in"))), responses((status = 200, body = Vec<ApiToken>)))]
async fn list_handler(State(state): State<AppState>, actor: Actor) -> Result<Json<Vec<ApiToken>>> {
    Ok(Json(list(&state.db, &actor).await?))
}

/// Revoke one of your API tokens; it stops working at once.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tokens",
    extensions(("x-charter-access" = json!("signed-in"))), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
async fn revoke_handler(State(state): State<AppState>, actor: Actor, Path(id): Path<Uuid>) -> Result<StatusCode> {
    revoke(&state.db, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
