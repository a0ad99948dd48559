//! The race as ONE self-contained HTML page that works offline: inline CSS, inline SVG charts
//! drawn in Rust, and a little vanilla JS (sortable tables, then `data-ready` on the body so a
//! headless browser can tell the page finished). Nothing is fetched: no CDN, no fonts, no
//! images. Every text from the race (names, models, error messages) is escaped.

mod charts;
mod server;

use std::fmt::Write as _;

use super::embeddings;
use super::headline::{self, TokenSource};
use super::svg::{self, escape};
use crate::event::TokenSource as RecordSource;
use crate::format::{ms, percent, rate};
use crate::replay::Run;
use crate::stats::{Outcome, RequestRecord};

/// Most rows the per-request table shows; the result files have every request.
pub const MAX_REQUEST_ROWS: usize = 5_000;

pub fn render(run: &Run) -> String {
    let info = &run.info;
    let mut out = String::with_capacity(256 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>llmrace report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&info.name)
    );
    let _ = writeln!(
        out,
        "<header><h1>llmrace report: {}</h1><p class=\"meta\">Started {} · ran {} · llmrace {} · \
         host {}{}</p></header>",
        escape(&info.name),
        info.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        ms(Some(info.duration_s * 1000.0)),
        escape(&info.llmrace_version),
        escape(&info.host),
        if info.interrupted {
            " · <strong>stopped early</strong>"
        } else {
            ""
        }
    );
    for notice in &info.notices {
        let _ = writeln!(out, "<p class=\"notice\">{}</p>", escape(notice));
    }
    race_as_run(&mut out, run);
    headline_table(&mut out, run);
    if let Some(sentence) = super::cache::sentence(&run.summary.endpoints) {
        let _ = writeln!(out, "<p class=\"meta\">{}</p>", escape(&sentence));
    }
    // The tool calls and valid-JSON share, as the table and the Markdown report give them.
    for line in super::structured::lines(&run.summary.endpoints) {
        let _ = writeln!(out, "<p class=\"meta\">{}</p>", escape(&line));
    }
    cost_table(&mut out, run);
    chart_section(&mut out, run);
    server::section(&mut out, run);
    requests_table(&mut out, run);
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

fn race_as_run(out: &mut String, run: &Run) {
    let race = &run.info.race;
    out.push_str(
        "<section><h2>The race</h2><table><thead><tr><th>endpoint</th><th>protocol</th>\
         <th>model</th><th>base URL</th><th>in flight</th></tr></thead><tbody>",
    );
    for (i, e) in run.info.endpoints.iter().enumerate() {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code>{}</td>\
             <td class=\"n\">{}</td></tr>",
            swatch(i, &e.name),
            escape(&e.protocol),
            escape(&e.model),
            escape(&e.base_url),
            if e.simulated { " (simulated)" } else { "" },
            e.concurrency
        );
    }
    let _ = write!(
        out,
        "</tbody></table><ul><li><b>Load:</b> {}</li><li><b>Workload:</b> {}</li>",
        escape(&headline::describe_load(race)),
        escape(&headline::describe_workload(race))
    );
    if let Some(slo) = headline::describe_slo(&race.slo) {
        let _ = write!(
            out,
            "<li><b>Objectives (goodput):</b> {}</li>",
            escape(&slo)
        );
    }
    for line in super::proxy::notices(&run.info.endpoints) {
        let _ = write!(out, "<li><b>Proxy:</b> {}</li>", escape(&line));
    }
    out.push_str("</ul></section>\n");
}

fn swatch(index: usize, name: &str) -> String {
    format!(
        "<span class=\"sw\" style=\"background:{}\"></span>{}",
        svg::color(index),
        escape(name)
    )
}

