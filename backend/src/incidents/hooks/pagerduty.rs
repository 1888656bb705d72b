//! PagerDuty's V3 webhooks: one event per delivery; the incident lifecycle events become a
//! signal keyed by the incident's id. PagerDuty signs the raw body with each of the
//! subscription's secrets (`v1=<hex>`, comma-separated, so a secret can be rotated).

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use serde::Deserialize;

use super::signature::{header, verify_hex};
use super::{key, parse_json, required, source, text, time, HookError, Id, Tool};
use crate::incidents::signal::{Delivery, DeliveryId, Severity, Signal, Status};

const SIGNATURE_HEADER: &str = "X-PagerDuty-Signature";
/// Acknowledging, escalating, re-prioritising are people at work on it, not the
/// service failing again: those events record nothing.
const FIRING: [&str; 2] = ["incident.triggered", "incident.reopened"];
const RESOLVED: &str = "incident.resolved";

pub(super) fn verify(headers: &HeaderMap, body: &[u8], secret: &[u8]) -> Result<(), HookError> {
    let signatures = header(headers, SIGNATURE_HEADER)?;
    let mut v1 = signatures.split(',').filter_map(|entry| entry.trim().strip_prefix("v1=")).peekable();
    if v1.peek().is_none() {
        return Err(HookError::Signature(format!("the {SIGNATURE_HEADER} header has no v1= signature")));
    }
    verify_hex(secret, &[body], v1)
}

#[derive(Deserialize)]
struct Hook {
    event: Option<Event>,
}

#[derive(Deserialize)]
struct Event {
    id: Option<String>,
    event_type: Option<String>,
    occurred_at: Option<String>,
    /// Its shape depends on the event type, so it is read only for the types handled.
    data: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Incident {
    id: Option<String>,
    html_url: Option<String>,
    number: Option<Id>,
    status: Option<String>,
    incident_key: Option<String>,
    created_at: Option<String>,
    title: Option<String>,
    service: Option<Reference>,
    urgency: Option<String>,
    priority: Option<Reference>,
}

#[derive(Deserialize)]
struct Reference {
    id: Option<String>,
    summary: Option<String>,
}

pub(super) fn receive(body: &[u8]) -> Result<Delivery, HookError> {
    let hook: Hook = parse_json(body)?;
    let event = required(hook.event, "event")?;
    let id = DeliveryId::Sent(key(event.id, "event.id")?);
    let event_type = text(event.event_type, "event.event_type")?;
    let status = match event_type.as_str() {
        RESOLVED => Status::Resolved,
        handled if FIRING.contains(&handled) => Status::Firing,
        // Pings, notes, service changes ...: accepted, nothing to record.
        _ => return Ok(Delivery { id, signals: Vec::new() }),
    };
    let data = required(event.data, "event.data")?;
    let incident: Incident = serde_json::from_value(data)
        .map_err(|err| HookError::Unprocessable(format!("event.data is not an incident: {err}")))?;
    let ended_at = match status {
        Status::Resolved => Some(time(event.occurred_at, "event.occurred_at")?),
        Status::Firing => None,
    };
    let priority = incident.priority.and_then(|priority| priority.summary);
    let severity = severity(priority.as_deref(), incident.urgency.as_deref());
    let (service, service_id) = incident.service.map(|service| (service.summary, service.id)).unwrap_or_default();
    let labels: BTreeMap<String, String> = [
        ("event_type", Some(event_type)),
        ("number", incident.number.map(Id::into_string)),
        ("status", incident.status),
        ("urgency", incident.urgency),
        ("priority", priority),
        ("incident_key", incident.incident_key),
        ("service_id", service_id),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name.to_owned(), value?)))
    .collect();
    let signal = Signal {
        external_id: None,
        source: source(Tool::Pagerduty),
        key: key(incident.id, "event.data.id")?,
        title: text(incident.title, "event.data.title")?,
        description: String::new(),
        severity,
        service: service.unwrap_or_default(),
        status,
        started_at: time(incident.created_at, "event.data.created_at")?,
        ended_at,
        labels,
        url: incident.html_url,
    };
    Ok(Delivery { id, signals: vec![signal.bounded()] })
}

