//! `charter`: the Charter server. `charter serve` (the default) migrates the database
//! and serves the site; `charter migrate` only migrates.

use anyhow::Context;
use charter_backend::AppState;
use leptos::config::get_configuration;
use tracing_subscriber::EnvFilter;

const USAGE: &str =
    "usage: charter [serve | migrate | check ... | pull ... | push ... | status ... | export ... | import ...]

  serve    apply pending migrations, then serve Charter (the default)
  migrate  apply pending migrations and exit
  check    trace requirement IDs in a code checkout, or check the code's API against a
           contract (`charter check --help`)
  pull     write a project's documents into a folder of Markdown (`charter pull --help`)
  push     propose the folder's edits as a change request
  status   say what changed in the folder and in Charter since the pull
  export   write a project's documents as an archive in a spec tool's layout (`charter export --help`)
  import   bring an archive of documents in as a change request

environment:
  DATABASE_URL           Postgres with the pgvector extension (required)
  LEPTOS_SITE_ADDR       listen address (default 127.0.0.1:3000)
  LEPTOS_SITE_ROOT       built site assets (default target/site)
  CHARTER_PUBLIC_ORIGIN  the site's public origin, e.g. https://charter.example.com;
                         production must set it (behind TLS, and on any non-loopback address)
  CHARTER_IMG_SRC        extra image sources the CSP allows, space-separated (default: none)
  CHARTER_MAX_CONNECTIONS_PER_USER, CHARTER_MAX_CONNECTIONS_PER_DOCUMENT,
  CHARTER_MAX_CONNECTIONS_PER_USER_PER_DOCUMENT
                         co-editing connection limits (default 100, 200 and 20)
  CHARTER_IDLE_UNLOAD_SECONDS
                         how long a document nobody has open stays in memory (default 30)
  RUST_LOG               log filter (default info); CHARTER_LOG_FORMAT=json for JSON logs";

#[tokio::main]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    let args: Vec<String> = std::env::args().skip(2).collect();
    match command.as_str() {
        "check" => return Ok(charter_server::check::run(&args).await),
        "pull" | "push" | "status" => return Ok(charter_server::sync::run(&command, &args).await),
        "export" | "import" => return Ok(charter_server::exchange::run(&command, &args).await),
        _ => {}
    }
    if !matches!(command.as_str(), "serve" | "migrate") {
        println!("{USAGE}");
        if matches!(command.as_str(), "help" | "-h" | "--help") {
            return Ok(std::process::ExitCode::SUCCESS);
        }
        anyhow::bail!("unknown command `{command}`");
    }
    init_logging();

    let database_url = std::env::var("DATABASE_URL").context(
        "DATABASE_URL is not set: point it at Postgres with pgvector, or use `scripts/run`, \
         which starts a private cluster",
    )?;
    let db = charter_server::connect(&database_url).await.context("connecting to the database")?;
    charter_server::migrate(&db).await.context("migrating the database")?;
    if command == "migrate" {
        tracing::info!("database is up to date");
        return Ok(std::process::ExitCode::SUCCESS);
    }

    let mut leptos = get_configuration(None).context("reading the LEPTOS_* configuration")?.leptos_options;
    // Charter's builds put a hash of each bundle file's content in its name (Cargo.toml)
    // and list them in a file beside the executable; a binary built otherwise has none,
    // and then links the plain names (Leptos fails every page when the file is missing).
    if std::env::var_os("LEPTOS_HASH_FILES").is_none() {
        leptos.hash_files = std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.join(leptos.hash_file.as_ref())))
            .is_some_and(|hash_file| hash_file.exists());
    }
    let addr = leptos.site_addr;
    let settings = charter_server::settings_from_env()?;
    if settings.public_origin.is_none() && !addr.ip().is_loopback() {
        tracing::warn!(
            "CHARTER_PUBLIC_ORIGIN is not set while listening on {addr}: set it to the address people use \
             (e.g. https://charter.example.com) so the Origin check and secure cookies do not depend on the \
             Host header"
        );
    }
    let state = AppState::new(db, settings, charter_backend::documents::collab_rules());
    let app = charter_server::router(state.clone(), leptos);
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    // Through the log only: with CHARTER_LOG_FORMAT=json, every line of stdout is JSON.
    tracing::info!("Charter is ready at http://{addr}");
    charter_server::serve(listener, app, &state).await.context("serving")?;
    Ok(std::process::ExitCode::SUCCESS)
}

fn init_logging() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx::postgres::notice=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if std::env::var("CHARTER_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
