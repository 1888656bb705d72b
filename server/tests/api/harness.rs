//! Starting Charter for a test, and browser-like clients to talk to it.

use std::net::SocketAddr;
use std::time::Duration;

use charter_backend::{AppState, Settings};
use charter_types::{Document, DocumentId, Kind, Project, Role, TreeEntry};
use leptos::config::LeptosOptions;
use reqwest::header::{HeaderMap, HeaderValue, ORIGIN};
use reqwest::{Client, Method, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use sqlx::PgPool;

pub const PASSWORD: &str = "correct horse battery";

/// Attempt limits high enough not to get in a test's way, webhooks allowed to call the
/// tests' own receivers on loopback, and a request deadline inside the clients' own, so
/// that a request the server cannot finish fails as a 503 its log explains.
pub fn test_settings() -> Settings {
    Settings {
        auth_attempts_per_ip: 10_000,
        auth_attempts_per_username_and_ip: 10_000,
        token_failures_per_ip: 10_000,
        token_requests_per_minute: 100_000,
        webhooks_allow_private: true,
        request_timeout: REQUEST_TIMEOUT / 2,
        ..Settings::default()
    }
}

/// The servers' warnings and errors (or what `CHARTER_TEST_LOG` asks for), shown with a
/// failing test's output: the server runs on the test's own thread.
fn log_to_tests() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_env("CHARTER_TEST_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter(filter).try_init();
    });
}

/// [`test_settings`] with search by meaning on: the server's embedding model, where
/// the server would look for it (`scripts/bootstrap` puts it there).
pub fn meaning_settings() -> Settings {
    let env = charter_server::settings_from_env().expect("the environment's settings");
    Settings { embeddings: env.embeddings, model_dir: env.model_dir, ..test_settings() }
}

/// How long a test waits for one answer: a request the server never finishes fails its
/// test, naming the request, instead of stalling the whole run.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

pub struct TestApp {
    pub base: String,
    pub db: PgPool,
    /// The documents this instance holds open, to see what it keeps in memory.
    pub collab: charter_backend::collab::Hub,
    /// Whether this instance takes its database to be reachable.
    pub availability: charter_backend::availability::Availability,
}

/// A test's database is dropped after the test: the co-editing engine's own connections
/// to it go first (Postgres would wait 5 s for them, then refuse).
impl Drop for TestApp {
    fn drop(&mut self) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let collab = self.collab.clone();
            runtime.spawn(async move { collab.close().await });
        }
    }
}

impl TestApp {
    /// Charter with attempt limits high enough not to get in a test's way.
    pub async fn spawn(db: PgPool) -> TestApp {
        TestApp::spawn_with(db, test_settings()).await
    }

    /// A second instance on the same database, as another server process would be.
    pub async fn another(&self, settings: Settings) -> TestApp {
        TestApp::spawn_with(self.db.clone(), settings).await
    }

    pub async fn spawn_with(db: PgPool, settings: Settings) -> TestApp {
        TestApp::spawn_in_site(db, settings, std::path::Path::new("target/site")).await
    }

    /// Charter serving its static files from `site_root`.
    pub async fn spawn_in_site(db: PgPool, settings: Settings, site_root: &std::path::Path) -> TestApp {
        charter_server::migrate(&db).await.expect("migrations apply");
        let state = AppState::new(db, settings, charter_backend::documents::collab_rules());
        TestApp::start(state, site_root).await
    }

    /// Charter on `state` as it is, its database not even checked.
    pub async fn start(state: AppState, site_root: &std::path::Path) -> TestApp {
        log_to_tests();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr: SocketAddr = listener.local_addr().unwrap();
        let leptos = LeptosOptions::builder()
            .output_name("charter")
            .site_addr(addr)
            .site_root(site_root.to_string_lossy().into_owned())
            .build();
        let (db, collab, availability) = (state.db.clone(), state.collab.clone(), state.availability.clone());
        let app = charter_server::router(state.clone(), leptos);
        tokio::spawn(async move { charter_server::serve(listener, app, &state).await });
        TestApp { base: format!("http://{addr}"), db, collab, availability }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client that keeps cookies and sends this site's Origin, as a browser on its pages does.
    pub fn browser(&self) -> Client {
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, HeaderValue::from_str(&self.base).unwrap());
        Client::builder().cookie_store(true).default_headers(headers).timeout(REQUEST_TIMEOUT).build().unwrap()
    }

