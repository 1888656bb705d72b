//! Shared server state, handed to handlers through axum's `FromRef`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use sqlx::PgPool;

use crate::availability::Availability;
use crate::chat::ChatEndpoint;
use crate::collab::{CollabSettings, Hub, Rules};
use crate::embeddings::{Embeddings, Provider};
use crate::ratelimit::RateLimiter;

#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub settings: Arc<Settings>,
    pub limiter: Arc<RateLimiter>,
    /// Calls to contract mocks, per caller and minute.
    pub mock_limiter: Arc<RateLimiter>,
    /// Requests made with API tokens, per account and minute.
    pub token_limiter: Arc<RateLimiter>,
    /// The documents open for real-time editing on this instance.
    pub collab: Hub,
    /// Whether the database can be reached, as this instance last found.
    pub availability: Availability,
    /// Search by meaning: the server's embedding provider and those projects chose.
    pub embeddings: Embeddings,
}

/// Knobs that deployments (and tests) set; everything else is fixed policy.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The site's own origin (`https://charter.example.com`). When unset, a request's
    /// `Host` decides what counts as same-origin.
    pub public_origin: Option<String>,
    /// Requests one caller may send to contract mocks in a minute.
    pub mock_requests_per_minute: u32,
    /// Failed sign-up and log-in attempts allowed per client IP, and per username from
    /// one IP, in one window. Successful ones do not count.
    pub auth_attempts_per_ip: u32,
    pub auth_attempts_per_username_and_ip: u32,
    pub auth_window: Duration,
    /// Requests with an unknown, revoked or malformed API token allowed per client IP in
    /// one `auth_window`: guessing tokens is as limited as guessing passwords.
    pub token_failures_per_ip: u32,
    /// Requests one account may make with its API tokens in a minute.
    pub token_requests_per_minute: u32,
    /// Proxies whose `X-Forwarded-For` names the client (see `forwarded`); none by
    /// default, so the header is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Image sources the Content-Security-Policy allows besides the site and `data:`
    /// (e.g. `https://images.example.com`), for specs that embed pictures from elsewhere.
    pub image_sources: Vec<String>,
    /// How long a client may take to send a request's headers, and how long an idle
    /// keep-alive connection stays open: the time allowed for the next request's headers.
    pub http_header_timeout: Duration,
    /// How long a client may take to send a request's body.
    pub http_body_timeout: Duration,
    /// How long any request may take to be answered (its headers; a body streams on).
    pub request_timeout: Duration,
    /// The bearer token `/metrics` asks for; without one there is no `/metrics`.
    pub metrics_token: Option<String>,
    /// How long stopping may take (requests finishing, edits stored, sockets closed)
    /// before the server stops regardless.
    pub shutdown_grace: Duration,
    /// Whether `*.map` files are served (debug builds: yes; release builds: no).
    pub serve_source_maps: bool,
    pub collab: CollabSettings,
    /// Where search's embeddings come from. Off by default here (tests that search by
    /// meaning turn it on); the server's default is the local model.
    pub embeddings: Provider,
    /// Where the local model's folder is, for projects that choose it.
    pub model_dir: PathBuf,
    /// Hosts (`host` or `host:port`) a project's owners may point their own embedding
    /// endpoint at; none by default.
    pub embedding_hosts: Vec<String>,
    /// Whether webhooks may call loopback, private and other non-public addresses
    /// (tests, closed networks); off by default, so that owners cannot reach the
    /// server's own network through them.
    pub webhooks_allow_private: bool,
    /// The first wait after a failed webhook delivery; later waits are multiples of it.
    pub webhook_retry_base: Duration,
    /// An OpenAI-compatible chat endpoint that proposes the text of requirements drafted
    /// from incidents; without one, a template writes them.
    pub chat: Option<ChatEndpoint>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            public_origin: None,
            mock_requests_per_minute: 300,
            auth_attempts_per_ip: 30,
            auth_attempts_per_username_and_ip: 10,
            auth_window: Duration::from_secs(60),
            token_failures_per_ip: 30,
            token_requests_per_minute: 1200,
            trusted_proxies: Vec::new(),
            image_sources: Vec::new(),
            http_header_timeout: Duration::from_secs(20),
            http_body_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(10),
            metrics_token: None,
            serve_source_maps: cfg!(debug_assertions),
            collab: CollabSettings::default(),
            embeddings: Provider::Off,
            model_dir: PathBuf::from("models/all-MiniLM-L6-v2"),
            embedding_hosts: Vec::new(),
            webhooks_allow_private: false,
            webhook_retry_base: Duration::from_secs(5),
            chat: None,
        }
    }
}

impl AppState {
    /// Builds the state and starts the co-editing hub's background tasks (so it must
    /// run inside the Tokio runtime), with the rules it runs by (`documents::collab_rules`).
    /// Loads the embedding model, if any (a fraction of a second).
    pub fn new(db: PgPool, settings: Settings, rules: Rules) -> Self {
        let limiter = Arc::new(RateLimiter::new(settings.auth_window));
        let availability = Availability::new(&db);
        let collab = Hub::start(db.clone(), settings.collab.clone(), rules, availability.clone());
        let embeddings =
            Embeddings::new(settings.embeddings.clone(), settings.model_dir.clone(), &settings.embedding_hosts);
        let mock_limiter = Arc::new(RateLimiter::new(Duration::from_secs(60)));
        let token_limiter = Arc::new(RateLimiter::new(Duration::from_secs(60)));
        AppState {
            db,
            settings: Arc::new(settings),
            limiter,
            mock_limiter,
            token_limiter,
            collab,
            availability,
            embeddings,
        }
    }
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> PgPool {
        state.db.clone()
    }
}
