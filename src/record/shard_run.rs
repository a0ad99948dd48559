//! A shard of a race as it ran (`--shard K/N`): in its own `run.json`, and listed in a merged
//! folder's `run.json` and its replay's header (a file of its own, which both import).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One shard of a race as it ran (`--shard K/N`): in its own `run.json`, and listed in the
/// merged folder's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardRun {
    pub index: u32,
    pub count: u32,
    /// The machine it ran on.
    pub host: String,
    /// `--start-at`: the wall-clock instant the measured race was to start at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<DateTime<Utc>>,
    /// How far from `start_at` its first request actually left, by the system clock
    /// (positive: late), in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_skew_ms: Option<f64>,
    /// In a merged folder: the shard's results folder as `merge` was given it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
}

/// The hosts of `shards`, each once, in shard order: a merged race's `host`.
pub(crate) fn hosts(shards: &[ShardRun]) -> String {
    let mut hosts: Vec<&str> = Vec::new();
    for host in shards.iter().map(|s| s.host.as_str()) {
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    hosts.join(", ")
}
