//! Sentry's integration-platform webhooks (an internal integration's): `issue` events and
//! `event_alert`s (an alert rule's action). Sentry signs the exact body it sends, hex
//! HMAC-SHA256 with the integration's client secret in `Sentry-Hook-Signature`, and sends
//! the send time (unix seconds, unsigned) in `Sentry-Hook-Timestamp` and a fresh
//! `Request-ID` with each delivery.

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::signature::{check_fresh, header, optional_header, verify_hex};
use super::{body_digest, key, parse_json, required, source, text, time, HookError, Id, Tool};
use crate::incidents::signal::{Delivery, Severity, Signal, Status};

const SIGNATURE_HEADER: &str = "Sentry-Hook-Signature";
const TIMESTAMP_HEADER: &str = "Sentry-Hook-Timestamp";
const RESOURCE_HEADER: &str = "Sentry-Hook-Resource";

pub(super) fn verify(headers: &HeaderMap, body: &[u8], secret: &[u8], now: DateTime<Utc>) -> Result<(), HookError> {
    verify_hex(secret, &[body], [header(headers, SIGNATURE_HEADER)?])?;
    match optional_header(headers, TIMESTAMP_HEADER)? {
        Some(timestamp) => check_fresh(timestamp, TIMESTAMP_HEADER, now),
        None => Ok(()),
    }
}

/// `now` stands in for when an issue was resolved: Sentry sends the webhook as it happens.
pub(super) fn receive(headers: &HeaderMap, body: &[u8], now: DateTime<Utc>) -> Result<Delivery, HookError> {
    // Not Sentry's `Request-ID`: neither it nor the timestamp is signed, so a captured
    // delivery could come back under a new one. The signed body is the id.
    let id = body_digest(body);
    let resource = headers
        .get(RESOURCE_HEADER)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| HookError::Unprocessable(format!("missing {RESOURCE_HEADER} header")))?;
    let signals = match resource.trim() {
        "issue" => issue(parse_json(body)?, now)?.into_iter().collect(),
        "event_alert" => vec![event_alert(parse_json(body)?)?],
        // Installation, comment, metric alert ...: acknowledged so that Sentry's checks pass.
        _ => Vec::new(),
    };
    Ok(Delivery { id, signals })
}

#[derive(Deserialize)]
struct Hook<T> {
    action: Option<String>,
    data: Option<T>,
}

