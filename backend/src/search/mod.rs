//! Search over a branch's requirements and sections, by words and by meaning. The
//! index (`search_entries`) is derived from the Markdown projection: `indexer` keeps it
//! in step, `entries` says what a document contributes, `vectors` adds each entry's
//! embedding (made by `crate::embeddings`), `query` ranks entries one way, `fusion` merges the
//! ways into one answer. `related`, `duplicates` and `near` find requirements near each
//! other. `provider` says which embedder a project uses; `jobs` re-embed a project
//! whose provider changed.

mod duplicates;
mod entries;
mod fusion;
pub mod indexer;
pub mod jobs;
mod near;
pub(crate) mod pace;
pub mod provider;
mod query;
mod related;
pub mod vectors;

use axum::extract::State;
use axum::http::StatusCode;
use charter_types::{
    BranchId, DismissDuplicate, Dismissal, DuplicateReport, EmbeddingSettings, Job, JobId, JobStarted, ProjectId,
    RelatedRequirements, SearchMode, SearchResults, SetEmbeddings,
};
use futures_util::StreamExt;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::access::Actor;
use crate::authorization::{need, Project, ProjectAccess};
use crate::embeddings::{Embedder, Embeddings, Meaning};
use crate::error::{Error, Result};
use crate::extract::{Json, Path, Query};
use crate::structure::requirements;
use crate::{branches, AppState};
pub use duplicates::{dismiss, report as duplicates, DuplicatesQuery};
pub use near::{near_duplicates, NearDuplicate};
pub use query::SearchQuery;
use query::{Ranked, Ranking, Request};
pub use related::{related, RelatedQuery};

/// The hits of a project's branch for `query`, best first: by words and, where this
/// server has an embedding model, by meaning.
pub async fn search(
    db: &sqlx::PgPool,
    meaning: &Meaning,
    project: &ProjectAccess,
    query: &SearchQuery,
) -> Result<SearchResults> {
    let request = Request::new(query)?;
    let branch = branches::resolve(db, project.project(), query.branch.as_deref().unwrap_or(branches::MAIN)).await?;
    // The two rankings run side by side, each on a connection of its own: a hybrid
    // search takes about as long as the slower of the two, not both.
    let by_words = async {
        match request.mode {
            SearchMode::Hybrid | SearchMode::Text => query::ranked(db, branch, &request, Ranking::Text).await,
            SearchMode::Meaning => Ok(Vec::new()),
        }
    };
    let by_meaning_with_notice = async {
        Ok(match meaning {
            Meaning::Ready(_) if request.mode == SearchMode::Text => (Vec::new(), None),
            Meaning::Ready(embedder) => match tokio::join!(by_meaning(db, embedder, branch, &request), async {
                match jobs::running(db, project).await? {
                    Some(job) => Ok(jobs::notice(&job)),
                    None => catching_up(db, branch).await,
                }
            }) {
                (Ok(near), notice) => (near, notice?),
                // The provider's words are for the owners (the settings show them), not readers.
                (Err(Error::Provider(why)), _) => {
                    tracing::warn!(%why, "the embedding provider failed a query; answering by words");
                    let notice = "Search matches words only for now: the embedding provider did not answer.";
                    (Vec::new(), Some(notice.to_owned()))
                }
                (Err(err), _) => return Err(err),
            },
            Meaning::Off { why } => {
                (Vec::new(), Some(format!("Search matches words only: meaning search is off because {why}.")))
            }
        })
    };
    let (text, (near, notice)) = tokio::try_join!(by_words, by_meaning_with_notice)?;
    let meaning_search = matches!(meaning, Meaning::Ready(_)) && request.mode != SearchMode::Text;
    Ok(SearchResults { hits: fusion::fuse(text, near, request.limit), meaning_search, notice })
}

