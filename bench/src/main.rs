//! `loadgen`: drives a y-websocket-protocol server with many raw-protocol clients and
//! prints one Markdown table row of figures.
//!
//! ```text
//! loadgen --target charter|y-websocket|hocuspocus --url http://127.0.0.1:PORT
//!         --workload fanout|join|merge|search|specs|ingest [--docs N] [--clients N] [--rate UPDATES_PER_SECOND] [--events EVENTS_PER_SECOND]
//!         [--seconds N] [--server-pid PID] [--join-bytes N] [--doc-bytes N]
//!         [--entries N] [--database-url URL] [--record FILE]
//! loadgen --workload ratios --record FILE
//! ```
//!
//! `fanout`: `docs` documents with `clients` clients each; every client sends `rate`
//! updates a second. Each update inserts a tag `⟦client:seq:microseconds⟧`; receivers
//! find the tags in the raw update bytes (v1 updates carry strings as UTF-8), so they
//! need no CRDT work of their own and the figure is the server's fan-out latency.
//! `join`: a document of `join-bytes` is written, then fresh clients join it cold and
//! the time to a fully applied sync step 2 is measured.
//! `merge` (Charter only): `docs` documents of `doc-bytes`, each changed on a branch
//! (and half of them elsewhere on main too); the time to compute the change request's
//! view and to merge it.
//! `search` (Charter only, `--database-url`, `--entries`), `specs` (Charter only) and
//! `ingest` (Charter only, `--database-url`, `--clients`, `--seconds`): see their modules.
//! `ratios`: the figures `fanout` and `join` added to `--record`, Charter's as ratios to
//! the other servers' (the `ratios` module).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use charter_types::{Document, Kind, Project};
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, ReadTxn, StateVector, Text, Transact, Update};

mod api;
mod fanout;
mod frames;
mod ingest;
mod ratios;
mod search;
mod specs;
mod synthetic;

use api::Api;
use frames::{classify, wrap, write_var};
use ratios::{Figure, Measure};

#[derive(Clone, Copy, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Target {
    Charter,
    YWebsocket,
    Hocuspocus,
}

struct Args {
    target: Target,
    url: String,
    workload: String,
    docs: usize,
    clients: usize,
    rate: f64,
    seconds: u64,
    server_pid: Option<u32>,
    join_bytes: usize,
    doc_bytes: usize,
    /// `search`: synthetic index entries, and Charter's database (read and written directly).
    entries: usize,
    database_url: Option<String>,
    /// `ingest`: events a second offered by all senders together (none: as fast as answered).
    events: Option<f64>,
    /// Where `fanout` and `join` add their figures, and `ratios` reads them.
    record: Option<std::path::PathBuf>,
}

/// `--name value` pairs.
fn flags() -> Result<HashMap<String, String>> {
    let mut values = HashMap::new();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let name = flag.strip_prefix("--").ok_or_else(|| anyhow!("unexpected argument {flag}"))?;
        values.insert(name.to_owned(), args.next().ok_or_else(|| anyhow!("{flag} needs a value"))?);
    }
    Ok(values)
}

fn parse_args(values: HashMap<String, String>) -> Result<Args> {
    let number = |name: &str, default: &str| -> Result<f64> {
        values.get(name).map(String::as_str).unwrap_or(default).parse().with_context(|| format!("--{name}"))
    };
    let target = match values.get("target").map(String::as_str) {
        Some("charter") => Target::Charter,
        Some("y-websocket") => Target::YWebsocket,
        Some("hocuspocus") => Target::Hocuspocus,
        other => bail!("--target charter|y-websocket|hocuspocus, not {other:?}"),
    };
    Ok(Args {
        target,
        url: values.get("url").cloned().ok_or_else(|| anyhow!("--url is required"))?,
        workload: values.get("workload").cloned().unwrap_or_else(|| "fanout".into()),
        docs: number("docs", "100")? as usize,
        clients: number("clients", "10")? as usize,
        rate: number("rate", "5")?,
        seconds: number("seconds", "20")? as u64,
        server_pid: values.get("server-pid").map(|pid| pid.parse()).transpose().context("--server-pid")?,
        join_bytes: number("join-bytes", "1048576")? as usize,
        doc_bytes: number("doc-bytes", "20480")? as usize,
        entries: number("entries", "100000")? as usize,
        database_url: values.get("database-url").cloned(),
        events: match values.get("events").map(|events| events.parse::<f64>()).transpose().context("--events")? {
            Some(events) if !(events.is_finite() && events > 0.0) => bail!("--events must be above 0, not {events}"),
            events => events,
        },
        record: values.get("record").map(Into::into),
    })
}