/// The priority names PagerDuty ships (P1 to P5) first; without one, the urgency.
fn severity(priority: Option<&str>, urgency: Option<&str>) -> Severity {
    match (priority.map(str::trim), urgency) {
        (Some("P1"), _) => Severity::Critical,
        (Some("P2"), _) => Severity::High,
        (Some("P3"), _) => Severity::Medium,
        (Some("P4"), _) => Severity::Low,
        (Some("P5"), _) => Severity::Info,
        (_, Some("high")) => Severity::High,
        (_, Some("low")) => Severity::Low,
        _ => Severity::Medium,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::hooks::receive as receive_hook;
    use crate::incidents::hooks::signature::{tests::sign, MISMATCH};
    use crate::incidents::hooks::tests::at;

    const SECRET: &[u8] = b"pd-webhook-secret-new";
    const OLD_SECRET: &[u8] = b"pd-webhook-secret-old";

    const TRIGGERED: &str = r#"{"event":{"id":"01DEN4HPBQAAAG05V5QQYBRZMF","event_type":"incident.triggered",
      "resource_type":"incident","occurred_at":"2024-05-01T08:00:05.000Z",
      "agent":{"html_url":"https://acme.pagerduty.com/services/PF9KMXH","id":"PF9KMXH","summary":"Checkout API",
      "type":"service_reference"},"client":null,
      "data":{"id":"Q2GVJ5Q0VQ8KCA","type":"incident","self":"https://api.pagerduty.com/incidents/Q2GVJ5Q0VQ8KCA",
      "html_url":"https://acme.pagerduty.com/incidents/Q2GVJ5Q0VQ8KCA","number":1432,"status":"triggered",
      "incident_key":"a1b2c3d4e5f60718293a4b5c6d7e8f90","created_at":"2024-05-01T08:00:04Z",
      "title":"Checkout latency p99 above 2s",
      "service":{"html_url":"https://acme.pagerduty.com/services/PF9KMXH","id":"PF9KMXH","summary":"Checkout API",
      "type":"service_reference"},"assignees":[],"escalation_policy":{"id":"PUS0KTE","summary":"Default"},
      "teams":[],"priority":{"id":"PSO75BM","summary":"P2","type":"priority_reference"},"urgency":"high",
      "conference_bridge":null,"resolve_reason":null}}}"#;

    fn now() -> chrono::DateTime<chrono::Utc> {
        at("2024-05-01T08:01:00Z")
    }

    fn signed(value: String) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-pagerduty-signature", value.parse().unwrap());
        headers
    }

    fn deliver(headers: &HeaderMap, body: &str) -> Result<Delivery, HookError> {
        receive_hook(Tool::Pagerduty, headers, body.as_bytes(), Some(SECRET), now())
    }

    #[test]
    fn incident_triggered() {
        let headers = signed(format!("v1={}", sign(SECRET, TRIGGERED.as_bytes())));
        let delivery = deliver(&headers, TRIGGERED).unwrap();
        assert_eq!(delivery.id, DeliveryId::Sent("01DEN4HPBQAAAG05V5QQYBRZMF".into()));
        let [signal] = delivery.signals.as_slice() else { panic!("{:?}", delivery.signals) };
        assert_eq!(signal.source.as_str(), "pagerduty");
        assert_eq!(signal.key, "Q2GVJ5Q0VQ8KCA");
        assert_eq!(signal.title, "Checkout latency p99 above 2s");
        assert_eq!(signal.severity, Severity::High);
        assert_eq!(signal.service, "Checkout API");
        assert_eq!(signal.status, Status::Firing);
        assert_eq!(signal.started_at, at("2024-05-01T08:00:04Z"));
        assert_eq!(signal.ended_at, None);
        assert_eq!(signal.url.as_deref(), Some("https://acme.pagerduty.com/incidents/Q2GVJ5Q0VQ8KCA"));
        let labels: Vec<_> = signal.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            labels,
            [
                ("event_type", "incident.triggered"),
                ("incident_key", "a1b2c3d4e5f60718293a4b5c6d7e8f90"),
                ("number", "1432"),
                ("priority", "P2"),
                ("service_id", "PF9KMXH"),
                ("status", "triggered"),
                ("urgency", "high"),
            ]
        );
    }

    #[test]
    fn incident_resolved_ends_when_it_occurred() {
        let body = TRIGGERED.replace("incident.triggered", "incident.resolved").replace(r#""P2""#, r#""P5""#);
        let headers = signed(format!("v1={}", sign(SECRET, body.as_bytes())));
        let signal = deliver(&headers, &body).unwrap().signals.remove(0);
        assert_eq!(signal.status, Status::Resolved);
        assert_eq!(signal.ended_at, Some(at("2024-05-01T08:00:05Z")));
        assert_eq!(signal.severity, Severity::Info);
    }

    #[test]
    fn rotated_secret_second_signature_matches() {
        let headers =
            signed(format!("v1={},v1={}", sign(OLD_SECRET, TRIGGERED.as_bytes()), sign(SECRET, TRIGGERED.as_bytes())));
        assert_eq!(deliver(&headers, TRIGGERED).unwrap().signals.len(), 1);
    }

    #[test]
    fn bad_signatures() {
        let old_only = signed(format!("v1={}", sign(OLD_SECRET, TRIGGERED.as_bytes())));
        assert_eq!(deliver(&old_only, TRIGGERED), Err(HookError::Signature(MISMATCH.into())));
        let unversioned = signed(sign(SECRET, TRIGGERED.as_bytes()));
        assert_eq!(
            deliver(&unversioned, TRIGGERED),
            Err(HookError::Signature("the X-PagerDuty-Signature header has no v1= signature".into()))
        );
        assert_eq!(
            deliver(&signed("v1=nothex".into()), TRIGGERED),
            Err(HookError::Signature("signature is not hex".into()))
        );
        assert_eq!(
            deliver(&HeaderMap::new(), TRIGGERED),
            Err(HookError::Signature("missing X-PagerDuty-Signature header".into()))
        );
    }

    #[test]
    fn other_events_carry_nothing() {
        let ping = r#"{"event":{"id":"01DFR7C4ZT3T6MGSZYEG3MFW9T","event_type":"pagey.ping","resource_type":"pagey",
          "occurred_at":"2024-05-01T08:00:00.000Z","agent":null,"client":null,"data":{"message":"Hello from your friend Pagey!","type":"ping"}}}"#;
        let headers = signed(format!("v1={}", sign(SECRET, ping.as_bytes())));
        assert_eq!(
            deliver(&headers, ping).unwrap(),
            Delivery { id: DeliveryId::Sent("01DFR7C4ZT3T6MGSZYEG3MFW9T".into()), signals: vec![] }
        );
        for other in ["incident.annotated", "incident.acknowledged", "incident.escalated", "incident.priority_updated"]
        {
            let event = TRIGGERED.replace("incident.triggered", other);
            assert_eq!(receive(event.as_bytes()).unwrap().signals, vec![], "{other}");
        }
    }

    #[test]
    fn severity_falls_back_to_urgency() {
        assert_eq!(severity(Some("P1"), Some("low")), Severity::Critical);
        assert_eq!(severity(Some("P4"), None), Severity::Low);
        assert_eq!(severity(Some("SEV-1"), Some("low")), Severity::Low);
        assert_eq!(severity(None, Some("high")), Severity::High);
        assert_eq!(severity(None, None), Severity::Medium);
    }

    #[test]
    fn missing_fields_are_named() {
        let body = TRIGGERED.replace(r#""title":"Checkout latency p99 above 2s","#, "");
        assert_eq!(receive(body.as_bytes()), Err(HookError::Unprocessable("event.data.title is required".into())));
        let body = TRIGGERED.replace(r#""id":"01DEN4HPBQAAAG05V5QQYBRZMF","#, "");
        assert_eq!(receive(body.as_bytes()), Err(HookError::Unprocessable("event.id is required".into())));
        let body = TRIGGERED.replace(r#""created_at":"2024-05-01T08:00:04Z""#, r#""created_at":"1714550404""#);
        assert_eq!(
            receive(body.as_bytes()),
            Err(HookError::Unprocessable("event.data.created_at is not an RFC 3339 time: \"1714550404\"".into()))
        );
        assert!(matches!(receive(b"{\"event\": {\"data\": [1, 2}}"), Err(HookError::Malformed(_))));
    }
}
