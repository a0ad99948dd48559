//! The contents of `run.json` (the race as run) and `summary.json` (its final numbers).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::RaceConfig;
use crate::stats::EndpointSnapshot;

/// Bumped when a change would make older readers misread `run.json` or `summary.json`.
pub const RESULTS_FORMAT_VERSION: u32 = 1;

/// `run.json`: what was raced, where, when, and how it ended. Never holds a secret: the race
/// is stored with URLs and sensitive headers redacted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub format_version: u32,
    pub llmrace_version: String,
    pub name: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub duration_s: f64,
    /// The race was stopped early (Ctrl-C).
    pub interrupted: bool,
    pub host: String,
    pub endpoints: Vec<EndpointInfo>,
    /// Things the user should know about the race (unreachable endpoints, …).
    pub notices: Vec<String>,
    pub race: RaceConfig,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EndpointInfo {
    pub name: String,
    pub protocol: String,
    pub model: String,
    /// As configured (redacted); for a mock, `mock://PROFILE`.
    pub base_url: String,
    /// Whether this endpoint was a built-in simulated server.
    pub simulated: bool,
    pub concurrency: u32,
}

/// `summary.json`: the final per-endpoint numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub format_version: u32,
    pub name: String,
    pub started_at: DateTime<Utc>,
    pub duration_s: f64,
    pub interrupted: bool,
    pub endpoints: Vec<EndpointSnapshot>,
}

/// The host name, for telling runs from different machines apart.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "unknown".to_string())
}
