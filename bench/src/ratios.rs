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

/// Prints the table of the figures recorded at `path`.
pub fn print(path: &Path) -> Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let figures = text
        .lines()
        .enumerate()
        .map(|(n, line)| serde_json::from_str(line).with_context(|| format!("{}, line {}", path.display(), n + 1)))
        .collect::<Result<Vec<Figure>>>()?;
    print!("{}", table(&figures));
    Ok(())
}

/// A Markdown table: one row per workload and measure that Charter and an anchor both
/// have, with the ratio to each anchor that has it.
fn table(figures: &[Figure]) -> String {
    let anchors = [Target::Hocuspocus, Target::YWebsocket];
    let [first, second] = anchors.map(label);
    let mut table =
        format!("| workload | measure | Charter | {first} | {second} | Charter ÷ {first} | Charter ÷ {second} |\n");
    table.push_str("|---|---|---|---|---|---|---|\n");
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
        table.push_str(&format!(
            "| {} | {} | {:.1} | {} | {} | {} | {} |\n",
            charter.workload,
            charter.measure.label(),
            charter.value,
            shown[0],
            shown[1],
            ratios[0],
            ratios[1]
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(target: Target, workload: &str, measure: Measure, value: f64) -> Figure {
        Figure { target, workload: workload.into(), measure, value }
    }

    #[test]
    fn charter_figures_are_divided_by_each_anchor_that_has_them() {
        let fanout = "100 docs × 10 clients × 5/s";
        let figures = [
            figure(Target::Charter, fanout, Measure::FanoutP99Ms, 30.0),
            figure(Target::Hocuspocus, fanout, Measure::FanoutP99Ms, 60.0),
            figure(Target::YWebsocket, fanout, Measure::FanoutP99Ms, 15.0),
            // Only one anchor measured it, and the other measured nothing to divide by.
            figure(Target::Charter, fanout, Measure::RssKibPerDocument, 500.0),
            figure(Target::Hocuspocus, fanout, Measure::RssKibPerDocument, 0.0),
            figure(Target::YWebsocket, "another workload", Measure::RssKibPerDocument, 400.0),
            // Charter's alone: no row.
            figure(Target::Charter, "cold join, 1.0 MB", Measure::JoinMedianMs, 10.0),
        ];
        let table = table(&figures);
        let rows: Vec<&str> = table.lines().skip(2).collect();
        assert_eq!(
            rows,
            [
                "| 100 docs × 10 clients × 5/s | fan-out p99 ms | 30.0 | 60.0 | 15.0 | 0.50× | 2.00× |",
                "| 100 docs × 10 clients × 5/s | RSS KiB per open document | 500.0 | 0.0 | n/a | n/a | n/a |",
            ]
        );
        assert!(table.starts_with("| workload | measure | Charter | Hocuspocus 4.7 | y-websocket 1.5.4 |"), "{table}");
    }
}
