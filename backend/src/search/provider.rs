//! Which embedding provider a project's search by meaning uses: the server's, unless
//! the project's owners chose another. A change of model starts a re-index job (see
//! `jobs`); search answers by words meanwhile and says so.

use charter_types::{EmbeddingSettings, JobStarted, ProjectId, ProviderKind, SetEmbeddings};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::{jobs, vectors};
use crate::audit;
use crate::authorization::ProjectAccess;
use crate::embeddings::openai::Endpoint;
use crate::embeddings::{Embeddings, Meaning, Provider};
use crate::error::{Error, Result};

const MAX_DIMENSIONS: usize = 2000;
const MAX_NAME_CHARS: usize = 200;
const MAX_URL_CHARS: usize = 2000;
const MAX_KEY_CHARS: usize = 1000;
/// What a new provider is asked to embed before it is taken.
const PROBE: &str = "Charter checks that this provider answers.";

/// A project's own choice, as stored (`projects.embedding`); none: the server's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "provider", rename_all = "lowercase")]
enum Choice {
    Local,
    #[serde(rename = "openai")]
    OpenAi(Endpoint),
    Off,
}

impl Choice {
    fn kind(choice: Option<&Choice>) -> ProviderKind {
        match choice {
            None => ProviderKind::Server,
            Some(Choice::Local) => ProviderKind::Local,
            Some(Choice::OpenAi(_)) => ProviderKind::OpenAi,
            Some(Choice::Off) => ProviderKind::Off,
        }
    }
}

async fn choice(db: &PgPool, project: ProjectId) -> Result<Option<Choice>> {
    let stored: Option<sqlx::types::Json<Choice>> =
        sqlx::query_scalar("SELECT embedding FROM projects WHERE id = $1").bind(project).fetch_one(db).await?;
    Ok(stored.map(|json| json.0))
}

/// Meaning search as `choice` has it.
fn meaning_by(embeddings: &Embeddings, choice: Option<&Choice>) -> Meaning {
    match choice {
        None => embeddings.server().clone(),
        Some(Choice::Local) => embeddings.of(Some(&embeddings.local())),
        Some(Choice::OpenAi(endpoint)) => embeddings.of(Some(&Provider::OpenAi(endpoint.clone()))),
        Some(Choice::Off) => Meaning::Off { why: "this project's owners turned it off".into() },
    }
}

/// Meaning search as a project has it now.
pub async fn meaning(db: &PgPool, embeddings: &Embeddings, project: ProjectId) -> Result<Meaning> {
    Ok(meaning_by(embeddings, choice(db, project).await?.as_ref()))
}

/// A project's embedding settings, for a reader of it.
pub async fn settings(db: &PgPool, embeddings: &Embeddings, project: &ProjectAccess) -> Result<EmbeddingSettings> {
    let choice = choice(db, project.project()).await?;
    let meaning = meaning_by(embeddings, choice.as_ref());
    let job = jobs::latest(db, project).await?;
    let endpoint = match &choice {
        Some(Choice::OpenAi(endpoint)) => Some(endpoint),
        _ => None,
    };
    let notice = match (&meaning, &job) {
        (Meaning::Off { why }, _) => Some(format!("Search matches words only: meaning search is off because {why}.")),
        (Meaning::Ready(_), Some(job)) => jobs::notice(job),
        (Meaning::Ready(_), None) => None,
    };
    Ok(EmbeddingSettings {
        provider: Choice::kind(choice.as_ref()),
        url: endpoint.map(|endpoint| endpoint.url.clone()),
        model: endpoint.map(|endpoint| endpoint.model.clone()),
        dimensions: endpoint.map(|endpoint| endpoint.dimensions),
        has_key: endpoint.is_some_and(|endpoint| endpoint.key.is_some()),
        server_provider: embeddings.server_provider(),
        meaning_search: matches!(meaning, Meaning::Ready(_)),
        notice,
        job,
    })
}

/// Sets a project's provider (its owners only). The new provider must answer before it
/// is taken; when its model differs from the one the project's vectors are of, every
/// entry is embedded again by a re-index job.
pub async fn set(
    db: &PgPool,
    embeddings: &Embeddings,
    project: &ProjectAccess,
    request: SetEmbeddings,
) -> Result<EmbeddingSettings> {
    let before = choice(db, project.project()).await?;
    let choice = validated(request, before.as_ref(), embeddings)?;
    let meaning = meaning_by(embeddings, choice.as_ref());
    if let (Some(Choice::Local | Choice::OpenAi(_)), Meaning::Off { why }) = (&choice, &meaning) {
        return Err(Error::Invalid(format!("That provider cannot be used: {why}.")));
    }
    if let (Some(Choice::OpenAi(_)), Meaning::Ready(embedder)) = (&choice, &meaning) {
        embedder.embed(vec![PROBE.to_owned()]).await.map_err(|err| match err {
            Error::Provider(why) => Error::Invalid(format!("The provider did not answer as it should: {why}")),
            other => other,
        })?;
    }
    let model = meaning.embedder().map(|embedder| (embedder.model(), embedder.dimensions()));
    if let Some((_, dimensions)) = &model {
        vectors::ensure_index(db, *dimensions).await?;
    }

    let mut tx = project.begin(db).await?;
    let stored: Option<String> =
        sqlx::query_scalar("SELECT embedding_model FROM projects WHERE id = $1 FOR NO KEY UPDATE")
            .bind(project.project())
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query("UPDATE projects SET embedding = $2, embedding_model = $3 WHERE id = $1")
        .bind(project.project())
        .bind(choice.as_ref().map(sqlx::types::Json))
        .bind(model.as_ref().map(|(model, _)| model))
        .execute(&mut *tx)
        .await?;
    let kind = Choice::kind(choice.as_ref());
    let entry = project.audit("search.provider", ("project", project.project()), format!("search embeddings: {kind}"));
    audit::record(&mut *tx, entry).await?;
    if let Some((model, _)) = model.filter(|(model, _)| Some(model) != stored.as_ref()) {
        jobs::start(&mut tx, project.project(), &model, Some(project.actor().user_id)).await?;
    }
    tx.commit().await?;
    settings(db, embeddings, project).await
}

