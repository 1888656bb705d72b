//! `/mcp`: Charter for coding agents, over the Model Context Protocol (Streamable HTTP,
//! built on `rmcp`). Every request is answered on its own (no sessions, so any instance
//! answers any request), in JSON, speaking the 2026-07-28 revision and still the
//! 2025-11-25 one to clients that begin with `initialize`.
//!
//! Only bearer tokens open it (never the session cookie, so no page of another site
//! can use a visitor's): a missing or bad token is a 401, a token without the `read`
//! scope a 403. What a tool may then do is what the same person may do through the
//! API: each tool calls the services the API's routes call, with the access they grant.

mod resources;
mod tools;

use std::borrow::Cow;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use charter_types::{Permission, ProjectId, Scope};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{
    CallToolResult, ContentBlock, Implementation, ListResourceTemplatesResult, ListResourcesResult,
    PaginatedRequestParams, ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{tool_handler, ErrorData, ServerHandler};
use serde::Serialize;

use crate::access::Actor;
use crate::authorization::{self, ProjectAccess};
use crate::error::{Error, Result};
use crate::{api, auth, AppState};

const INSTRUCTIONS: &str = "Charter holds this team's specifications: a constitution of principles, feature specs \
with requirement IDs (PAY-001) and Given/When/Then scenarios, plans and task lists. Read the constitution first \
(get_constitution). Find what a change touches with search, then read it with get_requirement or get_document. \
Never invent a requirement: propose_change puts your edits on a branch of their own and opens a change request \
that people review; nothing you propose lands until they merge it. Open questions ([NEEDS CLARIFICATION: …]) \
are listed by list_open_questions.";

/// The `/mcp` route, for the server to merge.
pub fn router(state: AppState) -> Router {
    let settings = &state.settings;
    let mut hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    // Pages on this machine may call it (with a token); no page of another site can.
    let mut origins: Vec<String> =
        ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"].map(str::to_owned).into();
    if let Some(origin) = settings.public_origin.as_deref().map(|origin| origin.trim_end_matches('/')) {
        hosts.extend(origin.split_once("://").map(|(_, authority)| authority.to_owned()));
        origins.push(origin.to_owned());
    }
    // Any other Host or Origin is refused (DNS rebinding).
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_allowed_hosts(hosts)
        .with_allowed_origins(origins)
        .enforce_origin_validation()
        .with_max_request_body_bytes(api::MAX_BODY_BYTES);
    let handler_state = state.clone();
    let service = StreamableHttpService::new(
        move || Ok(Charter::new(handler_state.clone())),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    Router::new().route_service("/mcp", service).route_layer(middleware::from_fn_with_state(state, authenticate))
}

/// Lets through requests with a valid bearer token allowed to read, with their caller.
async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let presented = parts.headers.contains_key(AUTHORIZATION);
    let actor = match presented {
        true => auth::identify(&mut parts, &state).await,
        false => Err(Error::Unauthorized),
    };
    let (refusal, challenge) = match actor {
        Ok(actor) => match actor.require_scope(Scope::Read) {
            Ok(()) => {
                parts.extensions.insert(actor);
                return next.run(Request::from_parts(parts, body)).await;
            }
            Err(refusal) => (refusal, r#"Bearer realm="charter", error="insufficient_scope", scope="read""#),
        },
        Err(Error::Unauthorized) if presented => {
            (Error::Unauthorized, r#"Bearer realm="charter", error="invalid_token""#)
        }
        Err(Error::Unauthorized) => (Error::Unauthorized, r#"Bearer realm="charter""#),
        // Charter's own failure (the database is away): logged, and not the token's fault.
        Err(failure) => return failure.into_response(),
    };
    let mut response = refusal.into_response();
    response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    response
}

/// The MCP server: one per request, holding the state every tool needs.
#[derive(Clone)]
pub struct Charter {
    state: AppState,
    tool_router: ToolRouter<Self>,
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Charter {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_resources().build())
            .with_server_info(Implementation::new("charter", env!("CARGO_PKG_VERSION")).with_title("Charter"))
            .with_instructions(INSTRUCTIONS)
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(&[ProtocolVersion::V_2026_07_28, ProtocolVersion::V_2025_11_25])
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let actor = caller(&context)?;
        resources::list(&self.state, &actor).await.map_err(protocol_error)
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(resources::templates())
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let actor = caller(&context)?;
        resources::read(&self.state, &actor, &request.uri).await.map(Into::into).map_err(protocol_error)
    }
}

impl Charter {
    fn new(state: AppState) -> Charter {
        Charter { state, tool_router: Self::tool_router() }
    }

    /// The caller's access to `project` (its id or its slug).
    async fn project(&self, actor: &Actor, project: &str, need: Permission) -> Result<ProjectAccess> {
        let db = &self.state.db;
        match project.trim().parse::<ProjectId>() {
            Ok(id) => authorization::authorize(db, actor, id, need).await,
            Err(_) => authorization::authorize_slug(db, actor, project.trim(), need).await,
        }
    }
}

/// Who is calling a resource method, as the middleware found them.
fn caller(context: &RequestContext<RoleServer>) -> Result<Actor, ErrorData> {
    let parts =
        context.extensions.get::<Parts>().ok_or_else(|| Error::internal("an MCP request without its HTTP parts"));
    parts.and_then(caller_of).map_err(protocol_error)
}

/// Who is calling, as the middleware found them (it lets no request through without).
fn caller_of(parts: &Parts) -> Result<Actor> {
    parts.extensions.get::<Actor>().cloned().ok_or_else(|| Error::internal("an MCP request without its caller"))
}

/// A tool's answer: `value` as structured content, or the refusal in words the agent
/// can act on. Only Charter's own failures are protocol errors (and logged).
fn answer(value: Result<impl Serialize>) -> Result<CallToolResult, ErrorData> {
    match value {
        Ok(value) => {
            let value = serde_json::to_value(value).map_err(|err| protocol_error(Error::internal(err)))?;
            Ok(CallToolResult::structured(value))
        }
        Err(err) if err.status().is_client_error() => {
            Ok(CallToolResult::error(vec![ContentBlock::text(err.to_string())]))
        }
        Err(err) => Err(protocol_error(err)),
    }
}

fn protocol_error(err: Error) -> ErrorData {
    match err {
        Error::NotFound(message) => ErrorData::resource_not_found(message, None),
        err if err.status().is_client_error() => ErrorData::invalid_params(err.to_string(), None),
        err => {
            err.log();
            ErrorData::internal_error("Charter could not answer; the cause is in its log", None)
        }
    }
}