async fn by_meaning(
    db: &sqlx::PgPool,
    embedder: &Embedder,
    branch: BranchId,
    request: &Request,
) -> Result<Vec<Ranked>> {
    if request.is_empty() {
        return Ok(Vec::new());
    }
    let Some(vector) = embedder.embed(vec![request.text.clone()]).await?.pop() else { return Ok(Vec::new()) };
    query::ranked(db, branch, request, Ranking::Meaning { query: &vector, dimensions: embedder.dimensions() }).await
}

/// A requirement of `main` that some text (an incident's) is about.
#[derive(Clone)]
pub struct Match {
    pub requirement_id: uuid::Uuid,
    /// 1 when it ranks first both by words and by meaning, less as it ranks lower.
    pub score: f32,
    /// Its cosine similarity to the text, when it was found by meaning.
    pub similarity: Option<f32>,
}

/// What matching found for each text, and whether the index it looked in was up to date.
pub struct Matching {
    /// Each text's best requirements, in the order of the texts; `None` where ranking
    /// that text failed (logged): it may be tried again.
    pub best: Vec<Option<Vec<Match>>>,
    /// False while `main` has edits not yet indexed, or (when it ranked by meaning)
    /// entries not yet embedded: asked again later, the answers may be better.
    pub settled: bool,
    /// Meaning was asked for, and the provider failed: these are the words' answers.
    pub meaning_failed: bool,
}

/// How deep matching looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchBy {
    /// The words alone: no embedding, so it keeps up with any storm of incidents.
    Words,
    /// Words and meaning, as a search ranks.
    WordsAndMeaning,
}

/// Texts ranked side by side while matching: each takes two connections of the pool,
/// which serves requests first.
const MATCHED_AT_ONCE: usize = 2;

/// The requirements of the project's `main` branch that each of `texts` is most about,
/// best first, at most `limit` each: the same two rankings as a search (or, `by` words,
/// that one alone), any of its words matching rather than all. The server's own
/// background work (incident matching): the texts are embedded together (a batch costs
/// the model far less than its texts one by one) at the background's priority, and a
/// provider that fails leaves the words.
pub(crate) async fn matching(
    db: &sqlx::PgPool,
    embeddings: &Embeddings,
    project: ProjectId,
    texts: &[String],
    limit: usize,
    by: MatchBy,
) -> Result<Matching> {
    let branch = branches::resolve(db, project, branches::MAIN).await?;
    // Hits name requirements by their identities, which an unread branch may not have yet.
    requirements::refresh(db, project, branch).await?;
    // Read before the rankings: an index that catches up meanwhile only makes them better.
    let (queued, unembedded): (bool, bool) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM search_queue WHERE branch_id = $1),
                EXISTS (SELECT 1 FROM search_entries WHERE branch_id = $1 AND embedding IS NULL)",
    )
    .bind(branch)
    .fetch_one(db)
    .await?;
    // Alerts of one rule often say the same thing: each distinct text is embedded and
    // ranked once.
    let mut distinct: Vec<&str> = Vec::new();
    let mut places: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let place: Vec<usize> = texts
        .iter()
        .map(|text| {
            *places.entry(text.as_str()).or_insert_with(|| {
                distinct.push(text);
                distinct.len() - 1
            })
        })
        .collect();
    // Sections come back too: ask for more, keep the requirements.
    let requests: Vec<Request> = distinct.iter().map(|text| Request::any_words(text, limit * 4)).collect();
    let meaning = match by {
        MatchBy::Words => None,
        MatchBy::WordsAndMeaning => Some(provider::meaning(db, embeddings, project).await?),
    };
    let mut meaning_failed = false;
    let vectors = match meaning.as_ref().and_then(|meaning| meaning.embedder()) {
        None => None,
        Some(embedder) => {
            let wanted = requests.len();
            match embedder.embed_in_background(requests.iter().map(|request| request.text.clone()).collect()).await {
                Ok(vectors) if vectors.len() == wanted => Some((vectors, embedder.dimensions())),
                Ok(vectors) => return Err(Error::internal(format!("{} vectors for {wanted} texts", vectors.len()))),
                Err(Error::Provider(why)) => {
                    tracing::warn!(%why, %project, "the embedding provider failed; matching by words");
                    meaning_failed = true;
                    None
                }
                Err(err) => return Err(err),
            }
        }
    };
    let each: Vec<_> = requests
        .iter()
        .enumerate()
        .map(|(at, request)| {
            let near = vectors.as_ref().map(|(vectors, dimensions)| (&vectors[at], *dimensions));
            best_for(db, branch, request, near, limit)
        })
        .collect();
    let ranked: Vec<Option<Vec<Match>>> = futures_util::stream::iter(each)
        .buffered(MATCHED_AT_ONCE)
        .map(|ranked| ranked.inspect_err(|err| err.log()).ok())
        .collect()
        .await;
    // Missing embeddings matter only when it ranked by meaning.
    let settled = !queued && !(vectors.is_some() && unembedded);
    Ok(Matching { best: place.into_iter().map(|at| ranked[at].clone()).collect(), settled, meaning_failed })
}

