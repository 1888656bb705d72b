//! The normalised shape of what an ops tool reports, whatever the tool: a `Signal`, and the
//! `Delivery` (one HTTP request) that carries some. Every text is bounded here, so the
//! adapters cannot forget a limit and storage never sees an unbounded value.

use std::collections::BTreeMap;
use std::fmt;

pub use charter_types::{IncidentSeverity as Severity, IncidentStatus as Status};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const MAX_KEY: usize = 200;
pub const MAX_TITLE: usize = 300;
pub const MAX_DESCRIPTION: usize = 10_000;
pub const MAX_SERVICE: usize = 200;
pub const MAX_LABELS: usize = 64;
pub const MAX_LABEL_TEXT: usize = 200;
/// Longer addresses are dropped rather than cut: a cut URL points somewhere else.
pub const MAX_URL: usize = 2_048;
pub const MAX_SOURCE: usize = 64;
/// The service of a signal whose payload names none.
pub const UNKNOWN_SERVICE: &str = "unknown";

/// Which tool (or generic sender) reported a signal: 1 to 64 of `a-z 0-9 . _ -`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Source(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("source must be 1 to 64 characters of a-z, 0-9, '.', '_' and '-'")]
pub struct InvalidSource;

impl Source {
    pub fn new(value: &str) -> Result<Source, InvalidSource> {
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-');
        if value.is_empty() || value.len() > MAX_SOURCE || !value.chars().all(allowed) {
            return Err(InvalidSource);
        }
        Ok(Source(value.to_owned()))
    }

