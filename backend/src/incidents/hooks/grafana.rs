//! Grafana alerting's webhook contact point (payload version "1"): Alertmanager's alerts
//! plus Grafana's fields, signed with the contact point's HMAC secret.
//!
//! Grafana signs the raw body, hex HMAC-SHA256 in `X-Grafana-Alerting-Signature` (the
//! default name). When the contact point names a timestamp header, Grafana puts the unix
//! time in it and signs `timestamp + ":" + body` instead. That header has no default
//! name, so Charter asks for `TIMESTAMP_HEADER`, and enforces the replay window with it.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};

use super::signature::{self, header, optional_header, verify_hex};
use super::{alertmanager, body_digest, parse_json, HookError, Tool};
use crate::incidents::signal::Delivery;

pub const SIGNATURE_HEADER: &str = "X-Grafana-Alerting-Signature";
/// The name a contact point must give its timestamp header for Charter to read it.
const TIMESTAMP_HEADER: &str = "X-Grafana-Alerting-Timestamp";
const VERSION: &str = "1";

pub(super) fn verify(headers: &HeaderMap, body: &[u8], secret: &[u8], now: DateTime<Utc>) -> Result<(), HookError> {
    let sent = header(headers, SIGNATURE_HEADER)?;
    match optional_header(headers, TIMESTAMP_HEADER)? {
        Some(timestamp) => {
            verify_hex(secret, &[timestamp.as_bytes(), b":", body], [sent])?;
            signature::check_fresh(timestamp, TIMESTAMP_HEADER, now)
        }
        None => verify_hex(secret, &[body], [sent]).map_err(|err| match err {
            HookError::Signature(reason) if reason == signature::MISMATCH => HookError::Signature(format!(
                "{reason} (a contact point that sends a timestamp header must name it {TIMESTAMP_HEADER})"
            )),
            other => other,
        }),
    }
}

