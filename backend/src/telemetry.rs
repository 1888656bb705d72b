//! `/metrics` in Prometheus' text format, for a scraper that holds the metrics token
//! (`CHARTER_METRICS_TOKEN`; without one the route is not there): request latencies per
//! route (`record`, around every route), co-editing (open documents and connections,
//! update append latency, group-commit sizes), the database pool, and the search-index
//! and incident queues, the last three read when scraped.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use subtle::ConstantTimeEq;

use crate::error::Error;
use crate::AppState;

/// Latency buckets, in seconds: a millisecond to ten seconds.
const SECONDS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Updates stored in one group commit.
const UPDATES: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// The process's recorder, installed on first use: one per process, whatever number of
/// servers it runs (tests run many).
fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
            .and_then(|builder| builder.set_buckets_for_metric(Matcher::Suffix("_updates".into()), UPDATES))
            .and_then(PrometheusBuilder::install_recorder)
            .expect("the metrics recorder installs once per process")
    })
}

/// Counts and times every request by method, route (the pattern it matched, so that
/// ids do not multiply the series) and status, when the server serves `/metrics`.
/// Methods outside HTTP's own are one label, so that callers cannot make series up.
pub async fn record(State(enabled): State<bool>, request: Request, next: Next) -> Response {
    if !enabled {
        return next.run(request).await;
    }
    let method = match *request.method() {
        Method::GET | Method::HEAD | Method::POST | Method::PUT | Method::PATCH | Method::DELETE | Method::OPTIONS => {
            request.method().as_str().to_owned()
        }
        _ => "other".to_owned(),
    };
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!("charter_http_request_duration_seconds", "method" => method.clone(), "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("charter_http_requests_total", "method" => method, "route" => route, "status" => status)
        .increment(1);
    response
}

/// How often histograms are folded, so that samples do not pile up between scrapes.
const UPKEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// `/metrics`, when the server has a metrics token, with the recorder's upkeep running.
pub fn router(state: AppState) -> Router {
    if state.settings.metrics_token.is_none() {
        return Router::new();
    }
    let handle = recorder();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(UPKEEP).await;
            handle.run_upkeep();
        }
    });
    Router::new().route("/metrics", get(scrape)).with_state(state)
}

async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let expected = state.settings.metrics_token.as_deref().unwrap_or_default();
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    if expected.is_empty() || !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        let mut refused = Error::Unauthorized.into_response();
        refused.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return refused;
    }
    let handle = recorder();
    metrics::gauge!("charter_collab_open_documents").set(state.collab.open_documents() as f64);
    metrics::gauge!("charter_collab_connections").set(state.collab.open_connections() as f64);
    let (size, idle) = (state.db.size(), state.db.num_idle());
    metrics::gauge!("charter_db_pool_connections", "state" => "idle").set(idle as f64);
    metrics::gauge!("charter_db_pool_connections", "state" => "in_use").set(size.saturating_sub(idle as u32) as f64);
    let reachable = state.availability.is_reachable();
    metrics::gauge!("charter_database_reachable").set(f64::from(u8::from(reachable)));
    // Best effort: with the database away the rest still says something, at once while
    // it is known to be away.
    if reachable {
        let queues = sqlx::query_as::<_, (i64, i64)>(
            "SELECT (SELECT count(*) FROM search_queue), (SELECT count(*) FROM incident_queue)",
        )
        .fetch_one(&state.db)
        .await;
        match queues {
            Ok((search, incidents)) => {
                metrics::gauge!("charter_queue_depth", "queue" => "search_index").set(search as f64);
                metrics::gauge!("charter_queue_depth", "queue" => "incident_matching").set(incidents as f64);
            }
            Err(err) => {
                let err = Error::from(err);
                err.log();
                state.availability.note(&err).await;
            }
        }
    }
    let text_format = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
    (StatusCode::OK, [(header::CONTENT_TYPE, text_format)], handle.render()).into_response()
}
