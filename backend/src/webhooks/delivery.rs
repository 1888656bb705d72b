//! The sender: a background task in every instance that claims due deliveries
//! (`SKIP LOCKED`, so instances share the queue), a few at a time, and POSTs each one
//! signed per Standard Webhooks. A claim leases the delivery, pushing its next attempt past
//! how long sending may take, so one lost to a crash is simply tried again later. A 2xx
//! answer delivers it; anything else waits longer each time, and after the last wait it
//! fails. Finished deliveries are pruned on a timer of their own.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use charter_types::WebhookDeliveryId;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;
use tokio::sync::Semaphore;

use super::guard;
use crate::error::Result;

/// Deliveries sent at once per instance.
const SENDERS: usize = 4;
/// How long one attempt may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a claim holds a delivery: more than checking and sending can take.
const LEASE: Duration = Duration::from_secs(60);
/// How often an idle sender looks for due deliveries.
const POLL: Duration = Duration::from_secs(1);
/// The waits after each failed attempt, in units of the retry base (5 s by default: 5 s,
/// 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h); a delivery failing once more fails.
const BACKOFF: [u32; 8] = [1, 6, 24, 120, 360, 720, 1440, 2880];
/// Characters of a failure kept (a receiver's answer included).
const MAX_ERROR: usize = 300;
/// Bytes of a refusing receiver's answer read, at most.
const MAX_ANSWER: usize = 4 * MAX_ERROR;
/// Delivered and failed deliveries are forgotten after this long.
const FORGET_AFTER: Duration = Duration::from_secs(30 * 24 * 3600);
/// How often an instance forgets them, however busy its sender is.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// A claimed delivery, with where it goes and the key it is signed with.
#[derive(sqlx::FromRow)]
struct Claimed {
    id: WebhookDeliveryId,
    body: String,
    attempts: i32,
    url: String,
    secret: Vec<u8>,
}

/// How an attempt ended.
struct Outcome {
    status: Option<u16>,
    error: Option<String>,
}

/// Runs the sender for as long as the process does. `allow_private` lets webhooks call
/// private addresses (tests, closed networks); `retry_base` scales the backoff.
pub fn spawn(db: PgPool, allow_private: bool, retry_base: Duration) {
    tokio::spawn({
        let db = db.clone();
        async move {
            loop {
                if let Err(err) = prune(&db).await {
                    err.log();
                }
                tokio::time::sleep(PRUNE_EVERY).await;
            }
        }
    });
    tokio::spawn(async move {
        let senders = Arc::new(Semaphore::new(SENDERS));
        loop {
            // Claims no more than there are free senders.
            drop(senders.acquire().await);
            let taken = match claim(&db, senders.available_permits()).await {
                Ok(taken) => taken,
                Err(err) => {
                    err.log();
                    Vec::new()
                }
            };
            if taken.is_empty() {
                tokio::time::sleep(POLL).await;
                continue;
            }
            for delivery in taken {
                let permit = senders.clone().acquire_owned().await.expect("the semaphore is never closed");
                let db = db.clone();
                tokio::spawn(async move {
                    let outcome = attempt(&delivery, allow_private).await;
                    if let Err(err) = record(&db, &delivery, outcome, retry_base).await {
                        err.log();
                    }
                    drop(permit);
                });
            }
        }
    });
}

/// Takes up to `limit` due deliveries of active webhooks, counting the attempt and
/// leasing them. `paused` keeps an inactive webhook's queue out of the index scanned; the
/// webhook's own `active` decides.
async fn claim(db: &PgPool, limit: usize) -> Result<Vec<Claimed>> {
    Ok(sqlx::query_as(
        "WITH due AS (SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                      WHERE d.state = 'pending' AND NOT d.paused AND d.next_attempt_at <= now() AND w.active
                      ORDER BY d.next_attempt_at LIMIT $1 FOR UPDATE OF d SKIP LOCKED)
         UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = now() + $2::interval,
             leased_until = now() + $2::interval
         FROM due, webhooks w WHERE d.id = due.id AND w.id = d.webhook_id
         RETURNING d.id, d.payload::text AS body, d.attempts, w.url, w.secret",
    )
    .bind(limit as i64)
    .bind(LEASE)
    .fetch_all(db)
    .await?)
}