    /// An adapter's own name, known to be valid.
    pub(crate) fn known(name: &'static str) -> Source {
        debug_assert!(Source::new(name).is_ok(), "{name:?} is not a valid source");
        Source(name.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Source {
    type Error = InvalidSource;

    fn try_from(value: String) -> Result<Source, InvalidSource> {
        Source::new(&value)
    }
}

impl From<Source> for String {
    fn from(source: Source) -> String {
        source.0
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One thing a tool reported, normalised: what the ingest service stores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signal {
    pub source: Source,
    /// Dedup key within the source (alert fingerprint, Sentry issue id, ...), 1..=200 chars.
    pub key: String,
    /// The source's own id for it, where that is not the key (a generic report grouped
    /// by its fingerprint).
    pub external_id: Option<String>,
    pub title: String,
    pub description: String,
    pub severity: Severity,
    pub service: String,
    pub status: Status,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub labels: BTreeMap<String, String>,
    pub url: Option<String>,
}

impl Signal {
    /// Applies every bound but the key's (the adapter checks that, naming the field):
    /// texts cut on a character boundary, a blank service made `unknown`, at most 64
    /// labels, and only an http(s) URL kept.
    pub fn bounded(self) -> Signal {
        let service = cut(&storable(self.service.trim()), MAX_SERVICE);
        Signal {
            key: storable(&self.key),
            external_id: self.external_id.as_deref().map(storable),
            title: cut(&storable(&self.title), MAX_TITLE),
            description: cut(&storable(&self.description), MAX_DESCRIPTION),
            service: if service.is_empty() { UNKNOWN_SERVICE.to_owned() } else { service },
            labels: bounded_labels(self.labels),
            url: self.url.as_deref().and_then(http_url),
            ..self
        }
    }
}

/// How a tool's retry of a delivery is told from a new one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryId {
    /// The sender's own id for it: taken once, ever.
    Sent(String),
    /// The SHA-256 of its body, for senders that give no id: the same bytes again soon
    /// after are a retry, much later a repeat (Alertmanager re-sends a group unchanged).
    Digest(String),
    /// Nothing tells a retry apart (the generic endpoint without `Idempotency-Key`).
    Unknown,
}

/// One HTTP delivery: its id for replay detection and the signals it carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub signals: Vec<Signal>,
}

/// The first `max_chars` characters of `text`.
pub fn cut(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => text[..end].to_owned(),
        None => text.to_owned(),
    }
}

/// Text Postgres can store: a NUL (which a tool may well quote from a log line) becomes
/// U+FFFD rather than costing the whole delivery.
fn storable(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

fn bounded_labels(labels: BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels
        .into_iter()
        .take(MAX_LABELS)
        .map(|(key, value)| (cut(&storable(&key), MAX_LABEL_TEXT), cut(&storable(&value), MAX_LABEL_TEXT)))
        .collect()
}

fn http_url(candidate: &str) -> Option<String> {
    let candidate = candidate.trim();
    if candidate.len() > MAX_URL || candidate.contains(char::is_control) {
        return None;
    }
    let parsed = url::Url::parse(candidate).ok()?;
    matches!(parsed.scheme(), "http" | "https").then(|| candidate.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal() -> Signal {
        Signal {
            external_id: None,
            source: Source::new("alertmanager").unwrap(),
            key: "abc".into(),
            title: "t".into(),
            description: String::new(),
            severity: Severity::Medium,
            service: "api".into(),
            status: Status::Firing,
            started_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            ended_at: None,
            labels: BTreeMap::new(),
            url: None,
        }
    }

    #[test]
    fn sources_are_short_lowercase_names() {
        for good in ["sentry", "my-tool.v2", "a", "x_y", &"a".repeat(64)] {
            assert_eq!(Source::new(good).unwrap().as_str(), good);
        }
        for bad in ["", "Sentry", "with space", "slash/", "é", &"a".repeat(65)] {
            assert_eq!(Source::new(bad), Err(InvalidSource), "{bad:?}");
        }
        assert!(serde_json::from_str::<Source>("\"BAD\"").is_err());
        assert_eq!(serde_json::to_string(&Source::new("otlp").unwrap()).unwrap(), "\"otlp\"");
    }

    #[test]
    fn enums_have_one_lowercase_spelling() {
        for severity in [Severity::Critical, Severity::High, Severity::Medium, Severity::Low, Severity::Info] {
            assert_eq!(severity.as_str().parse::<Severity>().ok(), Some(severity));
            assert_eq!(serde_json::to_string(&severity).unwrap(), format!("\"{}\"", severity.as_str()));
        }
        assert_eq!("Critical".parse::<Severity>().ok(), None);
        assert_eq!("resolved".parse::<Status>().ok(), Some(Status::Resolved));
        assert_eq!(serde_json::to_string(&Status::Firing).unwrap(), "\"firing\"");
        assert_eq!("open".parse::<Status>().ok(), None);
    }

    #[test]
    fn cuts_on_character_boundaries() {
        assert_eq!(cut("héllo", 2), "hé");
        assert_eq!(cut("abc", 10), "abc");
        assert_eq!(cut("🙂🙂🙂", 1), "🙂");
    }

    #[test]
    fn bounded_applies_every_limit() {
        let mut labels = BTreeMap::new();
        for i in 0..100 {
            labels.insert(format!("k{i:03}"), "v".repeat(300));
        }
        let bounded = Signal {
            title: "é".repeat(400),
            description: "d".repeat(20_000),
            service: "  ".into(),
            labels,
            url: Some("javascript:alert(1)".into()),
            ..signal()
        }
        .bounded();
        assert_eq!(bounded.title.chars().count(), MAX_TITLE);
        assert_eq!(bounded.description.len(), MAX_DESCRIPTION);
        assert_eq!(bounded.service, "unknown");
        assert_eq!(bounded.labels.len(), MAX_LABELS);
        assert_eq!(bounded.labels.keys().next().map(String::as_str), Some("k000"));
        assert!(bounded.labels.values().all(|value| value.len() == MAX_LABEL_TEXT));
        assert_eq!(bounded.url, None);
    }

    #[test]
    fn keeps_only_http_urls() {
        assert_eq!(http_url("https://grafana.example/d/abc?x=1").as_deref(), Some("https://grafana.example/d/abc?x=1"));
        assert_eq!(http_url("http://10.0.0.1:9090/graph").as_deref(), Some("http://10.0.0.1:9090/graph"));
        for bad in ["", "ftp://x/y", "/relative", "data:text/html,hi", "not a url"] {
            assert_eq!(http_url(bad), None, "{bad:?}");
        }
        assert_eq!(http_url(&format!("https://x.example/{}", "a".repeat(MAX_URL))), None);
    }
}
