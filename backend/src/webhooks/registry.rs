//! A project's webhooks and their deliveries, for its owners only: an address may carry
//! a token in its path or query, so even reading one takes an owner. The signing secret
//! is made here and shown once.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use charter_types::{
    DeliveryState, NewWebhook, UpdateWebhook, Webhook, WebhookCreated, WebhookDelivery, WebhookDeliveryId,
    WebhookEvent, WebhookId,
};
use rand::RngCore;
use sqlx::PgPool;
use uuid::Uuid;

use super::{guard, outbox};
use crate::audit;
use crate::authorization::ProjectAccess;
use crate::error::{Error, Result};

/// Random bytes of a signing key (Standard Webhooks asks for 24 to 64).
const SECRET_BYTES: usize = 24;
const MAX_DESCRIPTION: usize = 500;
/// Deliveries listed at most, newest first.
const MAX_LISTED: i64 = 100;

const COLUMNS: &str = "id, url, description, events, active, created_at";
const DELIVERY_COLUMNS: &str = "d.id, d.event, d.state, d.attempts, d.last_status, d.last_error, d.created_at,
     CASE WHEN d.state = 'pending' THEN d.next_attempt_at END AS next_attempt_at, d.delivered_at";

/// Registers a webhook; its address is checked first (see `guard`).
pub async fn create(
    db: &PgPool,
    project: &ProjectAccess,
    new: NewWebhook,
    allow_private: bool,
) -> Result<WebhookCreated> {
    let events = valid_events(new.events)?;
    let description = valid_description(new.description.as_deref().unwrap_or_default())?;
    let target = guard::check(&new.url, allow_private).await?;
    let mut key = [0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let id = WebhookId::from_uuid(Uuid::now_v7());
    let mut tx = project.begin(db).await?;
    let webhook: Webhook = sqlx::query_as(&format!(
        "INSERT INTO webhooks (id, project_id, url, events, secret, description, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(project.project())
    .bind(target.url.as_str())
    .bind(&events)
    .bind(key.as_slice())
    .bind(description)
    .bind(project.actor().user_id)
    .fetch_one(&mut *tx)
    .await?;
    let summary = format!("added a webhook to {} for {}", host(&webhook.url), names(&events));
    audit::record(&mut *tx, project.audit("webhook.create", ("webhook", id), summary)).await?;
    tx.commit().await?;
    Ok(WebhookCreated { webhook, secret: format!("whsec_{}", BASE64.encode(key)) })
}

/// The project's webhooks, oldest first.
pub async fn list(db: &PgPool, project: &ProjectAccess) -> Result<Vec<Webhook>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM webhooks WHERE project_id = $1 ORDER BY created_at, id"))
        .bind(project.project())
        .fetch_all(db)
        .await?)
}

pub async fn get(db: &PgPool, project: &ProjectAccess, id: WebhookId) -> Result<Webhook> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1 AND project_id = $2"))
        .bind(id)
        .bind(project.project())
        .fetch_optional(db)
        .await?
        .ok_or_else(|| Error::not_found("webhook"))
}

/// Changes what is given. A new address is checked as a new webhook's is; a webhook set
/// inactive is sent nothing (what was queued before waits until it is active again).
pub async fn update(
    db: &PgPool,
    project: &ProjectAccess,
    id: WebhookId,
    change: UpdateWebhook,
    allow_private: bool,
) -> Result<Webhook> {
    let events = change.events.map(valid_events).transpose()?;
    let description = change.description.as_deref().map(valid_description).transpose()?;
    let url = match &change.url {
        Some(url) => Some(guard::check(url, allow_private).await?.url.to_string()),
        None => None,
    };
    let changed: Vec<&str> = [
        ("address", url.is_some()),
        ("events", events.is_some()),
        ("description", description.is_some()),
        ("active", change.active.is_some()),
    ]
    .into_iter()
    .filter_map(|(field, given)| given.then_some(field))
    .collect();
    if changed.is_empty() {
        return get(db, project, id).await;
    }
    let mut tx = project.begin(db).await?;
    let webhook: Webhook = sqlx::query_as(&format!(
        "UPDATE webhooks SET url = coalesce($3, url), events = coalesce($4, events),
             description = coalesce($5, description), active = coalesce($6, active)
         WHERE id = $1 AND project_id = $2 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(project.project())
    .bind(url)
    .bind(events)
    .bind(description)
    .bind(change.active)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::not_found("webhook"))?;
    if let Some(active) = change.active {
        // Under the webhook's row lock, taken above: its queue follows the flag.
        sqlx::query("UPDATE webhook_deliveries SET paused = NOT $2 WHERE webhook_id = $1 AND state = 'pending'")
            .bind(id)
            .bind(active)
            .execute(&mut *tx)
            .await?;
    }
    let summary = format!("changed the webhook to {} ({})", host(&webhook.url), changed.join(", "));
    audit::record(&mut *tx, project.audit("webhook.update", ("webhook", id), summary)).await?;
    tx.commit().await?;
    Ok(webhook)
}

/// Removes a webhook with its deliveries: nothing more is sent to it.
pub async fn delete(db: &PgPool, project: &ProjectAccess, id: WebhookId) -> Result<()> {
    let mut tx = project.begin(db).await?;
    let url: String = sqlx::query_scalar("DELETE FROM webhooks WHERE id = $1 AND project_id = $2 RETURNING url")
        .bind(id)
        .bind(project.project())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::not_found("webhook"))?;
    let summary = format!("removed the webhook to {}", host(&url));
    audit::record(&mut *tx, project.audit("webhook.delete", ("webhook", id), summary)).await?;
    tx.commit().await?;
    Ok(())
}