/// The best requirements for one text, by words and, with its embedding (`near`: the
/// vector and its model's dimensions), by meaning.
async fn best_for(
    db: &sqlx::PgPool,
    branch: BranchId,
    request: &Request,
    near: Option<(&pgvector::Vector, usize)>,
    limit: usize,
) -> Result<Vec<Match>> {
    let by_meaning = async {
        match near {
            Some((query, dimensions)) => {
                query::ranked(db, branch, request, Ranking::Meaning { query, dimensions }).await
            }
            None => Ok(Vec::new()),
        }
    };
    let (text, near) = tokio::try_join!(query::ranked(db, branch, request, Ranking::Text), by_meaning)?;
    let similarity: std::collections::HashMap<uuid::Uuid, f32> =
        near.iter().filter_map(|ranked| Some((ranked.hit.requirement_id?, ranked.rank))).collect();
    Ok(fusion::fuse(text, near, request.limit)
        .into_iter()
        .filter_map(|hit| {
            let id = hit.requirement_id?;
            Some(Match {
                requirement_id: id,
                score: hit.score / fusion::BEST,
                similarity: similarity.get(&id).copied(),
            })
        })
        .take(limit)
        .collect())
}

/// Says so while some of the branch's entries still wait for their embedding (just
/// edited, or all of them after a model change): those are found by their words only.
async fn catching_up(db: &sqlx::PgPool, branch: BranchId) -> Result<Option<String>> {
    let waiting: i64 =
        sqlx::query_scalar("SELECT count(*) FROM search_entries WHERE branch_id = $1 AND embedding IS NULL")
            .bind(branch)
            .fetch_one(db)
            .await?;
    Ok((waiting > 0).then(|| {
        format!(
            "Meaning search is catching up: {waiting} entries of this branch are found by their words only for now."
        )
    }))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search_handler))
        .routes(routes!(related_handler))
        .routes(routes!(duplicates_handler))
        .routes(routes!(dismiss_handler))
        .routes(routes!(embeddings_handler, set_embeddings_handler))
        .routes(routes!(reindex_handler))
        .routes(routes!(job_handler))
}

/// Meaning search as the project has it.
async fn meaning_of(state: &AppState, project: &ProjectAccess) -> Result<Meaning> {
    provider::meaning(&state.db, &state.embeddings, project.project()).await
}

