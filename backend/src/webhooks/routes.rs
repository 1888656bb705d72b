//! The `/projects/{id}/webhooks` routes: owners only, reading included.

use axum::extract::State;
use axum::http::StatusCode;
use charter_types::{
    NewWebhook, UpdateWebhook, Webhook, WebhookCreated, WebhookDelivery, WebhookDeliveryId, WebhookId,
};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::registry;
use crate::authorization::{need, Project};
use crate::error::Result;
use crate::extract::{Json, Path};
use crate::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_handler, create_handler))
        .routes(routes!(get_handler, update_handler, delete_handler))
        .routes(routes!(deliveries_handler))
        .routes(routes!(retry_handler))
        .routes(routes!(ping_handler))
}

/// The project's webhooks (owners: an address may carry a token).
#[utoipa::path(get, path = "/projects/{id}/webhooks", tag = "webhooks",
    extensions(("x-charter-access" = json!("owner"))), params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Webhook>), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
async fn list_handler(State(state): State<AppState>, project: Project<need::Manage>) -> Result<Json<Vec<Webhook>>> {
    Ok(Json(registry::list(&state.db, &project).await?))
}

/// Register a webhook (owners). The answer holds its signing secret, shown only this once.
#[utoipa::path(post, path = "/projects/{id}/webhooks", tag = "webhooks",
    extensions(("x-charter-access" = json!("owner"))), params(("id" = Uuid, Path)),
    request_body = NewWebhook,
    responses((status = 201, body = WebhookCreated), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody),
              (status = 422, description = "an address that is not http(s) on a public host, or no events", body = crate::error::ErrorBody)))]
async fn create_handler(
    State(state): State<AppState>,
    project: Project<need::Manage>,
    Json(new): Json<NewWebhook>,
) -> Result<(StatusCode, Json<WebhookCreated>)> {
    let created = registry::create(&state.db, &project, new, state.settings.webhooks_allow_private).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// A webhook (owners).
#[utoipa::path(get, path = "/projects/{id}/webhooks/{webhook_id}", tag = "webhooks",
    extensions(("x-charter-access" = json!("owner"))),
    params(("id" = Uuid, Path), ("webhook_id" = Uuid, Path)),
    responses((status = 200, body = Webhook), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
async fn get_handler(
    State(state): State<AppState>,
    project: Project<need::Manage>,
    Path((_id, webhook)): Path<(Uuid, WebhookId)>,
) -> Result<Json<Webhook>> {
    Ok(Json(registry::get(&state.db, &project, webhook).await?))
}

/// Change a webhook's address, events, description or whether it is active (owners).
#[utoipa::path(patch, path = "/projects/{id}/webhooks/{webhook_id}", tag = "webhooks",
    extensions(("x-charter-access" = json!("owner"))),
    params(("id" = Uuid, Path), ("webhook_id" = Uuid, Path)), request_body = UpdateWebhook,
    responses((status = 200, body = Webhook), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update_handler(
    State(state): State<AppState>,
    project: Project<need::Manage>,
    Path((_id, webhook)): Path<(Uuid, WebhookId)>,
    Json(change): Json<UpdateWebhook>,
) -> Result<Json<Webhook>> {
    let allow_private = state.settings.webhooks_allow_private;
    Ok(Json(registry::update(&state.db, &project, webhook, change, allow_private).await?))
}

/// Remove a webhook and its deliveries; nothing more is sent to it (owners).
#[utoipa::path(delete, path = "/projects/{id}/webhooks/{webhook_id}", tag = "webhooks",
    extensions(("x-charter-access" = json!("owner"))),
    params(("id" = Uuid, Path), ("webhook_id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
async fn delete_handler(
    State(state): State<AppState>,
    project: Project<need::Manage>,
    Path((_id, webhook)): Path<(Uuid, WebhookId)>,
) -> Result<StatusCode> {
    registry::delete(&state.db, &project, webhook).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The webhook's latest deliveries, newest first (at most 100), with how each went.
#[utoipa::path(get, path = "/projects/{id}/webhooks/{webhook_id}/deliveries", tag = "webhooks",
    extensions(("x-charter-access" = json!("owner"))),
    params(("id" = Uuid, Path), ("webhook_id" = Uuid, Path)),
    responses((status = 200, body = Vec<WebhookDelivery>), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
async fn deliveries_handler(
    State(state): State<AppState>,
    project: Project<need::Manage>,
    Path((_id, webhook)): Path<(Uuid, WebhookId)>,
) -> Result<Json<Vec<WebhookDelivery>>> {
    Ok(Json(registry::deliveries(&state.db, &project, webhook).await?))
}

/// Send a failed or pending delivery again now (owners).
#[utoipa::path(post, path = "/projects/{id}/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", tag = "webhooks",
    extensions(("x-charter-access" = json!("owner"))),
    params(("id" = Uuid, Path), ("webhook_id" = Uuid, Path), ("delivery_id" = Uuid, Path)),
    responses((status = 200, body = WebhookDelivery), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody),
              (status = 409, description = "it was delivered, or is being sent right now", body = crate::error::ErrorBody)))]
async fn retry_handler(
    State(state): State<AppState>,
    project: Project<need::Manage>,
    Path((_id, webhook, delivery)): Path<(Uuid, WebhookId, WebhookDeliveryId)>,
) -> Result<Json<WebhookDelivery>> {
    Ok(Json(registry::retry(&state.db, &project, webhook, delivery).await?))
}

/// Queue a `ping` delivery to test the receiver (owners; active webhooks).
#[utoipa::path(post, path = "/projects/{id}/webhooks/{webhook_id}/ping", tag = "webhooks",
    extensions(("x-charter-access" = json!("owner"))),
    params(("id" = Uuid, Path), ("webhook_id" = Uuid, Path)),
    responses((status = 202, body = WebhookDelivery), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody),
              (status = 409, description = "the webhook is inactive", body = crate::error::ErrorBody)))]
async fn ping_handler(
    State(state): State<AppState>,
    project: Project<need::Manage>,
    Path((_id, webhook)): Path<(Uuid, WebhookId)>,
) -> Result<(StatusCode, Json<WebhookDelivery>)> {
    Ok((StatusCode::ACCEPTED, Json(registry::ping(&state.db, &project, webhook).await?)))
}
