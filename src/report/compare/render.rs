//! A comparison for people: an aligned terminal table and a Markdown table, one row per
//! endpoint and metric.

use std::fmt::Write as _;

use super::{
    ALPHA, Comparison, Kind, MIN_SAMPLES, MetricComparison, PRACTICAL_SHARE, Reason, Regression,
    Verdict,
};
use crate::format::{ms, percent, rate};

const HEADERS: [&str; 8] = [
    "endpoint", "metric", "base", "current", "Δ", "Δ%", "p", "verdict",
];

/// The comparison as an aligned terminal table, then a tally and the endpoints raced in only
/// one of the runs.
pub fn render_text(comparison: &Comparison) -> String {
    let rows = rows(comparison);
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = format!(
        "base     {}\ncurrent  {}\n\n",
        label(&comparison.base),
        label(&comparison.current)
    );
    let line = |cells: &[String], out: &mut String| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            let pad = " ".repeat(w - cell.chars().count());
            // Names and verdicts read left to right; numbers line up on the right.
            if i < 2 || i == HEADERS.len() - 1 {
                text.push_str(cell);
                text.push_str(&pad);
            } else {
                text.push_str(&pad);
                text.push_str(cell);
            }
            text.push_str("  ");
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&HEADERS.map(str::to_string), &mut out);
    for row in &rows {
        line(row, &mut out);
    }
    out.push_str(&tally(comparison));
    out
}

/// The comparison as Markdown: a heading, the two runs, the table, the endpoints raced in only
/// one run, and how verdicts are reached.
pub fn render_markdown(comparison: &Comparison) -> String {
    let mut out = String::from("# llmrace compare\n\n");
    let _ = writeln!(
        out,
        "- base: {}\n- current: {}\n",
        escape(&label(&comparison.base)),
        escape(&label(&comparison.current))
    );
    out.push_str("| endpoint | metric | base | current | Δ | Δ% | p | verdict |\n");
    out.push_str("|---|---|--:|--:|--:|--:|--:|---|\n");
    for row in rows(comparison) {
        let cells: Vec<String> = row.iter().map(|c| escape(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
    out.push_str(&tally(comparison));
    let _ = writeln!(
        out,
        "\nA change is better or worse when a two-sided test gives p < {ALPHA} and it is at least \
         {:.0}% of the base (1 percentage point for the error rate): Mann–Whitney U on the \
         per-request values for latencies and per-request tokens/s, a bootstrap of the rate for \
         tokens/s and requests/min, a two-proportion z-test for the error rate. Fewer than \
         {MIN_SAMPLES} samples on a side gives no verdict.",
        PRACTICAL_SHARE * 100.0
    );
    out
}

/// One line for a failed gate: `vllm: TTFT p50 worse by 106.5% (98.2 ms → 203 ms, p <0.001)`.
/// The size has no sign: "worse" says which way, and tokens/s get worse by falling.
impl std::fmt::Display for Regression<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.metric;
        let kind = m.metric.kind();
        let change = match (kind, m.delta_pct, m.delta) {
            (Kind::Share, _, Some(d)) | (_, None, Some(d)) => size(kind, d),
            (_, Some(pct), _) => format!("{:.1}%", pct.abs()),
            (_, None, None) => "—".to_string(),
        };
        write!(
            f,
            "{}: {} worse by {change} ({} → {}, p {})",
            self.endpoint,
            m.metric.label(),
            value(kind, m.base),
            value(kind, m.current),
            m.p.map_or_else(|| "—".to_string(), p_value)
        )
    }
}

fn rows(comparison: &Comparison) -> Vec<[String; 8]> {
    let mut rows = Vec::new();
    for e in &comparison.endpoints {
        for (i, m) in e.metrics.iter().enumerate() {
            let name = if i == 0 {
                e.name.clone()
            } else {
                String::new()
            };
            rows.push(row(name, m));
        }
    }
    rows
}

fn row(endpoint: String, m: &MetricComparison) -> [String; 8] {
    let kind = m.metric.kind();
    [
        endpoint,
        m.metric.label().to_string(),
        value(kind, m.base),
        value(kind, m.current),
        m.delta.map_or_else(|| "—".to_string(), |d| delta(kind, d)),
        m.delta_pct
            .map_or_else(|| "—".to_string(), |pct| format!("{pct:+.1}%")),
        m.p.map_or_else(|| "—".to_string(), p_value),
        verdict(m).to_string(),
    ]
}

pub(super) fn value(kind: Kind, v: Option<f64>) -> String {
    match (kind, v) {
        (_, None) => "—".to_string(),
        (Kind::Latency, v) => ms(v),
        (Kind::RequestRate | Kind::Rate, Some(v)) => rate(v),
        (Kind::Share, Some(v)) => percent(v),
    }
}

fn delta(kind: Kind, d: f64) -> String {
    if d == 0.0 {
        return "0".to_string();
    }
    let sign = if d < 0.0 { "-" } else { "+" };
    format!("{sign}{}", size(kind, d))
}

/// How large a change is, whichever way it went.
fn size(kind: Kind, d: f64) -> String {
    match kind {
        Kind::Latency => ms(Some(d.abs())),
        Kind::RequestRate | Kind::Rate => rate(d.abs()),
        Kind::Share => format!("{:.1} pp", d.abs() * 100.0),
    }
}

fn p_value(p: f64) -> String {
    if p < 0.001 {
        "<0.001".to_string()
    } else {
        format!("{p:.3}")
    }
}

fn verdict(m: &MetricComparison) -> &'static str {
    match (m.verdict, m.reason) {
        (Verdict::Better, _) => "▲ better",
        (Verdict::Worse, _) => "▼ worse",
        (Verdict::WithinNoise, Reason::Small) => "≈ too small",
        (Verdict::WithinNoise, Reason::Disagrees) => "≈ noise (tail)",
        // Not "≈": that would read as "no change" next to a change of any size.
        (Verdict::WithinNoise, Reason::TooFewSamples) => "? not enough samples to judge",
        (Verdict::WithinNoise, Reason::NoData) => "— no data",
        (Verdict::WithinNoise, _) => "≈ noise",
    }
}

