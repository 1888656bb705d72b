//! Queueing deliveries: an event becomes one pending delivery per webhook that wants
//! it, written in the transaction of the change it tells of, so that a change rolled
//! back tells nobody and a change committed is told even if the server stops at once.

use charter_types::{ProjectId, WebhookDeliveryId, WebhookEvent, WebhookId};
use chrono::{SecondsFormat, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::Result;

/// Queues `event` with `data` for each active webhook of `project` subscribed to it,
/// inside the caller's transaction (`conn`).
pub async fn emit(
    conn: &mut PgConnection,
    project: ProjectId,
    event: WebhookEvent,
    data: serde_json::Value,
) -> Result<()> {
    let webhooks: Vec<WebhookId> =
        sqlx::query_scalar("SELECT id FROM webhooks WHERE project_id = $1 AND active AND $2 = ANY (events)")
            .bind(project)
            .bind(event)
            .fetch_all(&mut *conn)
            .await?;
    if !webhooks.is_empty() {
        queue(conn, &webhooks, event, data).await?;
    }
    Ok(())
}

/// Queues a test delivery to one webhook, whatever it subscribes to.
pub(super) async fn ping(conn: &mut PgConnection, project: ProjectId, webhook: WebhookId) -> Result<WebhookDeliveryId> {
    let data = serde_json::json!({ "project_id": project, "webhook_id": webhook });
    let ids = queue(conn, &[webhook], WebhookEvent::Ping, data).await?;
    Ok(ids[0])
}

/// One pending delivery of the same payload per webhook, due now.
async fn queue(
    conn: &mut PgConnection,
    webhooks: &[WebhookId],
    event: WebhookEvent,
    data: serde_json::Value,
) -> Result<Vec<WebhookDeliveryId>> {
    let payload = serde_json::json!({
        "type": event,
        "timestamp": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": data,
    });
    let ids: Vec<WebhookDeliveryId> = webhooks.iter().map(|_| WebhookDeliveryId::from_uuid(Uuid::now_v7())).collect();
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, webhook_id, event, payload)
         SELECT id, webhook_id, $3, $4 FROM unnest($1::uuid[], $2::uuid[]) AS d(id, webhook_id)",
    )
    .bind(&ids)
    .bind(webhooks)
    .bind(event)
    .bind(&payload)
    .execute(&mut *conn)
    .await?;
    Ok(ids)
}
