//! Human-readable views of a race outside the dashboard: the live progress line of a headless
//! race and the final per-endpoint table; the cost table; the verdict of threshold checks for
//! CI gating; the report formats of a finished race (text, Markdown, JSON, CSV, a
//! self-contained HTML page). Renderers only: the numbers come from `stats`, their writing
//! from `format`, the threshold checks from `threshold`.

pub mod cache;
pub mod compare;
pub mod cost;
pub mod csv;
pub mod embeddings;
pub mod expected_cache;
pub mod first_error;
pub mod headline;
pub mod html;
pub mod json;
pub mod markdown;
pub mod medals;
pub mod progress;
pub mod proxy;
pub mod request_size;
pub mod server;
pub mod structured;
pub mod svg;
pub mod table;
pub mod turns;
pub mod verdict;

use std::fmt::Write as _;

use crate::replay::Run;

/// A report format, as `--format` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The terminal table.
    Text,
    Markdown,
    Json,
    Csv,
    Html,
}

impl Format {
    #[cfg(test)]
    pub const ALL: [Format; 5] = [
        Format::Text,
        Format::Markdown,
        Format::Json,
        Format::Csv,
        Format::Html,
    ];

    /// `text`, `md` (or `markdown`), `json`, `csv`, `html`, in any case.
    pub fn parse(name: &str) -> Result<Format, String> {
        match name.to_ascii_lowercase().as_str() {
            "text" | "txt" => Ok(Format::Text),
            "md" | "markdown" => Ok(Format::Markdown),
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "html" | "htm" => Ok(Format::Html),
            _ => Err(format!(
                "unknown report format '{name}': choose text, md, json, csv or html"
            )),
        }
    }

    /// The canonical name, as `parse` accepts it.
    #[cfg(test)]
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Markdown => "md",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Html => "html",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::parse(s)
    }
}

/// The run as a report in `format`.
pub fn render(run: &Run, format: Format) -> String {
    match format {
        Format::Text => {
            let notes: String = run
                .info
                .notices
                .iter()
                .filter(|n| crate::record::replay::damage::is_notice(n))
                .fold(String::new(), |mut notes, n| {
                    let _ = writeln!(notes, "note: {n}");
                    notes
                });
            table::render(&run.summary.endpoints)
                + &medals::lines(&run.summary.endpoints, &run.summary.costs)
                + &turns::lines(&run.summary.endpoints)
                + &cost::lines(&run.summary.costs)
                + &expected_cache::lines(run.summary.expected_cache.as_ref())
                + &server::lines(&run.summary.endpoints)
                + &proxy::lines(&run.info.endpoints)
                + &notes
        }
        Format::Markdown => markdown::render(run),
        Format::Json => json::render(run),
        Format::Csv => csv::render(run),
        Format::Html => html::render(run),
    }
}

#[cfg(test)]
mod format_tests {
    use super::*;

    #[test]
    fn every_report_shows_the_medals() {
        let run = crate::replay::load::fixture(3, 20);
        for format in [Format::Text, Format::Markdown, Format::Html] {
            let report = render(&run, format);
            assert!(
                report.contains("fastest first token"),
                "{format:?}: {report}"
            );
        }
        let json = render(&run, Format::Json);
        assert!(
            json.contains("\"medal\": \"fastest_first_token\""),
            "{json}"
        );
    }

    #[test]
    fn formats_parse_by_name() {
        for format in Format::ALL {
            assert_eq!(Format::parse(format.name()), Ok(format));
        }
        assert_eq!(Format::parse("Markdown"), Ok(Format::Markdown));
        let error = Format::parse("pdf").unwrap_err();
        assert!(error.contains("pdf") && error.contains("html"), "{error}");
    }

    #[test]
    fn empty_races_render_in_every_format() {
        for run in [
            crate::replay::load::fixture(2, 0),
            crate::replay::load::fixture(0, 0),
        ] {
            for format in Format::ALL {
                let text = render(&run, format);
                assert!(!text.is_empty(), "{format:?}");
            }
            assert!(html::render(&run).contains("No request failed."));
        }
    }

    #[test]
    fn a_proxy_is_named_in_every_report_format() {
        let mut run = crate::replay::load::fixture(2, 20);
        let direct = Format::ALL.map(|format| render(&run, format));
        let proxy = "http://racer:REDACTED@127.0.0.1:3128";
        run.info.endpoints[0].proxy = Some(proxy.to_string());
        let name = run.info.endpoints[0].name.clone();
        let line = format!("via proxy {proxy} (its latency is in their figures): {name}");
        for (format, direct) in Format::ALL.into_iter().zip(direct) {
            let text = render(&run, format);
            assert!(text.contains(proxy), "{format:?}: {text}");
            assert!(!direct.contains("via proxy"), "{format:?}");
            match format {
                Format::Text | Format::Html => assert!(text.contains(&line), "{text}"),
                Format::Markdown => {
                    let escaped = line.replace('_', "\\_");
                    assert!(text.contains(&format!("- **Proxy:** {escaped}")), "{text}");
                }
                Format::Csv => {
                    let rows: Vec<&str> = text.lines().collect();
                    assert!(rows[0].ends_with(",proxy"), "{}", rows[0]);
                    let row = rows.iter().find(|r| r.starts_with(&format!("{name},")));
                    assert!(row.unwrap().ends_with(&format!(",{proxy}")), "{text}");
                }
                Format::Json => {}
            }
        }
    }

    #[test]
    fn failed_requests_with_estimated_tokens_are_told_in_every_report() {
        let mut run = crate::replay::load::fixture(2, 20);
        let usage: Vec<String> = (run.summary.endpoints.iter())
            .filter(|e| headline::TokenSource::of(e) == headline::TokenSource::Usage)
            .map(|e| e.name.clone())
            .collect();
        assert_eq!(usage.len(), 2, "every count reported by the server");
        let name = usage[0].clone();
        // A request that failed after some text arrived: its output tokens are estimated.
        let failed = (run.requests.iter_mut())
            .find(|r| r.endpoint_name == name && !r.warmup)
            .unwrap();
        failed.outcome = crate::stats::Outcome::Failed;
        failed.output_tokens = Some(5);
        failed.output_tokens_source = Some(crate::event::TokenSource::Estimate);
        let e = &run.summary.endpoints[0];
        assert_eq!(e.name, name);
        assert_eq!(headline::failed_estimated(e, &run.requests), 1);
        let html = html::render(&run);
        assert!(!html.contains("every count was reported"), "{html}");
        assert!(html.contains("1 failed request estimated (o200k)"));
        let md = markdown::render(&run);
        assert!(
            md.contains("server usage; 1 failed request estimated (o200k)"),
            "{md}"
        );
        assert!(md.contains("\"Estimated\" counts"), "{md}");
    }
}