pub(super) fn label(run: &super::RunLabel) -> String {
    format!(
        "{} ({})",
        run.name,
        run.started_at.format("%Y-%m-%d %H:%M:%S UTC")
    )
}

/// How many changes went each way, and the endpoints raced in only one run.
fn tally(comparison: &Comparison) -> String {
    let count = |v: Verdict, judged: bool| {
        (comparison.endpoints.iter())
            .flat_map(|e| &e.metrics)
            .filter(|m| m.verdict == v)
            .filter(|m| (m.reason != Reason::TooFewSamples) == judged)
            .count()
    };
    let mut out = format!(
        "{} worse, {} better, {} within noise",
        count(Verdict::Worse, true),
        count(Verdict::Better, true),
        count(Verdict::WithinNoise, true)
    );
    let unjudged = count(Verdict::WithinNoise, false);
    if unjudged > 0 {
        let _ = write!(out, ", {unjudged} with not enough samples to judge");
    }
    out.push('\n');
    if !comparison.added.is_empty() {
        let _ = writeln!(
            out,
            "only in current (added): {}",
            comparison.added.join(", ")
        );
    }
    if !comparison.removed.is_empty() {
        let _ = writeln!(
            out,
            "only in base (removed): {}",
            comparison.removed.join(", ")
        );
    }
    if let Some(partial) = super::partial_match(comparison) {
        let _ = writeln!(out, "{partial}");
    }
    out
}

/// Endpoint and race names are the user's: a `|` would split a Markdown cell.
fn escape(text: &str) -> String {
    text.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens_per_s(base: f64, current: f64, reason: Reason) -> MetricComparison {
        MetricComparison {
            metric: super::super::Metric::OutputTps,
            base: Some(base),
            current: Some(current),
            delta: Some(current - base),
            delta_pct: Some((current - base) / base * 100.0),
            verdict: if reason == Reason::Significant {
                Verdict::Worse
            } else {
                Verdict::WithinNoise
            },
            reason,
            p: Some(0.001),
            samples: (7, 6),
        }
    }

    #[test]
    fn a_regression_says_worse_by_a_size_without_a_sign() {
        let fell = tokens_per_s(428.0, 41.0, Reason::Significant);
        let line = Regression {
            endpoint: "vllm",
            metric: &fell,
        }
        .to_string();
        assert_eq!(line, "vllm: out tok/s worse by 90.4% (428 → 41.0, p 0.001)");
    }

    #[test]
    fn too_few_samples_show_the_change_and_say_they_cannot_judge_it() {
        let m = tokens_per_s(428.0, 41.0, Reason::TooFewSamples);
        let cells = row("vllm".to_string(), &m);
        assert_eq!(cells[5], "-90.4%");
        assert_eq!(cells[7], "? not enough samples to judge");
        assert!(!cells[7].contains('≈'));
    }
}
