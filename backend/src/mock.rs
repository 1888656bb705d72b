//! Contract mocks over HTTP: `/mock/{project}/{contract}/…` answers as the service an
//! OpenAPI contract of the project describes (see `contract::mock`), from `main` or the
//! branch a `Charter-Branch` header names. Members who may read the project may call
//! it, with their session or an API token that may read; to anyone else there is no
//! such mock. Each caller has `mock_requests_per_minute` requests a minute.

use axum::body::{to_bytes, Body};
use axum::extract::{Path, Request, State};
use axum::http::header::{ALLOW, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use charter_types::{DocumentId, HttpMethod, Permission, Scope};

use crate::api::MAX_BODY_BYTES;
use crate::authorization::authorize_slug;
use crate::collab::DocKey;
use crate::contract::mock::{answer, is_json, Answer, Request as MockRequest};
use crate::contract::{self, Contract};
use crate::error::{Error, Result};
use crate::{auth, branches, budget, content, AppState};

/// The branch a call may name instead of `main`.
const BRANCH_HEADER: &str = "charter-branch";
/// The operation that answered, for the caller reading the answer.
const OPERATION_HEADER: HeaderName = HeaderName::from_static("charter-mock-operation");

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/mock/{project}/{contract}", any(mock))
        .route("/mock/{project}/{contract}/{*path}", any(mock))
        .with_state(state)
}

async fn mock(State(state): State<AppState>, Path(names): Path<Vec<(String, String)>>, request: Request) -> Response {
    let name = |key: &str| names.iter().find(|(name, _)| name == key).map(|(_, value)| value.clone());
    let names = (name("project").unwrap_or_default(), name("contract").unwrap_or_default());
    match answered(&state, names, request).await {
        Ok(answer) => into_response(answer),
        Err(err) => err.into_response(),
    }
}

async fn answered(state: &AppState, (slug, name): (String, String), request: Request) -> Result<Answer> {
    let (mut parts, body) = request.into_parts();
    let actor = auth::identify(&mut parts, state).await?;
    // A mock changes nothing, whatever its method: reading is enough.
    actor.require_scope(Scope::Read)?;
    let project = authorize_slug(&state.db, &actor, &slug, Permission::Read).await?;
    // Every call counts, answered or refused.
    let _counted =
        state.mock_limiter.reserve(&[(format!("mock:{}", actor.user_id), state.settings.mock_requests_per_minute)])?;
    let branch_name = match parts.headers.get(BRANCH_HEADER) {
        Some(value) => {
            value.to_str().map_err(|_| Error::BadRequest("the Charter-Branch header must be text".into()))?
        }
        None => branches::MAIN,
    };
    let branch = branches::resolve(&state.db, project.project(), branch_name).await?;
    let contracts: Vec<(DocumentId, String)> = sqlx::query_as(
        "SELECT bd.document_id, bd.title FROM branch_documents bd JOIN documents d ON d.id = bd.document_id
         WHERE bd.branch_id = $1 AND d.kind = 'contract' AND bd.deleted_at IS NULL ORDER BY bd.title, bd.document_id",
    )
    .bind(branch)
    .fetch_all(&state.db)
    .await?;
    let document = contracts.iter().find(|(_, title)| contract::slug(title) == name).ok_or_else(|| {
        Error::NotFound(format!("the project has no contract `{name}` on {branch_name} (a contract's title, in lowercase words joined by -)"))
    })?;
    let text = content::read(&mut *state.db.acquire().await?, DocKey::new(branch, document.0)).await?;
    // A method no operation can have is answered 405, as one the path lacks is.
    let method_name = parts.method.to_string();
    let method = method_name.to_ascii_lowercase().parse::<HttpMethod>().ok();
    let body = to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| Error::PayloadTooLarge)?;
    // The path below the contract as sent: its segments are decoded once, when matched.
    let path = format!("/{}", parts.uri.path().splitn(5, '/').nth(4).unwrap_or_default());
    let query = parts.uri.query().unwrap_or_default();
    let query: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    budget::run(move |_| {
        let contract = Contract::read(&text);
        let readable = contract
            .readable()
            .ok_or_else(|| Error::Conflict("the contract cannot be read: its lint findings say why".into()))?;
        let request = MockRequest { method, method_name: &method_name, path: &path, query, headers, body: &body };
        Ok(answer(readable, &request))
    })
    .await
}

fn into_response(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let body = match (&answer.body, answer.content_type.as_deref()) {
        (None, _) => Body::empty(),
        // Text for a media type that is not JSON goes as the text itself, the rest as JSON.
        (Some(serde_json::Value::String(text)), Some(media)) if !is_json(media) => Body::from(text.clone()),
        (Some(value), _) => Body::from(serde_json::to_vec(value).unwrap_or_default()),
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    let header = |text: &str| HeaderValue::from_str(text).ok();
    // A script a contract's example holds is served as text: no page may run it.
    let content_type = answer.content_type.as_deref().map(|media| match media.contains("script") {
        true => "text/plain; charset=utf-8",
        false => media,
    });
    if let Some(value) = content_type.and_then(header).filter(|_| answer.body.is_some()) {
        headers.insert(CONTENT_TYPE, value);
    }
    if let Some(value) = answer.operation.as_deref().and_then(header) {
        headers.insert(OPERATION_HEADER, value);
    }
    if !answer.allow.is_empty() {
        let allow: Vec<String> = answer.allow.iter().map(|method| method.as_str().to_uppercase()).collect();
        headers.extend(header(&allow.join(", ")).map(|value| (ALLOW, value)));
    }
    response
}
