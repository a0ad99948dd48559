//! Several races in order: the headline metrics of each endpoint across them, with a sparkline.

use std::fmt::Write as _;

use super::render::{label, value};
use super::{Metric, RunLabel};
use crate::convert::saturating_usize;
use crate::replay::Run;

/// The metrics a trend follows.
const TREND_METRICS: [Metric; 4] = [
    Metric::TtftP50,
    Metric::TtltP50,
    Metric::OutputTps,
    Metric::ErrorRate,
];

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Each endpoint's headline metrics across `runs` (in the order given), one column per run and
/// a sparkline; an endpoint missing from a run leaves a gap.
pub fn trend(runs: &[Run]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for run in runs {
        for e in &run.summary.endpoints {
            if !names.contains(&e.name.as_str()) {
                names.push(&e.name);
            }
        }
    }
    let mut out = String::new();
    for (i, run) in runs.iter().enumerate() {
        let _ = writeln!(out, "#{}  {}", i + 1, label(&RunLabel::of(run)));
    }
    out.push('\n');
    let mut header = vec!["endpoint".to_string(), "metric".to_string()];
    header.extend((1..=runs.len()).map(|i| format!("#{i}")));
    header.push("trend".to_string());
    let mut rows = vec![header];
    for name in names {
        for (i, metric) in TREND_METRICS.iter().enumerate() {
            let values: Vec<Option<f64>> = runs
                .iter()
                .map(|run| {
                    run.summary
                        .endpoints
                        .iter()
                        .find(|e| e.name == name)
                        .and_then(|e| metric.value(e))
                        .filter(|v| v.is_finite())
                })
                .collect();
            let mut row = vec![
                if i == 0 {
                    name.to_string()
                } else {
                    String::new()
                },
                metric.label().to_string(),
            ];
            row.extend(values.iter().map(|v| value(metric.kind(), *v)));
            row.push(sparkline(&values));
            rows.push(row);
        }
    }
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let mut line = String::new();
        for (c, (cell, w)) in row.iter().zip(&widths).enumerate() {
            let pad = " ".repeat(w - cell.chars().count());
            if c < 2 || c == columns - 1 {
                line.push_str(cell);
                line.push_str(&pad);
            } else {
                line.push_str(&pad);
                line.push_str(cell);
            }
            line.push_str("  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// One bar per value, scaled between the smallest and largest; a gap for a missing value, and
/// mid-height bars when every value is the same.
pub fn sparkline(values: &[Option<f64>]) -> String {
    let present = values.iter().flatten();
    let low = present.clone().copied().fold(f64::INFINITY, f64::min);
    let high = present.copied().fold(f64::NEG_INFINITY, f64::max);
    values
        .iter()
        .map(|v| match v {
            None => ' ',
            Some(_) if high <= low => BARS[3],
            Some(v) => {
                let level = saturating_usize(((v - low) / (high - low) * 7.0).round());
                BARS[level.min(7)]
            }
        })
        .collect()
}
