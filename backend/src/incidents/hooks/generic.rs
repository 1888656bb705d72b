//! The generic endpoint, for tools Charter has no adapter for: one signal in Charter's
//! own words. The route has already checked the sender's token.

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use serde::Deserialize;

use super::{echo, key, parse_json, sent_id, text, time, HookError, Tool};
use crate::incidents::signal::{Delivery, DeliveryId, Severity, Signal, Source, Status};

/// A sender's own id for the delivery, so a retry is known as one.
const ID_HEADER: &str = "Idempotency-Key";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    source: Option<String>,
    external_id: Option<String>,
    fingerprint: Option<String>,
    title: Option<String>,
    description: Option<String>,
    severity: Option<String>,
    service: Option<String>,
    status: Option<String>,
    started_at: Option<String>,
    ended_at: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    url: Option<String>,
}

/// Reads the generic endpoint's body: `source`, `external_id`, `title`, `severity`,
/// `status` and `started_at` are required; the key is `fingerprint` when given, else
/// `external_id`.
pub fn generic(headers: &HeaderMap, body: &[u8]) -> Result<Delivery, HookError> {
    let id = sent_id(headers, ID_HEADER)?.unwrap_or(DeliveryId::Unknown);
    let body: Body = parse_json(body)?;
    let source = Source::new(&text(body.source, "source")?).map_err(|err| HookError::Unprocessable(err.to_string()))?;
    if let Ok(tool) = source.as_str().parse::<Tool>() {
        return Err(HookError::Unprocessable(format!(
            "source `{source}` is {tool}'s own: report its incidents through /hooks/{tool}, or name another source",
            tool = tool.as_str()
        )));
    }
    let external_id = key(body.external_id, "external_id")?;
    // A fingerprint groups reports with different ids into one incident.
    let (dedup_key, external_id) = match body.fingerprint {
        Some(fingerprint) => (key(Some(fingerprint), "fingerprint")?, Some(external_id)),
        None => (external_id, None),
    };
    let severity = text(body.severity, "severity")?;
    let severity = severity.parse::<Severity>().ok().ok_or_else(|| {
        HookError::Unprocessable(format!(
            "severity must be critical, high, medium, low or info, not {}",
            echo(&severity)
        ))
    })?;
    let status = text(body.status, "status")?;
    let status = status
        .parse::<Status>()
        .ok()
        .ok_or_else(|| HookError::Unprocessable(format!("status must be firing or resolved, not {}", echo(&status))))?;
    let started_at = time(body.started_at, "started_at")?;
    let ended_at = body.ended_at.map(|ended_at| time(Some(ended_at), "ended_at")).transpose()?;
    if ended_at.is_some_and(|ended_at| ended_at < started_at) {
        return Err(HookError::Unprocessable("ended_at is before started_at".into()));
    }
    let signal = Signal {
        source,
        key: dedup_key,
        external_id,
        title: text(body.title, "title")?,
        description: body.description.unwrap_or_default(),
        severity,
        service: body.service.unwrap_or_default(),
        status,
        started_at,
        ended_at,
        labels: body.labels,
        url: body.url,
    };
    Ok(Delivery { id, signals: vec![signal.bounded()] })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::hooks::tests::at;

    const BODY: &str = r#"{
      "source": "uptime-kuma",
      "external_id": "monitor-17-down-1714550400",
      "fingerprint": "monitor-17",
      "title": "shop.example.com is down",
      "description": "HTTP 503 from https://shop.example.com/health for 3 checks",
      "severity": "critical",
      "service": "shop-frontend",
      "status": "resolved",
      "started_at": "2024-05-01T08:00:00Z",
      "ended_at": "2024-05-01T08:12:30+00:00",
      "labels": {"monitor": "17", "region": "eu-west"},
      "url": "https://status.example.com/dashboard/17"
    }"#;

    #[test]
    fn reads_every_field() {
        let mut headers = HeaderMap::new();
        headers.insert("idempotency-key", "delivery-8f1c".parse().unwrap());
        let delivery = generic(&headers, BODY.as_bytes()).unwrap();
        assert_eq!(delivery.id, DeliveryId::Sent("delivery-8f1c".into()));
        let [signal] = delivery.signals.as_slice() else { panic!("{:?}", delivery.signals) };
        assert_eq!(signal.source.as_str(), "uptime-kuma");
        assert_eq!(signal.key, "monitor-17");
        assert_eq!(signal.title, "shop.example.com is down");
        assert_eq!(signal.description, "HTTP 503 from https://shop.example.com/health for 3 checks");
        assert_eq!(signal.severity, Severity::Critical);
        assert_eq!(signal.service, "shop-frontend");
        assert_eq!(signal.status, Status::Resolved);
        assert_eq!(signal.started_at, at("2024-05-01T08:00:00Z"));
        assert_eq!(signal.ended_at, Some(at("2024-05-01T08:12:30Z")));
        assert_eq!(signal.labels.get("region").map(String::as_str), Some("eu-west"));
        assert_eq!(signal.url.as_deref(), Some("https://status.example.com/dashboard/17"));
    }

    #[test]
    fn minimal_body_uses_external_id_and_has_no_delivery_id() {
        let body = r#"{"source":"cron","external_id":"nightly-backup","title":"Backup failed","severity":"high",
          "status":"firing","started_at":"2024-05-01T02:00:00Z","url":"file:///etc/passwd"}"#;
        let delivery = generic(&HeaderMap::new(), body.as_bytes()).unwrap();
        assert_eq!(delivery.id, DeliveryId::Unknown);
        let signal = &delivery.signals[0];
        assert_eq!((signal.key.as_str(), signal.service.as_str()), ("nightly-backup", "unknown"));
        assert_eq!((signal.description.as_str(), signal.url.as_deref(), signal.ended_at), ("", None, None));
    }

    #[test]
    fn bad_fields_are_named() {
        let cases = [
            (r#""source": "uptime-kuma","#, "", "source is required"),
            (r#""source": "uptime-kuma""#, r#""source": "Uptime Kuma""#, "source must be 1 to 64 characters"),
            (r#""external_id": "monitor-17-down-1714550400","#, "", "external_id is required"),
            (r#""title": "shop.example.com is down","#, r#""title": "","#, "title is required"),
            (r#""critical""#, r#""sev1""#, "severity must be critical, high, medium, low or info, not \"sev1\""),
            (r#""resolved""#, r#""open""#, "status must be firing or resolved, not \"open\""),
            ("2024-05-01T08:12:30+00:00", "2024-05-01T07:00:00Z", "ended_at is before started_at"),
            ("2024-05-01T08:00:00Z", "1714550400", "started_at is not an RFC 3339 time: \"1714550400\""),
        ];
        for (from, to, message) in cases {
            let body = BODY.replace(from, to);
            match generic(&HeaderMap::new(), body.as_bytes()) {
                Err(HookError::Unprocessable(got)) => assert!(got.starts_with(message), "{got:?} vs {message:?}"),
                other => panic!("{from:?}: {other:?}"),
            }
        }
        let typo = BODY.replace(r#""service""#, r#""servce""#);
        assert!(
            matches!(generic(&HeaderMap::new(), typo.as_bytes()), Err(HookError::Unprocessable(m)) if m.contains("servce"))
        );
        assert!(matches!(generic(&HeaderMap::new(), b"source=cron"), Err(HookError::Malformed(_))));
        let mut long_key = HeaderMap::new();
        long_key.insert("idempotency-key", "k".repeat(201).parse().unwrap());
        assert_eq!(
            generic(&long_key, BODY.as_bytes()),
            Err(HookError::Unprocessable("the Idempotency-Key header must be 1 to 200 characters of text".into()))
        );
    }
}
