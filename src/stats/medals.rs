//! The medals of a finished race: which endpoint was best at what, read from its final
//! snapshot (the numbers are the aggregator's; this only ranks them). Shown beside the podium
//! in the dashboard, under the headless table, in the reports and on the share page.
//!
//! The rules (a race of two endpoints or more, once it has finished):
//! - Only endpoints with a succeeded request compete; an embeddings endpoint has no first
//!   token, no inter-token latency and no output, so it competes only for zero errors and
//!   cheapest.
//! - **Fastest first token**: the lowest TTFT p50.
//! - **Fastest finisher**: in a race of laps, the most laps finished first; otherwise the
//!   lowest TTLT p50 (the quickest whole answer).
//! - **Steadiest**: the smallest ITL spread, p90 − p50 of its inter-token latency (how much
//!   slower its slow tokens come than its typical one), among endpoints with two ITL values
//!   or more.
//! - **Most output**: the most output tokens.
//! - **Zero errors**: every endpoint that had no failed request (several may have it).
//! - **Cheapest**: the lowest cost per 1000 requests, among priced endpoints.
//!
//! Ties share the medal: every endpoint with the best value gets one. A medal that ranks
//! (all but zero errors) is given only when two endpoints or more compete for it: an
//! endpoint whose rivals all failed, or the only one with a price, beat nobody.

use std::collections::BTreeMap;

use super::snapshot::{Cost, EndpointSnapshot, Snapshot};
use crate::format::{ms, usd_short};

/// What a medal is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MedalKind {
    /// Lowest TTFT (median).
    FastestFirstToken,
    /// Most laps finished first; without laps, the lowest TTLT (median).
    FastestFinisher,
    /// Lowest inter-token latency spread (p90 − p50).
    Steadiest,
    /// Most output tokens.
    MostOutput,
    /// No failed request.
    ZeroErrors,
    /// Lowest cost (only when prices are known).
    Cheapest,
}

impl MedalKind {
    /// Every kind, in order.
    pub const ALL: [MedalKind; 6] = [
        MedalKind::FastestFirstToken,
        MedalKind::FastestFinisher,
        MedalKind::Steadiest,
        MedalKind::MostOutput,
        MedalKind::ZeroErrors,
        MedalKind::Cheapest,
    ];

    /// The medal's name for people.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            MedalKind::FastestFirstToken => "fastest first token",
            MedalKind::FastestFinisher => "fastest finisher",
            MedalKind::Steadiest => "steadiest",
            MedalKind::MostOutput => "most output",
            MedalKind::ZeroErrors => "zero errors",
            MedalKind::Cheapest => "cheapest",
        }
    }

    /// How it is won, in a few words (the reports' rule column).
    #[must_use]
    pub fn rule(self) -> &'static str {
        match self {
            MedalKind::FastestFirstToken => "lowest TTFT p50",
            MedalKind::FastestFinisher => "lowest TTLT p50 (with laps: most laps finished first)",
            MedalKind::Steadiest => "smallest ITL spread, p90 − p50",
            MedalKind::MostOutput => "most output tokens",
            MedalKind::ZeroErrors => "no failed request",
            MedalKind::Cheapest => "lowest cost per 1k requests",
        }
    }

    /// A stable name for files (`summary`-style JSON keys).
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            MedalKind::FastestFirstToken => "fastest_first_token",
            MedalKind::FastestFinisher => "fastest_finisher",
            MedalKind::Steadiest => "steadiest",
            MedalKind::MostOutput => "most_output",
            MedalKind::ZeroErrors => "zero_errors",
            MedalKind::Cheapest => "cheapest",
        }
    }
}

/// One medal: its kind, the endpoint (index into `Snapshot::endpoints`) and the figure that
/// won it, written for people (`"212 ms"`).
#[derive(Debug, Clone, PartialEq)]
pub struct Medal {
    pub kind: MedalKind,
    pub endpoint: usize,
    pub figure: String,
}

/// The medals of `snapshot`, in `MedalKind` order (then endpoint order); empty until the
/// race has finished, and for a race of one endpoint.
#[must_use]
pub fn medals(snapshot: &Snapshot) -> Vec<Medal> {
    if !snapshot.finished {
        return Vec::new();
    }
    of_finished(snapshot)
}

