//! Webhook adapters: each tool's delivery, its signature checked first when the tool
//! signs, read into `Signal`s. Pure functions of the headers, the raw body, the project's
//! secret and the time, so the route around them decides nothing about formats.

mod alertmanager;
mod generic;
mod grafana;
mod otlp;
mod pagerduty;
mod sentry;
mod signature;

use axum::http::HeaderMap;
pub use charter_types::Tool;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::signal::{cut, Delivery, DeliveryId, Source, MAX_KEY};

pub use generic::generic;

/// The most signals one delivery may carry.
pub const MAX_SIGNALS: usize = 1_000;

/// Every adapter's signals come from its tool, by the tool's name.
fn source(tool: Tool) -> Source {
    Source::known(tool.as_str())
}

/// Why a delivery was refused; the text is for the person setting up the integration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HookError {
    /// Not provably from the tool (401).
    #[error("{0}")]
    Signature(String),
    /// JSON of the wrong shape; names the field by its JSON path (422).
    #[error("{0}")]
    Unprocessable(String),
    /// Not JSON at all (400).
    #[error("{0}")]
    Malformed(String),
}

impl From<HookError> for crate::Error {
    fn from(err: HookError) -> crate::Error {
        match err {
            HookError::Signature(reason) => crate::Error::BadSignature(reason),
            HookError::Unprocessable(message) => crate::Error::Invalid(message),
            HookError::Malformed(message) => crate::Error::BadRequest(message),
        }
    }
}

/// Verifies (when `tool.signed()`) and reads one delivery. `secret` is the project's
/// secret for the tool; `now` bounds the age of signed timestamps.
pub fn receive(
    tool: Tool,
    headers: &HeaderMap,
    body: &[u8],
    secret: Option<&[u8]>,
    now: DateTime<Utc>,
) -> Result<Delivery, HookError> {
    if tool.signed() {
        let secret = secret.ok_or_else(|| {
            HookError::Signature(format!(
                "no signing secret is set for {}; an owner sets it under Integrations",
                tool.as_str()
            ))
        })?;
        match tool {
            Tool::Sentry => sentry::verify(headers, body, secret, now)?,
            Tool::Pagerduty => pagerduty::verify(headers, body, secret)?,
            Tool::Grafana => grafana::verify(headers, body, secret, now)?,
            Tool::Alertmanager | Tool::Otlp => {}
        }
    }
    match tool {
        Tool::Alertmanager => alertmanager::receive(body),
        Tool::Sentry => sentry::receive(headers, body, now),
        Tool::Pagerduty => pagerduty::receive(body),
        Tool::Grafana => grafana::receive(body),
        Tool::Otlp => otlp::receive(body, now),
    }
}

/// Reads a body into typed structs: not JSON is `Malformed`, JSON of another shape
/// `Unprocessable`. Nesting is bounded by serde_json's recursion limit.
fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, HookError> {
    serde_json::from_slice(body).map_err(|err| match err.classify() {
        serde_json::error::Category::Data => {
            HookError::Unprocessable(format!("the payload does not have the expected shape: {err}"))
        }
        _ => HookError::Malformed(format!("the body is not valid JSON: {err}")),
    })
}

/// A field the signal cannot do without.
fn required<T>(value: Option<T>, path: &str) -> Result<T, HookError> {
    value.ok_or_else(|| HookError::Unprocessable(format!("{path} is required")))
}

/// Text the signal cannot do without; blank counts as missing.
fn text(value: Option<String>, path: &str) -> Result<String, HookError> {
    required(value.filter(|text| !text.trim().is_empty()), path)
}

/// A dedup key: present and at most 200 characters (a longer one is no tool's id).
fn key(value: Option<String>, path: &str) -> Result<String, HookError> {
    let value = text(value, path)?;
    if value.chars().count() > MAX_KEY {
        return Err(HookError::Unprocessable(format!("{path} is longer than {MAX_KEY} characters")));
    }
    Ok(value)
}

/// An RFC 3339 time the payload must have.
fn time(value: Option<String>, path: &str) -> Result<DateTime<Utc>, HookError> {
    let value = text(value, path)?;
    DateTime::parse_from_rfc3339(&value)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|_| HookError::Unprocessable(format!("{path} is not an RFC 3339 time: {}", echo(&value))))
}

/// A value quoted back in a message, cut so a huge one is not sent back whole.
fn echo(value: &str) -> String {
    format!("{:?}", cut(value, 60))
}

fn check_count(count: usize) -> Result<(), HookError> {
    if count > MAX_SIGNALS {
        return Err(HookError::Unprocessable(format!(
            "a delivery may carry at most {MAX_SIGNALS} signals; this one has {count}"
        )));
    }
    Ok(())
}