/// Where one document lives, and how to get in.
#[derive(Clone)]
struct Endpoint {
    target: Target,
    ws_url: String,
    /// The document's name in Hocuspocus's per-message prefix.
    name: String,
    cookie: Option<String>,
    origin: String,
}

/// Charter needs an account, a project and real documents; the others take any name.
async fn endpoints(args: &Args, count: usize, prefix: &str) -> Result<Vec<Endpoint>> {
    let ws_base = args.url.replacen("http", "ws", 1);
    let run = Instant::now().elapsed().as_nanos() ^ u128::from(std::process::id());
    if args.target != Target::Charter {
        return Ok((0..count)
            .map(|n| {
                let name = format!("{prefix}-{run}-{n}");
                Endpoint {
                    target: args.target,
                    ws_url: format!("{ws_base}/{name}"),
                    name,
                    cookie: None,
                    origin: args.url.clone(),
                }
            })
            .collect());
    }
    let api = Api::sign_up(&args.url, &format!("bench{}", run % 1_000_000_000)).await?;
    let project: Project = api.call(Method::POST, "/projects", Some(serde_json::json!({ "name": prefix }))).await?;
    let mut endpoints = Vec::with_capacity(count);
    for n in 0..count {
        let body = serde_json::json!({ "title": format!("{prefix} {n}"), "kind": Kind::Spec });
        let document: Document =
            api.call(Method::POST, &format!("/projects/{}/documents", project.id), Some(body)).await?;
        endpoints.push(Endpoint {
            target: Target::Charter,
            ws_url: format!("{ws_base}/collab/{}", document.id),
            name: document.id.to_string(),
            cookie: Some(api.cookie.clone()),
            origin: args.url.clone(),
        });
    }
    Ok(endpoints)
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn send(socket: &mut Socket, endpoint: &Endpoint, message: Message) -> Result<()> {
    socket.send(Ws::Binary(wrap(endpoint, message.encode_v1()).into())).await?;
    Ok(())
}

/// Connects and completes a cold sync into `doc`; returns the socket.
async fn join(endpoint: &Endpoint, doc: &Doc) -> Result<Socket> {
    let mut request = endpoint.ws_url.as_str().into_client_request()?;
    request.headers_mut().insert("origin", endpoint.origin.parse()?);
    if let Some(cookie) = &endpoint.cookie {
        request.headers_mut().insert("cookie", cookie.parse()?);
    }
    // No Nagle: a browser's WebSocket sends small frames at once, and so must we. A small
    // read buffer: the codec's default (128 KiB) is zero-filled before every read, work
    // done tens of thousands of times a second on the cores the servers under test share.
    let config = WebSocketConfig::default().read_buffer_size(16 * 1024);
    let (mut socket, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), true).await.context("connecting")?;
    if endpoint.target == Target::Hocuspocus {
        // Hocuspocus waits for an authentication message (type 2, token) first.
        let mut auth = Vec::new();
        write_var(&mut auth, 2);
        write_var(&mut auth, 0);
        write_var(&mut auth, 5);
        auth.extend_from_slice(b"bench");
        socket.send(Ws::Binary(wrap(endpoint, auth).into())).await?;
    }
    let state_vector = doc.transact().state_vector();
    send(&mut socket, endpoint, Message::Sync(SyncMessage::SyncStep1(state_vector))).await?;
    loop {
        let frame = match socket.next().await {
            Some(Ok(Ws::Binary(bytes))) => bytes,
            Some(Ok(Ws::Close(frame))) => bail!("closed while joining: {frame:?}"),
            Some(Ok(_)) => continue,
            Some(Err(err)) => return Err(err.into()),
            None => bail!("closed while joining"),
        };
        match classify(endpoint, &frame) {
            Some((0, Some(1), payload)) => {
                doc.transact_mut().apply_update(Update::decode_v1(&payload)?)?;
                return Ok(socket);
            }
            Some((0, Some(0), payload)) => {
                let their = StateVector::decode_v1(&payload)?;
                let update = doc.transact().encode_diff_v1(&their);
                send(&mut socket, endpoint, Message::Sync(SyncMessage::SyncStep2(update))).await?;
            }
            _ => {}
        }
    }
}