/// The medals of a finished race from its final figures (a `summary.json`'s endpoints and
/// costs), in `MedalKind` order; empty for a race of one endpoint.
#[must_use]
pub fn of_race(endpoints: &[EndpointSnapshot], costs: &BTreeMap<String, Cost>) -> Vec<Medal> {
    let snapshot = Snapshot {
        t: crate::event::Offset::ZERO,
        finished: true,
        endpoints: endpoints.to_vec(),
        costs: costs.clone(),
        playback: None,
        commentary: std::sync::Arc::default(),
    };
    of_finished(&snapshot)
}

fn of_finished(snapshot: &Snapshot) -> Vec<Medal> {
    if snapshot.endpoints.len() < 2 {
        return Vec::new();
    }
    let mut medals = Vec::new();
    for kind in MedalKind::ALL {
        let values: Vec<(usize, f64)> = (snapshot.endpoints.iter().enumerate())
            .filter(|(_, e)| e.counts.succeeded > 0)
            .filter_map(|(i, e)| value(snapshot, e, kind).map(|v| (i, v)))
            .filter(|(_, v)| v.is_finite())
            .collect();
        // "Fastest" among one is no win: a ranked medal needs two contenders (zero errors
        // is earned by each endpoint on its own).
        if kind != MedalKind::ZeroErrors && values.len() < 2 {
            continue;
        }
        let lower = lower_is_better(kind, snapshot);
        let best = values.iter().map(|&(_, v)| v).reduce(|a, b| {
            if (lower && b < a) || (!lower && b > a) {
                b
            } else {
                a
            }
        });
        let Some(best) = best else { continue };
        for &(endpoint, v) in &values {
            if v.total_cmp(&best).is_eq() {
                medals.push(Medal {
                    kind,
                    endpoint,
                    figure: figure(snapshot, &snapshot.endpoints[endpoint], kind, v),
                });
            }
        }
    }
    medals
}

/// Whether the race ran laps: the fastest finisher is then judged by laps won.
fn laps(snapshot: &Snapshot) -> bool {
    snapshot.endpoints.iter().any(|e| e.laps > 0)
}

fn lower_is_better(kind: MedalKind, snapshot: &Snapshot) -> bool {
    match kind {
        MedalKind::FastestFinisher => !laps(snapshot),
        MedalKind::FastestFirstToken | MedalKind::Steadiest | MedalKind::Cheapest => true,
        MedalKind::MostOutput | MedalKind::ZeroErrors => false,
    }
}

/// The figure `kind` ranks `e` by; `None` when it does not compete.
fn value(snapshot: &Snapshot, e: &EndpointSnapshot, kind: MedalKind) -> Option<f64> {
    let text = e.embeddings.is_none();
    let latency = &e.latency;
    match kind {
        MedalKind::FastestFirstToken => latency.ttft_ms.filter(|_| text).map(|s| s.p50),
        MedalKind::FastestFinisher if laps(snapshot) => {
            (text && e.laps > 0).then_some(e.wins_first_finished as f64)
        }
        MedalKind::FastestFinisher => latency.ttlt_ms.filter(|_| text).map(|s| s.p50),
        MedalKind::Steadiest => (latency.itl_ms)
            .filter(|s| text && s.count >= 2)
            .map(|s| (s.p90 - s.p50).max(0.0)),
        MedalKind::MostOutput => (text && e.tokens.output > 0).then_some(e.tokens.output as f64),
        // Everyone without a failure shares it: the same value for all of them.
        MedalKind::ZeroErrors => (e.counts.failed == 0).then_some(1.0),
        MedalKind::Cheapest => snapshot
            .costs
            .get(&e.name)
            .and_then(|c| c.per_1k_requests_usd),
    }
}

fn figure(snapshot: &Snapshot, e: &EndpointSnapshot, kind: MedalKind, v: f64) -> String {
    match kind {
        MedalKind::FastestFinisher if laps(snapshot) => format!("{v:.0} of {} laps", e.laps),
        MedalKind::FastestFirstToken | MedalKind::FastestFinisher => ms(Some(v)),
        MedalKind::Steadiest => format!("±{}", ms(Some(v))),
        MedalKind::MostOutput => format!("{v:.0} tokens"),
        MedalKind::ZeroErrors => format!("{} ok", e.counts.succeeded),
        MedalKind::Cheapest => format!("{}/1k req", usd_short(v)),
    }
}

#[cfg(test)]
mod tests;
