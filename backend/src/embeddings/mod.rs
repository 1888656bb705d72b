//! Embeddings: texts turned into unit vectors whose nearness (cosine) is nearness of
//! meaning. Which provider makes them is a deployment's choice; without one, search
//! matches words only and says so.

mod local;

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

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

    /// One vector per text, in order, computed off the async runtime for someone who
    /// is waiting (a query).
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vector>> {
        self.embed_on(texts, Cores::Shared).await
    }

    /// The same for work nobody waits for (the index's backlog), at the lowest CPU
    /// priority: on a busy machine it yields the cores to editing and requests.
    pub async fn embed_in_background(&self, texts: Vec<String>) -> Result<Vec<Vector>> {
        self.embed_on(texts, Cores::Background).await
    }

    async fn embed_on(&self, texts: Vec<String>, cores: Cores) -> Result<Vec<Vector>> {
        let model = match self {
            Embedder::Local(model) => Arc::clone(model),
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        // A panic in the model costs this batch, never the process.
        let work = move || {
            let embedded = std::panic::catch_unwind(AssertUnwindSafe(|| model.embed(&texts)))
                .unwrap_or_else(|_| Err("the model panicked".to_owned()));
            let _ = reply.send(embedded);
        };
        match (cores, background_pool()) {
            // The model's parallel parts run on the pool that calls them, so all of a
            // background batch stays on the low-priority threads.
            (Cores::Background, Some(pool)) => pool.spawn(work),
            _ => drop(tokio::task::spawn_blocking(work)),
        }
        let vectors =
            answer.await.map_err(|_| Error::internal("the embedding task stopped"))?.map_err(Error::Internal)?;
        Ok(vectors.into_iter().map(Vector::from).collect())
    }
}

enum Cores {
    Shared,
    Background,
}

/// Threads for background embedding, one per core, each at the lowest priority; none
/// (background work then shares the blocking pool) if they cannot be started.
fn background_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|n| format!("embed-background-{n}"))
            .start_handler(|_| lowest_priority())
            .build()
            .inspect_err(|err| tracing::warn!(%err, "no background embedding threads; embedding at normal priority"))
            .ok()
    })
    .as_ref()
}

/// Gives the calling thread the lowest scheduling priority (nice 19). Lowering one's own
/// priority needs no privilege; should it fail anyway, the thread runs at normal
/// priority, which is only slower for others.
#[cfg(target_os = "linux")]
fn lowest_priority() {
    // SAFETY: setpriority only reads its three integer arguments; on Linux `0` names the
    // calling thread alone (elsewhere it would be the whole process).
    let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
}

#[cfg(not(target_os = "linux"))]
fn lowest_priority() {}