    /// A client with no cookies and no Origin, as a script with a token is.
    pub fn bare(&self) -> Client {
        Client::builder().timeout(REQUEST_TIMEOUT).build().unwrap()
    }

    pub async fn signup(&self, username: &str) -> Client {
        self.signup_with_cookie(username).await.0
    }

    /// Signs up and also returns the session cookie (`name=value`), for WebSockets.
    pub async fn signup_with_cookie(&self, username: &str) -> (Client, String) {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, HeaderValue::from_str(&self.base).unwrap());
        let client = Client::builder()
            .cookie_provider(jar.clone())
            .default_headers(headers)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap();
        let response = client
            .post(self.url("/api/v1/auth/signup"))
            .json(&json!({ "username": username, "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "signing up {username}");
        let cookie = reqwest::cookie::CookieStore::cookies(jar.as_ref(), &self.base.parse().unwrap())
            .expect("a session cookie")
            .to_str()
            .unwrap()
            .to_owned();
        (client, cookie)
    }

    /// A project owned by `owner`.
    pub async fn project(&self, owner: &Client, name: &str) -> Project {
        expect(owner, Method::POST, &self.url("/api/v1/projects"), Some(json!({ "name": name }))).await
    }

    pub async fn add_member(&self, owner: &Client, project: &Project, username: &str, role: Role) {
        let url = self.url(&format!("/api/v1/projects/{}/members/{username}", project.id));
        let _: Value = expect(owner, Method::PUT, &url, Some(json!({ "role": role }))).await;
    }

    /// A spec titled `title`, its text a heading of that title.
    pub async fn document(
        &self,
        client: &Client,
        project: &Project,
        title: &str,
        parent: Option<DocumentId>,
    ) -> Document {
        let url = self.url(&format!("/api/v1/projects/{}/documents", project.id));
        let body =
            json!({ "title": title, "kind": Kind::Spec, "parent_id": parent, "content": format!("# {title}\n") });
        expect(client, Method::POST, &url, Some(body)).await
    }

    pub async fn token(&self, owner: &Client, scopes: &[&str]) -> String {
        let (status, body) =
            call(owner, Method::POST, &self.url("/api/v1/tokens"), Some(json!({ "name": "test", "scopes": scopes })))
                .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// The constitution every project starts with.
    pub async fn constitution(&self, client: &Client, project: &Project) -> TreeEntry {
        let tree: Vec<TreeEntry> = expect(client, Method::GET, &self.tree_url(project), None).await;
        tree.into_iter().find(|entry| entry.kind == Kind::Constitution).expect("a constitution")
    }

    /// The address of the project's document tree (`?deleted=true`: its trash).
    pub fn tree_url(&self, project: &Project) -> String {
        self.url(&format!("/api/v1/projects/{}/documents", project.id))
    }
}

/// A script's client: no cookies, no Origin, `token` on every request.
pub fn bearer(token: &str) -> Client {
    let mut headers = HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
    Client::builder().default_headers(headers).timeout(REQUEST_TIMEOUT).build().unwrap()
}

/// Sends a request that must succeed and reads its answer as a `T`; any other outcome
/// fails the test, naming the request and the answer.
pub async fn expect<T: DeserializeOwned>(client: &Client, method: Method, url: &str, body: Option<Value>) -> T {
    let (status, answer) = call(client, method.clone(), url, body).await;
    assert!(status.is_success(), "{method} {url}: {status} {answer}");
    serde_json::from_value(answer.clone()).unwrap_or_else(|err| panic!("{method} {url}: {err} in {answer}"))
}

/// Sends a request and reads the JSON answer (`null` for an empty body).
pub async fn call(client: &Client, method: Method, url: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut request = client.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    read(request.send().await.expect("the server answers")).await
}

pub async fn read(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, body)
}

/// Asserts the API's error shape and returns its code.
pub fn error_code(body: &Value) -> &str {
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "an error carries a message: {body}");
    body["error"]["code"].as_str().expect("an error code")
}

/// Polls `check` until it holds, for at most `within`.
pub async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let polled = tokio::time::timeout(within, async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(polled.is_ok(), "timed out waiting until {what}");
}
