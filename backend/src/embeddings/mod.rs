//! Embeddings: texts turned into unit vectors whose nearness (cosine) is nearness of
//! meaning. Which provider makes them is a deployment's choice; without one, search
//! matches words only and says so.

mod local;
pub mod openai;

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use pgvector::Vector;

use crate::error::{Error, Result};

/// Where embeddings come from, as a deployment or a project configures it (its `Debug`
/// leaves out an endpoint's key).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Provider {
    /// None: search matches words only.
    Off,
    /// all-MiniLM-L6-v2 in this process, from this folder.
    Local { model_dir: PathBuf },
    /// An OpenAI-compatible `/embeddings` endpoint.
    OpenAi(openai::Endpoint),
}

/// A provider ready to embed.
#[derive(Clone)]
pub enum Embedder {
    Local(Arc<local::Local>),
    OpenAi(Arc<openai::OpenAi>),
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
            Provider::OpenAi(endpoint) => match openai::OpenAi::new(endpoint.clone()) {
                Ok(client) => Meaning::Ready(Embedder::OpenAi(Arc::new(client))),
                Err(why) => Meaning::Off { why },
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

/// Embedders of projects' own choice kept at most (clients are cheap to make again; the
/// local model is kept whatever happens).
const MADE: usize = 32;

/// The embedders this server made: its own, and those its projects chose, each made
/// once (a model is loaded once, a client keeps its connections).
#[derive(Clone)]
pub struct Embeddings {
    server: (Provider, Meaning),
    /// Where the local model lives, for projects that choose it.
    model_dir: PathBuf,
    /// The hosts (`host` or `host:port`) projects may send their texts to.
    allowed_hosts: Arc<[String]>,
    made: Arc<Mutex<HashMap<Provider, Meaning>>>,
}

impl Embeddings {
    /// Loads the server's provider (`model_dir` is where the local model lives);
    /// projects may choose endpoints on `allowed_hosts` only.
    pub fn new(server: Provider, model_dir: PathBuf, allowed_hosts: &[String]) -> Embeddings {
        let meaning = Meaning::load(&server);
        let allowed_hosts = allowed_hosts.iter().map(|host| host.to_ascii_lowercase()).collect();
        Embeddings { server: (server, meaning), model_dir, allowed_hosts, made: Arc::default() }
    }

    /// Whether a project may send its texts to `url`: the operator lists the hosts,
    /// since anything else would let an owner make the server call into its own network.
    pub fn allows(&self, url: &url::Url) -> bool {
        let Some(host) = url.host_str().map(str::to_ascii_lowercase) else { return false };
        let with_port = url.port_or_known_default().map(|port| format!("{host}:{port}"));
        self.allowed_hosts.iter().any(|allowed| *allowed == host || Some(allowed) == with_port.as_ref())
    }

    /// The server's own provider: what projects that choose none use.
    pub fn server(&self) -> &Meaning {
        &self.server.1
    }

    /// What the server is configured with, in words.
    pub fn server_provider(&self) -> String {
        match &self.server.0 {
            Provider::Off => "none (search matches words only)".into(),
            Provider::Local { .. } => "the local model all-MiniLM-L6-v2".into(),
            // Not its address: that may name an internal host or carry credentials.
            Provider::OpenAi(endpoint) => format!("the model {} of an OpenAI-compatible endpoint", endpoint.model),
        }
    }

    /// The local model, as a project may choose it.
    pub fn local(&self) -> Provider {
        Provider::Local { model_dir: self.model_dir.clone() }
    }

    /// Meaning search by `provider` (`None`: the server's).
    pub fn of(&self, provider: Option<&Provider>) -> Meaning {
        let Some(provider) = provider.filter(|provider| **provider != self.server.0) else {
            return self.server.1.clone();
        };
        let mut made = self.made.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Owners trying one endpoint after another leave clients behind: a few are kept.
        if made.len() >= MADE && !made.contains_key(provider) {
            made.retain(|kept, _| matches!(kept, Provider::Local { .. }));
        }
        made.entry(provider.clone()).or_insert_with(|| Meaning::load(provider)).clone()
    }
}

impl Embedder {
    /// Names the model, so that vectors made by another are known as such: vectors of
    /// two models never meet.
    pub fn model(&self) -> String {
        match self {
            Embedder::Local(_) => local::MODEL.to_owned(),
            Embedder::OpenAi(client) => {
                let openai::Endpoint { url, model, dimensions, .. } = client.endpoint();
                format!("openai:{model}:{dimensions}@{url}")
            }
        }
    }

    pub fn dimensions(&self) -> usize {
        match self {
            Embedder::Local(_) => local::DIMENSIONS,
            Embedder::OpenAi(client) => client.endpoint().dimensions,
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
            Embedder::OpenAi(client) => {
                let waiting = match cores {
                    Cores::Shared => openai::Waiting::Person,
                    Cores::Background => openai::Waiting::Nobody,
                };
                let vectors = client.embed(&texts, waiting).await.map_err(Error::Provider)?;
                return Ok(vectors.into_iter().map(Vector::from).collect());
            }
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        // A panic in the model costs this batch, never the process.
        let work = move || {
            let embedded = std::panic::catch_unwind(AssertUnwindSafe(|| model.embed(&texts)))
                .unwrap_or_else(|_| Err("the model panicked".to_owned()));
            let _ = reply.send(embedded);
        };
        // The model's parallel parts (its matrix products) run on the rayon pool that
        // calls them: a background batch stays on the low-priority threads, and a query
        // runs on rayon's own threads, which hand its products around without waking a
        // pool from outside for each of them.
        let pool = match cores {
            Cores::Background => background_pool(),
            Cores::Shared => None,
        };
        match pool {
            Some(pool) => pool.spawn(work),
            None => rayon::spawn(work),
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
/// (background work then runs on the shared pool) if they cannot be started.
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

/// Gives the calling thread the lowest scheduling priority: Linux's idle class, whose
/// share of a busy core is smaller than nice 19's and which a waking thread preempts.
/// Lowering one's own priority needs no privilege; should it fail anyway, nice 19,
/// else normal priority.
#[cfg(target_os = "linux")]
fn lowest_priority() {
    let idle = libc::sched_param { sched_priority: 0 };
    // SAFETY: both calls only read their arguments (`idle` outlives the call); on Linux
    // `0` names the calling thread alone (elsewhere it would be the whole process).
    let _ = unsafe {
        libc::sched_setscheduler(0, libc::SCHED_IDLE, &idle) == 0 || libc::setpriority(libc::PRIO_PROCESS, 0, 19) == 0
    };
}

#[cfg(not(target_os = "linux"))]
fn lowest_priority() {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// The calling thread's scheduling policy.
    fn policy() -> i32 {
        // SAFETY: only reads the calling thread's own policy.
        unsafe { libc::sched_getscheduler(0) }
    }

    #[test]
    fn background_embedding_runs_in_the_idle_class_and_nothing_else_does() {
        let pool = super::background_pool().expect("the background threads start");
        assert_eq!(pool.install(policy), libc::SCHED_IDLE);
        assert_eq!(policy(), libc::SCHED_OTHER, "the thread that hands work over keeps its class");
        assert_eq!(rayon::join(policy, policy), (libc::SCHED_OTHER, libc::SCHED_OTHER), "nor does rayon's own pool");
    }
}
