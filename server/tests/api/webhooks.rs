//! Outgoing webhooks: owners register addresses, change requests' events reach them
//! signed per Standard Webhooks (the signature checked by Python's own HMAC, not this
//! crate's), what a receiver refuses is retried, and a webhook that is gone is sent
//! nothing more.

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use charter_backend::change_requests::{Created, Merged};
use charter_backend::Settings;
use charter_types::{
    DeliveryState, Document, Project, Role, Webhook, WebhookCreated, WebhookDelivery, WebhookDeliveryId, WebhookEvent,
};
use chrono::{DateTime, Utc};
use reqwest::{Client, Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::io::AsyncWriteExt;

use crate::harness::{call, error_code, eventually, expect, test_settings, TestApp};

/// How long a delivery may take to arrive: the sender looks for due ones every second.
const WAIT: Duration = Duration::from_secs(20);

/// A delivery as the receiver got it.
#[derive(Clone, Debug)]
pub struct Received {
    id: String,
    timestamp: String,
    signature: String,
    content_type: String,
    user_agent: String,
    body: Bytes,
}

/// A payload's envelope.
#[derive(Debug, Deserialize)]
pub struct Payload {
    pub r#type: WebhookEvent,
    pub timestamp: DateTime<Utc>,
    pub data: Value,
}

impl Received {
    pub fn payload(&self) -> Payload {
        serde_json::from_slice(&self.body).expect("a JSON payload")
    }
}

#[derive(Clone, Default)]
struct Inbox {
    got: Arc<Mutex<Vec<Received>>>,
    /// The statuses to answer with, in turn; 200 once they run out.
    answers: Arc<Mutex<VecDeque<StatusCode>>>,
}

/// A receiver of the test's own, on loopback.
pub struct Receiver {
    pub url: String,
    inbox: Inbox,
}

impl Receiver {
    pub async fn start(answers: &[StatusCode]) -> Receiver {
        async fn take(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> (StatusCode, &'static str) {
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            inbox.got.lock().unwrap().push(Received {
                id: header("webhook-id"),
                timestamp: header("webhook-timestamp"),
                signature: header("webhook-signature"),
                content_type: header("content-type"),
                user_agent: header("user-agent"),
                body,
            });
            let status = inbox.answers.lock().unwrap().pop_front().unwrap_or(StatusCode::OK);
            (status, "the receiver says no")
        }
        let inbox = Inbox { answers: Arc::new(Mutex::new(answers.iter().copied().collect())), ..Inbox::default() };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let url = format!("http://{}/hook?token=receiver-s3cret", listener.local_addr().unwrap());
        let app = axum::Router::new().route("/hook", axum::routing::post(take)).with_state(inbox.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, inbox }
    }

    fn got(&self) -> Vec<Received> {
        self.inbox.got.lock().unwrap().clone()
    }

    /// The first `count` deliveries, once they have arrived.
    pub async fn until(&self, count: usize) -> Vec<Received> {
        eventually(&format!("{count} deliveries arrive"), WAIT, || async { self.got().len() >= count }).await;
        self.got()
    }
}

/// Checks a delivery's signature with Python's `hmac`, `hashlib` and `base64`: true when
/// a `v1,` signature in its header is the HMAC-SHA256 of `{id}.{timestamp}.{body}` under
/// the secret's key.
pub async fn python_verifies(received: &Received, secret: &str) -> bool {
    const VERIFY: &str = r#"
import base64, hashlib, hmac, sys
msg_id, timestamp, header, secret = sys.argv[1:5]
key = base64.b64decode(secret.removeprefix("whsec_"))
body = sys.stdin.buffer.read()
expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()).decode()
given = [part.split(",", 1)[1] for part in header.split() if part.startswith("v1,")]
print("valid" if any(hmac.compare_digest(expected, signature) for signature in given) else "invalid")
"#;
    let mut python = tokio::process::Command::new("python3")
        .args(["-c", VERIFY, received.id.as_str(), received.timestamp.as_str(), received.signature.as_str(), secret])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut stdin = python.stdin.take().unwrap();
    stdin.write_all(&received.body).await.unwrap();
    drop(stdin);
    let output = python.wait_with_output().await.unwrap();
    assert!(output.status.success(), "the verifier ran");
    String::from_utf8(output.stdout).unwrap().trim() == "valid"
}

fn webhooks_url(app: &TestApp, project: &Project) -> String {
    app.url(&format!("/api/v1/projects/{}/webhooks", project.id))
}

pub async fn register(
    app: &TestApp,
    owner: &Client,
    project: &Project,
    url: &str,
    events: &[WebhookEvent],
) -> WebhookCreated {
    let body = json!({ "url": url, "events": events, "description": "release notes" });
    expect(owner, Method::POST, &webhooks_url(app, project), Some(body)).await
}

async fn deliveries(app: &TestApp, owner: &Client, project: &Project, webhook: &Webhook) -> Vec<WebhookDelivery> {
    let url = format!("{}/{}/deliveries", webhooks_url(app, project), webhook.id);
    expect(owner, Method::GET, &url, None).await
}

async fn set_active(app: &TestApp, owner: &Client, project: &Project, webhook: &Webhook, active: bool) -> Webhook {
    let url = format!("{}/{}", webhooks_url(app, project), webhook.id);
    expect(owner, Method::PATCH, &url, Some(json!({ "active": active }))).await
}

/// An owner's project whose `draft` branch changes a spec, needing no approval to merge.
async fn project_with_a_draft(app: &TestApp) -> (Client, Project) {
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Payments").await;
    let settings = app.url(&format!("/api/v1/projects/{}/settings", project.id));
    let project: Project = expect(&ada, Method::PATCH, &settings, Some(json!({ "required_approvals": 0 }))).await;
    let spec = app.document(&ada, &project, "Refunds", None).await;
    let branches = app.url(&format!("/api/v1/projects/{}/branches", project.id));
    let _: Value = expect(&ada, Method::POST, &branches, Some(json!({ "name": "draft" }))).await;
    let content = app.url(&format!("/api/v1/documents/{}/content?branch=draft", spec.id));
    let _: Document =
        expect(&ada, Method::PUT, &content, Some(json!({ "content": "# Refunds\n\nRefunds take 5 days.\n" }))).await;
    (ada, project)
}

async fn open_change_request(app: &TestApp, owner: &Client, project: &Project) -> Created {
    let url = app.url(&format!("/api/v1/projects/{}/change-requests", project.id));
    let body = json!({ "source": "draft", "target": "main", "title": "Faster refunds" });
    expect(owner, Method::POST, &url, Some(body)).await
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn only_owners_see_and_manage_webhooks_and_the_secret_is_shown_once(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let receiver = Receiver::start(&[]).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Payments").await;
    let editor = app.signup("eve").await;
    app.add_member(&ada, &project, "eve", Role::Editor).await;
    let stranger = app.signup("mallory").await;
    let list = webhooks_url(&app, &project);
    let new = json!({ "url": receiver.url, "events": ["change_request.opened"] });
    for (client, status) in [(&editor, StatusCode::FORBIDDEN), (&stranger, StatusCode::NOT_FOUND)] {
        assert_eq!(call(client, Method::GET, &list, None).await.0, status);
        assert_eq!(call(client, Method::POST, &list, Some(new.clone())).await.0, status);
    }

    use WebhookEvent::*;
    let created =
        register(&app, &ada, &project, &receiver.url, &[ChangeRequestMerged, ChangeRequestOpened, ChangeRequestMerged])
            .await;
    let webhook = created.webhook;
    assert_eq!(webhook.events, [ChangeRequestOpened, ChangeRequestMerged], "each once, in their order");
    assert!(webhook.active && webhook.description == "release notes" && webhook.url == receiver.url);
    let key = created.secret.strip_prefix("whsec_").expect("a whsec_ secret");
    assert_eq!(key.len(), 32, "24 bytes in base64");
    let listed: Vec<Webhook> = expect(&ada, Method::GET, &list, None).await;
    assert_eq!(listed, [webhook.clone()]);
    let one = format!("{list}/{}", webhook.id);
    assert_eq!(expect::<Webhook>(&ada, Method::GET, &one, None).await, webhook);
    let (_, raw) = call(&ada, Method::GET, &list, None).await;
    assert!(!raw.to_string().contains(key), "the secret is never shown again");
    for method in [Method::GET, Method::DELETE] {
        assert_eq!(call(&editor, method, &one, None).await.0, StatusCode::FORBIDDEN);
    }
    assert_eq!(call(&editor, Method::POST, &format!("{one}/ping"), None).await.0, StatusCode::FORBIDDEN);

    // Pings are asked for, not subscribed to; a webhook listens to something.
    for events in [json!(["ping"]), json!([])] {
        let (status, body) =
            call(&ada, Method::POST, &list, Some(json!({ "url": receiver.url, "events": events }))).await;
        assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"), "{body}");
    }
    let (status, _) = call(&ada, Method::PATCH, &one, Some(json!({ "events": ["ping"] }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let paused = set_active(&app, &ada, &project, &webhook, false).await;
    assert!(!paused.active && paused.events == webhook.events);
    let (status, body) = call(&ada, Method::POST, &format!("{one}/ping"), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "an inactive webhook is not pinged: {body}");

    // Every member reads the activity; the address's token stays out of it.
    let activity: Value =
        expect(&editor, Method::GET, &app.url(&format!("/api/v1/projects/{}/activity", project.id)), None).await;
    assert!(activity.to_string().contains("webhook.create"), "{activity}");
    assert!(!activity.to_string().contains("receiver-s3cret"), "{activity}");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_webhook_must_be_http_on_a_public_address(db: PgPool) {
    let strict = Settings { webhooks_allow_private: false, ..test_settings() };
    let app = TestApp::spawn_with(db, strict).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Payments").await;
    let list = webhooks_url(&app, &project);
    // 1,990 characters as given, 2,040 as stored (percent-encoded): refused, not a 500 from
    // the table's limit.
    let long = format!("https://hooks.example.com/{}{}", "a".repeat(1954), "é".repeat(10));
    assert_eq!(long.chars().count(), 1990);
    for (url, why) in [
        (long.as_str(), "longer than 2000 characters once normalised"),
        ("ftp://hooks.example.com/charter", "its scheme is `ftp`"),
        ("https://ci:hunter2@hooks.example.com/charter", "user name or password"),
        ("http://127.0.0.1:9/hook", "127.0.0.1 is a loopback address"),
        ("http://localhost:9/hook", "a loopback address"),
        ("http://[::ffff:169.254.169.254]/latest/meta-data", "a link-local address"),
        ("http://10.0.0.8/hook", "10.0.0.8 is a private address"),
    ] {
        let body = json!({ "url": url, "events": ["change_request.merged"] });
        let (status, answer) = call(&ada, Method::POST, &list, Some(body)).await;
        assert_eq!((status, error_code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"), "{url}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("the webhook's URL is refused: ") && message.contains(why), "{url}: {message}");
    }

    // A webhook registered where private addresses are allowed (a script's token, as the
    // other instance's Origin is not this one's) cannot be moved onto one where they are not.
    let lenient = app.another(test_settings()).await;
    let token = app.token(&ada, &["read", "write"]).await;
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    let script = Client::builder().default_headers(headers).build().unwrap();
    let merged = [WebhookEvent::ChangeRequestMerged];
    let created = register(&lenient, &script, &project, "http://127.0.0.1:9/hook", &merged).await;
    let one = format!("{list}/{}", created.webhook.id);
    let (status, answer) = call(&ada, Method::PATCH, &one, Some(json!({ "url": "http://192.168.1.1/hook" }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("192.168.1.1 is a private address"), "{answer}");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn opened_and_merged_change_requests_reach_a_webhook_signed(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let receiver = Receiver::start(&[]).await;
    let (ada, project) = project_with_a_draft(&app).await;
    use WebhookEvent::*;
    let created = register(&app, &ada, &project, &receiver.url, &[ChangeRequestOpened, ChangeRequestMerged]).await;

    let opened = open_change_request(&app, &ada, &project).await;
    let got = receiver.until(1).await;
    let delivery = &got[0];
    assert_eq!(
        (delivery.content_type.as_str(), delivery.user_agent.as_str()),
        ("application/json", "Charter-Webhooks")
    );
    assert!(python_verifies(delivery, &created.secret).await, "the signature is the secret's: {delivery:?}");
    let another = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    assert!(!python_verifies(delivery, another).await, "and no other secret's");
    let sent_at: i64 = delivery.timestamp.parse().unwrap();
    assert!((Utc::now().timestamp() - sent_at).abs() < 60, "webhook-timestamp is the time of sending");
    let payload = delivery.payload();
    assert_eq!(payload.r#type, ChangeRequestOpened);
    assert!((Utc::now() - payload.timestamp).num_seconds() < 60);
    let path = format!("/p/{}/changes/{}", project.slug, opened.number);
    let expected = json!({
        "project_id": project.id, "number": opened.number, "title": "Faster refunds", "source": "draft",
        "target": "main", "path": path,
    });
    assert_eq!(payload.data, expected);

    let merge = app.url(&format!("/api/v1/projects/{}/change-requests/{}/merge", project.id, opened.number));
    let merged: Merged = expect(&ada, Method::POST, &merge, Some(json!({}))).await;
    let got = receiver.until(2).await;
    assert!(python_verifies(&got[1], &created.secret).await);
    let payload = got[1].payload();
    assert_eq!(payload.r#type, ChangeRequestMerged);
    assert_eq!(
        (payload.data["number"].as_i64(), payload.data["version"].as_i64()),
        (Some(opened.number as i64), Some(merged.version.number as i64))
    );
    assert_eq!(payload.data["path"], json!(path));
    assert_ne!(got[0].id, got[1].id, "each delivery has its own id");

    // The log, newest first, names each delivery by the id its receiver got.
    let log = deliveries(&app, &ada, &project, &created.webhook).await;
    let events: Vec<(WebhookEvent, DeliveryState, i32, Option<i32>)> =
        log.iter().map(|d| (d.event, d.state, d.attempts, d.last_status)).collect();
    assert_eq!(
        events,
        [
            (ChangeRequestMerged, DeliveryState::Delivered, 1, Some(200)),
            (ChangeRequestOpened, DeliveryState::Delivered, 1, Some(200))
        ]
    );
    let ids: Vec<WebhookDeliveryId> = got.iter().rev().map(|d| d.id.parse().unwrap()).collect();
    assert_eq!(log.iter().map(|d| d.id).collect::<Vec<_>>(), ids);
    assert!(log.iter().all(|d| d.delivered_at.is_some() && d.next_attempt_at.is_none() && d.last_error.is_none()));
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_refused_webhook_delivery_is_retried_after_a_wait_until_it_is_taken(db: PgPool) {
    let settings = Settings { webhook_retry_base: Duration::from_secs(2), ..test_settings() };
    let app = TestApp::spawn_with(db, settings).await;
    let receiver = Receiver::start(&[StatusCode::INTERNAL_SERVER_ERROR]).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Payments").await;
    let created = register(&app, &ada, &project, &receiver.url, &[WebhookEvent::ChangeRequestOpened]).await;
    let ping = format!("{}/{}/ping", webhooks_url(&app, &project), created.webhook.id);
    let queued: WebhookDelivery = expect(&ada, Method::POST, &ping, None).await;
    assert_eq!((queued.event, queued.state, queued.attempts), (WebhookEvent::Ping, DeliveryState::Pending, 0));

    // Refused once: the status and the start of the answer are kept, and it waits.
    eventually("the refusal is recorded", WAIT, || async {
        deliveries(&app, &ada, &project, &created.webhook).await[0].last_status == Some(500)
    })
    .await;
    let refused = &deliveries(&app, &ada, &project, &created.webhook).await[0];
    assert_eq!((refused.state, refused.attempts), (DeliveryState::Pending, 1), "{refused:?}");
    assert!(refused.last_error.as_deref().unwrap().contains("the receiver says no"), "{refused:?}");
    assert!(refused.next_attempt_at.is_some_and(|at| at > Utc::now()), "{refused:?}");

    eventually("the retry is taken", WAIT, || async {
        deliveries(&app, &ada, &project, &created.webhook).await[0].state == DeliveryState::Delivered
    })
    .await;
    let taken = &deliveries(&app, &ada, &project, &created.webhook).await[0];
    assert_eq!(
        (taken.id, taken.attempts, taken.last_status, taken.last_error.as_deref()),
        (queued.id, 2, Some(200), None)
    );
    let got = receiver.got();
    assert_eq!(got.len(), 2);
    assert!(got[0].id == got[1].id && got[0].body == got[1].body, "a retry is the same message");
    assert_eq!(got[1].payload().r#type, WebhookEvent::Ping);
    assert!(python_verifies(&got[1], &created.secret).await);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn an_owner_retries_a_waiting_webhook_delivery_now(db: PgPool) {
    // The automatic retry would come only in ten minutes.
    let settings = Settings { webhook_retry_base: Duration::from_secs(600), ..test_settings() };
    let app = TestApp::spawn_with(db, settings).await;
    let receiver = Receiver::start(&[StatusCode::BAD_GATEWAY]).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Payments").await;
    let created = register(&app, &ada, &project, &receiver.url, &[WebhookEvent::ChangeRequestOpened]).await;
    let one = format!("{}/{}", webhooks_url(&app, &project), created.webhook.id);
    let queued: WebhookDelivery = expect(&ada, Method::POST, &format!("{one}/ping"), None).await;
    receiver.until(1).await;
    eventually("the refusal is recorded", WAIT, || async {
        deliveries(&app, &ada, &project, &created.webhook).await[0].last_status == Some(502)
    })
    .await;

    let retry = format!("{one}/deliveries/{}/retry", queued.id);
    let due: WebhookDelivery = expect(&ada, Method::POST, &retry, None).await;
    assert_eq!((due.state, due.attempts), (DeliveryState::Pending, 1));
    assert!(due.next_attempt_at.is_some_and(|at| at <= Utc::now()), "due now: {due:?}");
    receiver.until(2).await;
    eventually("the retry is delivered", WAIT, || async {
        deliveries(&app, &ada, &project, &created.webhook).await[0].state == DeliveryState::Delivered
    })
    .await;
    let (status, body) = call(&ada, Method::POST, &retry, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "delivered is done: {body}");
    let unknown = format!("{one}/deliveries/{}/retry", created.webhook.id);
    assert_eq!(call(&ada, Method::POST, &unknown, None).await.0, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_deleted_or_inactive_webhook_is_sent_nothing(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (deleted, kept, paused) = (Receiver::start(&[]).await, Receiver::start(&[]).await, Receiver::start(&[]).await);
    let (ada, project) = project_with_a_draft(&app).await;
    let opened = [WebhookEvent::ChangeRequestOpened];
    let gone = register(&app, &ada, &project, &deleted.url, &opened).await.webhook;
    register(&app, &ada, &project, &kept.url, &opened).await;
    let inactive = register(&app, &ada, &project, &paused.url, &opened).await.webhook;
    let one = format!("{}/{}", webhooks_url(&app, &project), gone.id);
    assert_eq!(call(&ada, Method::DELETE, &one, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(call(&ada, Method::GET, &one, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(call(&ada, Method::GET, &format!("{one}/deliveries"), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(call(&ada, Method::POST, &format!("{one}/ping"), None).await.0, StatusCode::NOT_FOUND);
    set_active(&app, &ada, &project, &inactive, false).await;

    open_change_request(&app, &ada, &project).await;
    kept.until(1).await;
    // The sender has had more than one more look at the queue.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(deleted.got().is_empty() && paused.got().is_empty());
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = ANY ($1)")
        .bind(vec![gone.id.uuid(), inactive.id.uuid()])
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(queued, 0, "nothing was queued for the deleted or the inactive webhook");
    assert!(deliveries(&app, &ada, &project, &inactive).await.is_empty());
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_webhook_delivery_being_sent_is_not_sent_again_by_a_retry(db: PgPool) {
    // A failed attempt's automatic retry would come only in ten minutes.
    let settings = Settings { webhook_retry_base: Duration::from_secs(600), ..test_settings() };
    let app = TestApp::spawn_with(db, settings).await;
    // A receiver that takes the request and answers nothing until it hangs up.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Payments").await;
    let created = register(&app, &ada, &project, &url, &[WebhookEvent::ChangeRequestOpened]).await;
    let one = format!("{}/{}", webhooks_url(&app, &project), created.webhook.id);
    let queued: WebhookDelivery = expect(&ada, Method::POST, &format!("{one}/ping"), None).await;
    let (held, _) = tokio::time::timeout(WAIT, listener.accept()).await.expect("the sender connects").unwrap();

    let retry = format!("{one}/deliveries/{}/retry", queued.id);
    let (status, body) = call(&ada, Method::POST, &retry, None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "conflict"), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("being sent right now"), "{body}");

    // Once the attempt has ended, the delivery waits, and a retry makes it due now.
    drop(held);
    eventually("the failed attempt is recorded", WAIT, || async {
        deliveries(&app, &ada, &project, &created.webhook).await[0].last_error.is_some()
    })
    .await;
    let due: WebhookDelivery = expect(&ada, Method::POST, &retry, None).await;
    assert_eq!((due.state, due.attempts), (DeliveryState::Pending, 1));
    assert!(due.next_attempt_at.is_some_and(|at| at <= Utc::now()), "due now: {due:?}");
    tokio::time::timeout(WAIT, listener.accept()).await.expect("the retry is sent").unwrap();
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_webhook_delivery_waits_while_its_webhook_is_inactive(db: PgPool) {
    let settings = Settings { webhook_retry_base: Duration::from_secs(600), ..test_settings() };
    let app = TestApp::spawn_with(db, settings).await;
    let receiver = Receiver::start(&[StatusCode::BAD_GATEWAY]).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Payments").await;
    let webhook = register(&app, &ada, &project, &receiver.url, &[WebhookEvent::ChangeRequestOpened]).await.webhook;
    let one = format!("{}/{}", webhooks_url(&app, &project), webhook.id);
    let queued: WebhookDelivery = expect(&ada, Method::POST, &format!("{one}/ping"), None).await;
    eventually("the refusal is recorded", WAIT, || async {
        deliveries(&app, &ada, &project, &webhook).await[0].last_status == Some(502)
    })
    .await;
    let paused = || async {
        sqlx::query_scalar::<_, bool>("SELECT paused FROM webhook_deliveries WHERE id = $1")
            .bind(queued.id.uuid())
            .fetch_one(&app.db)
            .await
            .unwrap()
    };

    // Made due now while the webhook is inactive, it is kept out of the senders' way.
    set_active(&app, &ada, &project, &webhook, false).await;
    assert!(paused().await, "an inactive webhook's queue is paused");
    let due: WebhookDelivery = expect(&ada, Method::POST, &format!("{one}/deliveries/{}/retry", queued.id), None).await;
    assert!(due.next_attempt_at.is_some_and(|at| at <= Utc::now()), "due now: {due:?}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(receiver.got().len(), 1, "nothing is sent to an inactive webhook");

    set_active(&app, &ada, &project, &webhook, true).await;
    assert!(!paused().await);
    receiver.until(2).await;
    eventually("the delivery is taken", WAIT, || async {
        deliveries(&app, &ada, &project, &webhook).await[0].state == DeliveryState::Delivered
    })
    .await;
}
