//! The medals of a finished race: which endpoint was best at what, read from its final
//! snapshot (the numbers are the aggregator's; this only ranks them). Shown beside the podium
//! in the dashboard, under the headless table, in the reports and on the share page.
//!
//! Scaffold: the commentary engineer fills in the rules; every view calls [`medals`].
#![allow(
    dead_code,
    reason = "scaffold: wired into the views by the show's branches"
)]

use super::snapshot::Snapshot;

/// What a medal is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MedalKind {
    /// Lowest TTFT (median).
    FastestFirstToken,
    /// Finished its requests first.
    FastestFinisher,
    /// Lowest inter-token latency spread.
    Steadiest,
    /// Most output tokens.
    MostOutput,
    /// No failed request.
    ZeroErrors,
    /// Lowest cost (only when prices are known).
    Cheapest,
}

/// One medal: its kind, the endpoint (index into `Snapshot::endpoints`) and the figure that
/// won it, written for people (`"212 ms"`).
#[derive(Debug, Clone, PartialEq)]
pub struct Medal {
    pub kind: MedalKind,
    pub endpoint: usize,
    pub figure: String,
}

/// The medals of `snapshot`, in `MedalKind` order; empty until the race has finished.
#[must_use]
pub fn medals(snapshot: &Snapshot) -> Vec<Medal> {
    let _ = snapshot;
    Vec::new()
}
