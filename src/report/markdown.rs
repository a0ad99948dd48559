//! The race as GitHub-flavoured Markdown: what was raced, a table per metric group, the winner
//! of each metric. Text from outside (names, models) is made safe for table cells.

use std::fmt::Write as _;

use super::headline::{self, TokenSource};
use crate::format::{ms, percent, rate};
use crate::replay::Run;
use crate::stats::EndpointSnapshot;
use crate::stats::distribution::Summary as Distribution;

pub fn render(run: &Run) -> String {
    let mut out = String::new();
    heading(&mut out, run);
    latency(&mut out, &run.summary.endpoints);
    throughput(&mut out, run);
    reliability(&mut out, &run.summary.endpoints);
    tokens(&mut out, run);
    laps(&mut out, &run.summary.endpoints);
    turns(&mut out, &run.summary.endpoints);
    costs(&mut out, run);
    expected_cache(&mut out, run);
    servers(&mut out, &run.summary.endpoints);
    winners(&mut out, &run.summary.endpoints);
    medals(&mut out, run);
    out
}

/// The medals, when the race gave any.
fn medals(out: &mut String, run: &Run) {
    let rows = super::medals::rows(&run.summary.endpoints, &run.summary.costs);
    if !rows.is_empty() {
        out.push_str("## Medals\n\n");
        let rows = (rows.into_iter())
            .map(|[medal, name, figure, rule]| vec![medal, cell(&name), cell(&figure), rule]);
        table(out, &super::medals::COLUMNS, "llrl", rows);
    }
}

/// The title, when and where it ran, the race as run and its notices.
fn heading(out: &mut String, run: &Run) {
    let info = &run.info;
    let _ = writeln!(out, "# llmrace report: {}\n", cell(&info.name));
    let _ = writeln!(
        out,
        "Started {} · ran {} · llmrace {} · host {}{}\n",
        info.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        ms(Some(info.duration_s * 1000.0)),
        cell(&info.llmrace_version),
        cell(&info.host),
        if info.interrupted {
            " · **stopped early**"
        } else {
            ""
        },
    );
    race_as_run(out, run);
    for notice in &info.notices {
        let _ = writeln!(out, "> **Note:** {}\n", cell(notice));
    }
}

/// One table per latency distribution.
fn latency(out: &mut String, endpoints: &[EndpointSnapshot]) {
    type Pick = fn(&EndpointSnapshot) -> Option<Distribution>;
    out.push_str("## Latency\n\n");
    let latencies: [(&str, Pick); 4] = [
        ("TTFT (time to first token)", |e| e.latency.ttft_ms),
        ("TTLT (time to last token)", |e| e.latency.ttlt_ms),
        ("TPOT (time per output token)", |e| e.latency.tpot_ms),
        ("ITL (inter-token latency)", |e| e.latency.itl_ms),
    ];
    for (title, pick) in latencies {
        // Only TTLT is an embeddings endpoint's (request to last byte); the others are of
        // generated text, left out of a race with none.
        let chat_only = !title.starts_with("TTLT");
        if chat_only && super::embeddings::all(endpoints) {
            continue;
        }
        let _ = writeln!(out, "### {title}\n");
        let rows = endpoints.iter().map(|e| {
            let d = pick(e);
            let ms = |v: Option<f64>| {
                if chat_only {
                    super::embeddings::chat_ms(e, v)
                } else {
                    ms(v)
                }
            };
            vec![
                cell(&e.name),
                ms(d.map(|d| d.p50)),
                ms(d.map(|d| d.p90)),
                ms(d.map(|d| d.p99)),
                ms(d.map(|d| d.mean)),
                d.map_or(0, |d| d.count).to_string(),
            ]
        });
        table(
            out,
            &["endpoint", "p50", "p90", "p99", "mean", "samples"],
            "lrrrrr",
            rows,
        );
    }
}