fn label(target: Target) -> &'static str {
    match target {
        Target::Charter => "Charter",
        Target::YWebsocket => "y-websocket 1.5.4",
        Target::Hocuspocus => "Hocuspocus 4.7",
    }
}

async fn cold_join(args: &Args) -> Result<()> {
    let endpoint = endpoints(args, 1, "join").await?.remove(0);
    // Write the document: 64 KiB chunks, each its own update.
    let writer_doc = Doc::new();
    let mut writer = join(&endpoint, &writer_doc).await?;
    let text = writer_doc.get_or_insert_text("content");
    let line = "The system SHALL keep every accepted edit, even across a crash. ".repeat(8) + "\n";
    let mut written = 0;
    while written < args.join_bytes {
        let chunk: String =
            line.repeat(64 * 1024 / line.len() + 1).chars().take((args.join_bytes - written).min(64 * 1024)).collect();
        let before = writer_doc.transact().state_vector();
        {
            let mut txn = writer_doc.transact_mut();
            let end = text.len(&txn);
            text.insert(&mut txn, end, &chunk);
        }
        let update = writer_doc.transact().encode_diff_v1(&before);
        send(&mut writer, &endpoint, Message::Sync(SyncMessage::Update(update))).await?;
        written += chunk.len();
    }
    // Wait until a reader sees the whole document, so every join gets all of it.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let doc = Doc::new();
        let socket = join(&endpoint, &doc).await?;
        drop(socket);
        let text = doc.get_or_insert_text("content");
        let length = text.len(&doc.transact()) as usize;
        if length >= args.join_bytes {
            break;
        }
        if Instant::now() > deadline {
            bail!("the document never reached {} bytes ({length})", args.join_bytes);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut times = Vec::new();
    for _ in 0..7 {
        let doc = Doc::new();
        let started = Instant::now();
        let socket = join(&endpoint, &doc).await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        drop(socket);
    }
    drop(writer);
    times.sort_by(|a, b| a.total_cmp(b));
    let workload = format!("cold join, {:.1} MB", args.join_bytes as f64 / 1_048_576.0);
    let median = times[times.len() / 2];
    println!("| {} | {workload} | {:.1} | {median:.1} | {:.1} |", label(args.target), times[0], times[times.len() - 1]);
    let figure = Figure { target: args.target, workload, measure: Measure::JoinMedianMs, value: median };
    ratios::record(args.record.as_deref(), &[figure])?;
    Ok(())
}

async fn merge_workload(args: &Args) -> Result<()> {
    if args.target != Target::Charter {
        bail!("the merge workload measures Charter's change requests");
    }
    let api = Api::sign_up(&args.url, &format!("merge{}", std::process::id())).await?;
    let project: Project =
        api.call(Method::POST, "/projects", Some(serde_json::json!({ "name": "Merge benchmark" }))).await?;
    let id = project.id;
    let _: Project = api
        .call(Method::PATCH, &format!("/projects/{id}/settings"), Some(serde_json::json!({ "required_approvals": 0 })))
        .await?;

    // Documents of numbered lines, so that edits land on lines of their own.
    let line_count = args.doc_bytes / 64;
    let text: String =
        (0..line_count).map(|n| format!("{n:05} The system SHALL keep this requirement line at 64 bytes.\n")).collect();
    let mut documents = Vec::new();
    for n in 0..args.docs {
        let body = serde_json::json!({ "title": format!("Spec {n}"), "kind": Kind::Spec, "content": text });
        let document: Document = api.call(Method::POST, &format!("/projects/{id}/documents"), Some(body)).await?;
        documents.push(document.id);
    }
    let _: Value = api
        .call(Method::POST, &format!("/projects/{id}/branches"), Some(serde_json::json!({ "name": "bench" })))
        .await?;
    let third = line_count / 3;
    for (n, document) in documents.iter().enumerate() {
        let on_branch = text.replacen(&format!("{third:05} The system"), &format!("{third:05} The branch"), 1);
        let body = serde_json::json!({ "content": on_branch });
        let _: Document =
            api.call(Method::PUT, &format!("/documents/{document}/content?branch=bench"), Some(body)).await?;
        if n % 2 == 0 {
            let on_main =
                text.replacen(&format!("{:05} The system", 2 * third), &format!("{:05} The main", 2 * third), 1);
            let _: Document = api
                .call(
                    Method::PUT,
                    &format!("/documents/{document}/content"),
                    Some(serde_json::json!({ "content": on_main })),
                )
                .await?;
        }
    }
    let body = serde_json::json!({ "source": "bench", "target": "main", "title": "Benchmark" });
    let created: Value = api.call(Method::POST, &format!("/projects/{id}/change-requests"), Some(body)).await?;
    let number = created["number"].as_i64().ok_or_else(|| anyhow!("no change request"))?;

    let mut views = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let view: Value = api.call(Method::GET, &format!("/projects/{id}/change-requests/{number}"), None).await?;
        views.push(started.elapsed().as_secs_f64() * 1000.0);
        let changed = view["documents"].as_array().map_or(0, Vec::len);
        if changed != args.docs {
            bail!("the view lists {changed} changed documents, not {}", args.docs);
        }
    }
    views.sort_by(|a, b| a.total_cmp(b));
    let started = Instant::now();
    let _: Value = api
        .call(Method::POST, &format!("/projects/{id}/change-requests/{number}/merge"), Some(serde_json::json!({})))
        .await?;
    let merge = started.elapsed().as_secs_f64() * 1000.0;
    println!(
        "| Charter | {} documents × {:.0} KB, half changed on both sides | {:.0} | {:.0} |",
        args.docs,
        args.doc_bytes as f64 / 1024.0,
        views[1],
        merge
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let values = flags()?;
    if values.get("workload").map(String::as_str) == Some("ratios") {
        return ratios::print(values.get("record").ok_or_else(|| anyhow!("ratios needs --record"))?.as_ref());
    }
    let args = parse_args(values)?;
    match args.workload.as_str() {
        "fanout" => fanout::fanout(&args).await,
        "join" => cold_join(&args).await,
        "merge" => merge_workload(&args).await,
        "search" => {
            if args.target != Target::Charter {
                bail!("the search workload measures Charter's search");
            }
            let database_url = args.database_url.as_deref().ok_or_else(|| anyhow!("search needs --database-url"))?;
            search::workload(&args.url, database_url, args.docs, args.entries).await
        }
        "specs" if args.target == Target::Charter => specs::workload(&args.url, args.docs).await,
        "ingest" if args.target == Target::Charter => {
            let database_url = args.database_url.as_deref().ok_or_else(|| anyhow!("ingest needs --database-url"))?;
            ingest::workload(&args.url, database_url, args.clients, args.seconds, args.events).await
        }
        other => bail!("unknown workload {other}: fanout, join, ratios, merge, search, specs or ingest (Charter only)"),
    }
}
