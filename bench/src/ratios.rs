//! Figures kept across the load generator's runs in one benchmark invocation
//! (`--record FILE`, a JSON line each), and the table that puts Charter's figures beside
//! the anchors' (Hocuspocus and the y-websocket server) measured in the same invocation.
//! Only ratios within one run are comparable on a shared machine.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::{label, Target};

/// What a figure measures; every one of them is better lower.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    FanoutP99Ms,
    CpuPercent,
    RssKibPerDocument,
    JoinMedianMs,
}

impl Measure {
    fn label(self) -> &'static str {
        match self {
            Measure::FanoutP99Ms => "fan-out p99 ms",
            Measure::CpuPercent => "server CPU %",
            Measure::RssKibPerDocument => "RSS KiB per open document",
            Measure::JoinMedianMs => "cold join median ms",
        }
    }
}

#[derive(Serialize, Deserialize)]
pub struct Figure {
    pub target: Target,
    pub workload: String,
    pub measure: Measure,
    pub value: f64,
}

/// Appends figures to the record, if there is one; a figure that could not be measured
/// (no latency when nothing was delivered) is left out.
pub fn record(path: Option<&Path>, figures: &[Figure]) -> Result<()> {
    let Some(path) = path else { return Ok(()) };
    let mut file =
        OpenOptions::new().create(true).append(true).open(path).with_context(|| path.display().to_string())?;
    for figure in figures.iter().filter(|figure| figure.value.is_finite()) {
        writeln!(file, "{}", serde_json::to_string(figure)?)?;
    }
    Ok(())
}

/// Prints one row per workload and measure that Charter and an anchor both have.
pub fn print(path: &Path) -> Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let figures = text
        .lines()
        .enumerate()
        .map(|(n, line)| serde_json::from_str(line).with_context(|| format!("{}, line {}", path.display(), n + 1)))
        .collect::<Result<Vec<Figure>>>()?;
    let anchors = [Target::Hocuspocus, Target::YWebsocket];
    let [first, second] = anchors.map(label);
    println!("| workload | measure | Charter | {first} | {second} | Charter ÷ {first} | Charter ÷ {second} |");
    println!("|---|---|---|---|---|---|---|");
    let find = |target, workload: &str, measure| {
        figures.iter().find(|f| f.target == target && f.workload == workload && f.measure == measure).map(|f| f.value)
    };
    for charter in figures.iter().filter(|f| f.target == Target::Charter) {
        let values = anchors.map(|anchor| find(anchor, &charter.workload, charter.measure));
        if values.iter().all(Option::is_none) {
            continue;
        }
        let shown = values.map(|value| value.map_or("n/a".into(), |v| format!("{v:.1}")));
        let ratios = values.map(|value| match value {
            Some(v) if v > 0.0 => format!("{:.2}×", charter.value / v),
            _ => "n/a".into(),
        });
        println!(
            "| {} | {} | {:.1} | {} | {} | {} | {} |",
            charter.workload,
            charter.measure.label(),
            charter.value,
            shown[0],
            shown[1],
            ratios[0],
            ratios[1]
        );
    }
    Ok(())
}
