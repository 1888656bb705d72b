//! Wiring: the database pool, the session layer, the API, the Leptos pages and the
//! cross-cutting layers, assembled into one axum router. `main.rs` is only the CLI.

pub mod check;

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{middleware, Router};
use charter_backend::security::{self, CspNonce};
use charter_backend::{api, AppState, Settings, MIGRATOR};
use leptos::config::LeptosOptions;
use leptos::prelude::{provide_context, use_context};
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{ExpiredDeletion, Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "charter_session";
/// Sessions end after this long without a request.
const SESSION_IDLE: time::Duration = time::Duration::days(7);

pub async fn connect(database_url: &str) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new().max_connections(20).acquire_timeout(Duration::from_secs(10)).connect(database_url).await
}

/// Applies pending migrations, Charter's and the session store's, and converts
/// documents from before real-time editing to CRDT state (once).
pub async fn migrate(db: &PgPool) -> anyhow::Result<()> {
    MIGRATOR.run(db).await?;
    PostgresStore::new(db.clone()).migrate().await?;
    let converted = charter_backend::content::convert_legacy(db).await?;
    if converted > 0 {
        tracing::info!(converted, "gave existing documents their real-time editing state");
    }
    Ok(())
}

/// Everything Charter serves, ready for `axum::serve`.
pub fn router(state: AppState, leptos: LeptosOptions) -> Router {
    let secure_cookies = state.settings.public_origin.as_deref().is_some_and(|origin| origin.starts_with("https://"));
    let store = PostgresStore::new(state.db.clone());
    tokio::spawn(async move {
        if let Err(err) = store.clone().continuously_delete_expired(tokio::time::Duration::from_secs(3600)).await {
            tracing::error!(error = %err, "expired-session cleanup stopped");
        }
    });
    let sessions = SessionManagerLayer::new(PostgresStore::new(state.db.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure_cookies)
        .with_expiry(Expiry::OnInactivity(SESSION_IDLE));

    let settings = state.settings.clone();
    let db = state.db.clone();
    Router::new()
        .merge(api::router(state.clone()))
        .merge(charter_backend::collab::router().with_state(state.clone()))
        .route("/healthz", get(move || healthz(db.clone())))
        .merge(pages(state, leptos))
        .layer(middleware::from_fn_with_state(settings, security::require_same_origin))
        .layer(sessions)
        .layer(middleware::from_fn(security::security_headers))
        .layer(RequestBodyLimitLayer::new(api::MAX_BODY_BYTES + 64 * 1024))
        .layer(TraceLayer::new_for_http())
}

/// The Leptos pages and server functions, with the backend state and the response's
/// CSP nonce in their context.
fn pages(state: AppState, leptos: LeptosOptions) -> Router {
    let context = move || {
        provide_context(state.clone());
        let nonce = use_context::<Parts>().and_then(|parts| parts.extensions.get::<CspNonce>().cloned());
        if let Some(CspNonce(nonce)) = nonce {
            provide_context(leptos::nonce::Nonce::from_value(nonce));
        }
    };
    let routes = generate_route_list(charter_app::App);
    let shell = {
        let leptos = leptos.clone();
        move || charter_app::shell(leptos.clone())
    };
    Router::new()
        .leptos_routes_with_context(&leptos, routes, context.clone(), shell)
        .fallback(leptos_axum::file_and_error_handler_with_context(context, charter_app::shell))
        .with_state(leptos)
}

/// Liveness: 200 while the database answers.
async fn healthz(db: PgPool) -> impl IntoResponse {
    match sqlx::query("SELECT 1").execute(&db).await {
        Ok(_) => (StatusCode::OK, axum::Json(serde_json::json!({ "status": "ok" }))),
        Err(err) => {
            tracing::error!(error = %err, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({ "status": "database unreachable" })))
        }
    }
}

/// Serves until Ctrl-C or SIGTERM, with peer addresses available to handlers.
pub async fn serve(listener: TcpListener, app: Router) -> std::io::Result<()> {
    // Co-editing sends many small frames: Nagle's algorithm would hold them back
    // (and with delayed ACKs, for tens of milliseconds).
    let listener = listener.tap_io(|stream| {
        if let Err(err) = stream.set_nodelay(true) {
            tracing::warn!(error = %err, "could not set TCP_NODELAY");
        }
    });
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}

/// Settings from the environment: `CHARTER_PUBLIC_ORIGIN`, and the co-editing limits
/// `CHARTER_MAX_CONNECTIONS_PER_USER` and `CHARTER_MAX_CONNECTIONS_PER_DOCUMENT`.
pub fn settings_from_env() -> anyhow::Result<Settings> {
    let mut settings = Settings {
        public_origin: std::env::var("CHARTER_PUBLIC_ORIGIN").ok().filter(|origin| !origin.is_empty()),
        ..Settings::default()
    };
    let limit = |name: &str, default: usize| -> anyhow::Result<usize> {
        match std::env::var(name) {
            Ok(value) => value.parse().map_err(|_| anyhow::anyhow!("{name} must be a whole number, not `{value}`")),
            Err(_) => Ok(default),
        }
    };
    settings.collab.max_connections_per_user =
        limit("CHARTER_MAX_CONNECTIONS_PER_USER", settings.collab.max_connections_per_user)?;
    settings.collab.max_connections_per_document =
        limit("CHARTER_MAX_CONNECTIONS_PER_DOCUMENT", settings.collab.max_connections_per_document)?;
    Ok(settings)
}
