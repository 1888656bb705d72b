//! `fanout`: `docs` documents with `clients` clients each, every client sending `rate`
//! updates a second; the fan-out latency from each send to its arrival at every other
//! client, and the server's CPU and memory over the measured window.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message as Ws;
use yrs::sync::{Message, SyncMessage};
use yrs::{Doc, ReadTxn, Text, Transact};

use crate::frames::classify;
use crate::ratios::{self, Figure, Measure};
use crate::{endpoints, join, label, send, Args, Endpoint};

const OPEN: &str = "⟦";
const CLOSE: &str = "⟧";

/// Latencies (µs) of other clients' tags found in an update's bytes.
fn tags(payload: &[u8], me: usize, epoch: Instant, measure_from: u64, latencies: &mut Vec<u32>) {
    let now = epoch.elapsed().as_micros() as u64;
    let text = String::from_utf8_lossy(payload);
    for tag in text.split(OPEN).skip(1) {
        let Some(body) = tag.split(CLOSE).next() else { continue };
        let mut parts = body.split(':');
        let (Some(client), Some(_), Some(sent)) = (parts.next(), parts.next(), parts.next()) else { continue };
        let (Ok(client), Ok(sent)) = (client.parse::<usize>(), sent.parse::<u64>()) else { continue };
        if client != me && sent >= measure_from {
            latencies.push(now.saturating_sub(sent).min(u64::from(u32::MAX)) as u32);
        }
    }
}

struct ClientResult {
    sent: u64,
    latencies: Vec<u32>,
}

/// One client: join, then send tagged inserts at `rate` while reading everything.
async fn client(
    endpoint: Endpoint,
    id: usize,
    rate: f64,
    epoch: Instant,
    start: Arc<tokio::sync::Barrier>,
    joining: Arc<tokio::sync::Semaphore>,
    mut window: tokio::sync::watch::Receiver<Option<(u64, u64)>>,
) -> Result<ClientResult> {
    let doc = Doc::new();
    let text = doc.get_or_insert_text("content");
    let joined = match joining.acquire().await {
        Ok(_turn) => join(&endpoint, &doc).await,
        Err(closed) => Err(closed.into()),
    };
    // Everyone reaches the barrier, joined or not, so the run never hangs.
    start.wait().await;
    let mut socket = joined?;
    let (measure_from, measure_until) = window.wait_for(Option::is_some).await?.expect("a window");
    let period = Duration::from_secs_f64(1.0 / rate);
    // Spread the clients over the period so they do not all send at once.
    let offset = Duration::from_secs_f64((id as f64 * 0.618_034).fract() / rate);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
    let stop = epoch + Duration::from_micros(measure_until);
    let mut result = ClientResult { sent: 0, latencies: Vec::new() };
    let mut seq = 0u64;
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let now = epoch.elapsed().as_micros() as u64;
                if now >= measure_until {
                    break;
                }
                let before = doc.transact().state_vector();
                {
                    let mut txn = doc.transact_mut();
                    let end = text.len(&txn);
                    text.insert(&mut txn, end, &format!("{OPEN}{id}:{seq}:{now}{CLOSE}"));
                }
                let update = doc.transact().encode_diff_v1(&before);
                send(&mut socket, &endpoint, Message::Sync(SyncMessage::Update(update))).await?;
                seq += 1;
                if now >= measure_from {
                    result.sent += 1;
                }
            }
            frame = socket.next() => match frame {
                Some(Ok(Ws::Binary(bytes))) => {
                    if let Some((0, Some(2), payload)) = classify(&endpoint, &bytes) {
                        tags(&payload, id, epoch, measure_from, &mut result.latencies);
                    }
                }
                Some(Ok(Ws::Close(frame))) => bail!("server closed the connection: {frame:?}"),
                Some(Ok(_)) => {}
                Some(Err(err)) => return Err(err.into()),
                None => bail!("connection dropped"),
            },
        }
    }
    // Collect what is still in flight for a moment after the last send.
    let drain_until = stop + Duration::from_secs(2);
    while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(drain_until.into(), socket.next()).await {
        if let Ws::Binary(bytes) = frame {
            if let Some((0, Some(2), payload)) = classify(&endpoint, &bytes) {
                tags(&payload, id, epoch, measure_from, &mut result.latencies);
            }
        }
    }
    let _ = socket.close(None).await;
    Ok(result)
}

