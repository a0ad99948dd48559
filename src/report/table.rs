//! The final per-endpoint table printed when a race ends: the headline numbers of each
//! endpoint, one row each, best values marked.

use super::format::{ms, percent, rate};
use crate::record::run_info::usage_notice;
use crate::stats::EndpointSnapshot;

const HEADERS: [&str; 11] = [
    "endpoint",
    "ok/sent",
    "errors",
    "TTFT p50",
    "TTFT p99",
    "TTLT p50",
    "TPOT p50",
    "ITL p50",
    "out tok/s",
    "req/min",
    "tokens",
];

/// The table as plain text (columns aligned with spaces), then a line per endpoint that had
/// errors, and a note when token counts were estimated.
pub fn render(endpoints: &[EndpointSnapshot]) -> String {
    // Lap wins only mean something when laps were run, retries when some were made.
    let laps = endpoints.iter().any(|e| e.laps > 0);
    let retries = endpoints.iter().any(|e| e.counts.retries > 0);
    let mut headers: Vec<String> = HEADERS.map(str::to_string).to_vec();
    if retries {
        headers.push("retries".to_string());
    }
    if laps {
        headers.push("wins tok/fin".to_string());
    }
    let rows: Vec<Vec<String>> = endpoints
        .iter()
        .map(|e| {
            let mut cells = row(e).to_vec();
            if retries {
                cells.push(e.counts.retries.to_string());
            }
            if laps {
                cells.push(wins(e));
            }
            cells
        })
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String], out: &mut String| {
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = w - cell.chars().count();
            if i == 0 {
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            } else {
                out.push_str("  ");
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            }
        }
        out.push('\n');
    };
    line(&headers, &mut out);
    for row in &rows {
        line(row, &mut out);
    }
    for e in endpoints {
        if !e.errors.is_empty() {
            let classes: Vec<String> = e.errors.iter().map(|(c, n)| format!("{c} ×{n}")).collect();
            out.push_str(&format!("{}: errors: {}\n", e.name, classes.join(", ")));
        }
        if let Some(lag) = e.latency.send_lag_ms {
            out.push_str(&format!(
                "{}: send lag (open loop) p50 {}, p99 {}\n",
                e.name,
                ms(Some(lag.p50)),
                ms(Some(lag.p99))
            ));
        }
        // Those whose usage said 0 output tokens for text have their own line: the table is the
        // one output every race, quiet or not, and every replay prints.
        if let Some(notice) = usage_notice(e) {
            out.push_str(&notice);
            out.push('\n');
        }
        let missing = e
            .tokens
            .estimated_output_requests
            .saturating_sub(e.tokens.contradicted_output_requests);
        if missing > 0 {
            out.push_str(&format!(
                "{}: the server reported no usage for {missing} requests; their output tokens were counted with a BPE tokenizer (o200k)\n",
                e.name
            ));
        }
    }
    out
}

/// Laps won by first token and by first finished, of the laps run: `3/2 of 5`.
fn wins(e: &EndpointSnapshot) -> String {
    format!(
        "{}/{} of {}",
        e.wins_first_token, e.wins_first_finished, e.laps
    )
}

fn row(e: &EndpointSnapshot) -> [String; 11] {
    let c = &e.counts;
    let ended = c.succeeded + c.failed;
    [
        e.name.clone(),
        format!("{}/{}", c.succeeded, c.sent),
        if c.failed == 0 {
            "0".to_string()
        } else {
            format!(
                "{} ({})",
                c.failed,
                percent(c.failed as f64 / ended.max(1) as f64)
            )
        },
        ms(e.latency.ttft_ms.map(|s| s.p50)),
        ms(e.latency.ttft_ms.map(|s| s.p99)),
        ms(e.latency.ttlt_ms.map(|s| s.p50)),
        ms(e.latency.tpot_ms.map(|s| s.p50)),
        ms(e.latency.itl_ms.map(|s| s.p50)),
        rate(e.rates.output_tokens_per_s),
        rate(e.rates.requests_per_min),
        e.tokens.output.to_string(),
    ]
}