/// Rates, and what goodput counted.
fn throughput(out: &mut String, run: &Run) {
    let endpoints = &run.summary.endpoints;
    out.push_str("## Throughput\n\n");
    let embeds = super::embeddings::any(endpoints);
    let rows = endpoints.iter().map(|e| {
        let mut row = vec![
            cell(&e.name),
            super::embeddings::chat(e, || {
                format!(
                    "{}{}",
                    rate(e.rates.output_tokens_per_s),
                    TokenSource::of(e).mark()
                )
            }),
            rate(e.rates.requests_per_min),
            rate(e.rates.goodput_per_s),
            format!("{:.1} s", e.rates.window_s),
        ];
        if embeds {
            row.push(super::embeddings::inputs_per_s(e));
        }
        row
    });
    let headers = [
        "endpoint",
        "output tok/s",
        "req/min",
        "goodput req/s",
        "window",
        "inputs/s",
    ];
    let columns = if embeds { 6 } else { 5 };
    table(out, &headers[..columns], &"lrrrrr"[..columns], rows);
    for note in endpoints.iter().filter_map(super::embeddings::note) {
        let _ = writeln!(out, "{}\n", cell(&note));
    }
    if let Some(slo) = headline::describe_slo(&run.info.race.slo) {
        let _ = writeln!(
            out,
            "Goodput counts requests that met every objective: {slo}.\n"
        );
    }
}

/// What ended how, errors by class, retries.
fn reliability(out: &mut String, endpoints: &[EndpointSnapshot]) {
    out.push_str("## Reliability\n\n");
    let rows = endpoints.iter().map(|e| {
        let c = e.counts;
        vec![
            cell(&e.name),
            format!("{}/{}", c.succeeded, c.sent),
            percent(e.rates.success_rate),
            c.failed.to_string(),
            c.cancelled.to_string(),
            cell(&headline::errors_line(e)),
        ]
    });
    table(
        out,
        &[
            "endpoint",
            "ok/sent",
            "success rate",
            "failed",
            "cancelled",
            "errors by class",
        ],
        "lrrrrl",
        rows,
    );
    retries_line(out, endpoints);
    let answers: Vec<String> = super::structured::lines(endpoints)
        .iter()
        .map(|line| cell(line))
        .collect();
    for line in &answers {
        let _ = writeln!(out, "- {line}");
    }
    if !answers.is_empty() {
        out.push('\n');
    }
}

/// Token counts and where the output counts came from.
fn tokens(out: &mut String, run: &Run) {
    let endpoints = &run.summary.endpoints;
    out.push_str("## Tokens\n\n");
    let rows = endpoints.iter().map(|e| {
        let t = e.tokens;
        vec![
            cell(&e.name),
            t.input.to_string(),
            t.output.to_string(),
            t.reasoning
                .map_or_else(|| "—".to_string(), |n| n.to_string()),
            t.cached_input.to_string(),
            t.cache_write_input.to_string(),
            headline::source_label(e, &run.requests),
        ]
    });
    table(
        out,
        &[
            "endpoint",
            "input",
            "output",
            "reasoning",
            "cached input",
            "cache writes",
            "output source",
        ],
        "lrrrrrl",
        rows,
    );
    for note in endpoints.iter().filter_map(super::request_size::note) {
        out.push_str(&note);
        out.push_str(".\n\n");
    }
    if let Some(sentence) = super::cache::sentence(endpoints) {
        let _ = writeln!(out, "{}\n", cell(&sentence));
    }
    if headline::any_estimated_in(endpoints, &run.requests) {
        out.push_str(
            "\"Estimated\" counts were made by llmrace with a BPE tokenizer (o200k) because the \
             server reported no usage",
        );
        if endpoints
            .iter()
            .any(|e| e.tokens.contradicted_output_requests > 0)
        {
            out.push_str(", or reported 0 output tokens for a response that carried text");
        }
        out.push_str(
            ".

",
        );
    }
}

