//! Wiring: the database pool, the session layer, the API, the Leptos pages and the
//! cross-cutting layers, assembled into one axum router. `main.rs` is only the CLI.

mod assets;
pub mod check;
mod cli;
mod conformance;
pub mod exchange;
mod outage;
mod remote;
mod server_fn_errors;
pub mod sync;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Router};
use charter_backend::availability::Availability;
use charter_backend::chat::ChatEndpoint;
use charter_backend::embeddings::openai::Endpoint;
use charter_backend::embeddings::Provider;
use charter_backend::security::{self, CspNonce};
use charter_backend::{api, AppState, Settings, MIGRATOR};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use leptos::config::LeptosOptions;
use leptos::prelude::{provide_context, use_context};
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tower::{Layer, ServiceExt};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{ExpiredDeletion, Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "charter_session";
/// Where the local embedding model is looked for, under the home folder, unless
/// `CHARTER_MODEL_DIR` says otherwise (where `scripts/bootstrap` puts it).
const DEFAULT_MODEL_DIR: &str = ".cache/charter/models/all-MiniLM-L6-v2";
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
    charter_backend::search::indexer::spawn(state.db.clone());
    charter_backend::search::vectors::spawn(state.db.clone(), state.embeddings.clone());
    charter_backend::incidents::matching::spawn(state.db.clone(), state.embeddings.clone());
    let (allow_private, retry_base) = (state.settings.webhooks_allow_private, state.settings.webhook_retry_base);
    charter_backend::webhooks::delivery::spawn(state.db.clone(), allow_private, retry_base);
    let sessions = SessionManagerLayer::new(PostgresStore::new(state.db.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure_cookies)
        .with_expiry(Expiry::OnInactivity(SESSION_IDLE));

    let settings = state.settings.clone();
    let (db, availability) = (state.db.clone(), state.availability.clone());
    // The incident writers, which the ingest routes hand deliveries to.
    let ingest = charter_backend::incidents::ingest::Ingest::start(state.db.clone());
    let gate = outage::Gate::new(availability.clone());
    let mut app = Router::new()
        .merge(api::router(state.clone()).layer(axum::Extension(ingest)))
        .merge(charter_backend::documents::live_router().with_state(state.clone()))
        .merge(charter_backend::mcp::router(state.clone()))
        .merge(charter_backend::mock::router(state.clone()))
        .merge(charter_backend::telemetry::router(state.clone()))
        .route("/healthz", get(move || healthz(db.clone(), availability.clone())))
        .merge(pages(state.clone(), leptos, gate.clone()));
    if !settings.serve_source_maps {
        app = app.layer(middleware::from_fn(hide_source_maps));
    }
    let measured = settings.metrics_token.is_some();
    app.layer(middleware::from_fn_with_state(state, security::require_same_origin))
        // Outside every layer that may read the database (the Origin check looks up a
        // token), so that a known outage is a 503 at once.
        .layer(middleware::from_fn_with_state(gate, outage::gate))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(settings.clone(), security::security_headers))
        .layer(RequestBodyTimeoutLayer::new(settings.http_body_timeout))
        .layer(RequestBodyLimitLayer::new(api::MAX_BODY_BYTES + 64 * 1024))
        // Pages, JSON, and files the build left uncompressed go out compressed (brotli or
        // gzip, as the browser accepts); files sent precompressed are left as they are.
        // Compressing a page that reflects what a visitor typed beside private text is
        // what BREACH measures; here it would need a signed-in victim's page fetched by
        // another site, which the Lax session cookie, the refused framing and the Origin
        // check rule out, and the pages carry no standing secret to guess (no CSRF token;
        // API tokens and hook secrets are shown once, freshly random).
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .layer(middleware::from_fn_with_state(settings.request_timeout, charter_backend::deadline::enforce))
        // Outside every layer that may answer by itself (a refused Origin, a body too
        // large, a deadline), so that those answers are counted too; routes are matched
        // before any of these layers run, so each still has its route's label.
        .layer(middleware::from_fn_with_state(measured, charter_backend::telemetry::record))
        .layer(middleware::from_fn_with_state(
            settings.trusted_proxies.clone().into(),
            charter_backend::forwarded::client_address,
        ))
        .layer(middleware::from_fn(charter_backend::request_id::assign))
}