pub(super) fn receive(body: &[u8]) -> Result<Delivery, HookError> {
    let signals = alertmanager::signals(parse_json(body)?, Tool::Grafana, VERSION)?;
    Ok(Delivery { id: body_digest(body), signals })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::hooks::receive as receive_hook;
    use crate::incidents::hooks::signature::tests::sign;
    use crate::incidents::hooks::tests::at;
    use crate::incidents::signal::{Severity, Status};

    const SECRET: &[u8] = b"grafana-contact-point-secret";

    const BODY: &str = r#"{
      "receiver": "charter",
      "status": "firing",
      "orgId": 1,
      "alerts": [
        {
          "status": "firing",
          "labels": {"alertname": "Disk almost full", "grafana_folder": "Infra", "namespace": "storage", "severity": "critical"},
          "annotations": {"summary": "Disk /data on db-1 is 93% full"},
          "startsAt": "2024-05-01T08:00:00Z",
          "endsAt": "0001-01-01T00:00:00Z",
          "generatorURL": "https://grafana.example.com/alerting/grafana/aa1/view?orgId=1",
          "fingerprint": "c6eadffa33fcdf37",
          "silenceURL": "https://grafana.example.com/alerting/silence/new",
          "dashboardURL": "https://grafana.example.com/d/disk",
          "panelURL": "https://grafana.example.com/d/disk?viewPanel=2",
          "values": {"B": 93.2, "C": 1},
          "valueString": "[ var='B' value=93.2 ]"
        },
        {
          "status": "resolved",
          "labels": {"alertname": "Disk almost full", "namespace": "storage", "instance": "db-2"},
          "annotations": {},
          "startsAt": "2024-05-01T07:00:00Z",
          "endsAt": "2024-05-01T07:40:00Z",
          "generatorURL": "",
          "fingerprint": "bc97ff14869b13e3",
          "silenceURL": "",
          "dashboardURL": "",
          "panelURL": "https://grafana.example.com/d/disk?viewPanel=3",
          "values": null
        }
      ],
      "groupLabels": {"alertname": "Disk almost full"},
      "commonLabels": {"alertname": "Disk almost full", "namespace": "storage"},
      "commonAnnotations": {},
      "externalURL": "https://grafana.example.com/",
      "version": "1",
      "groupKey": "{}/{}:{alertname=\"Disk almost full\"}",
      "truncatedAlerts": 0,
      "title": "[FIRING:1, RESOLVED:1] Disk almost full",
      "state": "alerting",
      "message": "**Firing**\n\nValue: B=93.2"
    }"#;

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().unwrap());
        }
        headers
    }

    fn now() -> DateTime<Utc> {
        at("2024-05-01T08:01:00Z")
    }

    #[test]
    fn signed_body_is_read_like_alertmanager() {
        let signed = headers(&[(SIGNATURE_HEADER, sign(SECRET, BODY.as_bytes()))]);
        let delivery = receive_hook(Tool::Grafana, &signed, BODY.as_bytes(), Some(SECRET), now()).unwrap();
        assert_eq!(delivery.id, body_digest(BODY.as_bytes()));
        let [firing, resolved] = delivery.signals.as_slice() else { panic!("{:?}", delivery.signals) };
        assert_eq!(firing.source.as_str(), "grafana");
        assert_eq!(firing.key, "c6eadffa33fcdf37");
        assert_eq!(firing.title, "Disk /data on db-1 is 93% full");
        assert_eq!(firing.severity, Severity::Critical);
        assert_eq!(firing.service, "storage");
        assert_eq!(firing.url.as_deref(), Some("https://grafana.example.com/alerting/grafana/aa1/view?orgId=1"));
        assert_eq!(firing.labels.get("grafana_folder").map(String::as_str), Some("Infra"));
        assert_eq!((resolved.status, resolved.ended_at), (Status::Resolved, Some(at("2024-05-01T07:40:00Z"))));
        // Without a generator URL the panel is the next best place to look.
        assert_eq!(resolved.url.as_deref(), Some("https://grafana.example.com/d/disk?viewPanel=3"));
    }

    #[test]
    fn timestamped_signature_covers_timestamp_and_body() {
        let timestamp = now().timestamp().to_string();
        let message = format!("{timestamp}:{BODY}");
        let signed = headers(&[(SIGNATURE_HEADER, sign(SECRET, message.as_bytes())), (TIMESTAMP_HEADER, timestamp)]);
        let delivery = receive_hook(Tool::Grafana, &signed, BODY.as_bytes(), Some(SECRET), now()).unwrap();
        assert_eq!(delivery.signals.len(), 2);

        // The body alone, signed, does not pass once a timestamp is sent.
        let timestamp = now().timestamp().to_string();
        let body_only = headers(&[(SIGNATURE_HEADER, sign(SECRET, BODY.as_bytes())), (TIMESTAMP_HEADER, timestamp)]);
        assert!(matches!(verify(&body_only, BODY.as_bytes(), SECRET, now()), Err(HookError::Signature(_))));
    }

    #[test]
    fn stale_timestamp() {
        let timestamp = (now().timestamp() - 301).to_string();
        let message = format!("{timestamp}:{BODY}");
        let signed = headers(&[(SIGNATURE_HEADER, sign(SECRET, message.as_bytes())), (TIMESTAMP_HEADER, timestamp)]);
        assert_eq!(
            verify(&signed, BODY.as_bytes(), SECRET, now()),
            Err(HookError::Signature(
                "stale timestamp: X-Grafana-Alerting-Timestamp is 301 seconds from this server's clock (at most 300 allowed)"
                    .into()
            ))
        );
    }

    #[test]
    fn bad_and_missing_signatures() {
        let wrong = headers(&[(SIGNATURE_HEADER, sign(b"another secret", BODY.as_bytes()))]);
        let err = receive_hook(Tool::Grafana, &wrong, BODY.as_bytes(), Some(SECRET), now()).unwrap_err();
        assert!(matches!(&err, HookError::Signature(m) if m.contains("must name it X-Grafana-Alerting-Timestamp")));
        assert_eq!(
            receive_hook(Tool::Grafana, &HeaderMap::new(), BODY.as_bytes(), Some(SECRET), now()).unwrap_err(),
            HookError::Signature("missing X-Grafana-Alerting-Signature header".into())
        );
        let not_hex = headers(&[(SIGNATURE_HEADER, "sha256=abc".into())]);
        assert_eq!(
            verify(&not_hex, BODY.as_bytes(), SECRET, now()),
            Err(HookError::Signature("signature is not hex".into()))
        );
    }

    #[test]
    fn signature_is_checked_before_parsing() {
        let junk = b"this is not json";
        let unsigned = headers(&[(SIGNATURE_HEADER, "00".repeat(32))]);
        assert!(matches!(
            receive_hook(Tool::Grafana, &unsigned, junk, Some(SECRET), now()),
            Err(HookError::Signature(_))
        ));
        let signed = headers(&[(SIGNATURE_HEADER, sign(SECRET, junk))]);
        assert!(matches!(
            receive_hook(Tool::Grafana, &signed, junk, Some(SECRET), now()),
            Err(HookError::Malformed(_))
        ));
    }

    #[test]
    fn alertmanager_payloads_are_not_grafana_ones() {
        let body = BODY.replace(r#""version": "1""#, r#""version": "4""#);
        assert_eq!(
            receive(body.as_bytes()).unwrap_err(),
            HookError::Unprocessable(
                "version must be \"1\" (the grafana webhook format this endpoint reads), not \"4\"".into()
            )
        );
    }
}
