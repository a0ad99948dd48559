//! The cost table of a race, as reports and the terminal show it. The figures themselves are
//! statistics (`stats::cost`): this only writes them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::format::usd;
use crate::stats::Cost;

/// The cost table of a race as text cells: endpoint, total, per 1 000 requests, per million
/// output tokens; one row per priced endpoint (none when nothing is priced).
pub fn rows(costs: &BTreeMap<String, Cost>) -> Vec<[String; 4]> {
    let or_dash = |v: Option<f64>| v.map_or_else(|| "—".to_string(), usd);
    costs
        .iter()
        .map(|(name, c)| {
            [
                name.clone(),
                usd(c.total_usd),
                or_dash(c.per_1k_requests_usd),
                or_dash(c.per_million_output_usd),
            ]
        })
        .collect()
}

/// Column names for [`rows`].
pub const COLUMNS: [&str; 4] = ["endpoint", "cost", "per 1k requests", "per M output tokens"];

/// One line per priced endpoint, for the terminal: `cost: a $0.0123 · $1.02 per 1k requests …`.
pub fn lines(costs: &BTreeMap<String, Cost>) -> String {
    let mut out = String::new();
    for [name, total, per_1k, per_m] in rows(costs) {
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{name}: cost {total} · {per_1k} per 1k requests · {per_m} per M output tokens"
        );
    }
    out
}
