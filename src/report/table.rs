//! The final per-endpoint table printed when a race ends: the headline numbers of each
//! endpoint, one row each, best values marked.

use std::fmt::Write as _;

use super::cache;
use crate::format::{count, ms, percent, rate};
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

/// The columns (indices into [`HEADERS`]) of figures only generated text has: TTFT, TPOT, ITL,
/// output tokens/s and output tokens. An embeddings endpoint shows "n/a" there.
const CHAT_ONLY: [usize; 6] = [3, 4, 6, 7, 8, 10];

/// The table as plain text (columns aligned with spaces), then a line per endpoint that had
/// errors, and a note when token counts were estimated.
pub fn render(endpoints: &[EndpointSnapshot]) -> String {
    render_within(endpoints, usize::MAX)
}

/// [`render`] for a terminal `width` columns wide: a table wider than that is cut into blocks
/// of whole columns, one under the other, each led by the endpoint names, rather than leaving
/// the terminal to wrap every row in the middle of a number.
pub fn render_within(endpoints: &[EndpointSnapshot], width: usize) -> String {
    // Lap wins only mean something when laps were run, retries when some were made.
    let laps = endpoints.iter().any(|e| e.laps > 0);
    let retries = endpoints.iter().any(|e| e.counts.retries > 0);
    // Repeats when a prompt went twice, the cache hit rate when a server said it.
    let repeats = cache::any_repeats(endpoints);
    let cached = cache::any_reported(endpoints);
    let mut headers: Vec<String> = HEADERS.map(str::to_string).to_vec();
    let embeds = super::embeddings::any(endpoints);
    if embeds {
        headers.push("inputs/s".to_string());
    }
    if repeats {
        headers.push("repeats".to_string());
    }
    if cached {
        headers.push("cache hit".to_string());
    }
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
            if e.embeddings.is_some() {
                for i in CHAT_ONLY {
                    cells[i] = super::embeddings::NOT_APPLICABLE.to_string();
                }
            }
            if embeds {
                cells.push(super::embeddings::inputs_per_s(e));
            }
            if repeats {
                cells.push(cache::repeats(e));
            }
            if cached {
                cells.push(cache::hit_rate(e));
            }
            if retries {
                cells.push(e.counts.retries.to_string());
            }
            if laps {
                cells.push(wins(e));
            }
            cells
        })
        .collect();
    // A race of embeddings endpoints only has no use for the columns of generated text.
    let (headers, rows) = if super::embeddings::all(endpoints) {
        let keep = |i: &usize| !CHAT_ONLY.contains(i);
        let pick = |cells: &[String]| -> Vec<String> {
            (0..cells.len())
                .filter(keep)
                .map(|i| cells[i].clone())
                .collect()
        };
        (pick(&headers), rows.iter().map(|r| pick(r)).collect())
    } else {
        (headers, rows)
    };
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String], columns: &[usize], out: &mut String| {
        // Writing to a String cannot fail.
        let _ = write!(out, "{:<w$}", cells[0], w = widths[0]);
        for &i in columns {
            let _ = write!(out, "  {:>w$}", cells[i], w = widths[i]);
        }
        out.push('\n');
    };
    for (i, columns) in blocks(&widths, width).iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        line(&headers, columns, &mut out);
        for row in &rows {
            line(row, columns, &mut out);
        }
    }
    let notes: Vec<String> = endpoints.iter().flat_map(endpoint_notes).collect();
    for note in notes {
        out.push_str(&wrap(&note, width));
    }
    out
}

/// The lines under the table about one endpoint: errors, stopped requests, send lag, usage it
/// did not report, request sizes, tool calls and JSON answers.
fn endpoint_notes(e: &EndpointSnapshot) -> Vec<String> {
    let mut notes: Vec<String> = super::embeddings::note(e).into_iter().collect();
    if !e.errors.is_empty() {
        let classes: Vec<String> = e.errors.iter().map(|(c, n)| format!("{c} ×{n}")).collect();
        notes.push(format!("{}: errors: {}", e.name, classes.join(", ")));
        notes.extend(super::first_error::note(e));
    }
    // Cancelled requests are in no column: without this line a stopped race reads as
    // fewer requests sent than were.
    if e.counts.cancelled > 0 {
        notes.push(format!(
            "{}: {} cancelled (the race was stopped)",
            e.name, e.counts.cancelled
        ));
    }
    if let Some(lag) = e.latency.send_lag_ms {
        notes.push(format!(
            "{}: send lag (open loop) p50 {}, p99 {}",
            e.name,
            ms(Some(lag.p50)),
            ms(Some(lag.p99))
        ));
    }
    // Those whose usage said 0 output tokens for text have their own line: the table is the
    // one output every race, quiet or not, and every replay prints.
    if let Some(notice) = usage_notice(e) {
        notes.push(notice);
    }
    notes.extend(super::request_size::note(e));
    notes.extend(super::structured::tool_line(e));
    notes.extend(super::structured::json_line(e));
    let missing = e
        .tokens
        .estimated_output_requests
        .saturating_sub(e.tokens.contradicted_output_requests);
    if missing > 0 {
        notes.push(format!(
            "{}: the server reported no usage for {}; their output tokens were counted with a BPE tokenizer (o200k)",
            e.name,
            count(missing, "request")
        ));
    }
    notes
}

