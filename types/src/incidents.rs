//! Production feedback: incidents that ops tools report, as triage sees them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{ChangeRequestState, DocumentId, IncidentId};

text_enum! {
    /// How bad an incident is.
    pub enum IncidentSeverity as "incident severity" {
        Critical = "critical",
        High = "high",
        Medium = "medium",
        Low = "low",
        Info = "info",
    }
}

text_enum! {
    /// What the reporting tool says of it now.
    pub enum IncidentStatus as "incident status" {
        Firing = "firing",
        Resolved = "resolved",
    }
}

text_enum! {
    /// Where triage has got with it.
    pub enum IncidentState as "incident state" {
        /// Not yet linked to a requirement or dismissed.
        Open = "open",
        /// Linked to at least one requirement.
        Linked = "linked",
        /// Judged not to concern the specification, with why.
        Dismissed = "dismissed",
    }
}

text_enum! {
    /// A tool whose own webhook format Charter takes unchanged.
    pub enum Tool as "tool" {
        Alertmanager = "alertmanager",
        Sentry = "sentry",
        Pagerduty = "pagerduty",
        Grafana = "grafana",
        Otlp = "otlp",
    }
}

impl Tool {
    /// Whether the tool signs what it sends with a secret the project's owners set
    /// (HMAC-SHA256); the others send an API token with the `incidents:write` scope.
    pub fn signed(self) -> bool {
        matches!(self, Tool::Sentry | Tool::Pagerduty | Tool::Grafana)
    }
}

text_enum! {
    /// What happened to an incident, in its timeline.
    pub enum IncidentEventKind as "incident event" {
        Opened = "opened",
        Repeated = "repeated",
        Resolved = "resolved",
        Reopened = "reopened",
    }
}

/// An incident as the generic endpoint takes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewIncident {
    /// The reporting system, e.g. `datadog`: lower-case letters, digits, `.`, `_`, `-`.
    pub source: String,
    /// The source's own id for the incident.
    pub external_id: String,
    /// Deduplicates instead of `external_id` when given.
    pub fingerprint: Option<String>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub severity: IncidentSeverity,
    pub service: String,
    pub status: IncidentStatus,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub url: Option<String>,
}

/// What ingesting one incident did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct IncidentAccepted {
    pub id: IncidentId,
    /// It repeats one already known (or the delivery was a replay).
    pub deduplicated: bool,
}

/// What a tool's delivery did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DeliveryAccepted {
    /// The delivery was taken before: nothing changed.
    pub replay: bool,
    /// One per signal the delivery carried, in its order.
    pub incidents: Vec<IncidentAccepted>,
}

/// A requirement an incident was matched or linked to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct IncidentRequirement {
    pub requirement_id: Uuid,
    /// Its ID on `main`; none once it was removed there.
    pub key: Option<String>,
    /// The match's score (candidates only): higher is nearer.
    pub score: Option<f32>,
}

/// An incident in the project's list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Incident {
    pub id: IncidentId,
    pub source: String,
    pub external_id: String,
    pub title: String,
    pub severity: IncidentSeverity,
    pub service: String,
    pub status: IncidentStatus,
    pub state: IncidentState,
    pub occurrences: i32,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Requirements of `main` that matching suggests, best first.
    pub candidates: Vec<IncidentRequirement>,
    /// Requirements people linked it to.
    pub links: Vec<IncidentRequirement>,
    /// Set when it came back after a requirement written from an incident was merged.
    pub regression: Option<Regression>,
}

/// One entry of an incident's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct IncidentEvent {
    pub kind: IncidentEventKind,
    pub at: DateTime<Utc>,
}

/// An incident with everything known of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: Incident,
    pub description: String,
    pub labels: BTreeMap<String, String>,
    pub url: Option<String>,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub dismissed_reason: Option<String>,
    /// The latest events, oldest first (at most 200).
    pub timeline: Vec<IncidentEvent>,
    /// How many events came before those.
    pub earlier_events: i64,
    /// The requirement changes drafted from it, newest first.
    pub drafts: Vec<IncidentDraft>,
}

/// How a tool reaches the project: where it posts and how it proves itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Integration {
    pub tool: Tool,
    /// The path to point the tool at, under the server's address.
    pub path: String,
    /// The tool signs with a secret set here (else it sends an API token with the
    /// `incidents:write` scope).
    pub signed: bool,
    /// Whether an owner has set the signing secret (it is never shown again).
    pub secret_set: bool,
    pub secret_set_at: Option<DateTime<Utc>>,
}

/// An owner's new signing secret for a tool.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SetIntegration {
    pub secret: String,
}

/// Leaves the secret out, so that it never reaches a log.
impl std::fmt::Debug for SetIntegration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetIntegration").field("secret", &"…").finish()
    }
}

/// Linking an incident to a requirement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct LinkIncident {
    pub requirement_id: Uuid,
}

/// Dismissing an incident, with why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DismissIncident {
    pub reason: String,
}

text_enum! {
    /// How a draft turns an incident into a requirement change.
    pub enum DraftMode as "draft mode" {
        /// A new requirement in a chosen spec.
        New = "new",
        /// An amendment of a requirement the incident is linked to.
        Amend = "amend",
    }
}

/// Turn an incident into a requirement change on a new branch, with a change request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewDraft {
    pub mode: DraftMode,
    /// The spec a new requirement goes into (`new`; the first linked requirement's spec
    /// when left out).
    pub document_id: Option<DocumentId>,
    /// The requirement to amend (`amend`; the first linked one when left out).
    pub requirement_id: Option<Uuid>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DraftChangeRequest {
    pub number: i32,
}

/// Where a draft went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DraftCreated {
    pub branch: String,
    pub change_request: DraftChangeRequest,
    /// The requirement's ID as drafted.
    pub key: String,
    /// The chat model that proposed the text; `None` when the template wrote it.
    pub proposed_by: Option<String>,
}

/// A draft made from an incident, as its page lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct IncidentDraft {
    pub mode: DraftMode,
    pub branch: String,
    pub change_request: i32,
    pub state: ChangeRequestState,
    pub key: String,
    pub proposed_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

text_enum! {
    pub enum RegressionKind as "regression kind" {
        /// The incident itself fired again after its requirement was merged.
        Recurrence = "recurrence",
        /// A new incident matched a requirement written after an earlier one.
        Similar = "similar",
    }
}

/// An incident that came back after the spec learnt from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Regression {
    pub kind: RegressionKind,
    /// `None` once that requirement is gone.
    pub requirement_id: Option<Uuid>,
    /// The requirement's ID on `main`, if it is still there.
    pub key: Option<String>,
    pub at: DateTime<Utc>,
}

/// An incident linked to a requirement, as the requirement's page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct RequirementIncident {
    pub id: IncidentId,
    pub title: String,
    pub source: String,
    pub severity: IncidentSeverity,
    pub status: IncidentStatus,
    pub last_seen: DateTime<Utc>,
    /// It came back after this requirement (written from an incident) was merged.
    pub regression: bool,
}

/// Why a requirement exists: "added after incident …".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Provenance {
    pub incident_id: IncidentId,
    pub incident_title: String,
    pub mode: DraftMode,
    pub change_request: i32,
    pub merged_at: DateTime<Utc>,
}
