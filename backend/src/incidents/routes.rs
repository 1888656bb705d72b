//! The incident routes: what tools post (`/projects/{id}/incidents` and
//! `/projects/{id}/hooks/*`), the integrations owners set up, and triage.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use charter_types::{
    DeliveryAccepted, DismissIncident, DraftCreated, Incident, IncidentAccepted, IncidentDetail, IncidentId,
    Integration, LinkIncident, NewDraft, NewIncident, Permission, ProjectId, Scope, SetIntegration, Tool,
};
use chrono::Utc;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::ingest::{Ingest, Intake};
use super::triage::IncidentsQuery;
use super::{draft, hooks, integrations, triage};
use crate::access::{Actor, Credential};
use crate::authorization::{self, need, Project};
use crate::error::{Error, Result};
use crate::extract::{Json, Path, Query};
use crate::{auth, AppState};

/// A delivery above this is refused (413) before it is read: tools batch, but not this much.
pub const MAX_DELIVERY_BYTES: usize = 1024 * 1024;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(report_handler, list_handler))
        .routes(routes!(hook_handler))
        .routes(routes!(otlp_handler))
        .routes(routes!(integrations_handler))
        .routes(routes!(set_integration_handler))
        .routes(routes!(get_handler))
        .routes(routes!(link_handler))
        .routes(routes!(unlink_handler))
        .routes(routes!(dismiss_handler))
        .routes(routes!(draft_handler))
}

/// Leave to report to `project`: an API token with the `incidents:write` scope (no
/// other scope, and no session: these routes skip the Origin check) whose owner may
/// write in the project.
async fn reporter(parts: &mut Parts, state: &AppState, project: ProjectId) -> Result<Intake> {
    let actor = auth::identify(parts, state).await?;
    if !matches!(actor.credential, Credential::Token { .. }) {
        return Err(Error::Forbidden("report incidents with an API token with the `incidents:write` scope".into()));
    }
    actor.require_scope(Scope::IncidentsWrite)?;
    Ok(Intake::Reporter(authorization::authorize(&state.db, &actor, project, Permission::Write).await?))
}

/// The incident writers the server started, which it hands every request.
fn writers(parts: &Parts) -> Result<Ingest> {
    parts.extensions.get::<Ingest>().cloned().ok_or_else(|| Error::internal("the server started no incident writers"))
}

/// The body, up to `MAX_DELIVERY_BYTES`.
async fn body_of(body: Body) -> Result<bytes::Bytes> {
    to_bytes(body, MAX_DELIVERY_BYTES).await.map_err(|_| Error::PayloadTooLarge)
}