#[derive(Deserialize)]
struct IssueData {
    issue: Option<Issue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Issue {
    id: Option<Id>,
    title: Option<String>,
    culprit: Option<String>,
    short_id: Option<String>,
    level: Option<String>,
    first_seen: Option<String>,
    permalink: Option<String>,
    #[serde(rename = "web_url")]
    web_url: Option<String>,
    project: Option<Project>,
}

#[derive(Deserialize)]
struct Project {
    slug: Option<String>,
}

#[derive(Deserialize)]
struct EventAlertData {
    event: Option<Event>,
    triggered_rule: Option<String>,
}

#[derive(Deserialize)]
struct Event {
    event_id: Option<String>,
    issue_id: Option<Id>,
    title: Option<String>,
    level: Option<String>,
    culprit: Option<String>,
    datetime: Option<String>,
    /// The event's API address, the only place an event alert names its project.
    url: Option<String>,
    web_url: Option<String>,
    #[serde(default)]
    tags: Vec<(String, String)>,
}

fn issue(hook: Hook<IssueData>, now: DateTime<Utc>) -> Result<Option<Signal>, HookError> {
    let action = text(hook.action, "action")?;
    let issue = required(hook.data.and_then(|data| data.issue), "data.issue")?;
    let status = match action.as_str() {
        "created" | "unresolved" => Status::Firing,
        "resolved" => Status::Resolved,
        // Assigned, archived, ignored: people acting on it, not the service failing again.
        _ => return Ok(None),
    };
    let service = issue.project.and_then(|project| project.slug).unwrap_or_default();
    let mut labels = BTreeMap::from([("action".to_owned(), action)]);
    labels.extend(issue.short_id.map(|short_id| ("short_id".to_owned(), short_id)));
    labels.extend(issue.level.clone().map(|level| ("level".to_owned(), level)));
    Ok(Signal {
        external_id: None,
        source: source(Tool::Sentry),
        key: key(issue.id.map(Id::into_string), "data.issue.id")?,
        title: text(issue.title, "data.issue.title")?,
        description: issue.culprit.unwrap_or_default(),
        severity: severity(issue.level.as_deref()),
        service,
        status,
        started_at: time(issue.first_seen, "data.issue.firstSeen")?,
        ended_at: (status == Status::Resolved).then_some(now),
        labels,
        url: issue.web_url.or(issue.permalink),
    }
    .bounded()
    .into())
}

fn event_alert(hook: Hook<EventAlertData>) -> Result<Signal, HookError> {
    let data = required(hook.data, "data")?;
    let event = required(data.event, "data.event")?;
    // Later tags of the same name win, then Charter's own two.
    let mut labels: BTreeMap<String, String> = event.tags.into_iter().collect();
    labels.extend(data.triggered_rule.map(|rule| ("rule".to_owned(), rule)));
    labels.extend(event.event_id.map(|event_id| ("event_id".to_owned(), event_id)));
    Ok(Signal {
        external_id: None,
        source: source(Tool::Sentry),
        key: key(event.issue_id.map(Id::into_string), "data.event.issue_id")?,
        title: text(event.title, "data.event.title")?,
        description: event.culprit.unwrap_or_default(),
        severity: severity(event.level.as_deref()),
        service: event.url.as_deref().and_then(project_slug).unwrap_or_default(),
        status: Status::Firing,
        started_at: time(event.datetime, "data.event.datetime")?,
        ended_at: None,
        labels,
        url: event.web_url,
    }
    .bounded())
}

/// The project of an API address `…/api/0/projects/{organization}/{project}/events/…`.
fn project_slug(address: &str) -> Option<String> {
    let parsed = url::Url::parse(address).ok()?;
    let mut segments = parsed.path_segments()?.skip_while(|segment| *segment != "projects").skip(2);
    segments.next().filter(|slug| !slug.is_empty()).map(str::to_owned)
}

fn severity(level: Option<&str>) -> Severity {
    match level {
        Some("fatal") => Severity::Critical,
        Some("error") => Severity::High,
        Some("info") => Severity::Info,
        Some("debug") => Severity::Low,
        _ => Severity::Medium,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::hooks::receive as receive_hook;
    use crate::incidents::hooks::signature::tests::sign;
    use crate::incidents::hooks::tests::at;

    const SECRET: &[u8] = b"0b3f1c5e7d9a4b6c8e0f2a4c6e8b0d2f";

    const ISSUE: &str = r#"{"action":"created","actor":{"id":"sentry","name":"Sentry","type":"application"},
      "data":{"issue":{"annotations":[],"assignedTo":null,"count":"1","culprit":"checkout.views in submit_order",
      "firstSeen":"2024-05-01T07:58:37.391000Z","hasSeen":false,"id":"4021881921","isPublic":false,
      "lastSeen":"2024-05-01T07:59:01.000000Z","level":"fatal","logger":null,
      "metadata":{"type":"KeyError","value":"'cart_id'"},"numComments":0,"permalink":null,"platform":"python",
      "project":{"id":"42","name":"checkout","platform":"python","slug":"checkout"},"shortId":"CHECKOUT-7K",
      "status":"unresolved","statusDetails":{},"substatus":"new","title":"KeyError: 'cart_id'","type":"error",
      "web_url":"https://acme.sentry.io/issues/4021881921/","userCount":3}},
      "installation":{"uuid":"a8e5d37a-696c-4c54-adb5-b3f28d64c7de"}}"#;

    const EVENT_ALERT: &str = r#"{"action":"triggered","actor":{"id":"sentry","name":"Sentry","type":"application"},
      "data":{"event":{"event_id":"e4874d664c3540c1a32eab185f12c5ab","issue_id":"1117540176",
      "issue_url":"https://sentry.io/api/0/issues/1117540176/","culprit":"?(<anonymous>)",
      "datetime":"2024-05-01T08:00:17.677000Z","level":"error","project":1,"received":1714550417.677,
      "tags":[["browser","Chrome 124"],["environment","production"],["level","error"]],
      "title":"ReferenceError: heck is not defined","timestamp":1714550417.677,
      "url":"https://sentry.io/api/0/projects/acme/web-frontend/events/e4874d664c3540c1a32eab185f12c5ab/",
      "web_url":"https://sentry.io/organizations/acme/issues/1117540176/events/e4874d664c3540c1a32eab185f12c5ab/"},
      "triggered_rule":"New errors in production"},
      "installation":{"uuid":"a8e5d37a-696c-4c54-adb5-b3f28d64c7de"}}"#;

    fn now() -> DateTime<Utc> {
        at("2024-05-01T08:01:00Z")
    }

    fn headers(resource: &str, body: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        headers.insert("request-id", "6f0b7e0c2d9a4f6c9b8a7e6d5c4b3a21".parse().unwrap());
        headers.insert("sentry-hook-resource", resource.parse().unwrap());
        headers.insert("sentry-hook-timestamp", now().timestamp().to_string().parse().unwrap());
        headers.insert("sentry-hook-signature", sign(SECRET, body.as_bytes()).parse().unwrap());
        headers
    }

    fn deliver(headers: &HeaderMap, body: &str) -> Result<Delivery, HookError> {
        receive_hook(Tool::Sentry, headers, body.as_bytes(), Some(SECRET), now())
    }

    #[test]
    fn issue_created() {
        let delivery = deliver(&headers("issue", ISSUE), ISSUE).unwrap();
        assert_eq!(delivery.id, body_digest(ISSUE.as_bytes()));
        let [signal] = delivery.signals.as_slice() else { panic!("{:?}", delivery.signals) };
        assert_eq!(signal.source.as_str(), "sentry");
        assert_eq!(signal.key, "4021881921");
        assert_eq!(signal.title, "KeyError: 'cart_id'");
        assert_eq!(signal.description, "checkout.views in submit_order");
        assert_eq!(signal.severity, Severity::Critical);
        assert_eq!(signal.service, "checkout");
        assert_eq!(signal.status, Status::Firing);
        assert_eq!(signal.started_at, at("2024-05-01T07:58:37.391Z"));
        assert_eq!(signal.ended_at, None);
        assert_eq!(signal.url.as_deref(), Some("https://acme.sentry.io/issues/4021881921/"));
        let labels: Vec<_> = signal.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(labels, [("action", "created"), ("level", "fatal"), ("short_id", "CHECKOUT-7K")]);
    }

