//! TTFT by turn, in the reports of a race of multi-turn sessions: per endpoint, each turn's
//! requests and TTFT (p50, p90). The figures are statistics (`stats::turns`): this only writes
//! them. Nothing at all for a race of single requests.

use std::fmt::Write as _;

use crate::format::ms;
use crate::stats::EndpointSnapshot;

/// Column names for [`rows`].
pub const COLUMNS: [&str; 4] = ["endpoint · turn", "requests", "TTFT p50", "TTFT p90"];

/// What the breakdown shows, under its table.
pub const NOTE: &str = "Each turn resends the conversation so far: a server that caches \
                        prefixes answers later turns sooner than their longer prompts alone \
                        would allow.";

/// One row per endpoint and turn: `a · turn 2`, successful requests, TTFT p50 and p90.
pub fn rows(endpoints: &[EndpointSnapshot]) -> Vec<[String; 4]> {
    endpoints
        .iter()
        .flat_map(|e| {
            e.latency.ttft_by_turn.iter().map(|t| {
                [
                    format!("{} · turn {}", e.name, t.turn),
                    t.count.to_string(),
                    ms(Some(t.p50_ms)),
                    ms(Some(t.p90_ms)),
                ]
            })
        })
        .collect()
}

/// The breakdown for the terminal: a line per endpoint and turn.
pub fn lines(endpoints: &[EndpointSnapshot]) -> String {
    let rows = rows(endpoints);
    let mut out = String::new();
    if rows.is_empty() {
        return out;
    }
    out.push_str("TTFT by turn:\n");
    for [name, count, p50, p90] in rows {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "  {name}: {count} requests · p50 {p50} · p90 {p90}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::turns::TurnTtft;

    #[test]
    fn a_row_per_endpoint_and_turn_and_nothing_without_sessions() {
        let mut run = crate::replay::load::fixture(1, 3);
        assert!(rows(&run.summary.endpoints).is_empty());
        assert!(lines(&run.summary.endpoints).is_empty());
        run.summary.endpoints[0].latency.ttft_by_turn = vec![
            TurnTtft {
                turn: 1,
                count: 2,
                p50_ms: 120.0,
                p90_ms: 150.0,
            },
            TurnTtft {
                turn: 2,
                count: 2,
                p50_ms: 40.0,
                p90_ms: 45.0,
            },
        ];
        let name = run.summary.endpoints[0].name.clone();
        let rows = rows(&run.summary.endpoints);
        assert_eq!(
            rows[1],
            [
                format!("{name} · turn 2"),
                "2".into(),
                "40.0 ms".into(),
                "45.0 ms".into()
            ]
        );
        let text = lines(&run.summary.endpoints);
        assert!(text.starts_with("TTFT by turn:\n"), "{text}");
        assert!(
            text.contains("turn 1: 2 requests · p50 120 ms · p90 150 ms"),
            "{text}"
        );
    }
}
