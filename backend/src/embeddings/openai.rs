//! An OpenAI-compatible embeddings endpoint (OpenAI itself, Ollama, vLLM, llama.cpp's
//! server, text-embeddings-inference): `POST {url}/embeddings` with a batch of texts.
//! Batches are bounded, busy or failing answers are retried with backoff, every request
//! has a timeout, and what goes wrong is said in words an owner can act on.

use std::time::Duration;

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

/// Texts sent in one request at most.
const BATCH: usize = 64;
/// Characters of one text sent at most: well within every embedding model's context,
/// so that one long requirement cannot make a whole batch refused for ever.
const MAX_TEXT_CHARS: usize = 6000;
/// Tries per batch in the background: the first and this many less one retries.
const TRIES: u32 = 4;
/// The first retry's wait; each next one waits twice as long.
const BACKOFF: Duration = Duration::from_millis(250);
/// The longest wait a provider's `Retry-After` may ask for.
const LONGEST_WAIT: Duration = Duration::from_secs(10);
/// How long one request may take in the background, and for someone waiting (a
/// search, a lint as you type): those get one try and no more.
const TIMEOUT: Duration = Duration::from_secs(30);
const TIMEOUT_NOW: Duration = Duration::from_secs(5);
/// Characters of a provider's error message that are kept.
const MESSAGE_CHARS: usize = 300;

/// Where and how to ask for embeddings.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Endpoint {
    /// The API's base address, as OpenAI clients take it (`https://api.openai.com/v1`).
    pub url: String,
    pub model: String,
    /// Sent as a bearer token, when set.
    pub key: Option<String>,
    pub dimensions: usize,
}

/// Everything but the key, which never reaches a log.
impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("key", &self.key.as_ref().map(|_| "…"))
            .field("dimensions", &self.dimensions)
            .finish()
    }
}

/// Who waits for an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waiting {
    /// Someone, now: one short try.
    Person,
    /// Nobody: tries again with backoff.
    Nobody,
}

pub struct OpenAi {
    endpoint: Endpoint,
    http: reqwest::Client,
}

#[derive(Serialize)]
struct Request<'a> {
    model: &'a str,
    input: &'a [String],
    encoding_format: &'static str,
    dimensions: usize,
}

#[derive(Deserialize)]
struct Response {
    data: Vec<Embedding>,
}

#[derive(Deserialize)]
struct Embedding {
    index: usize,
    embedding: Vec<f32>,
}

/// What a failed try says: whether trying again may help, and after how long.
struct Failure {
    message: String,
    retry: bool,
    after: Option<Duration>,
}

impl OpenAi {
    pub fn new(endpoint: Endpoint) -> Result<OpenAi, String> {
        // Redirects are not followed: the address an owner gave is the only one asked.
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| format!("cannot make an HTTP client: {err}"))?;
        Ok(OpenAi { endpoint, http })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// One unit vector per text, in order.
    pub async fn embed(&self, texts: &[String], waiting: Waiting) -> Result<Vec<Vec<f32>>, String> {
        let texts: Vec<String> = texts.iter().map(|text| text.chars().take(MAX_TEXT_CHARS).collect()).collect();
        let mut vectors = Vec::with_capacity(texts.len());
        for batch in texts.chunks(BATCH) {
            vectors.extend(self.embed_batch(batch, waiting).await?);
        }
        Ok(vectors)
    }

    async fn embed_batch(&self, texts: &[String], waiting: Waiting) -> Result<Vec<Vec<f32>>, String> {
        let (tries_allowed, timeout) = match waiting {
            Waiting::Person => (1, TIMEOUT_NOW),
            Waiting::Nobody => (TRIES, TIMEOUT),
        };
        let mut wait = BACKOFF;
        let mut tries = 0;
        loop {
            tries += 1;
            match self.try_batch(texts, timeout).await {
                Ok(vectors) => return Ok(vectors),
                Err(failure) if failure.retry && tries < tries_allowed => {
                    tokio::time::sleep(failure.after.unwrap_or(wait).min(LONGEST_WAIT)).await;
                    wait *= 2;
                }
                Err(failure) if failure.retry && tries > 1 => {
                    return Err(format!("{} (tried {tries} times)", failure.message));
                }
                Err(failure) => return Err(failure.message),
            }
        }
    }

    async fn try_batch(&self, texts: &[String], timeout: Duration) -> Result<Vec<Vec<f32>>, Failure> {
        let Endpoint { url, model, key, dimensions } = &self.endpoint;
        let address = format!("{}/embeddings", url.trim_end_matches('/'));
        let body = Request { model, input: texts, encoding_format: "float", dimensions: *dimensions };
        let mut request = self.http.post(&address).timeout(timeout).json(&body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|err| Failure {
            message: format!("cannot reach {address}: {}", without_url(&err)),
            retry: true,
            after: None,
        })?;
        let status = response.status();
        if !status.is_success() {
            let after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok()?.trim().parse().ok())
                .map(Duration::from_secs);
            let said = response.text().await.unwrap_or_default();
            return Err(Failure {
                message: refusal(status, &address, &said),
                retry: status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error(),
                after,
            });
        }
        let answer: Response = response.json().await.map_err(|err| Failure {
            message: format!("{address} answered with something other than embeddings: {}", without_url(&err)),
            retry: false,
            after: None,
        })?;
        let unusable = |message: String| Failure { message, retry: false, after: None };
        if answer.data.len() != texts.len() {
            return Err(unusable(format!(
                "{address} answered {} embeddings for {} texts",
                answer.data.len(),
                texts.len()
            )));
        }
        let mut vectors: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        for Embedding { index, embedding } in answer.data {
            if embedding.len() != *dimensions {
                return Err(unusable(format!(
                    "model {model} made vectors of {} dimensions, not the {dimensions} configured",
                    embedding.len()
                )));
            }
            let slot = vectors.get_mut(index).filter(|slot| slot.is_none());
            let Some(slot) = slot else {
                return Err(unusable(format!("{address} answered an embedding for no text sent (index {index})")));
            };
            *slot = Some(unit(embedding));
        }
        Ok(vectors.into_iter().map(|vector| vector.expect("one embedding per text, checked above")).collect())
    }
}

/// Scaled to length 1, as cosine distance takes it (providers mostly send them so).
fn unit(mut vector: Vec<f32>) -> Vec<f32> {
    let length = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if length > 0.0 {
        vector.iter_mut().for_each(|x| *x /= length);
    }
    vector
}

/// What lies at the bottom of a reqwest error (its outer words repeat the address,
/// said once already).
fn without_url(err: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(err);
    let mut words = Vec::new();
    while let Some(err) = source {
        words.push(err.to_string());
        source = err.source();
    }
    words.pop().unwrap_or_default()
}

/// What a refusal means, with what the provider said (its `error.message`, or its
/// first words).
fn refusal(status: StatusCode, address: &str, said: &str) -> String {
    let message = serde_json::from_str::<serde_json::Value>(said)
        .ok()
        .and_then(|body| body["error"]["message"].as_str().or(body["error"].as_str()).map(str::to_owned))
        .unwrap_or_else(|| said.trim().to_owned());
    let message: String = message.chars().take(MESSAGE_CHARS).collect();
    let meaning = match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => "refused the key",
        StatusCode::NOT_FOUND => "has no such endpoint or model",
        StatusCode::TOO_MANY_REQUESTS => "is limiting requests",
        _ if status.is_server_error() => "failed",
        _ => "refused the request",
    };
    if message.is_empty() {
        format!("{address} {meaning} ({status})")
    } else {
        format!("{address} {meaning} ({status}): {message}")
    }
}