/// `text` broken between words into lines of at most `width` columns (a longer word stays
/// whole), the lines after the first indented.
fn wrap(text: &str, width: usize) -> String {
    const INDENT: &str = "  ";
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let fits = line.chars().count() + 1 + word.chars().count() <= width;
        if line.is_empty() {
            line.push_str(word);
        } else if fits {
            line.push(' ');
            line.push_str(word);
        } else {
            out.push_str(&line);
            out.push('\n');
            line = format!("{INDENT}{word}");
        }
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// The columns after the first, in blocks that each fit `width` after the first column (at
/// least one column a block, however narrow the terminal).
fn blocks(widths: &[usize], width: usize) -> Vec<Vec<usize>> {
    let mut blocks: Vec<Vec<usize>> = Vec::new();
    let mut used = 0;
    for (i, w) in widths.iter().enumerate().skip(1) {
        match blocks.last_mut() {
            Some(block) if used + 2 + w <= width => block.push(i),
            _ => {
                blocks.push(vec![i]);
                used = widths[0];
            }
        }
        used += 2 + w;
    }
    blocks
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::fixture::finished_race;

    #[test]
    fn an_80_column_terminal_gets_blocks_of_whole_columns() {
        let endpoints = finished_race(4, 20).endpoints;
        let wide = render(&endpoints);
        let table_lines = |text: &str| text.lines().take_while(|l| !l.contains(": ")).count();
        assert!(wide.lines().next().is_some_and(|l| l.chars().count() > 80));
        let narrow = render_within(&endpoints, 80);
        assert!(narrow.lines().all(|l| l.chars().count() <= 80), "{narrow}");
        let headers: Vec<&str> = narrow
            .lines()
            .filter(|l| l.starts_with("endpoint"))
            .collect();
        assert_eq!(headers.len(), 2, "{narrow}");
        assert!(headers[1].contains("tokens"), "{narrow}");
        // Every number is still there, none cut: the same cells, one block under the other.
        let cells = |text: &str| {
            let mut cells: Vec<String> = text.split_whitespace().map(str::to_string).collect();
            cells.sort();
            cells.dedup();
            cells
        };
        assert_eq!(cells(&narrow), cells(&wide));
        assert_eq!(table_lines(&wide), 5);
        assert!(narrow.contains("\n  stream_cut ×3\n"), "{narrow}");
    }

    #[test]
    fn a_race_of_chat_and_embeddings_marks_what_does_not_apply() {
        let endpoints = crate::stats::fixture::finished_race_with_embeddings(3, 12).endpoints;
        insta::assert_snapshot!(render(&endpoints));
        let only = crate::stats::fixture::finished_race_with_embeddings(1, 12).endpoints;
        let table = render(&only);
        assert!(!table.contains("TTFT") && !table.contains("n/a"), "{table}");
        assert!(table.contains("inputs/s"), "{table}");
    }

    #[test]
    fn one_estimated_request_is_one_request() {
        let mut endpoints = finished_race(1, 3).endpoints;
        endpoints[0].tokens.estimated_output_requests = 1;
        endpoints[0].tokens.contradicted_output_requests = 0;
        let table = render(&endpoints);
        assert!(table.contains("no usage for 1 request;"), "{table}");
    }

    #[test]
    fn cancelled_requests_are_told_under_the_table() {
        let mut endpoints = finished_race(2, 3).endpoints;
        endpoints[0].counts.cancelled = 1;
        endpoints[1].counts.cancelled = 0;
        let table = render(&endpoints);
        let name = &endpoints[0].name;
        assert!(
            table.contains(&format!("{name}: 1 cancelled (the race was stopped)")),
            "{table}"
        );
        assert_eq!(table.matches("cancelled").count(), 1, "{table}");
    }
}