/// Head-to-head laps, when the race ran them.
fn laps(out: &mut String, endpoints: &[EndpointSnapshot]) {
    let laps = headline::lap_rows(endpoints);
    if !laps.is_empty() {
        out.push_str("## Head-to-head laps\n\n");
        let rows = laps
            .into_iter()
            .map(|[name, n, first, finished]| vec![cell(&name), n, first, finished]);
        table(out, &headline::LAP_COLUMNS, "lrrr", rows);
        out.push_str(
            "Every prompt went to every endpoint at the same instant; a lap is won by the first \
             token, and by the first complete answer.\n\n",
        );
    }
}

/// TTFT by turn, when the race ran multi-turn sessions.
fn turns(out: &mut String, endpoints: &[EndpointSnapshot]) {
    let rows = super::turns::rows(endpoints);
    if !rows.is_empty() {
        out.push_str("## TTFT by turn\n\n");
        let rows = rows
            .into_iter()
            .map(|row| row.iter().map(|c| cell(c)).collect());
        table(out, &super::turns::COLUMNS, "lrrr", rows);
        let _ = writeln!(out, "{}\n", super::turns::NOTE);
    }
}

/// What each priced endpoint cost, when any is priced.
fn costs(out: &mut String, run: &Run) {
    if !run.summary.costs.is_empty() {
        out.push_str("## Cost\n\n");
        let rows = super::cost::rows(&run.summary.costs)
            .into_iter()
            .map(|[name, a, b, c]| vec![cell(&name), a, b, c]);
        table(out, &super::cost::COLUMNS, "lrrr", rows);
        out.push_str("Prices as set in the race file, in USD; every counted token is billed.\n\n");
    }
}

/// A shared-prefix race's expected and reported prompt-cache hit rates.
fn expected_cache(out: &mut String, run: &Run) {
    use super::expected_cache::{COLUMNS, NOTE, rows, title};
    if let Some(expected) = &run.summary.expected_cache {
        let _ = writeln!(out, "## Prompt cache ({})\n", cell(&title(expected)));
        let rows =
            (rows(Some(expected)).into_iter()).map(|[name, a, b, c]| vec![cell(&name), a, b, c]);
        table(out, &COLUMNS, "lrrr", rows);
        let _ = writeln!(out, "{NOTE}\n");
    }
}

/// What each scraped server's own metrics said over the race.
fn servers(out: &mut String, endpoints: &[EndpointSnapshot]) {
    use super::server::{COLUMNS, NOTE, rows};
    let rows = rows(endpoints);
    if !rows.is_empty() {
        out.push_str("## Servers\n\n");
        let rows = rows
            .into_iter()
            .map(|row| row.iter().map(|c| cell(c)).collect());
        table(out, &COLUMNS, "llrrrrrrrrr", rows);
        let _ = writeln!(out, "{NOTE}\n");
    }
}

/// The winner of each metric.
fn winners(out: &mut String, endpoints: &[EndpointSnapshot]) {
    out.push_str("## Winners\n\n");
    let rows = headline::winners(endpoints).into_iter().map(|(metric, w)| {
        let names: Vec<String> = w.endpoints.iter().map(|n| cell(n)).collect();
        vec![
            metric.label.to_string(),
            format!("**{}**", names.join(", ")),
            format!(
                "{}{}",
                headline::show(metric, w.value),
                headline::winner_mark(metric, &w, endpoints)
            ),
        ]
    });
    table(out, &["metric", "winner", "value"], "llr", rows);
}

