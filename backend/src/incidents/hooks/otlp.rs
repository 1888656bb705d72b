//! OpenTelemetry logs over OTLP/HTTP in its JSON encoding (`ExportLogsServiceRequest`).
//! Only ERROR and FATAL records become signals, grouped by service and message template
//! (the body with its variable parts replaced), one signal per group per delivery: a
//! burst of one failure is one signal with a count, not thousands.

mod template;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use self::template::template;
use super::{body_digest, check_count, echo, parse_json, source, HookError, Id, Tool};
use crate::incidents::signal::{
    cut, Delivery, Severity, Signal, Status, MAX_DESCRIPTION, MAX_LABELS, MAX_LABEL_TEXT, MAX_SERVICE,
};

/// OTLP's SeverityNumber: 17 to 20 are ERROR, 21 to 24 FATAL.
const ERROR: i64 = 17;
const FATAL: i64 = 21;
const KEY_HEX_DIGITS: usize = 40;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Export {
    #[serde(default)]
    resource_logs: Vec<ResourceLogs>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceLogs {
    resource: Option<Resource>,
    #[serde(default)]
    scope_logs: Vec<ScopeLogs>,
}

#[derive(Deserialize)]
struct Resource {
    #[serde(default)]
    attributes: Vec<KeyValue>,
}

#[derive(Deserialize)]
struct KeyValue {
    key: Option<String>,
    value: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScopeLogs {
    #[serde(default)]
    log_records: Vec<LogRecord>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogRecord {
    /// 64-bit integers are strings in OTLP's JSON; numbers are accepted too.
    time_unix_nano: Option<Id>,
    observed_time_unix_nano: Option<Id>,
    severity_number: Option<i64>,
    severity_text: Option<String>,
    body: Option<Value>,
}

struct Group {
    service: String,
    template: String,
    first_body: String,
    started_at: DateTime<Utc>,
    count: usize,
    critical: bool,
    resource: BTreeMap<String, String>,
}

/// Records without a time are taken to have happened `now`.
pub(super) fn receive(body: &[u8], now: DateTime<Utc>) -> Result<Delivery, HookError> {
    let export: Export = parse_json(body)?;
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    for (r, resource_logs) in export.resource_logs.into_iter().enumerate() {
        let (service, attributes) =
            resource_logs.resource.map(|resource| resource_labels(resource.attributes)).unwrap_or_default();
        for (s, scope_logs) in resource_logs.scope_logs.into_iter().enumerate() {
            for (l, record) in scope_logs.log_records.into_iter().enumerate() {
                let level = level(record.severity_number, record.severity_text.as_deref());
                if level < ERROR {
                    continue;
                }
                let path = format!("resourceLogs[{r}].scopeLogs[{s}].logRecords[{l}]");
                let time = match nanos(record.time_unix_nano, &path, "timeUnixNano")? {
                    Some(time) => time,
                    None => nanos(record.observed_time_unix_nano, &path, "observedTimeUnixNano")?.unwrap_or(now),
                };
                let text = record.body.as_ref().map(any_text).unwrap_or_default();
                let template = template(&text);
                let slot = *index.entry((service.clone(), template.clone())).or_insert_with(|| {
                    groups.push(Group {
                        service: service.clone(),
                        template,
                        first_body: cut(&text, MAX_DESCRIPTION),
                        started_at: time,
                        count: 0,
                        critical: false,
                        resource: attributes.clone(),
                    });
                    groups.len() - 1
                });
                let group = &mut groups[slot];
                group.count += 1;
                group.started_at = group.started_at.min(time);
                group.critical |= level >= FATAL;
            }
        }
    }
    check_count(groups.len())?;
    Ok(Delivery { id: body_digest(body), signals: groups.into_iter().map(signal).collect() })
}

fn signal(group: Group) -> Signal {
    let digest = hex::encode(Sha256::digest(format!("{}\n{}", group.service, group.template)));
    let mut labels = group.resource;
    labels.insert("count".into(), group.count.to_string());
    Signal {
        external_id: None,
        source: source(Tool::Otlp),
        key: format!("otlp:{}", &digest[..KEY_HEX_DIGITS]),
        title: if group.template.is_empty() { "(empty log message)".into() } else { group.template },
        description: group.first_body,
        severity: if group.critical { Severity::Critical } else { Severity::High },
        service: group.service,
        status: Status::Firing,
        started_at: group.started_at,
        ended_at: None,
        labels,
        url: None,
    }
    .bounded()
}

/// A record's SeverityNumber; where a sender leaves it unset (0), its text's.
fn level(number: Option<i64>, text: Option<&str>) -> i64 {
    match (number, text.map(str::to_ascii_uppercase).as_deref()) {
        (Some(number), _) if number > 0 => number,
        (_, Some("FATAL" | "CRITICAL" | "ALERT" | "EMERGENCY" | "PANIC")) => FATAL,
        (_, Some("ERROR" | "ERR")) => ERROR,
        _ => 0,
    }
}

/// A time in nanoseconds since the epoch; 0 and absence mean unknown.
fn nanos(value: Option<Id>, path: &str, field: &str) -> Result<Option<DateTime<Utc>>, HookError> {
    let Some(value) = value else { return Ok(None) };
    let text = value.into_string();
    match text.parse::<i64>() {
        Ok(0) => Ok(None),
        Ok(nanos) if nanos > 0 => Ok(Some(DateTime::from_timestamp_nanos(nanos))),
        _ => Err(HookError::Unprocessable(format!("{path}.{field} is not a count of nanoseconds: {}", echo(&text)))),
    }
}

/// The resource's `service.name`, and its scalar attributes as labels: as many as fit
/// beside `count`, cut to size now, since every group of the resource holds a copy.
fn resource_labels(attributes: Vec<KeyValue>) -> (String, BTreeMap<String, String>) {
    let mut service = String::new();
    let mut labels = BTreeMap::new();
    for attribute in attributes {
        let (Some(name), Some(text)) = (attribute.key, attribute.value.as_ref().and_then(scalar)) else { continue };
        if name == "service.name" {
            service = cut(&text, MAX_SERVICE);
        }
        if name != "count" && labels.len() < MAX_LABELS - 1 {
            labels.insert(cut(&name, MAX_LABEL_TEXT), cut(&text, MAX_LABEL_TEXT));
        }
    }
    (service, labels)
}

/// An AnyValue's text when it is a string, number or boolean.
fn scalar(value: &Value) -> Option<String> {
    match value.as_object()?.iter().next()? {
        (kind, Value::String(text)) if kind == "stringValue" || kind == "intValue" => Some(text.clone()),
        (kind, Value::Number(number)) if kind == "intValue" || kind == "doubleValue" => Some(number.to_string()),
        (kind, Value::Bool(flag)) if kind == "boolValue" => Some(flag.to_string()),
        _ => None,
    }
}

/// A body as text: a scalar's text, anything else (maps, arrays) as compact JSON.
fn any_text(value: &Value) -> String {
    scalar(value).unwrap_or_else(|| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::hooks::tests::at;

    fn record(nanos: &str, severity: i64, body: &str) -> String {
        format!(
            r#"{{"timeUnixNano":"{nanos}","observedTimeUnixNano":"{nanos}","severityNumber":{severity},
            "severityText":"x","body":{{"stringValue":{}}},"traceId":"5b8efff798038103d269b633813fc60c",
            "spanId":"eee19b7ec3c1b174","attributes":[]}}"#,
            serde_json::to_string(body).unwrap()
        )
    }

    fn export(service: &str, records: &[String]) -> String {
        format!(
            r#"{{"resourceLogs":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"{service}"}}}},
            {{"key":"host.name","value":{{"stringValue":"web-3"}}}},{{"key":"process.pid","value":{{"intValue":"4242"}}}},
            {{"key":"tags","value":{{"arrayValue":{{"values":[]}}}}}}]}},
            "scopeLogs":[{{"scope":{{"name":"checkout.orders"}},"logRecords":[{}]}}]}}]}}"#,
            records.join(",")
        )
    }

    #[test]
    fn groups_records_by_template_and_ignores_info() {
        let body = export(
            "checkout",
            &[
                record("1714550402000000000", 17, "order 1234 failed: timeout after 30s"),
                record("1714550401000000000", 18, "order 98 failed: timeout after 31s"),
                record("1714550400000000000", 9, "order 5 created"),
                record("1714550403000000000", 21, "payment provider \"stripe-eu\" unreachable"),
            ],
        );
        let delivery = receive(body.as_bytes(), at("2024-05-01T08:05:00Z")).unwrap();
        assert_eq!(delivery.id, body_digest(body.as_bytes()));
        let [timeouts, payment] = delivery.signals.as_slice() else { panic!("{:?}", delivery.signals) };

        assert_eq!(timeouts.source.as_str(), "otlp");
        assert_eq!(timeouts.title, "order <num> failed: timeout after <num>s");
        assert_eq!(timeouts.description, "order 1234 failed: timeout after 30s");
        assert_eq!(timeouts.severity, Severity::High);
        assert_eq!(timeouts.service, "checkout");
        assert_eq!(timeouts.status, Status::Firing);
        assert_eq!(timeouts.started_at, at("2024-05-01T08:00:01Z"));
        let expected = hex::encode(Sha256::digest("checkout\norder <num> failed: timeout after <num>s"));
        assert_eq!(timeouts.key, format!("otlp:{}", &expected[..40]));
        let labels: Vec<_> = timeouts.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            labels,
            [("count", "2"), ("host.name", "web-3"), ("process.pid", "4242"), ("service.name", "checkout")]
        );

        assert_eq!(payment.title, "payment provider \"<str>\" unreachable");
        assert_eq!(payment.severity, Severity::Critical);
        assert_eq!(payment.labels.get("count").map(String::as_str), Some("1"));
    }

    #[test]
    fn many_resource_attributes_keep_the_count() {
        let attributes: Vec<_> = (0..200)
            .map(|i| format!(r#"{{"key":"a{i:03}","value":{{"stringValue":"{}"}}}}"#, "v".repeat(300)))
            .chain([r#"{"key":"service.name","value":{"stringValue":"late"}}"#.to_owned()])
            .collect();
        let body = format!(
            r#"{{"resourceLogs":[{{"resource":{{"attributes":[{}]}},"scopeLogs":[{{"logRecords":[{}]}}]}}]}}"#,
            attributes.join(","),
            record("1", 17, "boom")
        );
        let signal = receive(body.as_bytes(), at("2024-05-01T08:00:00Z")).unwrap().signals.remove(0);
        assert_eq!(signal.service, "late");
        assert_eq!(signal.labels.len(), MAX_LABELS);
        assert_eq!(signal.labels.get("count").map(String::as_str), Some("1"));
        assert_eq!(signal.labels.get("a062").map(String::len), Some(MAX_LABEL_TEXT));
    }

    #[test]
    fn times_fall_back_to_observed_then_now() {
        let now = at("2024-05-01T08:05:00Z");
        let observed = r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"0",
            "observedTimeUnixNano":1714550400000000000,"severityText":"ERROR","body":{"stringValue":"x"}}]}]}]}"#;
        let signal = receive(observed.as_bytes(), now).unwrap().signals.remove(0);
        assert_eq!((signal.started_at, signal.service.as_str()), (at("2024-05-01T08:00:00Z"), "unknown"));
        let timeless = r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":24,"body":{"kvlistValue":{"values":[]}}}]}]}]}"#;
        let signal = receive(timeless.as_bytes(), now).unwrap().signals.remove(0);
        assert_eq!((signal.started_at, signal.severity), (now, Severity::Critical));
        assert_eq!(signal.description, r#"{"kvlistValue":{"values":[]}}"#);
        let bad = r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"soon","severityNumber":17}]}]}]}"#;
        assert_eq!(
            receive(bad.as_bytes(), now),
            Err(HookError::Unprocessable(
                "resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano is not a count of nanoseconds: \"soon\""
                    .into()
            ))
        );
        assert_eq!(receive(b"{}", now).unwrap().signals, vec![]);
        assert!(matches!(receive(b"resourceLogs", now), Err(HookError::Malformed(_))));
    }

    #[test]
    fn too_many_groups() {
        let records: Vec<_> = (0..1_001).map(|i| record("1", 17, &format!("failure kind {}", "x".repeat(i)))).collect();
        assert_eq!(
            receive(export("svc", &records).as_bytes(), at("2024-05-01T08:00:00Z")),
            Err(HookError::Unprocessable("a delivery may carry at most 1000 signals; this one has 1001".into()))
        );
    }
}
