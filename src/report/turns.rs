//! TTFT by turn, in the reports of a race of multi-turn sessions: per endpoint, each turn's
//! requests (ok of ended, as the main table's `ok/sent`) and TTFT (p50, p90). One place writes
//! it for the live race's summary, `report -f text` and a headless replay. The figures are statistics (`stats::turns`): this only writes
//! them. Nothing at all for a race of single requests.

use std::fmt::Write as _;

use crate::format::{count, ms};
use crate::stats::EndpointSnapshot;
use crate::stats::turns::TurnTtft;

/// Column names for [`rows`].
pub const COLUMNS: [&str; 4] = ["endpoint · turn", "ok/sent", "TTFT p50", "TTFT p90"];

/// What the breakdown shows, under its table.
pub const NOTE: &str = "Each turn resends the conversation so far: a server that caches \
                        prefixes answers later turns sooner than their longer prompts alone \
                        would allow.";

/// One row per endpoint and turn: `a · turn 2`, successful of ended requests (`4/5`), TTFT
/// p50 and p90 (`—` for a turn whose requests all failed).
pub fn rows(endpoints: &[EndpointSnapshot]) -> Vec<[String; 4]> {
    endpoints
        .iter()
        .flat_map(|e| {
            e.latency.ttft_by_turn.iter().map(|t| {
                [
                    format!("{} · turn {}", e.name, t.turn),
                    ok_of(t),
                    ms(t.p50_ms),
                    ms(t.p90_ms),
                ]
            })
        })
        .collect()
}

/// `4/5`; only the successful count for a summary written before ended ones were kept.
fn ok_of(t: &TurnTtft) -> String {
    if t.ended == 0 {
        t.count.to_string()
    } else {
        format!("{}/{}", t.count, t.ended)
    }
}

/// The breakdown for the terminal: a line per endpoint and turn.
pub fn lines(endpoints: &[EndpointSnapshot]) -> String {
    let mut out = String::new();
    for e in endpoints {
        for t in &e.latency.ttft_by_turn {
            if out.is_empty() {
                out.push_str("TTFT by turn:\n");
            }
            let requests = if t.ended == 0 {
                count(t.count, "request")
            } else {
                format!("{}, {} ok", count(t.ended, "request"), t.count)
            };
            // Writing to a String cannot fail.
            let _ = writeln!(
                out,
                "  {} · turn {}: {requests} · TTFT p50 {}, p90 {}",
                e.name,
                t.turn,
                ms(t.p50_ms),
                ms(t.p90_ms)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_per_endpoint_and_turn_and_nothing_without_sessions() {
        let mut run = crate::replay::load::fixture(1, 3);
        assert!(rows(&run.summary.endpoints).is_empty());
        assert!(lines(&run.summary.endpoints).is_empty());
        run.summary.endpoints[0].latency.ttft_by_turn = vec![
            TurnTtft {
                turn: 1,
                count: 1,
                ended: 1,
                p50_ms: Some(120.0),
                p90_ms: Some(150.0),
            },
            TurnTtft {
                turn: 2,
                count: 0,
                ended: 1,
                p50_ms: None,
                p90_ms: None,
            },
        ];
        let name = run.summary.endpoints[0].name.clone();
        let rows = rows(&run.summary.endpoints);
        assert_eq!(
            rows[0],
            [
                format!("{name} · turn 1"),
                "1/1".into(),
                "120 ms".into(),
                "150 ms".into()
            ]
        );
        assert_eq!(
            rows[1],
            [
                format!("{name} · turn 2"),
                "0/1".into(),
                "—".into(),
                "—".into()
            ],
            "a turn whose requests all failed still has its row"
        );
        let text = lines(&run.summary.endpoints);
        assert!(text.starts_with("TTFT by turn:\n"), "{text}");
        assert!(
            text.contains("turn 1: 1 request, 1 ok · TTFT p50 120 ms, p90 150 ms"),
            "{text}"
        );
        assert!(
            text.contains("turn 2: 1 request, 0 ok · TTFT p50 —, p90 —"),
            "{text}"
        );
    }
}