fn headline_table(out: &mut String, run: &Run) {
    let endpoints = &run.summary.endpoints;
    // Where the token counts came from matters only when some were estimated; a column that
    // says "server usage" on every row would only push the numbers off a laptop's screen.
    let estimated = headline::any_estimated_in(endpoints, &run.requests);
    out.push_str(
        "<section><h2>Headline</h2><div class=\"scroll\"><table class=\"sortable\" id=\"headline\"><thead><tr>\
         <th>endpoint</th><th data-type=\"num\">ok/sent</th><th data-type=\"num\">success</th>\
         <th data-type=\"num\">TTFT p50</th><th data-type=\"num\">TTFT p90</th>\
         <th data-type=\"num\">TTFT p99</th><th data-type=\"num\">TTLT p50</th>\
         <th data-type=\"num\">TTLT p99</th><th data-type=\"num\">TPOT p50</th>\
         <th data-type=\"num\">ITL p50</th><th data-type=\"num\">output tok/s</th>\
         <th data-type=\"num\">req/min</th><th data-type=\"num\">goodput req/s</th>\
         <th data-type=\"num\">output tokens</th>",
    );
    let embeds = embeddings::any(endpoints);
    if embeds {
        out.push_str("<th data-type=\"num\">inputs/s</th>");
    }
    if estimated {
        out.push_str("<th>token source</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for (i, e) in endpoints.iter().enumerate() {
        let _ = write!(out, "<tr><td>{}</td>", swatch(i, &e.name));
        let _ = write!(
            out,
            "<td class=\"n\" data-v=\"{}\">{}/{}</td>",
            e.counts.succeeded, e.counts.succeeded, e.counts.sent
        );
        num_cell(
            out,
            Some(e.rates.success_rate),
            &percent(e.rates.success_rate),
        );
        for (v, text) in embeddings::headline_latencies(e) {
            num_cell(out, v, &text);
        }
        let source = TokenSource::of(e);
        let tps = e.rates.output_tokens_per_s;
        let tps_text = embeddings::chat(e, || format!("{}{}", rate(tps), source.mark()));
        num_cell(out, e.embeddings.is_none().then_some(tps), &tps_text);
        for v in [e.rates.requests_per_min, e.rates.goodput_per_s] {
            num_cell(out, Some(v), &rate(v));
        }
        let output = embeddings::chat(e, || e.tokens.output.to_string());
        let _ = write!(
            out,
            "<td class=\"n\" data-v=\"{}\">{output}</td>",
            e.tokens.output
        );
        if embeds {
            let per_s = e.embeddings.map(|m| m.inputs_per_s);
            num_cell(out, per_s, &embeddings::inputs_per_s(e));
        }
        if estimated {
            let _ = write!(
                out,
                "<td class=\"src-{}\">{}</td>",
                source.key(),
                escape(&headline::source_label(e, &run.requests))
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    let winners = headline::winners(endpoints);
    if !winners.is_empty() {
        out.push_str("<h3>Winners</h3><ul class=\"winners\">");
        for (metric, w) in winners {
            let names: Vec<String> = w.endpoints.iter().map(|n| escape(n)).collect();
            let source = headline::winner_mark(metric, &w, endpoints);
            let _ = write!(
                out,
                "<li>{}: <b>{}</b> ({}{source})</li>",
                metric.label,
                names.join(", "),
                escape(&headline::show(metric, w.value))
            );
        }
        out.push_str("</ul>");
    }
    if headline::any_estimated_in(endpoints, &run.requests) {
        out.push_str(
            "<p class=\"note\">Token counts come from the server's usage report; \
             \"estimated\" ones were counted by llmrace with a BPE tokenizer (o200k) because \
             the server reported none, or 0 output tokens for a response that carried text.</p>",
        );
    }
    out.push_str(
        "</section>
",
    );
}

fn cost_table(out: &mut String, run: &Run) {
    simple_table(
        out,
        "Medals",
        &super::medals::COLUMNS,
        super::medals::rows(&run.summary.endpoints, &run.summary.costs),
        "The best endpoint at each thing; ties share a medal.",
    );
    simple_table(
        out,
        "Cost",
        &super::cost::COLUMNS,
        super::cost::rows(&run.summary.costs),
        "USD, from the prices in the race file.",
    );
    simple_table(
        out,
        "Head-to-head laps",
        &super::headline::LAP_COLUMNS,
        super::headline::lap_rows(&run.summary.endpoints),
        "Every prompt went to every endpoint at the same instant.",
    );
    simple_table(
        out,
        "TTFT by turn",
        &super::turns::COLUMNS,
        super::turns::rows(&run.summary.endpoints),
        super::turns::NOTE,
    );
    if let Some(expected) = &run.summary.expected_cache {
        use super::expected_cache as cache;
        let title = format!("Prompt cache ({})", cache::title(expected));
        let rows = cache::rows(Some(expected));
        simple_table(out, &title, &cache::COLUMNS, rows, cache::NOTE);
    }
}

/// A small titled table (first column text, the others numbers); nothing when there are no rows.
fn simple_table(
    out: &mut String,
    title: &str,
    columns: &[&str; 4],
    rows: Vec<[String; 4]>,
    note: &str,
) {
    if rows.is_empty() {
        return;
    }
    let _ = write!(out, "<section><h2>{}</h2><table><thead><tr>", escape(title));
    for column in columns {
        let _ = write!(out, "<th>{}</th>", escape(column));
    }
    out.push_str("</tr></thead><tbody>");
    for [name, a, b, c] in rows {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&name),
            escape(&a),
            escape(&b),
            escape(&c)
        );
    }
    let _ = writeln!(
        out,
        "</tbody></table><p class=\"note\">{}</p></section>",
        escape(note)
    );
}

fn num_cell(out: &mut String, value: Option<f64>, text: &str) {
    match value.filter(|v| v.is_finite()) {
        Some(v) => {
            let _ = write!(out, "<td class=\"n\" data-v=\"{v}\">{}</td>", escape(text));
        }
        None => {
            let _ = write!(out, "<td class=\"n\">{}</td>", escape(text));
        }
    }
}

fn chart_section(out: &mut String, run: &Run) {
    let requests = charts::by_endpoint(run);
    out.push_str("<section><h2>Charts</h2><p class=\"legend\">");
    for (i, e) in run.summary.endpoints.iter().enumerate() {
        let _ = write!(out, "<span>{}</span> ", swatch(i, &e.name));
    }
    out.push_str("</p><div class=\"grid\">");
    let figures = [
        (
            "TTFT distribution (CDF)",
            charts::cdf(run, &requests, "TTFT distribution (CDF)", |r| r.ttft_ms),
        ),
        (
            "TTLT distribution (CDF)",
            charts::cdf(run, &requests, "TTLT distribution (CDF)", |r| r.ttlt_ms),
        ),
        ("TTFT over the race", charts::ttft_over_time(run, &requests)),
        (
            "Output tokens/s over the race",
            charts::tokens_over_time(run, &requests),
        ),
    ];
    for (title, chart) in figures {
        figure(out, title, &chart);
    }
    let estimated: Vec<String> = run
        .summary
        .endpoints
        .iter()
        .filter(|e| {
            !TokenSource::of(e).mark().is_empty()
                || headline::failed_estimated(e, &run.requests) > 0
        })
        .map(|e| escape(&e.name))
        .collect();
    out.push_str("</div><p class=\"note\">Output tokens: ");
    if estimated.is_empty() {
        out.push_str("every count was reported by the server.");
    } else {
        let _ = write!(
            out,
            "{} had no usable usage from the server for some or all requests; those counts \
             were estimated with a BPE tokenizer (o200k).",
            estimated.join(", ")
        );
    }
    out.push_str("</p><h3>Headline numbers</h3><div class=\"grid\">");
    for (title, chart) in charts::headline_bars(run) {
        figure(out, title, &chart);
    }
    out.push_str("</div><h3>Errors</h3>");
    let classes = charts::error_classes(run);
    if classes.is_empty() {
        out.push_str("<p>No request failed.</p>");
    } else {
        out.push_str("<p class=\"legend\">");
        for (class, color) in &classes {
            let _ = write!(
                out,
                "<span><span class=\"sw\" style=\"background:{color}\"></span>{}</span> ",
                class.name()
            );
        }
        out.push_str("</p>");
        figure(
            out,
            "Failed requests by error class",
            &charts::errors(run, &classes),
        );
        out.push_str("<table><thead><tr><th>endpoint</th><th>failed</th><th>by class</th></tr></thead><tbody>");
        for (i, e) in run.summary.endpoints.iter().enumerate() {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                swatch(i, &e.name),
                e.counts.failed,
                escape(&headline::errors_line(e))
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>\n");
}

fn figure(out: &mut String, title: &str, chart: &str) {
    let _ = write!(
        out,
        "<figure>{chart}<figcaption>{}</figcaption></figure>",
        escape(title)
    );
}

fn requests_table(out: &mut String, run: &Run) {
    let mut measured: Vec<&RequestRecord> = run.requests.iter().filter(|r| !r.warmup).collect();
    measured.sort_by(|a, b| {
        a.sent_at_s
            .total_cmp(&b.sent_at_s)
            .then(a.request.0.cmp(&b.request.0))
    });
    let warmups = run.requests.len() - measured.len();
    let _ = write!(
        out,
        "<section><h2>Requests</h2><p class=\"note\">{} measured requests{}. Click a column \
         header to sort.",
        measured.len(),
        if warmups > 0 {
            format!(" ({warmups} warm-up requests not shown)")
        } else {
            String::new()
        }
    );
    if measured.len() > MAX_REQUEST_ROWS {
        let _ = write!(
            out,
            " <b>Only the first {MAX_REQUEST_ROWS} (by send time) are shown;</b> \
             requests.jsonl and requests.csv in the results folder have them all."
        );
    }
    out.push_str(
        "</p><div class=\"scroll\"><table class=\"sortable\" id=\"requests\"><thead><tr>\
         <th data-type=\"num\">#</th><th>endpoint</th><th data-type=\"num\">sent at (s)</th>\
         <th>outcome</th><th data-type=\"num\">HTTP</th>\
         <th data-type=\"num\">TTFT</th><th data-type=\"num\">TTLT</th>\
         <th data-type=\"num\">TPOT</th><th data-type=\"num\">output tokens</th>\
         <th>token source</th><th data-type=\"num\">tok/s</th><th>error</th></tr></thead><tbody>",
    );
    for r in measured.iter().take(MAX_REQUEST_ROWS) {
        request_row(out, r);
    }
    out.push_str("</tbody></table></div></section>\n");
}

fn request_row(out: &mut String, r: &RequestRecord) {
    let outcome = match r.outcome {
        Outcome::Succeeded => "succeeded",
        Outcome::Failed => "failed",
        Outcome::Cancelled => "cancelled",
    };
    let _ = write!(
        out,
        "<tr class=\"{outcome}\"><td class=\"n\" data-v=\"{0}\">{0}</td><td>{1}</td>\
         <td class=\"n\" data-v=\"{2}\">{2:.3}</td><td>{outcome}</td>",
        r.request.0,
        escape(&r.endpoint_name),
        r.sent_at_s,
    );
    match r.http_status {
        Some(s) => {
            let _ = write!(out, "<td class=\"n\" data-v=\"{s}\">{s}</td>");
        }
        None => out.push_str("<td class=\"n\">—</td>"),
    }
    for v in [r.ttft_ms, r.ttlt_ms, r.tpot_ms] {
        num_cell(out, v, &ms(v));
    }
    let (tokens, source) = match (r.output_tokens, r.output_tokens_source) {
        (Some(n), Some(RecordSource::Usage)) => (n.to_string(), "server usage"),
        (Some(n), Some(RecordSource::Estimate)) => (n.to_string(), "estimated"),
        (Some(n), None) => (n.to_string(), "unknown"),
        (None, _) => ("—".to_string(), "—"),
    };
    num_cell(out, r.output_tokens.map(f64::from), &tokens);
    let _ = write!(out, "<td>{source}</td>");
    num_cell(
        out,
        r.output_tps,
        &r.output_tps.map_or("—".to_string(), rate),
    );
    let error = match (r.error_class, &r.error_message) {
        (Some(c), Some(m)) => format!("{}: {m}", c.name()),
        (Some(c), None) => c.name().to_string(),
        (None, _) => String::new(),
    };
    // Last, and wrapping: most requests have none, and a wide empty column would push the
    // numbers off the screen. Long messages are cut in the cell and whole on hover.
    let shown: String = if error.chars().count() > 90 {
        error.chars().take(89).chain(['…']).collect()
    } else {
        error.clone()
    };
    let _ = write!(
        out,
        "<td class=\"err\" title=\"{}\">{}</td>",
        escape(&error),
        escape(&shown)
    );
    out.push_str("</tr>");
}

const STYLE: &str = r#"
:root{color-scheme:light;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--head:#f6f8fa}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1400px;padding:16px 24px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:24px;margin:8px 0}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
.meta,.note{color:var(--muted)}
.notice{background:#fff8c5;border:1px solid #d4a72c;padding:6px 10px;border-radius:6px}
table{border-collapse:collapse;margin:6px 0 10px}
.scroll{overflow-x:auto;max-width:100%}
th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;white-space:nowrap}
th{background:var(--head);font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
#headline th,#requests th{white-space:normal;vertical-align:bottom}
#headline th,#headline td,#requests th,#requests td{padding:3px 6px}
#headline td:first-child,#requests td:nth-child(2){white-space:normal;min-width:9em}
td.err{white-space:normal;min-width:14em;font-size:13px}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th[data-dir=asc]::after{content:" ▲"}table.sortable th[data-dir=desc]::after{content:" ▼"}
tr.failed td{background:#ffebe9}tr.cancelled td{background:#f6f8fa}
.src-estimated,.src-mixed{color:#9a6700;font-weight:600}
.sw{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.legend span{margin-right:14px;white-space:nowrap}
.grid{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;flex:1 1 520px;max-width:680px;border:1px solid var(--line);border-radius:6px;padding:8px;background:#fff}
figcaption{color:var(--muted);font-size:13px;text-align:center}
svg.chart{display:block;width:100%;height:auto;font:11px system-ui,sans-serif}
svg .grid{stroke:#eaeef2}svg .axis{stroke:#8c959f}svg .tick,svg .value{fill:#57606a}svg .label{fill:#1b1f24}
svg .axis-label{fill:#1b1f24;font-size:12px}
svg .series:hover{stroke-width:4}
#servers th{white-space:normal;vertical-align:bottom}#servers td:first-child{white-space:normal;min-width:9em}
"#;

/// Sortable tables, then the ready flag. Numeric columns sort by `data-v`; cells without one
/// (no value) go last.
const SCRIPT: &str = r#"
(function () {
  "use strict";
  function key(cell, numeric) {
    if (!numeric) return cell.textContent.toLowerCase();
    var v = cell.getAttribute("data-v");
    return v === null ? null : parseFloat(v);
  }
  function sortBy(table, th, index) {
    var numeric = th.getAttribute("data-type") === "num";
    var dir = th.getAttribute("data-dir") === "asc" ? "desc" : "asc";
    var heads = table.tHead.rows[0].cells;
    for (var h = 0; h < heads.length; h++) heads[h].removeAttribute("data-dir");
    th.setAttribute("data-dir", dir);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var sign = dir === "asc" ? 1 : -1;
    rows.sort(function (a, b) {
      var x = key(a.cells[index], numeric), y = key(b.cells[index], numeric);
      if (x === y) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : 1) * sign;
    });
    var fragment = document.createDocumentFragment();
    rows.forEach(function (row) { fragment.appendChild(row); });
    body.appendChild(fragment);
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, index) {
      th.addEventListener("click", function () { sortBy(table, th, index); });
    });
  });
  document.body.dataset.ready = "1";
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::load::fixture;

    #[test]
    fn the_page_fetches_nothing_and_has_its_charts() {
        let html = render(&fixture(6, 30));
        for reference in ["src=", "href=", "url(", "@import", "http://", "https://"] {
            assert!(!html.contains(reference), "found {reference}");
        }
        // Four line charts, four headline bar charts and the error breakdown.
        assert_eq!(html.matches("<svg class=\"chart\"").count(), 9);
        assert!(html.contains("TTFT distribution (CDF)"));
        assert!(html.contains("Output tokens/s over the race"));
        assert!(html.contains("dataset.ready = \"1\""));
        assert!(
            html.contains("estimated (o200k)"),
            "bursty's tokens say their source"
        );
        assert_eq!(html.matches("<script>").count(), 1);
    }

    #[test]
    fn names_are_escaped_everywhere() {
        let mut run = fixture(2, 5);
        let evil = "<script>alert(\"x\")</script>";
        run.info.name = evil.to_string();
        run.info.endpoints[0].name = evil.to_string();
        run.info.endpoints[0].model = "m\"><img onerror=x>".to_string();
        run.summary.endpoints[0].name = evil.to_string();
        for r in &mut run.requests {
            r.endpoint_name = evil.to_string();
            r.error_message = Some("</td><script>".to_string());
        }
        let html = render(&run);
        assert_eq!(
            html.matches("<script").count(),
            1,
            "only the page's own script"
        );
        assert!(!html.contains("<img"));
        assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
    }

    #[test]
    fn tool_calls_and_the_valid_json_share_are_told() {
        let mut run = fixture(1, 5);
        let e = &mut run.summary.endpoints[0];
        e.counts.tool_call_requests = 3;
        e.counts.json_checked = 4;
        e.counts.json_valid = 3;
        let name = escape(&e.name);
        let html = render(&run);
        assert!(html.contains(&format!("{name}: 3 of ")), "tool line");
        assert!(
            html.contains(&format!("{name}: 3/4 answers valid JSON (75")),
            "JSON line"
        );
    }

    #[test]
    fn long_races_are_capped_with_a_note() {
        let run = fixture(1, MAX_REQUEST_ROWS + 10);
        let html = render(&run);
        let rows = html.split("id=\"requests\"").nth(1).unwrap();
        assert_eq!(rows.matches("<tr class=").count(), MAX_REQUEST_ROWS);
        assert!(html.contains(&format!("Only the first {MAX_REQUEST_ROWS}")));
    }
}