/// Embeds every entry of the project again, with its provider as it is (its owners only).
pub async fn reindex(db: &PgPool, embeddings: &Embeddings, project: &ProjectAccess) -> Result<JobStarted> {
    if let Some(embedder) = meaning(db, embeddings, project.project()).await?.embedder() {
        vectors::ensure_index(db, embedder.dimensions()).await?;
    }
    // The provider is read again with the project held, so a change of provider
    // meanwhile is either before this or waits for it.
    let mut tx = project.begin(db).await?;
    let stored: Option<sqlx::types::Json<Choice>> =
        sqlx::query_scalar("SELECT embedding FROM projects WHERE id = $1 FOR NO KEY UPDATE")
            .bind(project.project())
            .fetch_one(&mut *tx)
            .await?;
    let embedder = match meaning_by(embeddings, stored.map(|json| json.0).as_ref()) {
        Meaning::Ready(embedder) => embedder,
        Meaning::Off { why } => {
            return Err(Error::Conflict(format!("Meaning search is off because {why}: there is nothing to re-index.")))
        }
    };
    sqlx::query("UPDATE projects SET embedding_model = $2 WHERE id = $1")
        .bind(project.project())
        .bind(embedder.model())
        .execute(&mut *tx)
        .await?;
    let job_id = jobs::start(&mut tx, project.project(), &embedder.model(), Some(project.actor().user_id)).await?;
    tx.commit().await?;
    Ok(JobStarted { job_id })
}

/// The stored choice a request asks for, checked; `before` gives the key a request
/// leaves out.
fn validated(request: SetEmbeddings, before: Option<&Choice>, embeddings: &Embeddings) -> Result<Option<Choice>> {
    let SetEmbeddings { provider, url, model, dimensions, key } = request;
    Ok(match provider {
        ProviderKind::Server => None,
        ProviderKind::Local => Some(Choice::Local),
        ProviderKind::Off => Some(Choice::Off),
        ProviderKind::OpenAi => {
            let url = url.map(|url| url.trim().trim_end_matches('/').to_owned()).unwrap_or_default();
            let parsed = url::Url::parse(&url).ok().filter(|parsed| matches!(parsed.scheme(), "http" | "https"));
            let Some(parsed) = parsed.filter(|_| url.len() <= MAX_URL_CHARS) else {
                return Err(Error::Invalid(
                    "`url` must be the http(s) address of an OpenAI-compatible API, e.g. https://api.openai.com/v1"
                        .into(),
                ));
            };
            if !embeddings.allows(&parsed) {
                return Err(Error::Invalid(format!(
                    "This server does not send texts to {}: its operator lists the hosts projects may use in \
                     CHARTER_EMBEDDINGS_ALLOWED_HOSTS.",
                    parsed.host_str().unwrap_or("that address")
                )));
            }
            let model = model.map(|model| model.trim().to_owned()).unwrap_or_default();
            if model.is_empty() || model.chars().count() > MAX_NAME_CHARS || model.chars().any(char::is_control) {
                return Err(Error::Invalid(format!(
                    "`model` must name the model, in 1 to {MAX_NAME_CHARS} characters"
                )));
            }
            let dimensions = dimensions.filter(|d| (1..=MAX_DIMENSIONS).contains(d)).ok_or_else(|| {
                Error::Invalid(format!("`dimensions` must be the model's vector length, from 1 to {MAX_DIMENSIONS}"))
            })?;
            let key = match key.map(|key| key.trim().to_owned()) {
                Some(key) if key.chars().count() > MAX_KEY_CHARS || key.chars().any(char::is_control) => {
                    return Err(Error::Invalid(format!("`key` must be at most {MAX_KEY_CHARS} plain characters")))
                }
                Some(key) if key.is_empty() => None,
                Some(key) => Some(key),
                // Kept only for the same address: a key never follows the texts elsewhere.
                None => match before {
                    Some(Choice::OpenAi(before)) if before.url == url => before.key.clone(),
                    _ => None,
                },
            };
            Some(Choice::OpenAi(Endpoint { url, model, key, dimensions }))
        }
    })
}
