//! An endpoint's server metrics over the race (its serving stack's own `/metrics`, scraped
//! once a second), as views show them: a series of points on the race's time axis and a
//! summary for the reports.

use serde::{Deserialize, Serialize};

use crate::event::Offset;
use crate::server_metrics::ServerKind;

/// What the snapshot carries about an endpoint's server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerView {
    /// Where they were scraped from (redacted as any URL).
    pub source: String,
    /// The serving stack, when its metric names were recognised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerKind>,
    /// One point per good scrape, oldest first (the files carry every scrape; this is for
    /// drawing).
    #[serde(skip)]
    pub points: Vec<ServerPoint>,
    /// Scrapes tried, and of those failed (a gap in the series, never a failed race).
    pub scrapes: u64,
    pub failed: u64,
    /// What went wrong with the last scrape that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The failed scrapes by kind (timed out, not a metrics page, …), for the notices.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub failed_by: std::collections::BTreeMap<crate::event::ScrapeFailure, u64>,
    pub summary: ServerSummary,
}

/// One scrape on the race's time axis. `prefix_hit` and `spec_accept` are over the interval
/// since the previous good scrape (from the server's counters), or the server's own rate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerPoint {
    pub t: Offset,
    pub queue: Option<f64>,
    pub running: Option<f64>,
    /// Share of the KV cache in use, 0 to 1.
    pub kv_cache: Option<f64>,
    /// Share of looked-up prompt tokens found in the prefix cache, 0 to 1.
    pub prefix_hit: Option<f64>,
    /// Share of speculative draft tokens accepted, 0 to 1.
    pub spec_accept: Option<f64>,
}

/// The race as the server saw it, for the final table and reports (`None`: never published).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerSummary {
    pub queue_mean: Option<f64>,
    pub queue_max: Option<f64>,
    pub running_mean: Option<f64>,
    pub running_max: Option<f64>,
    pub kv_cache_mean: Option<f64>,
    pub kv_cache_max: Option<f64>,
    /// Over the whole race (counter differences from the first scrape to the last).
    pub prefix_hit: Option<f64>,
    pub spec_accept: Option<f64>,
    /// Requests the server preempted during the race.
    pub preemptions: Option<f64>,
}
