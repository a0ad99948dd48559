//! The race as each endpoint's server saw it, from the summaries the aggregator made of its
//! `/metrics` scrapes: queue, running batch, KV-cache use, prefix-cache hits, speculative
//! decoding, preemptions. One place writes the rows (Markdown, HTML), the terminal's lines
//! (the final table, `report -f text`, a headless replay) and `compare`'s pairs; it computes
//! nothing. Nothing at all for endpoints whose server was not scraped.

use std::fmt::Write as _;

use crate::format::percent;
use crate::server_metrics::ServerKind;
use crate::stats::EndpointSnapshot;
use crate::stats::server::{ServerSummary, ServerView};

/// Column names for [`rows`].
pub const COLUMNS: [&str; 11] = [
    "endpoint",
    "server",
    "queue mean",
    "queue max",
    "running mean",
    "running max",
    "KV cache max",
    "prefix-cache hit",
    "spec-decode accepted",
    "preempted",
    "scrapes (failed)",
];

/// What the rows are, under them.
pub const NOTE: &str = "From each server's own /metrics, scraped once a second during the race: \
    requests waiting (queue) and being processed (running), the share of the KV cache in use, \
    the share of prompt tokens found in the prefix cache and of draft tokens accepted over the \
    race, requests the server preempted. A dash: the server does not publish it.";

/// The endpoints that have server metrics, with their views.
pub fn scraped(endpoints: &[EndpointSnapshot]) -> impl Iterator<Item = (&str, &ServerView)> {
    (endpoints.iter()).filter_map(|e| Some((e.name.as_str(), e.server.as_deref()?)))
}

/// One row per endpoint with server metrics.
pub fn rows(endpoints: &[EndpointSnapshot]) -> Vec<[String; 11]> {
    scraped(endpoints)
        .map(|(name, view)| {
            let s = &view.summary;
            [
                name.to_string(),
                shown_kind(view).to_string(),
                number(s.queue_mean),
                number(s.queue_max),
                number(s.running_mean),
                number(s.running_max),
                share(s.kv_cache_max),
                share(s.prefix_hit),
                share(s.spec_accept),
                number(s.preemptions),
                scrapes(view),
            ]
        })
        .collect()
}

/// One line per server with metrics, for the terminal: `server turbo (vLLM): queue 3.2 mean,
/// 12 max · KV cache 90% max · prefix-cache hit 29.4%`, what it does not publish left out,
/// and its failed scrapes; nothing for other races. Endpoints that read the same page the
/// same way (one server, one model) share a line, `server a, b (vLLM): …`: one server is
/// reported once.
pub fn lines(endpoints: &[EndpointSnapshot]) -> String {
    let mut servers: Vec<(&str, String, Vec<&str>)> = Vec::new();
    for (name, view) in scraped(endpoints) {
        let said = said(view);
        match servers
            .iter_mut()
            .find(|(source, text, _)| *source == view.source && *text == said)
        {
            Some((_, _, names)) => names.push(name),
            None => servers.push((&view.source, said, vec![name])),
        }
    }
    let mut out = String::new();
    for (_, said, names) in servers {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "server {}{said}", names.join(", "));
    }
    out
}

/// What [`lines`] says of one server, after its endpoints' names.
fn said(view: &ServerView) -> String {
    if never_read(view) {
        let why = view
            .last_error
            .as_deref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        return format!(
            ": never read ({} of {} scrapes failed{why})",
            view.failed, view.scrapes
        );
    }
    let s = &view.summary;
    let mut parts = Vec::new();
    match (s.queue_mean, s.queue_max) {
        (Some(mean), Some(max)) => parts.push(format!(
            "queue {} mean, {} max",
            number(Some(mean)),
            number(Some(max))
        )),
        (Some(v), None) | (None, Some(v)) => parts.push(format!("queue {}", number(Some(v)))),
        (None, None) => {}
    }
    if let Some(max) = s.kv_cache_max {
        parts.push(format!("KV cache {} max", share(Some(max))));
    }
    if let Some(hit) = s.prefix_hit {
        parts.push(format!("prefix-cache hit {}", share(Some(hit))));
    }
    if parts.is_empty() {
        parts.push("no queue, KV or prefix-cache figures published".to_string());
    }
    let failed = if view.failed > 0 {
        format!(" ({} of {} scrapes failed)", view.failed, view.scrapes)
    } else {
        String::new()
    };
    format!(" ({}): {}{failed}", kind(view.server), parts.join(" · "))
}

/// Whether every scrape of the server failed: nothing is known of it, not even its kind.
pub fn never_read(view: &ServerView) -> bool {
    view.scrapes > 0 && view.failed >= view.scrapes
}

/// The serving stack as [`kind`] names it, or `not read` for a server never read.
pub fn shown_kind(view: &ServerView) -> &'static str {
    if never_read(view) {
        "not read"
    } else {
        kind(view.server)
    }
}

/// The serving stack as people write it; `unknown` for a page whose names were not recognised.
pub fn kind(server: Option<ServerKind>) -> &'static str {
    match server {
        Some(ServerKind::Vllm) => "vLLM",
        Some(ServerKind::Sglang) => "SGLang",
        Some(ServerKind::Llamacpp) => "llama.cpp",
        Some(ServerKind::Tgi) => "TGI",
        Some(ServerKind::LlmraceMock) => "llmrace mock, vLLM names",
        None => "unknown",
    }
}

