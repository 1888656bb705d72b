//! Requirement texts for the workloads that need specs: deterministic, so every run
//! indexes and parses the same texts.

use anyhow::Result;
use charter_types::{Document, Kind, Project};
use reqwest::Method;

use crate::api::Api;

pub const VERBS: [&str; 16] = [
    "charge", "refund", "email", "archive", "encrypt", "validate", "export", "import", "notify", "approve", "reject",
    "retry", "log", "lock", "schedule", "cache",
];
pub const NOUNS: [&str; 24] = [
    "card",
    "order",
    "invoice",
    "receipt",
    "account",
    "password",
    "session",
    "report",
    "payment",
    "customer",
    "subscription",
    "refund",
    "token",
    "document",
    "review",
    "comment",
    "branch",
    "project",
    "member",
    "webhook",
    "incident",
    "alert",
    "contract",
    "schema",
];
const LIMITS: [&str; 8] = [
    "within one minute",
    "at most once",
    "every night",
    "before it expires",
    "on request",
    "in order",
    "per tenant",
    "for ninety days",
];
/// A small deterministic generator (xorshift), so runs are comparable.
pub struct Pick(u64);

impl Default for Pick {
    fn default() -> Pick {
        Pick(0x9e37_79b9_7f4a_7c15)
    }
}

impl Pick {
    pub fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below as u64) as usize
    }

    /// A requirement's text, e.g. "The system SHALL charge the card of each order at most once."
    pub fn sentence(&mut self) -> String {
        format!(
            "The system SHALL {} the {} of each {} {}.",
            VERBS[self.next(VERBS.len())],
            NOUNS[self.next(NOUNS.len())],
            NOUNS[self.next(NOUNS.len())],
            LIMITS[self.next(LIMITS.len())]
        )
    }
}

/// Document `n`'s requirement-ID prefix, in letters as IDs need (`AAA`, `AAB`, …).
pub fn prefix(n: usize) -> String {
    let letter = |place: u32| char::from(b'A' + (n / 26usize.pow(place) % 26) as u8);
    [letter(2), letter(1), letter(0)].iter().collect()
}

/// The text of spec `n`: `requirements` requirements (`AAA-001`, …) in sentences `pick` makes.
pub fn spec_text(n: usize, requirements: usize, pick: &mut Pick) -> String {
    let list: String =
        (1..=requirements).map(|r| format!("- **{}-{r:03}** {}\n", prefix(n), pick.sentence())).collect();
    format!("# Spec {n}\n\n## Requirements\n\n{list}")
}

/// Writes `docs` specs of `requirements` requirements each through the API; the documents.
pub async fn write_specs(
    api: &Api,
    project: &Project,
    docs: usize,
    requirements: usize,
    pick: &mut Pick,
) -> Result<Vec<Document>> {
    let mut written = Vec::with_capacity(docs);
    for n in 0..docs {
        let content = spec_text(n, requirements, pick);
        let body = serde_json::json!({ "title": format!("Spec {n}"), "kind": Kind::Spec, "content": content });
        written.push(api.call(Method::POST, &format!("/projects/{}/documents", project.id), Some(body)).await?);
    }
    Ok(written)
}