/// Report an incident from any system (an API token with the `incidents:write` scope).
/// Answered once it is stored; it is matched to requirements in the background.
#[utoipa::path(post, path = "/projects/{id}/incidents", tag = "incidents",
    extensions(("x-charter-access" = json!("ingest"))), params(("id" = Uuid, Path)),
    request_body = NewIncident,
    responses((status = 202, body = IncidentAccepted), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn report_handler(
    State(state): State<AppState>,
    Path(id): Path<ProjectId>,
    request: Request,
) -> Result<(StatusCode, Json<IncidentAccepted>)> {
    let (mut parts, body) = request.into_parts();
    let intake = reporter(&mut parts, &state, id).await?;
    let body = body_of(body).await?;
    let delivery = hooks::generic(&parts.headers, &body)?;
    let source = delivery.signals.first().map(|signal| signal.source.to_string()).unwrap_or_default();
    // One signal in, one incident out (a replay names the one it made).
    let accepted = writers(&parts)?.ingest(intake, &source, delivery).await?;
    let incident = accepted.incidents.into_iter().next().ok_or_else(|| Error::internal("a report made no incident"))?;
    Ok((StatusCode::ACCEPTED, Json(incident)))
}

/// A tool's own webhook, unchanged: `alertmanager` (API token with `incidents:write`),
/// `sentry`, `pagerduty`, `grafana` (signed with the secret set under integrations).
#[utoipa::path(post, path = "/projects/{id}/hooks/{tool}", tag = "incidents",
    extensions(("x-charter-access" = json!("ingest"))),
    params(("id" = Uuid, Path), ("tool" = Tool, Path)), request_body(content = serde_json::Value),
    responses((status = 202, body = DeliveryAccepted), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn hook_handler(
    State(state): State<AppState>,
    Path((id, tool)): Path<(ProjectId, String)>,
    request: Request,
) -> Result<(StatusCode, Json<DeliveryAccepted>)> {
    let tool = match tool.parse::<Tool>() {
        Ok(Tool::Otlp) | Err(_) => {
            return Err(Error::NotFound(format!(
                "no tool `{tool}` reports here: see GET /projects/{{id}}/integrations"
            )))
        }
        Ok(tool) => tool,
    };
    receive(&state, id, tool, request).await
}

/// OpenTelemetry logs (OTLP/HTTP, JSON encoding; an API token with `incidents:write`):
/// records of severity ERROR and above become incidents, grouped by service and message.
#[utoipa::path(post, path = "/projects/{id}/hooks/otlp/v1/logs", tag = "incidents",
    extensions(("x-charter-access" = json!("ingest"))), params(("id" = Uuid, Path)),
    request_body(content = serde_json::Value),
    responses((status = 202, body = DeliveryAccepted), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn otlp_handler(
    State(state): State<AppState>,
    Path(id): Path<ProjectId>,
    request: Request,
) -> Result<(StatusCode, Json<DeliveryAccepted>)> {
    receive(&state, id, Tool::Otlp, request).await
}

async fn receive(
    state: &AppState,
    id: ProjectId,
    tool: Tool,
    request: Request,
) -> Result<(StatusCode, Json<DeliveryAccepted>)> {
    let (mut parts, body) = request.into_parts();
    // A token is checked before the body is read; a signature (the other tools') before
    // the body is parsed.
    let token = match tool.signed() {
        true => None,
        false => Some(reporter(&mut parts, state, id).await?),
    };
    let body = body_of(body).await?;
    let secret = match tool.signed() {
        true => integrations::secret(&state.db, id, tool).await?,
        false => None,
    };
    let delivery = hooks::receive(tool, &parts.headers, &body, secret.as_deref(), Utc::now()).map_err(|err| {
        match err {
            // Why exactly is for the server's log; the sender learns as little as a
            // stranger probing for projects should (not even whether a secret is set).
            hooks::HookError::Signature(why) => {
                tracing::info!(project = %id, tool = tool.as_str(), %why, "refused a delivery");
                Error::BadSignature(format!(
                    "the {} signature does not match this project's secret (or no secret is set): \
                     see GET /api/v1/projects/{{id}}/integrations",
                    tool.as_str()
                ))
            }
            other => Error::from(other),
        }
    })?;
    // Proven by the token, or by the signature just checked.
    let intake = token.unwrap_or(Intake::Signed(id));
    Ok((StatusCode::ACCEPTED, Json(writers(&parts)?.ingest(intake, tool.as_str(), delivery).await?)))
}

/// Each tool that can report to the project: where it posts, how it proves itself,
/// whether its secret is set (never the secret).
#[utoipa::path(get, path = "/projects/{id}/integrations", tag = "incidents",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Integration>), (status = 404, body = crate::error::ErrorBody)))]
async fn integrations_handler(
    State(state): State<AppState>,
    project: Project<need::Read>,
) -> Result<Json<Vec<Integration>>> {
    Ok(Json(integrations::list(&state.db, &project).await?))
}

/// Set or rotate a signing tool's secret (owners).
#[utoipa::path(put, path = "/projects/{id}/integrations/{tool}", tag = "incidents",
    extensions(("x-charter-access" = json!("owner"))),
    params(("id" = Uuid, Path), ("tool" = Tool, Path)), request_body = SetIntegration,
    responses((status = 200, body = Integration), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn set_integration_handler(
    State(state): State<AppState>,
    project: Project<need::Manage>,
    Path((_id, tool)): Path<(Uuid, Tool)>,
    Json(request): Json<SetIntegration>,
) -> Result<Json<Integration>> {
    Ok(Json(integrations::set(&state.db, &project, tool, request).await?))
}

/// The project's incidents, most recently seen first (at most 500), each with the
/// requirements matching suggests and those people linked.
#[utoipa::path(get, path = "/projects/{id}/incidents", tag = "incidents",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path), IncidentsQuery),
    responses((status = 200, body = Vec<Incident>), (status = 404, body = crate::error::ErrorBody)))]
async fn list_handler(
    State(state): State<AppState>,
    project: Project<need::Read>,
    Query(query): Query<IncidentsQuery>,
) -> Result<Json<Vec<Incident>>> {
    Ok(Json(triage::list(&state.db, &project, &query).await?))
}

/// An incident with its description, labels and timeline.
#[utoipa::path(get, path = "/incidents/{id}", tag = "incidents",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path)),
    responses((status = 200, body = IncidentDetail), (status = 404, body = crate::error::ErrorBody)))]