/// Source maps expose the editor's unminified source: only debug builds serve them.
async fn hide_source_maps(request: Request, next: Next) -> Response {
    if request.uri().path().ends_with(".map") {
        return StatusCode::NOT_FOUND.into_response();
    }
    next.run(request).await
}

/// The Leptos pages and server functions, with the backend state and the response's
/// CSP nonce in their context, and the site's files.
fn pages(state: AppState, leptos: LeptosOptions, gate: outage::Gate) -> Router {
    let context = move || {
        provide_context(state.clone());
        let nonce = use_context::<Parts>().and_then(|parts| parts.extensions.get::<CspNonce>().cloned());
        if let Some(CspNonce(nonce)) = nonce {
            provide_context(leptos::nonce::Nonce::from_value(nonce));
        }
    };
    // Listing the routes renders the app with resource loading switched off for the whole
    // process (leptos_server's one flag): a page rendering meanwhile, for another server in
    // this process, would wait for its resources forever. So the list is made once.
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    let routes = ROUTES.get_or_init(|| generate_route_list(charter_app::App)).clone();
    let shell = {
        let leptos = leptos.clone();
        move || charter_app::shell(leptos.clone())
    };
    // What is neither a page nor a file is Leptos' "not found" page.
    // It renders a page, which reads the database; the files before it do not.
    let missing = middleware::from_fn_with_state(gate, outage::refuse_while_unreachable).layer(
        leptos_axum::file_and_error_handler_with_context(context.clone(), charter_app::shell)
            .with_state(leptos.clone()),
    );
    Router::new()
        .leptos_routes_with_context(&leptos, routes, context, shell)
        .layer(middleware::from_fn(server_fn_errors::server_fn_errors))
        .fallback_service(assets::files(&leptos.site_root, assets::hashed(&leptos), missing))
        .with_state(leptos)
}

/// Liveness: 200 while the database answers; 503 at once while it is known not to.
async fn healthz(db: PgPool, availability: Availability) -> impl IntoResponse {
    let reachable = availability.is_reachable()
        && match sqlx::query("SELECT 1").execute(&db).await {
            Ok(_) => true,
            Err(err) => {
                tracing::error!(error = %err, "health check: database unreachable");
                availability.note(&err.into()).await;
                false
            }
        };
    match reachable {
        true => (StatusCode::OK, axum::Json(serde_json::json!({ "status": "ok" }))),
        false => (StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({ "status": "database unreachable" }))),
    }
}

