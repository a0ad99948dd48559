//! The medals of a finished race (`stats::medals` has the rules) as the terminal's closing
//! lines, the text report and the Markdown, HTML and JSON reports write them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::stats::medals::of_race;
use crate::stats::{Cost, EndpointSnapshot};

/// One medal as the JSON report writes it.
#[derive(Serialize, Debug, PartialEq)]
pub struct Entry {
    /// `fastest_first_token`, `fastest_finisher`, `steadiest`, `most_output`, `zero_errors`
    /// or `cheapest`.
    pub medal: &'static str,
    pub endpoint: String,
    pub figure: String,
}

/// Every medal as a row: medal, endpoint, figure, how it is won.
pub fn rows(endpoints: &[EndpointSnapshot], costs: &BTreeMap<String, Cost>) -> Vec<[String; 4]> {
    of_race(endpoints, costs)
        .into_iter()
        .map(|m| {
            let name = endpoints.get(m.endpoint).map_or("", |e| e.name.as_str());
            [
                m.kind.label().to_string(),
                name.to_string(),
                m.figure,
                m.kind.rule().to_string(),
            ]
        })
        .collect()
}

/// Column names for [`rows`].
pub const COLUMNS: [&str; 4] = ["medal", "endpoint", "figure", "won by"];

/// The medals for the JSON report.
pub fn entries(endpoints: &[EndpointSnapshot], costs: &BTreeMap<String, Cost>) -> Vec<Entry> {
    of_race(endpoints, costs)
        .into_iter()
        .map(|m| Entry {
            medal: m.kind.key(),
            endpoint: endpoints
                .get(m.endpoint)
                .map_or_else(String::new, |e| e.name.clone()),
            figure: m.figure,
        })
        .collect()
}

/// For the terminal and the text report: `medals: fastest first token turbo (74.0 ms) · …`,
/// one medal a line under a heading; nothing when the race gave none.
pub fn lines(endpoints: &[EndpointSnapshot], costs: &BTreeMap<String, Cost>) -> String {
    let rows = rows(endpoints, costs);
    if rows.is_empty() {
        return String::new();
    }
    let label = rows.iter().map(|r| r[0].chars().count()).max().unwrap_or(0);
    let mut out = String::from("medals:\n");
    for [medal, name, figure, _] in rows {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "  {medal:<label$}  {name} ({figure})");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::fixture::finished_race;

    #[test]
    fn the_closing_lines_name_each_medal_and_its_winner() {
        let snapshot = finished_race(4, 50);
        let text = lines(&snapshot.endpoints, &snapshot.costs);
        insta::assert_snapshot!(text);
        assert_eq!(lines(&snapshot.endpoints[..1], &snapshot.costs), "");
    }

    #[test]
    fn the_json_entries_use_stable_keys() {
        let snapshot = finished_race(2, 20);
        let entries = entries(&snapshot.endpoints, &snapshot.costs);
        assert_eq!(entries[0].medal, "fastest_first_token");
        assert_eq!(entries[0].endpoint, "turbo");
    }
}