async fn get_handler(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<IncidentId>,
) -> Result<Json<IncidentDetail>> {
    Ok(Json(triage::get(&state.db, &actor, id).await?))
}

/// Link the incident to a requirement of the project's `main` branch (writers).
#[utoipa::path(post, path = "/incidents/{id}/links", tag = "incidents",
    extensions(("x-charter-access" = json!("editor"))), params(("id" = Uuid, Path)),
    request_body = LinkIncident,
    responses((status = 200, body = IncidentDetail), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn link_handler(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<IncidentId>,
    Json(request): Json<LinkIncident>,
) -> Result<Json<IncidentDetail>> {
    Ok(Json(triage::link(&state.db, &actor, id, request.requirement_id).await?))
}

/// Remove a link (writers); an incident left with none is open again.
#[utoipa::path(delete, path = "/incidents/{id}/links/{requirement_id}", tag = "incidents",
    extensions(("x-charter-access" = json!("editor"))),
    params(("id" = Uuid, Path), ("requirement_id" = Uuid, Path)),
    responses((status = 200, body = IncidentDetail), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
async fn unlink_handler(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, requirement)): Path<(IncidentId, Uuid)>,
) -> Result<Json<IncidentDetail>> {
    Ok(Json(triage::unlink(&state.db, &actor, id, requirement).await?))
}

/// Judge the incident not to concern the specification, with a reason (writers).
#[utoipa::path(post, path = "/incidents/{id}/dismiss", tag = "incidents",
    extensions(("x-charter-access" = json!("editor"))), params(("id" = Uuid, Path)),
    request_body = DismissIncident,
    responses((status = 200, body = IncidentDetail), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn dismiss_handler(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<IncidentId>,
    Json(request): Json<DismissIncident>,
) -> Result<Json<IncidentDetail>> {
    Ok(Json(triage::dismiss(&state.db, &actor, id, request).await?))
}

/// Turn the incident into a requirement change (writers): a new requirement in a spec,
/// or an amendment of a linked one, on a new branch `incident/<short id>`, with a change
/// request to `main`. The configured chat model proposes the wording, else a template.
#[utoipa::path(post, path = "/incidents/{id}/draft", tag = "incidents",
    extensions(("x-charter-access" = json!("editor"))), params(("id" = Uuid, Path)),
    request_body = NewDraft,
    responses((status = 201, body = DraftCreated), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
async fn draft_handler(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<IncidentId>,
    Json(request): Json<NewDraft>,
) -> Result<(StatusCode, Json<DraftCreated>)> {
    Ok((StatusCode::CREATED, Json(draft::draft(&state, &actor, id, request).await?)))
}
