//! The HTML report's servers section, for a race whose endpoints had their `/metrics` scraped:
//! each server's queue and running batch over the race, and its KV-cache use, as inline SVG
//! charts, then the summary table every report shares (`report::server`). Nothing for a race
//! without server metrics.

use std::fmt::Write as _;

use super::super::server::{COLUMNS, NOTE, rows, scraped};
use super::super::svg::{LineChart, Series, escape};
use super::{figure, swatch};
use crate::replay::Run;
use crate::stats::server::{ServerPoint, ServerView};

/// The series' colours, the same in every endpoint's charts (the endpoint is the chart).
const QUEUE: &str = "#d55e00";
const RUNNING: &str = "#0072b2";
const KV: &str = "#009e73";

pub fn section(out: &mut String, run: &Run) {
    let endpoints = &run.summary.endpoints;
    let rows = rows(endpoints);
    if rows.is_empty() {
        return;
    }
    out.push_str("<section><h2>Servers</h2>");
    let drawn: Vec<(&str, &ServerView)> = scraped(endpoints)
        .filter(|(_, view)| !view.points.is_empty())
        .collect();
    if drawn.is_empty() {
        out.push_str(
            "<p class=\"note\">Every scrape is in <code>server_metrics.jsonl</code> in the \
             results folder; this report was made without the series over time.</p>",
        );
    } else {
        let _ = write!(
            out,
            "<p class=\"legend\"><span><span class=\"sw\" style=\"background:{QUEUE}\"></span>\
             queue (waiting)</span> <span><span class=\"sw\" style=\"background:{RUNNING}\">\
             </span>running</span> <span><span class=\"sw\" style=\"background:{KV}\"></span>\
             KV cache in use</span></p><div class=\"grid\">"
        );
        for (name, view) in drawn {
            let requests = LineChart {
                title: &format!("{name}: queue and running over the race"),
                x_label: "race time (s)",
                y_label: "requests",
                series: vec![
                    series("queue", QUEUE, &view.points, |p| p.queue),
                    series("running", RUNNING, &view.points, |p| p.running),
                ],
                steps: false,
                y_max: None,
            };
            figure(
                out,
                &format!("{name}: queue and running"),
                &requests.render(),
            );
            let kv_series = series("KV cache %", KV, &view.points, |p| {
                p.kv_cache.map(|k| k * 100.0)
            });
            // A server that publishes no KV gauge (llama.cpp) gets no empty chart.
            if kv_series.points.is_empty() {
                continue;
            }
            let kv = LineChart {
                title: &format!("{name}: KV cache in use over the race"),
                x_label: "race time (s)",
                y_label: "KV cache in use (%)",
                series: vec![kv_series],
                steps: false,
                y_max: Some(100.0),
            };
            figure(out, &format!("{name}: KV cache"), &kv.render());
        }
        out.push_str("</div>");
    }
    out.push_str("<div class=\"scroll\"><table id=\"servers\"><thead><tr>");
    for column in COLUMNS {
        let _ = write!(out, "<th>{}</th>", escape(column));
    }
    out.push_str("</tr></thead><tbody>");
    // The endpoints' positions give their colours; the rows come in the same order.
    let indexes = (endpoints.iter().enumerate())
        .filter(|(_, e)| e.server.is_some())
        .map(|(i, _)| i);
    for (row, i) in rows.iter().zip(indexes) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td>",
            swatch(i, &row[0]),
            escape(&row[1])
        );
        for cell in &row[2..] {
            let _ = write!(out, "<td class=\"n\">{}</td>", escape(cell));
        }
        out.push_str("</tr>");
    }
    let _ = writeln!(
        out,
        "</tbody></table></div><p class=\"note\">{}</p></section>",
        escape(NOTE)
    );
}

/// One value of every scrape that published it, at its race time in seconds; a server's
/// garbage (NaN, negative) is left out rather than drawn.
fn series(
    name: &'static str,
    color: &'static str,
    points: &[ServerPoint],
    value: fn(&ServerPoint) -> Option<f64>,
) -> Series<'static> {
    Series {
        name,
        color,
        points: (points.iter())
            .filter_map(|p| Some((p.t.as_secs_f64(), value(p)?)))
            .filter(|(_, v)| v.is_finite() && *v >= 0.0)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use crate::event::Offset;
    use crate::replay::load::fixture;

    fn run_with_servers() -> crate::replay::Run {
        let mut run = fixture(4, 120);
        let until = Offset::from_duration(std::time::Duration::from_secs_f64(run.info.duration_s));
        crate::stats::fixture::add_servers(&mut run.summary.endpoints, until);
        run
    }

    #[test]
    fn scraped_servers_get_charts_and_a_table() {
        let plain = super::super::render(&fixture(4, 120));
        assert!(!plain.contains("<h2>Servers</h2>"));
        let page = super::super::render(&run_with_servers());
        let section = &page[page.find("<h2>Servers</h2>").expect("a Servers section")..];
        let section = &section[..section.find("</section>").expect("its end")];
        // Two endpoints with servers, two charts each.
        assert_eq!(section.matches("<svg").count(), 4, "{section}");
        assert!(section.contains("turbo: queue and running"));
        assert!(section.contains("thinker: KV cache"));
        assert!(section.contains("<td>vLLM</td>") && section.contains("<td>llama.cpp</td>"));
        assert!(!section.contains("steady"), "steady has no server metrics");
    }

    #[test]
    fn a_server_without_kv_gets_no_empty_kv_chart() {
        let mut run = run_with_servers();
        for e in &mut run.summary.endpoints {
            if let Some(view) = &mut e.server
                && e.name == "thinker"
            {
                for p in &mut std::sync::Arc::make_mut(view).points {
                    p.kv_cache = None;
                }
            }
        }
        let page = super::super::render(&run);
        let section = &page[page.find("<h2>Servers</h2>").expect("a Servers section")..];
        let section = &section[..section.find("</section>").expect("its end")];
        assert_eq!(section.matches("<svg").count(), 3, "{section}");
        assert!(section.contains("thinker: queue and running"));
        assert!(!section.contains("thinker: KV cache"));
        assert!(section.contains("turbo: KV cache"));
    }

    #[test]
    fn without_the_series_the_table_stays_and_says_where_they_are() {
        let mut run = run_with_servers();
        for e in &mut run.summary.endpoints {
            if let Some(view) = &mut e.server {
                std::sync::Arc::make_mut(view).points.clear();
            }
        }
        let page = super::super::render(&run);
        assert!(page.contains("server_metrics.jsonl"));
        assert!(page.contains("<td>vLLM</td>"));
    }

    #[test]
    fn names_and_sources_are_escaped() {
        let mut run = run_with_servers();
        run.summary.endpoints[0].name = "<b>turbo</b>".to_string();
        let page = super::super::render(&run);
        let section = &page[page.find("<h2>Servers</h2>").expect("a Servers section")..];
        assert!(!section.contains("<b>turbo"), "{section}");
        assert!(section.contains("&lt;b&gt;turbo"));
    }
}
