//! Charter's shared vocabulary, compiled into the server and the browser alike: the
//! domain's enums, each with one spelling on the wire, in the database and in the UI,
//! and the views that the API sends and the UI shows as they are. Nothing here touches
//! storage or HTTP; `sqlx` and `utoipa` support are features the server turns on.

#[macro_use]
mod text;

mod change_requests;
mod contracts;
mod documents;
mod embeddings;
mod exchange;
mod history;
mod ids;
mod incidents;
mod projects;
mod review;
mod roles;
mod search;
mod structure;
mod tokens;
mod webhooks;

pub use change_requests::{Actions, ChangeKind, ChangeRequestState, ChangeRequestSummary, MergeBlocker, Verdict};
pub use contracts::{
    ApiChange, ApiImpact, Conformity, ContractCheck, ContractFormat, ContractOperation, ContractReview, HttpMethod,
    NewContractCheck, Operation, OperationConformance,
};
pub use documents::{Document, Kind, TreeEntry};
pub use embeddings::{EmbeddingSettings, Job, JobStarted, JobState, ProviderKind, SetEmbeddings};
pub use exchange::{
    ExportFormat, ImportAction, ImportPlan, Imported, ImportedChange, ImportedDocument, Layout, Opened,
};
pub use history::Version;
pub use ids::{
    BranchId, ChangeRequestId, DocumentId, IncidentId, JobId, ProjectId, UserId, WebhookDeliveryId, WebhookId,
};
pub use incidents::{
    DeliveryAccepted, DismissIncident, DraftChangeRequest, DraftCreated, DraftMode, Incident, IncidentAccepted,
    IncidentDetail, IncidentDraft, IncidentEvent, IncidentEventKind, IncidentRequirement, IncidentSeverity,
    IncidentState, IncidentStatus, Integration, LinkIncident, NewDraft, NewIncident, Provenance, Regression,
    RegressionKind, RequirementIncident, SetIntegration, Tool,
};
pub use projects::{Project, ProjectStats};
pub use review::{
    Approval, Checks, Comment, ConfirmedBump, ConstitutionChange, Impact, LineSide, LintOverride, Overlap,
    PrincipleChange, PrincipleChangeKind, Proposal, ReviewView,
};
pub use roles::{Permission, Role};
pub use search::{
    DismissDuplicate, Dismissal, DuplicatePair, DuplicateReport, DuplicateSide, HitKind, Matched, RelatedRequirement,
    RelatedRequirements, SearchHit, SearchMode, SearchResults, SnippetPart,
};
pub use structure::{
    Backlink, Bump, Clarification, ClarificationState, Coverage, Finding, HistoryEntry, RequirementStatus,
    RequirementView, Severity, TraceStatus,
};
pub use text::Unknown;
pub use tokens::{ApiToken, Scope};
pub use webhooks::{DeliveryState, NewWebhook, UpdateWebhook, Webhook, WebhookCreated, WebhookDelivery, WebhookEvent};