/// CPU time (clock ticks) and resident memory (KiB) of a process, from /proc.
fn process_usage(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit(") ").next()?.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status.lines().find(|line| line.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some((ticks, rss))
}

/// The server's use of the machine over a measured window.
struct Usage {
    /// Of one core.
    cpu_percent: f64,
    rss_mib: f64,
    /// Growth of resident memory since before the clients connected, per document.
    kib_per_document: f64,
}

/// Clients of `fanout` joining at the same time at most.
const JOINS_AT_ONCE: usize = 200;

/// Linux's USER_HZ, the unit of /proc CPU times.
const TICKS_PER_SECOND: f64 = 100.0;

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[index]) / 1000.0
}

pub async fn fanout(args: &Args) -> Result<()> {
    let endpoints = endpoints(args, args.docs, "fanout").await?;
    let baseline = args.server_pid.and_then(process_usage);
    let epoch = Instant::now();
    let total = args.docs * args.clients;
    let start = Arc::new(tokio::sync::Barrier::new(total + 1));
    // A short warm-up after everyone has joined, then the measured window.
    let warmup = 2_000_000u64;
    let (window, windows) = tokio::sync::watch::channel(None);
    // People arrive over time, not all in one instant: ten thousand connections opened
    // at once would measure the accept queue, not the server.
    let joining = Arc::new(tokio::sync::Semaphore::new(JOINS_AT_ONCE));
    let mut tasks = Vec::with_capacity(total);
    for (d, endpoint) in endpoints.iter().enumerate() {
        for c in 0..args.clients {
            let (endpoint, start, windows) = (endpoint.clone(), start.clone(), windows.clone());
            let id = d * args.clients + c;
            tasks.push(tokio::spawn(client(endpoint, id, args.rate, epoch, start, joining.clone(), windows)));
        }
    }
    start.wait().await;
    let joined_at = epoch.elapsed().as_micros() as u64;
    let (measure_from, measure_until) = (joined_at + warmup, joined_at + warmup + args.seconds * 1_000_000);
    window.send(Some((measure_from, measure_until)))?;
    tokio::time::sleep_until((epoch + Duration::from_micros(measure_from)).into()).await;
    let before = args.server_pid.and_then(process_usage);
    tokio::time::sleep_until((epoch + Duration::from_micros(measure_until)).into()).await;
    let after = args.server_pid.and_then(process_usage);

    let mut sent = 0u64;
    let mut latencies = Vec::new();
    let mut failures = 0usize;
    for task in tasks {
        match task.await? {
            Ok(result) => {
                sent += result.sent;
                latencies.extend(result.latencies);
            }
            Err(err) => {
                failures += 1;
                if failures == 1 {
                    eprintln!("a client failed: {err:#}");
                }
            }
        }
    }
    latencies.sort_unstable();
    let expected = sent * (args.clients as u64 - 1);
    let seconds = args.seconds as f64;
    let usage = match (baseline, before, after) {
        (Some((_, base_rss)), Some((t0, _)), Some((t1, rss))) => Some(Usage {
            cpu_percent: (t1 - t0) as f64 / TICKS_PER_SECOND / seconds * 100.0,
            rss_mib: rss as f64 / 1024.0,
            kib_per_document: rss.saturating_sub(base_rss) as f64 / args.docs as f64,
        }),
        _ => None,
    };
    let shown = |figure: fn(&Usage) -> String| usage.as_ref().map_or("n/a".into(), figure);
    let workload = format!("{} docs × {} clients × {}/s", args.docs, args.clients, args.rate);
    let p99 = percentile(&latencies, 0.99);
    println!(
        "| {} | {workload} | {:.0} | {:.0} | {:.1} | {:.1} | {p99:.1} | {} | {} | {} | {} |",
        label(args.target),
        sent as f64 / seconds,
        latencies.len() as f64 / seconds,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.95),
        expected.saturating_sub(latencies.len() as u64),
        shown(|usage| format!("{:.0}%", usage.cpu_percent)),
        shown(|usage| format!("{:.0}", usage.rss_mib)),
        shown(|usage| format!("{:.0}", usage.kib_per_document)),
    );
    let figure = |measure, value| Figure { target: args.target, workload: workload.clone(), measure, value };
    let mut figures = vec![figure(Measure::FanoutP99Ms, p99)];
    if let Some(usage) = usage {
        figures.push(figure(Measure::CpuPercent, usage.cpu_percent));
        // With one document, its "growth per document" is the growth for all its connections.
        if args.docs > 1 {
            figures.push(figure(Measure::RssKibPerDocument, usage.kib_per_document));
        }
    }
    ratios::record(args.record.as_deref(), &figures)?;
    if failures > 0 {
        eprintln!("{failures} of {total} clients failed");
    }
    Ok(())
}
