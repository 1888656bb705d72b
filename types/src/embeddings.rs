//! Which embedding provider a project's search by meaning uses, and the re-index job
//! that follows a change of provider.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::JobId;

text_enum! {
    /// Where a project's embeddings come from.
    pub enum ProviderKind as "embedding provider" {
        /// Whatever this server is configured with (its environment).
        Server = "server",
        /// all-MiniLM-L6-v2, run by the server itself.
        Local = "local",
        /// An OpenAI-compatible `/embeddings` endpoint (OpenAI, Ollama, vLLM, …).
        OpenAi = "openai",
        /// None: the project's search matches words only.
        Off = "off",
    }
}

text_enum! {
    /// Where a job stands.
    pub enum JobState as "job state" {
        Running = "running",
        Done = "done",
        /// Stopped by an error it names.
        Failed = "failed",
        /// Replaced by a newer job of the same project before it finished.
        Superseded = "superseded",
    }
}

/// A project's choice of provider, as its owner sets it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SetEmbeddings {
    pub provider: ProviderKind,
    /// For `openai`: the API's base address (`https://api.openai.com/v1`); Charter
    /// posts to `{url}/embeddings`.
    pub url: Option<String>,
    /// For `openai`: the model's name, as the endpoint knows it.
    pub model: Option<String>,
    /// For `openai`: the vectors' length (1 to 2000), sent as `dimensions`.
    pub dimensions: Option<usize>,
    /// For `openai`: the API key. Left out, the key set before stays.
    pub key: Option<String>,
}

/// A project's embedding settings as its members see them (never the key itself).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct EmbeddingSettings {
    pub provider: ProviderKind,
    /// For `openai`.
    pub url: Option<String>,
    pub model: Option<String>,
    pub dimensions: Option<usize>,
    pub has_key: bool,
    /// What the server itself is configured with, in words.
    pub server_provider: String,
    /// Whether the project's search finds by meaning now.
    pub meaning_search: bool,
    /// Why not, or what is going on, in words for the reader.
    pub notice: Option<String>,
    /// The latest re-index job, if there was one.
    pub job: Option<Job>,
}

/// A background job and how far it got.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Job {
    pub id: JobId,
    pub state: JobState,
    /// Entries embedded so far, of `total`.
    pub done: i64,
    pub total: i64,
    /// What went wrong last, if anything.
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A job just started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct JobStarted {
    pub job_id: JobId,
}