/// The delivery's id from the `name` header, when the sender gives one.
fn sent_id(headers: &HeaderMap, name: &str) -> Result<Option<DeliveryId>, HookError> {
    let Some(value) = headers.get(name) else { return Ok(None) };
    match value.to_str().map(str::trim) {
        Ok(id) if !id.is_empty() && id.chars().count() <= MAX_KEY => Ok(Some(DeliveryId::Sent(id.to_owned()))),
        _ => Err(HookError::Unprocessable(format!("the {name} header must be 1 to {MAX_KEY} characters of text"))),
    }
}

/// The id of a delivery whose tool gives none (or none it signs): its body's digest.
fn body_digest(body: &[u8]) -> DeliveryId {
    DeliveryId::Digest(format!("sha256:{}", hex::encode(Sha256::digest(body))))
}

/// An id some tools send as a string and others as a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum Id {
    Text(String),
    Number(serde_json::Number),
}

impl Id {
    fn into_string(self) -> String {
        match self {
            Id::Text(text) => text,
            Id::Number(number) => number.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A time written the way a test reads best.
    pub(super) fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn tools_round_trip_their_path_names() {
        for &tool in Tool::ALL {
            assert_eq!(tool.as_str().parse::<Tool>().ok(), Some(tool));
            assert_eq!(Source::new(tool.as_str()), Ok(source(tool)));
        }
        assert!("Sentry".parse::<Tool>().is_err());
        assert!("generic".parse::<Tool>().is_err());
        let signed: Vec<_> = Tool::ALL.iter().copied().filter(|tool| tool.signed()).collect();
        assert_eq!(signed, [Tool::Sentry, Tool::Pagerduty, Tool::Grafana]);
    }

    #[test]
    fn a_signed_tool_without_a_secret_is_refused() {
        let now = at("2024-05-01T08:00:00Z");
        let err = receive(Tool::Grafana, &HeaderMap::new(), b"{}", None, now).unwrap_err();
        assert_eq!(
            err,
            HookError::Signature("no signing secret is set for grafana; an owner sets it under Integrations".into())
        );
    }

    #[test]
    fn errors_map_to_statuses() {
        let unauthorized: crate::Error = HookError::Signature("x".into()).into();
        assert_eq!(unauthorized.status(), axum::http::StatusCode::UNAUTHORIZED);
        let invalid: crate::Error = HookError::Unprocessable("alerts is required".into()).into();
        assert_eq!((invalid.status().as_u16(), invalid.to_string()), (422, "alerts is required".to_owned()));
        let bad: crate::Error = HookError::Malformed("nope".into()).into();
        assert_eq!(bad.status().as_u16(), 400);
    }

    #[test]
    fn json_errors_are_told_apart() {
        assert!(matches!(parse_json::<Vec<String>>(b"not json"), Err(HookError::Malformed(_))));
        assert!(matches!(parse_json::<Vec<String>>(b"{\"alerts\": 3}"), Err(HookError::Unprocessable(_))));
        // Deep nesting: where it is read it meets the recursion limit; where it is
        // ignored serde_json skips it without recursing.
        let deep = format!("{{\"x\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        let err = parse_json::<serde_json::Value>(deep.as_bytes()).unwrap_err();
        assert!(matches!(err, HookError::Malformed(ref message) if message.contains("recursion limit")), "{err:?}");
        assert!(parse_json::<serde::de::IgnoredAny>(deep.as_bytes()).is_ok());
    }

    #[test]
    fn required_fields_and_keys_are_named() {
        assert_eq!(required(None::<u8>, "a.b"), Err(HookError::Unprocessable("a.b is required".into())));
        assert_eq!(text(Some("  ".to_owned()), "a.b"), Err(HookError::Unprocessable("a.b is required".into())));
        assert_eq!(text(Some(" x ".to_owned()), "a.b"), Ok(" x ".to_owned()));
        assert_eq!(
            key(Some("k".repeat(201)), "x.id"),
            Err(HookError::Unprocessable("x.id is longer than 200 characters".into()))
        );
        assert_eq!(
            time(Some("yesterday".into()), "startsAt"),
            Err(HookError::Unprocessable("startsAt is not an RFC 3339 time: \"yesterday\"".into()))
        );
        let long = format!("{}Z", "9".repeat(100));
        assert_eq!(
            time(Some(long), "t"),
            Err(HookError::Unprocessable(format!("t is not an RFC 3339 time: \"{}\"", "9".repeat(60))))
        );
        assert_eq!(check_count(1_000), Ok(()));
        assert!(matches!(check_count(1_001), Err(HookError::Unprocessable(m)) if m.contains("at most 1000")));
        let DeliveryId::Digest(digest) = body_digest(b"") else { panic!("a digest") };
        assert_eq!(digest.len(), "sha256:".len() + 64);
    }
}