/// Search a branch's requirements and sections: each hit with where it is, a snippet
/// marked where it matched, and why it matched.
#[utoipa::path(get, path = "/projects/{id}/search", tag = "search",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path), SearchQuery),
    responses((status = 200, body = SearchResults), (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn search_handler(
    State(state): State<AppState>,
    project: Project<need::Read>,
    Query(query): Query<SearchQuery>,
) -> Result<Json<SearchResults>> {
    let meaning = meaning_of(&state, &project).await?;
    Ok(Json(search(&state.db, &meaning, &project, &query).await?))
}

/// The requirements nearest in meaning to this one, on a branch: those of other
/// documents first.
#[utoipa::path(get, path = "/requirements/{id}/related", tag = "search",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path), RelatedQuery),
    responses((status = 200, body = RelatedRequirements), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
async fn related_handler(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Query(query): Query<RelatedQuery>,
) -> Result<Json<RelatedRequirements>> {
    let project = requirements::authorize_reader(&state.db, &actor, id).await?;
    let meaning = meaning_of(&state, &project).await?;
    Ok(Json(related::related(&state.db, &meaning, &project, id, &query).await?))
}

/// A branch's possible duplicates: requirement pairs nearly alike in meaning, most alike
/// first, and those judged distinct with why.
#[utoipa::path(get, path = "/projects/{id}/duplicates", tag = "search",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path), DuplicatesQuery),
    responses((status = 200, body = DuplicateReport), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
async fn duplicates_handler(
    State(state): State<AppState>,
    project: Project<need::Read>,
    Query(query): Query<DuplicatesQuery>,
) -> Result<Json<DuplicateReport>> {
    let meaning = meaning_of(&state, &project).await?;
    Ok(Json(duplicates(&state.db, &meaning, &project, &query).await?))
}

/// Judge two requirements distinct, with why: the report lists them as dismissed.
#[utoipa::path(post, path = "/projects/{id}/duplicates/dismiss", tag = "search",
    extensions(("x-charter-access" = json!("editor"))), params(("id" = Uuid, Path)),
    request_body = DismissDuplicate,
    responses((status = 200, body = Dismissal), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn dismiss_handler(
    State(state): State<AppState>,
    project: Project<need::Write>,
    Json(request): Json<DismissDuplicate>,
) -> Result<Json<Dismissal>> {
    Ok(Json(dismiss(&state.db, &project, request).await?))
}

/// The project's embedding provider, whether search finds by meaning now, and the
/// latest re-index job.
#[utoipa::path(get, path = "/projects/{id}/embeddings", tag = "search",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path)),
    responses((status = 200, body = EmbeddingSettings), (status = 404, body = crate::error::ErrorBody)))]
async fn embeddings_handler(
    State(state): State<AppState>,
    project: Project<need::Read>,
) -> Result<Json<EmbeddingSettings>> {
    Ok(Json(provider::settings(&state.db, &state.embeddings, &project).await?))
}

/// Choose the project's embedding provider (owners). The provider must answer first;
/// a new model starts a re-index job, and search answers by words meanwhile.
#[utoipa::path(put, path = "/projects/{id}/embeddings", tag = "search",
    extensions(("x-charter-access" = json!("owner"))), params(("id" = Uuid, Path)),
    request_body = SetEmbeddings,
    responses((status = 200, body = EmbeddingSettings), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn set_embeddings_handler(
    State(state): State<AppState>,
    project: Project<need::Manage>,
    Json(request): Json<SetEmbeddings>,
) -> Result<Json<EmbeddingSettings>> {
    Ok(Json(provider::set(&state.db, &state.embeddings, &project, request).await?))
}

/// Embed every entry of the project again (owners): `GET /jobs/{id}` follows it.
#[utoipa::path(post, path = "/projects/{id}/reindex", tag = "search",
    extensions(("x-charter-access" = json!("owner"))), params(("id" = Uuid, Path)),
    responses((status = 202, body = JobStarted), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn reindex_handler(
    State(state): State<AppState>,
    project: Project<need::Manage>,
) -> Result<(StatusCode, Json<JobStarted>)> {
    Ok((StatusCode::ACCEPTED, Json(provider::reindex(&state.db, &state.embeddings, &project).await?)))
}

/// A background job: its state and progress (`done` of `total`), and what went wrong.
#[utoipa::path(get, path = "/jobs/{id}", tag = "search",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path)),
    responses((status = 200, body = Job), (status = 404, body = crate::error::ErrorBody)))]
async fn job_handler(State(state): State<AppState>, actor: Actor, Path(id): Path<JobId>) -> Result<Json<Job>> {
    Ok(Json(jobs::get(&state.db, &actor, id).await?))
}