/// The figures `compare` sets side by side: (label, value) with `—` for one not published.
pub fn figures(s: &ServerSummary) -> [(&'static str, String); 6] {
    [
        ("queue mean", number(s.queue_mean)),
        ("queue max", number(s.queue_max)),
        ("running mean", number(s.running_mean)),
        ("KV cache max", share(s.kv_cache_max)),
        ("prefix-cache hit", share(s.prefix_hit)),
        ("preempted", number(s.preemptions)),
    ]
}

/// A count the server stated (a gauge's mean may be fractional): `12`, `3.2`, `—`.
pub fn number(value: Option<f64>) -> String {
    match value {
        Some(v) if !v.is_finite() => "?".to_string(),
        Some(v) if v.abs() >= 1e7 => format!("{v:.1e}"),
        Some(v) if v.fract() == 0.0 || v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.1}"),
        None => "—".to_string(),
    }
}

/// A share 0–1 as a percentage, `—` when not published.
pub fn share(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => percent(v),
        Some(_) => "?".to_string(),
        None => "—".to_string(),
    }
}

fn scrapes(view: &ServerView) -> String {
    format!("{} ({})", view.scrapes, view.failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::fixture::{finished_race, with_servers};

    #[test]
    fn a_line_per_scraped_endpoint_and_nothing_without() {
        assert_eq!(lines(&finished_race(3, 20).endpoints), "");
        assert!(rows(&finished_race(3, 20).endpoints).is_empty());
        let race = with_servers(finished_race(4, 120));
        let text = lines(&race.endpoints);
        assert_eq!(
            text,
            "server turbo (vLLM): queue 2 mean, 12 max · KV cache 90.0% max · prefix-cache hit 29.4%\n\
             server thinker (llama.cpp): queue 2.1 mean, 12 max · KV cache 72.0% max (2 of 15 scrapes failed)\n",
        );
        let rows = rows(&race.endpoints);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[1][7], "—",
            "llama.cpp publishes no prefix-cache figures"
        );
    }

    /// A new user's trial: two endpoints on one mock were reported twice, and the mock as vLLM.
    #[test]
    fn one_server_behind_several_endpoints_is_reported_once() {
        let mut race = with_servers(finished_race(4, 120));
        let turbo = race.endpoints[0].server.clone();
        race.endpoints[1].server.clone_from(&turbo);
        let mut mock = turbo.as_deref().cloned().unwrap();
        mock.server = Some(ServerKind::LlmraceMock);
        race.endpoints[3].server = Some(std::sync::Arc::new(mock));
        let text = lines(&race.endpoints);
        assert_eq!(
            text,
            "server turbo, steady (vLLM): queue 2 mean, 12 max · KV cache 90.0% max · prefix-cache hit 29.4%\n\
             server thinker (llama.cpp): queue 2.1 mean, 12 max · KV cache 72.0% max (2 of 15 scrapes failed)\n\
             server flaky (llmrace mock, vLLM names): queue 2 mean, 12 max · KV cache 90.0% max · prefix-cache hit 29.4%\n",
        );
        // The same figures from another page are another server.
        let mut elsewhere = turbo.as_deref().cloned().unwrap();
        elsewhere.source = "http://127.0.0.1:9/metrics".into();
        race.endpoints[1].server = Some(std::sync::Arc::new(elsewhere));
        assert!(lines(&race.endpoints).starts_with("server turbo (vLLM)"));
    }

    #[test]
    fn a_server_never_read_is_said_so() {
        let mut race = finished_race(1, 5);
        race.endpoints[0].server = Some(std::sync::Arc::new(ServerView {
            scrapes: 3,
            failed: 3,
            last_error: Some("http://127.0.0.1:9/metrics: HTTP 404 Not Found".into()),
            ..ServerView::default()
        }));
        assert_eq!(
            lines(&race.endpoints),
            "server turbo: never read (3 of 3 scrapes failed: \
             http://127.0.0.1:9/metrics: HTTP 404 Not Found)\n"
        );
        assert_eq!(rows(&race.endpoints)[0][1], "not read");
    }

    #[test]
    fn a_server_that_publishes_nothing_we_know_is_said_so() {
        let mut race = finished_race(1, 5);
        race.endpoints[0].server = Some(std::sync::Arc::new(ServerView {
            scrapes: 3,
            ..ServerView::default()
        }));
        assert_eq!(
            lines(&race.endpoints),
            "server turbo (unknown): no queue, KV or prefix-cache figures published\n"
        );
    }

    /// `report -f json` carries what `summary.json` has: the summary and the scrape counts,
    /// not the series.
    #[test]
    fn the_json_report_carries_the_server_summary() {
        let mut run = crate::replay::load::fixture(3, 120);
        let until = crate::event::Offset::from_duration(std::time::Duration::from_secs_f64(
            run.info.duration_s,
        ));
        crate::stats::fixture::add_servers(&mut run.summary.endpoints, until);
        let json: serde_json::Value =
            serde_json::from_str(&super::super::json::render(&run)).expect("JSON");
        let server = &json["summary"]["endpoints"][0]["server"];
        assert_eq!(server["server"], "vllm");
        assert_eq!(server["summary"]["queue_max"], 12.0);
        assert!(server["scrapes"].as_u64().is_some_and(|n| n > 10));
        assert!(server.get("points").is_none());
        assert!(json["summary"]["endpoints"][1].get("server").is_none());
    }

    #[test]
    fn numbers_stay_short() {
        assert_eq!(number(Some(3.0)), "3");
        assert_eq!(number(Some(3.25)), "3.2");
        assert_eq!(number(Some(123.4)), "123");
        assert_eq!(number(Some(f64::NAN)), "?");
        assert_eq!(number(Some(1e300)), "1.0e300");
        assert_eq!(share(Some(0.734)), "73.4%");
        assert_eq!(share(None), "—");
    }
}
