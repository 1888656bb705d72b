//! Embeddings: texts turned into unit vectors whose nearness (cosine) is nearness of
//! meaning. Which provider makes them is a deployment's choice; without one, search
//! matches words only and says so.

mod local;

use std::path::PathBuf;
use std::sync::Arc;

use pgvector::Vector;

use crate::error::{Error, Result};

/// Where embeddings come from, as a deployment configures it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    /// None: search matches words only.
    Off,
    /// all-MiniLM-L6-v2 in this process, from this folder.
    Local { model_dir: PathBuf },
}

/// A provider ready to embed.
#[derive(Clone)]
pub enum Embedder {
    Local(Arc<local::Local>),
}

/// Meaning search on this server: ready, or off and why.
#[derive(Clone)]
pub enum Meaning {
    Ready(Embedder),
    Off { why: String },
}

impl Meaning {
    /// Loads `provider`'s model. A model that cannot be loaded turns meaning search
    /// off (logged, and said with every search) rather than stopping the server.
    pub fn load(provider: &Provider) -> Meaning {
        match provider {
            Provider::Off => Meaning::Off { why: "no embedding provider is configured on this server".into() },
            Provider::Local { model_dir } => match local::Local::load(model_dir) {
                Ok(model) => {
                    tracing::info!(model = local::MODEL, dir = %model_dir.display(), "meaning search is on");
                    Meaning::Ready(Embedder::Local(Arc::new(model)))
                }
                Err(why) => {
                    tracing::warn!(
                        %why,
                        "meaning search is off: the local model is missing or broken \
                         (scripts/bootstrap fetches it into CHARTER_MODEL_DIR); search matches words only"
                    );
                    Meaning::Off { why: format!("the local embedding model is not available ({why})") }
                }
            },
        }
    }

    pub fn embedder(&self) -> Option<&Embedder> {
        match self {
            Meaning::Ready(embedder) => Some(embedder),
            Meaning::Off { .. } => None,
        }
    }
}

impl Embedder {
    /// Names the model, so that vectors made by another are known as such.
    pub fn model(&self) -> &'static str {
        match self {
            Embedder::Local(_) => local::MODEL,
        }
    }

    pub fn dimensions(&self) -> usize {
        match self {
            Embedder::Local(_) => local::DIMENSIONS,
        }
    }

    /// One vector per text, in order, computed off the async runtime.
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vector>> {
        match self {
            Embedder::Local(model) => {
                let model = Arc::clone(model);
                let vectors = tokio::task::spawn_blocking(move || model.embed(&texts))
                    .await
                    .map_err(|err| Error::Internal(format!("embedding task: {err}")))?
                    .map_err(Error::Internal)?;
                Ok(vectors.into_iter().map(Vector::from).collect())
            }
        }
    }
}