/// The webhook's latest deliveries, newest first.
pub async fn deliveries(db: &PgPool, project: &ProjectAccess, id: WebhookId) -> Result<Vec<WebhookDelivery>> {
    get(db, project, id).await?;
    Ok(sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.webhook_id = $1
         ORDER BY d.created_at DESC, d.id DESC LIMIT $2"
    ))
    .bind(id)
    .bind(MAX_LISTED)
    .fetch_all(db)
    .await?)
}

/// Makes a failed or waiting delivery due now. A failed one gets one more attempt; one a
/// sender holds is being sent already, and is not sent twice.
pub async fn retry(
    db: &PgPool,
    project: &ProjectAccess,
    id: WebhookId,
    delivery: WebhookDeliveryId,
) -> Result<WebhookDelivery> {
    let mut tx = project.begin(db).await?;
    // The row lock waits for a claim under way, and a claim skips the row while it is held.
    let (state, sending, url): (DeliveryState, bool, String) = sqlx::query_as(
        "SELECT d.state, coalesce(d.leased_until > now(), false), w.url
         FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.id = $1 AND d.webhook_id = $2 AND w.project_id = $3 FOR UPDATE OF d",
    )
    .bind(delivery)
    .bind(id)
    .bind(project.project())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::not_found("delivery"))?;
    if state == DeliveryState::Delivered {
        return Err(Error::Conflict("this delivery was delivered; there is nothing to retry".into()));
    }
    if sending {
        return Err(Error::Conflict(
            "this delivery is being sent right now; retry it once this attempt has ended".into(),
        ));
    }
    let retried: WebhookDelivery = sqlx::query_as(&format!(
        "UPDATE webhook_deliveries d SET state = 'pending', next_attempt_at = now(), paused = NOT w.active
         FROM webhooks w WHERE d.id = $1 AND w.id = d.webhook_id
         RETURNING {DELIVERY_COLUMNS}"
    ))
    .bind(delivery)
    .fetch_one(&mut *tx)
    .await?;
    let summary = format!("retried a {} delivery to {}", retried.event, host(&url));
    audit::record(&mut *tx, project.audit("webhook.retry", ("webhook", id), summary)).await?;
    tx.commit().await?;
    Ok(retried)
}

/// Queues a `ping` to an active webhook, to test the receiver.
pub async fn ping(db: &PgPool, project: &ProjectAccess, id: WebhookId) -> Result<WebhookDelivery> {
    let mut tx = project.begin(db).await?;
    // Held until the ping is queued: the webhook cannot be removed or paused in between.
    let (url, active): (String, bool) =
        sqlx::query_as("SELECT url, active FROM webhooks WHERE id = $1 AND project_id = $2 FOR SHARE")
            .bind(id)
            .bind(project.project())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| Error::not_found("webhook"))?;
    if !active {
        return Err(Error::Conflict("this webhook is inactive: make it active to test it".into()));
    }
    let delivery = outbox::ping(&mut tx, project.project(), id).await?;
    // Read before the sender can see it: as queued.
    let queued: WebhookDelivery =
        sqlx::query_as(&format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.id = $1"))
            .bind(delivery)
            .fetch_one(&mut *tx)
            .await?;
    let summary = format!("sent a test delivery to {}", host(&url));
    audit::record(&mut *tx, project.audit("webhook.ping", ("webhook", id), summary)).await?;
    tx.commit().await?;
    Ok(queued)
}

/// The events to subscribe to, each once, in their declared order.
fn valid_events(mut events: Vec<WebhookEvent>) -> Result<Vec<WebhookEvent>> {
    if let Some(event) = events.iter().find(|event| !event.subscribable()) {
        return Err(Error::Invalid(format!("`{event}` is sent only when asked for; it cannot be subscribed to")));
    }
    if events.is_empty() {
        let all: Vec<WebhookEvent> = WebhookEvent::ALL.iter().copied().filter(|e| e.subscribable()).collect();
        return Err(Error::Invalid(format!("a webhook needs at least one event of {}", names(&all))));
    }
    events.sort_by_key(|event| WebhookEvent::ALL.iter().position(|known| known == event));
    events.dedup();
    Ok(events)
}

fn valid_description(text: &str) -> Result<&str> {
    let text = text.trim();
    match text.chars().count() > MAX_DESCRIPTION {
        true => Err(Error::Invalid(format!("a description has at most {MAX_DESCRIPTION} characters"))),
        false => Ok(text),
    }
}

/// The host of a webhook's address: what the activity names (the rest may carry a token,
/// and every member reads the activity).
fn host(url: &str) -> String {
    url::Url::parse(url).ok().and_then(|url| url.host_str().map(str::to_owned)).unwrap_or_default()
}

fn names(events: &[WebhookEvent]) -> String {
    events.iter().map(|event| event.as_str()).collect::<Vec<_>>().join(", ")
}