/// Serves until Ctrl-C or SIGTERM, with peer addresses available to handlers; then
/// stops accepting, lets requests in flight finish, closes editor connections with
/// "going away" once what they sent is stored, and returns within the settings'
/// `shutdown_grace` whatever is left.
///
/// Every connection has a deadline for its request headers, which is also how long an
/// idle keep-alive connection is kept (hyper starts the clock when it waits for the
/// next request); bodies have theirs in the router. Upgraded connections (WebSockets)
/// keep their own pings and timeouts.
pub async fn serve(listener: TcpListener, app: Router, state: &AppState) -> std::io::Result<()> {
    let header_timeout = state.settings.http_header_timeout;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(header_timeout)
        .keep_alive_timeout(header_timeout)
        .enable_connect_protocol();
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: wait rather than spin.
                Err(err) => {
                    tracing::warn!(error = %err, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Co-editing sends many small frames: Nagle's algorithm would hold them back
        // (and with delayed ACKs, for tens of milliseconds).
        if let Err(err) = stream.set_nodelay(true) {
            tracing::warn!(error = %err, "could not set TCP_NODELAY");
        }
        let service = app.clone().map_request(move |mut request: Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request.map(axum::body::Body::new)
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let grace = state.settings.shutdown_grace;
    tracing::info!(grace = ?grace, "shutting down: finishing requests, storing edits, closing editor connections");
    let stopped = tokio::time::timeout(grace, async {
        tokio::join!(graceful.shutdown(), state.collab.shut_down());
    })
    .await;
    match stopped {
        Ok(()) => tracing::info!("shut down cleanly"),
        Err(_) => tracing::warn!(grace = ?grace, "shutdown ran out of time; stopping with work unfinished"),
    }
    Ok(())
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

/// Settings from the environment: `CHARTER_PUBLIC_ORIGIN`, `CHARTER_IMG_SRC`, the
/// co-editing limits `CHARTER_MAX_CONNECTIONS_PER_USER`,
/// `CHARTER_MAX_CONNECTIONS_PER_DOCUMENT` and `CHARTER_MAX_CONNECTIONS_PER_USER_PER_DOCUMENT`,
/// how long a document nobody has open stays in memory (`CHARTER_IDLE_UNLOAD_SECONDS`),
/// how long a request may take (`CHARTER_REQUEST_TIMEOUT_SECONDS`) and stopping may take
/// (`CHARTER_SHUTDOWN_SECONDS`), the token `/metrics` asks for (`CHARTER_METRICS_TOKEN`),
/// and search's `CHARTER_EMBEDDINGS` (`local`, the default, `openai` or `off`) with
/// `CHARTER_MODEL_DIR` (default `~/.cache/charter/models/all-MiniLM-L6-v2`) and, for
/// `openai`, `CHARTER_EMBEDDINGS_URL`, `_MODEL`, `_DIMENSIONS` and `_KEY` (optional);
/// `CHARTER_EMBEDDINGS_ALLOWED_HOSTS` lists the hosts projects may choose endpoints on;
/// `CHARTER_WEBHOOKS_ALLOW_PRIVATE=1` lets webhooks call non-public addresses;
/// `CHARTER_TOKEN_REQUESTS_PER_MINUTE` bounds an account's token requests, and
/// `CHARTER_TRUSTED_PROXIES` names the proxies whose `X-Forwarded-For` is believed.
pub fn settings_from_env() -> anyhow::Result<Settings> {
    settings_from(|name| std::env::var(name).ok())
}

/// Settings from the variables `var` looks up, by the rules of [`settings_from_env`].
fn settings_from(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Settings> {
    let image_sources: Vec<String> =
        var("CHARTER_IMG_SRC").unwrap_or_default().split_whitespace().map(str::to_owned).collect();
    if let Some(bad) = image_sources.iter().find(|source| !security::is_plain_source(source)) {
        anyhow::bail!("CHARTER_IMG_SRC: `{bad}` is not a CSP source (e.g. https://images.example.com)");
    }
    let mut settings = Settings {
        public_origin: var("CHARTER_PUBLIC_ORIGIN").filter(|origin| !origin.is_empty()),
        image_sources,
        ..Settings::default()
    };
    let limit = |name: &str, default: usize| -> anyhow::Result<usize> {
        match var(name) {
            Some(value) => value.parse().map_err(|_| anyhow::anyhow!("{name} must be a whole number, not `{value}`")),
            None => Ok(default),
        }
    };
    let collab = &mut settings.collab;
    collab.max_connections_per_user = limit("CHARTER_MAX_CONNECTIONS_PER_USER", collab.max_connections_per_user)?;
    collab.max_connections_per_document =
        limit("CHARTER_MAX_CONNECTIONS_PER_DOCUMENT", collab.max_connections_per_document)?;
    collab.max_connections_per_user_per_document =
        limit("CHARTER_MAX_CONNECTIONS_PER_USER_PER_DOCUMENT", collab.max_connections_per_user_per_document)?;
    let idle_unload = limit("CHARTER_IDLE_UNLOAD_SECONDS", collab.idle_unload.as_secs() as usize)?;
    collab.idle_unload = std::time::Duration::from_secs(idle_unload as u64);
    let grace = limit("CHARTER_SHUTDOWN_SECONDS", settings.shutdown_grace.as_secs() as usize)?;
    settings.shutdown_grace = std::time::Duration::from_secs(grace as u64);
    settings.metrics_token = var("CHARTER_METRICS_TOKEN").filter(|token| !token.trim().is_empty());
    if settings.metrics_token.as_ref().is_some_and(|token| token.len() < 16) {
        anyhow::bail!("CHARTER_METRICS_TOKEN must be at least 16 characters");
    }
    let per_minute = limit("CHARTER_TOKEN_REQUESTS_PER_MINUTE", settings.token_requests_per_minute as usize)?;
    settings.token_requests_per_minute = u32::try_from(per_minute)
        .ok()
        .filter(|&per_minute| per_minute >= 1)
        .ok_or_else(|| anyhow::anyhow!("CHARTER_TOKEN_REQUESTS_PER_MINUTE must be from 1 to {}", u32::MAX))?;
    settings.trusted_proxies =
        charter_backend::forwarded::parse_trusted(&var("CHARTER_TRUSTED_PROXIES").unwrap_or_default())
            .map_err(|why| anyhow::anyhow!("CHARTER_TRUSTED_PROXIES: {why}"))?;
    let request_timeout = limit("CHARTER_REQUEST_TIMEOUT_SECONDS", settings.request_timeout.as_secs() as usize)?;
    if request_timeout == 0 {
        anyhow::bail!("CHARTER_REQUEST_TIMEOUT_SECONDS must be at least 1");
    }
    settings.request_timeout = std::time::Duration::from_secs(request_timeout as u64);
    settings.model_dir = match var("CHARTER_MODEL_DIR").filter(|dir| !dir.is_empty()) {
        Some(dir) => dir.into(),
        None => PathBuf::from(var("HOME").unwrap_or_default()).join(DEFAULT_MODEL_DIR),
    };
    settings.webhooks_allow_private = match var("CHARTER_WEBHOOKS_ALLOW_PRIVATE").as_deref() {
        None | Some("" | "0") => false,
        Some("1") => true,
        Some(other) => anyhow::bail!("CHARTER_WEBHOOKS_ALLOW_PRIVATE must be `1` or `0`, not `{other}`"),
    };
    settings.embedding_hosts = var("CHARTER_EMBEDDINGS_ALLOWED_HOSTS")
        .unwrap_or_default()
        .split([',', ' '])
        .filter(|host| !host.is_empty())
        .map(str::to_owned)
        .collect();
    settings.embeddings = match var("CHARTER_EMBEDDINGS").as_deref().unwrap_or("local") {
        "local" => Provider::Local { model_dir: settings.model_dir.clone() },
        "openai" => {
            let required = |name: &str| {
                var(name).filter(|value| !value.trim().is_empty()).ok_or_else(|| {
                    anyhow::anyhow!("CHARTER_EMBEDDINGS=openai needs {name} (see the README's settings)")
                })
            };
            let dimensions = required("CHARTER_EMBEDDINGS_DIMENSIONS")?;
            let dimensions = dimensions.parse().ok().filter(|d| (1..=2000).contains(d)).ok_or_else(|| {
                anyhow::anyhow!(
                    "CHARTER_EMBEDDINGS_DIMENSIONS must be a whole number from 1 to 2000, not `{dimensions}`"
                )
            })?;
            Provider::OpenAi(Endpoint {
                url: required("CHARTER_EMBEDDINGS_URL")?,
                model: required("CHARTER_EMBEDDINGS_MODEL")?,
                key: var("CHARTER_EMBEDDINGS_KEY").filter(|key| !key.is_empty()),
                dimensions,
            })
        }
        "off" => Provider::Off,
        other => anyhow::bail!("CHARTER_EMBEDDINGS must be `local`, `openai` or `off`, not `{other}`"),
    };
    settings.chat = match var("CHARTER_CHAT_URL").filter(|url| !url.trim().is_empty()) {
        Some(url) => Some(ChatEndpoint {
            url,
            model: var("CHARTER_CHAT_MODEL").filter(|model| !model.trim().is_empty()).ok_or_else(|| {
                anyhow::anyhow!("CHARTER_CHAT_URL needs CHARTER_CHAT_MODEL (see the README's settings)")
            })?,
            key: var("CHARTER_CHAT_KEY").filter(|key| !key.is_empty()),
        }),
        None => None,
    };
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> anyhow::Result<Settings> {
        settings_from(|name| vars.iter().find(|(key, _)| *key == name).map(|(_, value)| value.to_string()))
    }

    #[test]
    fn each_connection_limit_is_read_from_its_own_variable() {
        let defaults = from(&[]).unwrap().collab;
        let set = from(&[
            ("CHARTER_MAX_CONNECTIONS_PER_USER", "7"),
            ("CHARTER_MAX_CONNECTIONS_PER_DOCUMENT", "300"),
            ("CHARTER_MAX_CONNECTIONS_PER_USER_PER_DOCUMENT", "1000"),
        ])
        .unwrap()
        .collab;
        assert_eq!(
            (set.max_connections_per_user, set.max_connections_per_document, set.max_connections_per_user_per_document),
            (7, 300, 1000)
        );
        // Unset variables keep the defaults, and the defaults are not the values above.
        let only_one = from(&[("CHARTER_MAX_CONNECTIONS_PER_USER_PER_DOCUMENT", "3")]).unwrap().collab;
        assert_eq!(only_one.max_connections_per_user_per_document, 3);
        assert_eq!(only_one.max_connections_per_user, defaults.max_connections_per_user);
        assert_eq!(only_one.max_connections_per_document, defaults.max_connections_per_document);
        assert_ne!(defaults.max_connections_per_user_per_document, 1000);
    }

    #[test]
    fn the_idle_unload_delay_is_read_in_seconds() {
        assert_eq!(from(&[]).unwrap().collab.idle_unload, std::time::Duration::from_secs(30));
        let set = from(&[("CHARTER_IDLE_UNLOAD_SECONDS", "300")]).unwrap();
        assert_eq!(set.collab.idle_unload, std::time::Duration::from_secs(300));
        let err = from(&[("CHARTER_IDLE_UNLOAD_SECONDS", "5m")]).unwrap_err();
        assert_eq!(err.to_string(), "CHARTER_IDLE_UNLOAD_SECONDS must be a whole number, not `5m`");
    }

    #[test]
    fn a_limit_that_is_not_a_number_is_named_in_the_error() {
        let err = from(&[("CHARTER_MAX_CONNECTIONS_PER_USER_PER_DOCUMENT", "lots")]).unwrap_err();
        assert_eq!(err.to_string(), "CHARTER_MAX_CONNECTIONS_PER_USER_PER_DOCUMENT must be a whole number, not `lots`");
    }

    #[test]
    fn the_local_model_is_the_default_and_its_folder_can_be_moved() {
        let home = from(&[("HOME", "/home/ada")]).unwrap();
        assert_eq!(
            home.embeddings,
            Provider::Local { model_dir: "/home/ada/.cache/charter/models/all-MiniLM-L6-v2".into() }
        );
        let moved = from(&[("HOME", "/home/ada"), ("CHARTER_MODEL_DIR", "/models/minilm")]).unwrap();
        assert_eq!(moved.embeddings, Provider::Local { model_dir: "/models/minilm".into() });
        assert_eq!(from(&[("CHARTER_EMBEDDINGS", "off")]).unwrap().embeddings, Provider::Off);
        let err = from(&[("CHARTER_EMBEDDINGS", "gpt")]).unwrap_err();
        assert_eq!(err.to_string(), "CHARTER_EMBEDDINGS must be `local`, `openai` or `off`, not `gpt`");
    }

    #[test]
    fn an_openai_compatible_provider_is_read_with_everything_it_needs() {
        let set = [
            ("CHARTER_EMBEDDINGS", "openai"),
            ("CHARTER_EMBEDDINGS_URL", "http://127.0.0.1:11434/v1"),
            ("CHARTER_EMBEDDINGS_MODEL", "nomic-embed-text"),
            ("CHARTER_EMBEDDINGS_DIMENSIONS", "768"),
        ];
        let endpoint = Endpoint {
            url: "http://127.0.0.1:11434/v1".into(),
            model: "nomic-embed-text".into(),
            key: None,
            dimensions: 768,
        };
        assert_eq!(from(&set).unwrap().embeddings, Provider::OpenAi(endpoint.clone()));
        let keyed = from(&[set.as_slice(), &[("CHARTER_EMBEDDINGS_KEY", "sk-test")]].concat()).unwrap();
        assert!(keyed.embedding_hosts.is_empty(), "projects may choose no endpoint unless the operator says");
        let hosts = from(&[("CHARTER_EMBEDDINGS_ALLOWED_HOSTS", "ollama.internal:11434, api.openai.com")]).unwrap();
        assert_eq!(hosts.embedding_hosts, ["ollama.internal:11434", "api.openai.com"]);
        assert_eq!(keyed.embeddings, Provider::OpenAi(Endpoint { key: Some("sk-test".into()), ..endpoint }));
        let err = from(&set[..3]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "CHARTER_EMBEDDINGS=openai needs CHARTER_EMBEDDINGS_DIMENSIONS (see the README's settings)"
        );
        let err = from(&[&set[..3], &[("CHARTER_EMBEDDINGS_DIMENSIONS", "9000")]].concat()).unwrap_err();
        assert_eq!(err.to_string(), "CHARTER_EMBEDDINGS_DIMENSIONS must be a whole number from 1 to 2000, not `9000`");
    }

    #[test]
    fn webhooks_call_private_addresses_only_when_the_operator_says() {
        assert!(!from(&[]).unwrap().webhooks_allow_private);
        assert!(from(&[("CHARTER_WEBHOOKS_ALLOW_PRIVATE", "1")]).unwrap().webhooks_allow_private);
        assert!(!from(&[("CHARTER_WEBHOOKS_ALLOW_PRIVATE", "0")]).unwrap().webhooks_allow_private);
        let err = from(&[("CHARTER_WEBHOOKS_ALLOW_PRIVATE", "yes")]).unwrap_err();
        assert_eq!(err.to_string(), "CHARTER_WEBHOOKS_ALLOW_PRIVATE must be `1` or `0`, not `yes`");
    }

    #[test]
    fn proxies_are_trusted_and_token_use_limited_only_as_the_operator_says() {
        let defaults = from(&[]).unwrap();
        assert!(defaults.trusted_proxies.is_empty());
        assert_eq!(defaults.token_requests_per_minute, 1200);
        let set = from(&[("CHARTER_TRUSTED_PROXIES", "10.0.0.0/8, ::1"), ("CHARTER_TOKEN_REQUESTS_PER_MINUTE", "60")])
            .unwrap();
        assert_eq!(set.trusted_proxies.len(), 2);
        assert_eq!(set.token_requests_per_minute, 60);
        let err = from(&[("CHARTER_TOKEN_REQUESTS_PER_MINUTE", "0")]).unwrap_err();
        assert_eq!(err.to_string(), "CHARTER_TOKEN_REQUESTS_PER_MINUTE must be from 1 to 4294967295");
        let err = from(&[("CHARTER_TRUSTED_PROXIES", "10.0.0.0/8 the-proxy")]).unwrap_err();
        assert_eq!(err.to_string(), "CHARTER_TRUSTED_PROXIES: `the-proxy` is not an IP address or network");
    }

    #[test]
    fn an_image_source_that_is_not_a_csp_source_is_refused() {
        let err = from(&[("CHARTER_IMG_SRC", "https://ok.example 'unsafe-inline'")]).unwrap_err();
        assert!(err.to_string().contains("`'unsafe-inline'` is not a CSP source"), "{err}");
        let ok = from(&[("CHARTER_IMG_SRC", "https://ok.example"), ("CHARTER_PUBLIC_ORIGIN", "")]).unwrap();
        assert_eq!(ok.image_sources, ["https://ok.example"]);
        assert_eq!(ok.public_origin, None);
    }
}