/// One attempt: the address checked again and connected to as checked, the body signed.
async fn attempt(delivery: &Claimed, allow_private: bool) -> Outcome {
    let failed = |error: String| Outcome { status: None, error: Some(error) };
    let target = match guard::check(&delivery.url, allow_private).await {
        Ok(target) => target,
        Err(err) => return failed(err.to_string()),
    };
    // The name is pinned to the address just checked: a second lookup (DNS rebinding)
    // cannot send the request elsewhere, nor can a proxy from the environment, which would
    // resolve the name itself.
    let mut client = reqwest::Client::builder().timeout(TIMEOUT).redirect(reqwest::redirect::Policy::none()).no_proxy();
    if let Some(domain) = &target.domain {
        client = client.resolve(domain, target.addr);
    }
    let client = match client.build() {
        Ok(client) => client,
        Err(err) => return failed(format!("cannot make an HTTP client: {err}")),
    };
    let timestamp = chrono::Utc::now().timestamp();
    let response = client
        .post(target.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::USER_AGENT, "Charter-Webhooks")
        .header("webhook-id", delivery.id.to_string())
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature(&delivery.secret, &delivery.id.to_string(), timestamp, &delivery.body))
        .body(delivery.body.clone())
        .send()
        .await;
    let mut response = match response {
        Ok(response) => response,
        Err(err) => return failed(format!("cannot deliver: {}", innermost(&err))),
    };
    let status = response.status();
    if status.is_success() {
        return Outcome { status: Some(status.as_u16()), error: None };
    }
    // Only the start of the answer is read, and only to say why.
    let mut answer = Vec::new();
    while answer.len() < MAX_ANSWER {
        match response.chunk().await {
            Ok(Some(chunk)) => answer.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let answer = String::from_utf8_lossy(&answer[..answer.len().min(MAX_ANSWER)]).trim().to_owned();
    let error = match answer.is_empty() {
        true => format!("answered {status}"),
        false => format!("answered {status}: {answer}"),
    };
    Outcome { status: Some(status.as_u16()), error: Some(error) }
}

/// `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` under the key.
fn signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

/// What lies at the bottom of a reqwest error (its outer words repeat the address,
/// which may carry a token).
fn innermost(err: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = err;
    while let Some(inner) = source.source() {
        source = inner;
    }
    match source.to_string() {
        words if err.is_timeout() => format!("timed out ({words})"),
        words => words,
    }
}

/// Stores how the attempt ended: delivered, due again after the next wait, or failed.
async fn record(db: &PgPool, delivery: &Claimed, outcome: Outcome, retry_base: Duration) -> Result<()> {
    let error: Option<String> =
        outcome.error.map(|error| error.replace('\0', "\u{fffd}").chars().take(MAX_ERROR).collect());
    // Attempts are counted from 1: the first failure waits the first step.
    let wait = BACKOFF.get(delivery.attempts as usize - 1).map(|factor| retry_base * *factor);
    let (state, wait) = match (&error, wait) {
        (None, _) => ("delivered", None),
        (Some(_), Some(wait)) => ("pending", Some(wait)),
        (Some(_), None) => ("failed", None),
    };
    if let Some(error) = &error {
        tracing::info!(delivery = %delivery.id, attempts = delivery.attempts, state, %error, "a webhook delivery failed");
    }
    // Unless another claim took it since (this one's lease ran out): that one's outcome counts.
    sqlx::query(
        "UPDATE webhook_deliveries SET state = $2, last_status = $3, last_error = $4,
             next_attempt_at = CASE WHEN $5::interval IS NULL THEN next_attempt_at ELSE now() + $5::interval END,
             leased_until = NULL, delivered_at = CASE WHEN $2 = 'delivered' THEN now() END
         WHERE id = $1 AND state = 'pending' AND attempts = $6",
    )
    .bind(delivery.id)
    .bind(state)
    .bind(outcome.status.map(i32::from))
    .bind(&error)
    .bind(wait)
    .bind(delivery.attempts)
    .execute(db)
    .await?;
    Ok(())
}

async fn prune(db: &PgPool) -> Result<()> {
    sqlx::query("DELETE FROM webhook_deliveries WHERE state <> 'pending' AND created_at < now() - $1::interval")
        .bind(FORGET_AFTER)
        .execute(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example in the Standard Webhooks specification.
    #[test]
    fn a_webhook_signature_matches_the_specification_example() {
        let key = BASE64.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signed = signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, r#"{"test": 2432232314}"#);
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