    #[test]
    fn issue_resolved_ends_now() {
        let body = ISSUE.replace(r#""action":"created""#, r#""action":"resolved""#);
        let signal = deliver(&headers("issue", &body), &body).unwrap().signals.remove(0);
        assert_eq!((signal.status, signal.ended_at), (Status::Resolved, Some(now())));
        for action in ["ignored", "assigned", "archived"] {
            let body = ISSUE.replace(r#""action":"created""#, &format!(r#""action":"{action}""#));
            assert!(deliver(&headers("issue", &body), &body).unwrap().signals.is_empty(), "{action}");
        }
    }

    #[test]
    fn event_alert_triggered() {
        let delivery = deliver(&headers("event_alert", EVENT_ALERT), EVENT_ALERT).unwrap();
        let [signal] = delivery.signals.as_slice() else { panic!("{:?}", delivery.signals) };
        assert_eq!(signal.key, "1117540176");
        assert_eq!(signal.title, "ReferenceError: heck is not defined");
        assert_eq!(signal.severity, Severity::High);
        assert_eq!(signal.service, "web-frontend");
        assert_eq!(signal.status, Status::Firing);
        assert_eq!(signal.started_at, at("2024-05-01T08:00:17.677Z"));
        assert_eq!(signal.labels.get("environment").map(String::as_str), Some("production"));
        assert_eq!(signal.labels.get("rule").map(String::as_str), Some("New errors in production"));
        assert_eq!(signal.labels.get("event_id").map(String::as_str), Some("e4874d664c3540c1a32eab185f12c5ab"));
        assert!(signal.url.as_deref().is_some_and(|url| url.ends_with("/events/e4874d664c3540c1a32eab185f12c5ab/")));
    }

    #[test]
    fn installation_ping_carries_nothing() {
        let body = r#"{"action":"created","data":{"installation":{"status":"pending","uuid":"a8e5"}},
          "installation":{"uuid":"a8e5"}}"#;
        let delivery = deliver(&headers("installation", body), body).unwrap();
        assert_eq!(delivery, Delivery { id: body_digest(body.as_bytes()), signals: vec![] });
    }

    #[test]
    fn bad_signature_and_stale_timestamp() {
        let mut wrong = headers("issue", ISSUE);
        wrong.insert("sentry-hook-signature", sign(b"old secret", ISSUE.as_bytes()).parse().unwrap());
        assert_eq!(deliver(&wrong, ISSUE), Err(HookError::Signature(super::super::signature::MISMATCH.into())));

        let tampered = ISSUE.replace("fatal", "debug");
        assert!(matches!(deliver(&headers("issue", ISSUE), &tampered), Err(HookError::Signature(_))));

        let mut stale = headers("issue", ISSUE);
        stale.insert("sentry-hook-timestamp", (now().timestamp() - 600).to_string().parse().unwrap());
        assert!(matches!(deliver(&stale, ISSUE), Err(HookError::Signature(m)) if m.starts_with("stale timestamp")));

        let mut unsigned = headers("issue", ISSUE);
        unsigned.remove("sentry-hook-signature");
        assert_eq!(deliver(&unsigned, ISSUE), Err(HookError::Signature("missing Sentry-Hook-Signature header".into())));
    }

    #[test]
    fn missing_fields_are_named() {
        let body = ISSUE.replace(r#""id":"4021881921","#, "");
        assert_eq!(
            deliver(&headers("issue", &body), &body),
            Err(HookError::Unprocessable("data.issue.id is required".into()))
        );
        let body = EVENT_ALERT.replace(r#""datetime":"2024-05-01T08:00:17.677000Z","#, "");
        assert_eq!(
            deliver(&headers("event_alert", &body), &body),
            Err(HookError::Unprocessable("data.event.datetime is required".into()))
        );
        let body = "{\"action\": \"created\", \"data\": ";
        assert!(matches!(deliver(&headers("issue", body), body), Err(HookError::Malformed(_))));
    }

    #[test]
    fn the_delivery_id_is_the_signed_body_not_the_request_id() {
        let mut renamed = headers("issue", ISSUE);
        renamed.insert("request-id", "another-request".parse().unwrap());
        assert_eq!(deliver(&renamed, ISSUE).unwrap().id, deliver(&headers("issue", ISSUE), ISSUE).unwrap().id);
    }

    #[test]
    fn project_from_api_address() {
        assert_eq!(project_slug("https://sentry.io/api/0/projects/acme/api/events/1/").as_deref(), Some("api"));
        assert_eq!(project_slug("https://sentry.io/api/0/issues/1/"), None);
        assert_eq!(project_slug("not a url"), None);
    }
}