fn race_as_run(out: &mut String, run: &Run) {
    let race = &run.info.race;
    out.push_str("## The race\n\n");
    let rows = run.info.endpoints.iter().map(|e| {
        vec![
            cell(&e.name),
            cell(&e.protocol),
            format!("`{}`", code(&e.model)),
            format!(
                "`{}`{}",
                code(&e.base_url),
                if e.simulated { " (simulated)" } else { "" }
            ),
            e.concurrency.to_string(),
        ]
    });
    table(
        out,
        &["endpoint", "protocol", "model", "base URL", "in flight"],
        "llllr",
        rows,
    );
    let _ = writeln!(out, "- **Load:** {}", cell(&headline::describe_load(race)));
    let _ = writeln!(
        out,
        "- **Workload:** {}",
        cell(&headline::describe_workload(race))
    );
    if let Some(slo) = headline::describe_slo(&race.slo) {
        let _ = writeln!(out, "- **Objectives:** {slo}");
    }
    for line in super::proxy::notices(&run.info.endpoints) {
        let _ = writeln!(out, "- **Proxy:** {}", cell(&line));
    }
    out.push('\n');
}

/// The retries made, when there were any: each was counted above as a request of its own.
fn retries_line(out: &mut String, endpoints: &[crate::stats::EndpointSnapshot]) {
    let retried: Vec<String> = endpoints
        .iter()
        .filter(|e| e.counts.retries > 0)
        .map(|e| format!("{} {}", cell(&e.name), e.counts.retries))
        .collect();
    if !retried.is_empty() {
        let _ = writeln!(
            out,
            "Retries after HTTP 429 or 503 (each one also counted above as a request): {}.\n",
            retried.join(", ")
        );
    }
}

/// A table; `align` has an `l` (text) or `r` (numbers) per column.
fn table(out: &mut String, headers: &[&str], align: &str, rows: impl Iterator<Item = Vec<String>>) {
    let _ = writeln!(out, "| {} |", headers.join(" | "));
    let aligns: Vec<&str> = align
        .chars()
        .map(|a| if a == 'r' { "--:" } else { "---" })
        .collect();
    let _ = writeln!(out, "| {} |", aligns.join(" | "));
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out.push('\n');
}

/// Text from outside made safe for a table cell: no line breaks, pipes and HTML escaped, and
/// Markdown's own marks made literal.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' | '\\' | '*' | '_' | '`' | '[' | ']' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Text for inside a code span in a table cell: only pipes, backticks and control characters
/// need care there.
fn code(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '`' => '\''.to_string(),
            '|' => "\\|".to_string(),
            c if c.is_control() => " ".to_string(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixture_race_as_markdown() {
        insta::assert_snapshot!(render(&crate::replay::load::fixture(6, 30)));
    }

    #[test]
    fn estimates_are_explained_only_when_some_were_made() {
        let note = "\"Estimated\" counts were made";
        // Of the fixture's endpoints only the sixth, bursty, reports no usage.
        assert!(!render(&crate::replay::load::fixture(2, 10)).contains(note));
        assert!(render(&crate::replay::load::fixture(6, 10)).contains(note));
    }

    #[test]
    fn retries_are_told_only_when_some_were_made() {
        let mut run = crate::replay::load::fixture(6, 30);
        assert!(!render(&run).contains("Retries after"));
        run.summary.endpoints[0].counts.retries = 4;
        let name = run.summary.endpoints[0].name.clone();
        let text = render(&run);
        assert!(
            text.contains(&format!(
                "429 or 503 (each one also counted above as a request): {name} 4."
            )),
            "{text}"
        );
    }

    #[test]
    fn servers_are_summarised_only_when_scraped() {
        let mut run = crate::replay::load::fixture(4, 120);
        assert!(!render(&run).contains("## Servers"));
        let until = crate::event::Offset::from_duration(std::time::Duration::from_secs_f64(
            run.info.duration_s,
        ));
        crate::stats::fixture::add_servers(&mut run.summary.endpoints, until);
        let text = render(&run);
        let servers = &text[text.find("## Servers").expect("a Servers section")..];
        let section = &servers[..servers.find("## Winners").expect("then the winners")];
        insta::assert_snapshot!(section);
    }

    #[test]
    fn names_cannot_break_a_table() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        assert_eq!(cell("<script>"), "&lt;script&gt;");
        assert_eq!(code("x|`y`"), "x\\|'y'");
    }
}
