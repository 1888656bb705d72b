//! Outgoing webhooks: addresses a project's owners register to be told of its events,
//! and the deliveries sent to them (signed per Standard Webhooks).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{WebhookDeliveryId, WebhookId};

text_enum! {
    /// What a webhook is told about: the `type` of each payload.
    pub enum WebhookEvent as "webhook event" {
        ChangeRequestOpened = "change_request.opened",
        ChangeRequestMerged = "change_request.merged",
        IncidentRegression = "incident.regression",
        RequirementAddedFromIncident = "requirement.added_from_incident",
        /// A test delivery an owner asks for; no webhook subscribes to it.
        Ping = "ping",
    }
}

impl WebhookEvent {
    /// Whether a webhook may list it among its events (a ping is only ever asked for).
    pub fn subscribable(self) -> bool {
        self != WebhookEvent::Ping
    }
}

text_enum! {
    /// Where a delivery stands.
    pub enum DeliveryState as "delivery state" {
        /// Waiting for its first or next attempt.
        Pending = "pending",
        /// The receiver answered 2xx.
        Delivered = "delivered",
        /// Every attempt failed; an owner may retry it.
        Failed = "failed",
    }
}

/// A webhook as its project's owners see it: never its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Webhook {
    pub id: WebhookId,
    pub url: String,
    pub description: String,
    pub events: Vec<WebhookEvent>,
    /// An inactive webhook is sent nothing: events meanwhile are not queued for it, and
    /// deliveries queued before wait until it is active again.
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// A webhook to register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewWebhook {
    /// `http` or `https`, on a public address, at most 2,000 characters.
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub description: Option<String>,
}

/// A registered webhook with its signing secret, shown this once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct WebhookCreated {
    pub webhook: Webhook,
    /// `whsec_` and the key in base64, as Standard Webhooks libraries take it.
    pub secret: String,
}

/// Leaves the secret out, so that it never reaches a log.
impl std::fmt::Debug for WebhookCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookCreated").field("webhook", &self.webhook).field("secret", &"…").finish()
    }
}

/// What to change of a webhook; what is left out stays.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct UpdateWebhook {
    pub url: Option<String>,
    pub events: Option<Vec<WebhookEvent>>,
    pub description: Option<String>,
    pub active: Option<bool>,
}

/// One event sent (or to be sent) to a webhook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    /// Sent as the `webhook-id` header: receivers deduplicate by it.
    pub id: WebhookDeliveryId,
    pub event: WebhookEvent,
    pub state: DeliveryState,
    pub attempts: i32,
    /// The receiver's status code at the last attempt, if it answered.
    pub last_status: Option<i32>,
    /// What went wrong at the last attempt (at most 300 characters).
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When it is tried next (pending deliveries only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
}
