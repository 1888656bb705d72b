//! Prometheus Alertmanager's webhook (`webhook_config`, payload version "4"): one signal
//! per alert of the notified group, keyed by the alert's fingerprint. Grafana's alerting
//! webhook has the same alerts and is read here too.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{body_digest, check_count, echo, key, parse_json, required, source, text, time, HookError, Tool};
use crate::incidents::signal::{Delivery, Severity, Signal, Source, Status};

/// The payload version this reader knows.
const VERSION: &str = "4";
/// Alertmanager's zero time: an alert that has not ended.
const NEVER: &str = "0001-01-01T00:00:00Z";

#[derive(Deserialize)]
pub(super) struct Payload {
    version: Option<String>,
    alerts: Option<Vec<Alert>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Alert {
    status: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    #[serde(rename = "generatorURL")]
    generator_url: Option<String>,
    fingerprint: Option<String>,
    // Grafana's additions; Alertmanager never sends them.
    #[serde(rename = "panelURL")]
    panel_url: Option<String>,
    #[serde(rename = "dashboardURL")]
    dashboard_url: Option<String>,
}

pub(super) fn receive(body: &[u8]) -> Result<Delivery, HookError> {
    let signals = signals(parse_json(body)?, Tool::Alertmanager, VERSION)?;
    Ok(Delivery { id: body_digest(body), signals })
}

/// The alerts of a payload in `version`, as signals of `tool`.
pub(super) fn signals(payload: Payload, tool: Tool, version: &str) -> Result<Vec<Signal>, HookError> {
    let sent = text(payload.version, "version")?;
    if sent != version {
        return Err(HookError::Unprocessable(format!(
            "version must be \"{version}\" (the {} webhook format this endpoint reads), not {}",
            tool.as_str(),
            echo(&sent)
        )));
    }
    let alerts = required(payload.alerts, "alerts")?;
    check_count(alerts.len())?;
    let source = source(tool);
    alerts.into_iter().enumerate().map(|(index, alert)| signal(alert, &source, &format!("alerts[{index}]"))).collect()
}

fn signal(alert: Alert, source: &Source, path: &str) -> Result<Signal, HookError> {
    let key = key(alert.fingerprint, &format!("{path}.fingerprint"))?;
    let status = match text(alert.status, &format!("{path}.status"))?.as_str() {
        "firing" => Status::Firing,
        "resolved" => Status::Resolved,
        other => {
            return Err(HookError::Unprocessable(format!(
                "{path}.status must be firing or resolved, not {}",
                echo(other)
            )))
        }
    };
    let started_at = time(alert.starts_at, &format!("{path}.startsAt"))?;
    let ended_at = match alert.ends_at.filter(|ends_at| ends_at != NEVER) {
        // A firing alert's endsAt is only when it would time out, not an end.
        Some(ends_at) if status == Status::Resolved => Some(time(Some(ends_at), &format!("{path}.endsAt"))?),
        _ => None,
    };
    let annotation = |name: &str| alert.annotations.get(name).filter(|text| !text.trim().is_empty()).cloned();
    let summary = annotation("summary");
    let title = match summary.clone().or_else(|| alert.labels.get("alertname").cloned()) {
        Some(title) => title,
        None => return Err(HookError::Unprocessable(format!("{path}.labels.alertname is required"))),
    };
    let description = annotation("description").or(summary).unwrap_or_default();
    let label = |name: &str| alert.labels.get(name).filter(|text| !text.trim().is_empty()).cloned();
    let service = label("service").or_else(|| label("job")).or_else(|| label("namespace")).unwrap_or_default();
    let severity = severity(alert.labels.get("severity").map(String::as_str));
    let url = [alert.generator_url, alert.panel_url, alert.dashboard_url]
        .into_iter()
        .flatten()
        .find(|url| url.starts_with("http://") || url.starts_with("https://"));
    Ok(Signal {
        external_id: None,
        source: source.clone(),
        key,
        title,
        description,
        severity,
        service,
        status,
        started_at,
        ended_at,
        labels: alert.labels,
        url,
    }
    .bounded())
}

/// The words alerting rules use for `severity`; none or another word is medium.
fn severity(label: Option<&str>) -> Severity {
    match label.map(|text| text.trim().to_ascii_lowercase()).as_deref() {
        Some("critical" | "page") => Severity::Critical,
        Some("high" | "error" | "major") => Severity::High,
        Some("low" | "minor") => Severity::Low,
        Some("info" | "none") => Severity::Info,
        _ => Severity::Medium,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::hooks::tests::at;

    const GROUP: &str = r#"{
      "version": "4",
      "groupKey": "{}:{alertname=\"HighErrorRate\"}",
      "truncatedAlerts": 0,
      "status": "firing",
      "receiver": "charter",
      "groupLabels": {"alertname": "HighErrorRate"},
      "commonLabels": {"alertname": "HighErrorRate", "job": "checkout"},
      "commonAnnotations": {},
      "externalURL": "http://alertmanager.internal:9093",
      "alerts": [
        {
          "status": "firing",
          "labels": {"alertname": "HighErrorRate", "job": "checkout", "instance": "10.1.2.3:8080", "severity": "page"},
          "annotations": {"summary": "5xx above 5% on checkout", "description": "Error ratio is 7.2% over 10m."},
          "startsAt": "2024-05-01T10:00:00.123456789+02:00",
          "endsAt": "2024-05-01T08:20:00Z",
          "generatorURL": "http://prometheus.internal:9090/graph?g0.expr=rate",
          "fingerprint": "5f1a2b3c4d5e6f70"
        },
        {
          "status": "resolved",
          "labels": {"alertname": "HighErrorRate", "job": "checkout", "instance": "10.1.2.4:8080"},
          "annotations": {},
          "startsAt": "2024-05-01T07:55:00Z",
          "endsAt": "2024-05-01T08:05:00Z",
          "generatorURL": "",
          "fingerprint": "0a1b2c3d4e5f6071"
        }
      ]
    }"#;

    #[test]
    fn a_group_with_firing_and_resolved_alerts() {
        let delivery = receive(GROUP.as_bytes()).unwrap();
        assert_eq!(delivery.id, body_digest(GROUP.as_bytes()));
        let [firing, resolved] = delivery.signals.as_slice() else { panic!("{:?}", delivery.signals) };

        assert_eq!(firing.source.as_str(), "alertmanager");
        assert_eq!(firing.key, "5f1a2b3c4d5e6f70");
        assert_eq!(firing.title, "5xx above 5% on checkout");
        assert_eq!(firing.description, "Error ratio is 7.2% over 10m.");
        assert_eq!(firing.severity, Severity::Critical);
        assert_eq!(firing.service, "checkout");
        assert_eq!(firing.status, Status::Firing);
        assert_eq!(firing.started_at, at("2024-05-01T08:00:00.123456789Z"));
        assert_eq!(firing.ended_at, None);
        assert_eq!(firing.labels.get("instance").map(String::as_str), Some("10.1.2.3:8080"));
        assert_eq!(firing.url.as_deref(), Some("http://prometheus.internal:9090/graph?g0.expr=rate"));

        assert_eq!(resolved.key, "0a1b2c3d4e5f6071");
        assert_eq!(resolved.title, "HighErrorRate");
        assert_eq!(resolved.description, "");
        assert_eq!(resolved.severity, Severity::Medium);
        assert_eq!(resolved.status, Status::Resolved);
        assert_eq!(resolved.ended_at, Some(at("2024-05-01T08:05:00Z")));
        assert_eq!(resolved.url, None);
    }

    #[test]
    fn service_and_severity_fall_back() {
        let alert = |labels: &str| {
            format!(
                r#"{{"version":"4","alerts":[{{"status":"firing","labels":{labels},"startsAt":"2024-05-01T08:00:00Z",
                "endsAt":"0001-01-01T00:00:00Z","fingerprint":"f"}}]}}"#
            )
        };
        let one = |labels: &str| receive(alert(labels).as_bytes()).unwrap().signals.remove(0);
        let named = one(r#"{"alertname":"A","service":"payments","job":"j","namespace":"n","severity":"warning"}"#);
        assert_eq!((named.service.as_str(), named.severity), ("payments", Severity::Medium));
        let namespaced = one(r#"{"alertname":"A","namespace":"shop","severity":"Minor"}"#);
        assert_eq!((namespaced.service.as_str(), namespaced.severity), ("shop", Severity::Low));
        let bare = one(r#"{"alertname":"A","severity":"whatever"}"#);
        assert_eq!((bare.service.as_str(), bare.severity), ("unknown", Severity::Medium));
        assert_eq!(one(r#"{"alertname":"A","severity":"error"}"#).severity, Severity::High);
        assert_eq!(one(r#"{"alertname":"A","severity":"none"}"#).severity, Severity::Info);
    }

    #[test]
    fn missing_and_bad_fields_are_named() {
        let without_fingerprint = GROUP.replace(r#""fingerprint": "0a1b2c3d4e5f6071""#, r#""fingerprint": """#);
        assert_eq!(
            receive(without_fingerprint.as_bytes()).unwrap_err(),
            HookError::Unprocessable("alerts[1].fingerprint is required".into())
        );
        let bad_time = GROUP.replace("2024-05-01T07:55:00Z", "May 1st");
        assert_eq!(
            receive(bad_time.as_bytes()).unwrap_err(),
            HookError::Unprocessable("alerts[1].startsAt is not an RFC 3339 time: \"May 1st\"".into())
        );
        let bad_status = GROUP.replace(r#""status": "resolved""#, r#""status": "pending""#);
        assert_eq!(
            receive(bad_status.as_bytes()).unwrap_err(),
            HookError::Unprocessable("alerts[1].status must be firing or resolved, not \"pending\"".into())
        );
        let old = GROUP.replace(r#""version": "4""#, r#""version": "3""#);
        assert_eq!(
            receive(old.as_bytes()).unwrap_err(),
            HookError::Unprocessable(
                "version must be \"4\" (the alertmanager webhook format this endpoint reads), not \"3\"".into()
            )
        );
        assert_eq!(receive(br#"{"version":"4"}"#).unwrap_err(), HookError::Unprocessable("alerts is required".into()));
        assert!(matches!(receive(b"<html>"), Err(HookError::Malformed(_))));
    }

    #[test]
    fn too_many_alerts() {
        let alert =
            r#"{"status":"firing","labels":{"alertname":"A"},"startsAt":"2024-05-01T08:00:00Z","fingerprint":"f"}"#;
        let body = format!(r#"{{"version":"4","alerts":[{}]}}"#, vec![alert; 1_001].join(","));
        assert_eq!(
            receive(body.as_bytes()).unwrap_err(),
            HookError::Unprocessable("a delivery may carry at most 1000 signals; this one has 1001".into())
        );
        let body = format!(r#"{{"version":"4","alerts":[{}]}}"#, vec![alert; 1_000].join(","));
        assert_eq!(receive(body.as_bytes()).unwrap().signals.len(), 1_000);
    }
}
