//! `compare`'s servers part: for each endpoint raced in both runs whose server was scraped in
//! both, its own figures side by side (queue, running, KV cache, prefix-cache hit,
//! preemptions), from the runs' summaries. No verdict: a server's gauges are one series per
//! run, not samples a test can weigh. An endpoint scraped in one run only is said so.

use std::fmt::Write as _;

use crate::replay::Run;
use crate::report::server::{figures, shown_kind};
use crate::stats::server::ServerView;

const HEADERS: [&str; 4] = ["endpoint", "server figure", "base", "current"];

/// The side-by-side rows and the notes, as an aligned table (or Markdown when `markdown`);
/// nothing when neither run has server metrics.
pub fn render(base: &Run, current: &Run, markdown: bool) -> String {
    let (rows, notes) = pairs(base, current);
    let mut out = String::new();
    if !rows.is_empty() {
        if markdown {
            out.push_str("\n## Servers (their own /metrics)\n\n");
            let _ = writeln!(out, "| {} |", HEADERS.join(" | "));
            out.push_str("|---|---|--:|--:|\n");
            for row in &rows {
                let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
                let _ = writeln!(out, "| {} |", cells.join(" | "));
            }
            out.push('\n');
        } else {
            out.push_str("\nservers, from their own /metrics (not judged: one series per run):\n");
            out.push_str(&aligned(&rows));
        }
    }
    for note in notes {
        let _ = writeln!(out, "{note}");
    }
    out
}

type Row = [String; 4];

fn pairs(base: &Run, current: &Run) -> (Vec<Row>, Vec<String>) {
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for b in &base.summary.endpoints {
        let Some(c) = current.summary.endpoints.iter().find(|c| c.name == b.name) else {
            continue;
        };
        match (b.server.as_deref(), c.server.as_deref()) {
            (Some(bs), Some(cs)) => {
                let server = server_name(bs, cs);
                let name = format!("{} ({server})", b.name);
                let both = figures(&bs.summary).into_iter().zip(figures(&cs.summary));
                for ((label, bv), (_, cv)) in both {
                    // A figure neither server publishes is no row.
                    if bv != "—" || cv != "—" {
                        rows.push([name.clone(), label.to_string(), bv, cv]);
                    }
                }
            }
            (Some(_), None) => notes.push(format!(
                "{}: server metrics in the base run only, nothing to set them against",
                b.name
            )),
            (None, Some(_)) => notes.push(format!(
                "{}: server metrics in the current run only, nothing to set them against",
                b.name
            )),
            (None, None) => {}
        }
    }
    (rows, notes)
}

/// `vLLM`, or `vLLM → SGLang` when the endpoint's serving stack changed between the runs
/// (`not read → vLLM` when the base run's scrapes all failed).
fn server_name(base: &ServerView, current: &ServerView) -> String {
    let (b, c) = (shown_kind(base), shown_kind(current));
    if b == c {
        b.to_string()
    } else {
        format!("{b} → {c}")
    }
}

fn aligned(rows: &[Row]) -> String {
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let headers = HEADERS.map(str::to_string);
    for row in std::iter::once(&headers).chain(rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            let pad = " ".repeat(w - cell.chars().count());
            if i < 2 {
                let _ = write!(line, "{cell}{pad}  ");
            } else {
                let _ = write!(line, "{pad}{cell}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Offset;
    use crate::replay::load::fixture;

    fn scraped(run: &mut Run) {
        let until = Offset::from_duration(std::time::Duration::from_secs_f64(run.info.duration_s));
        crate::stats::fixture::add_servers(&mut run.summary.endpoints, until);
    }

    #[test]
    fn servers_side_by_side_when_both_runs_have_them() {
        let plain = fixture(3, 40);
        assert_eq!(render(&plain, &plain, false), "");
        let (mut base, mut current) = (fixture(3, 40), fixture(3, 120));
        scraped(&mut base);
        scraped(&mut current);
        insta::assert_snapshot!(render(&base, &current, false));
        let markdown = render(&base, &current, true);
        assert!(
            markdown.contains("| turbo (vLLM) | KV cache max |"),
            "{markdown}"
        );
    }

    #[test]
    fn one_side_only_is_said() {
        let mut base = fixture(3, 40);
        scraped(&mut base);
        let text = render(&base, &fixture(3, 40), false);
        assert_eq!(
            text,
            "turbo: server metrics in the base run only, nothing to set them against\n\
             thinker: server metrics in the base run only, nothing to set them against\n"
        );
    }

    #[test]
    fn a_server_never_read_is_not_read_not_unknown() {
        let read = ServerView {
            server: Some(crate::server_metrics::ServerKind::Vllm),
            scrapes: 3,
            ..ServerView::default()
        };
        let never = ServerView {
            scrapes: 3,
            failed: 3,
            ..ServerView::default()
        };
        assert_eq!(server_name(&never, &read), "not read → vLLM");
    }
}
