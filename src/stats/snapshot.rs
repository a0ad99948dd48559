//! The immutable picture of a race that views render: per-endpoint counts, distributions and
//! rates at one moment. Built by the aggregator, never changed afterwards; `summary.json` is the
//! final one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::distribution::Summary;
use super::window::Second;
use crate::event::{ErrorClass, Offset};
use crate::stats::request::RequestRecord;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Race time this snapshot describes.
    pub t: Offset,
    /// All endpoints have finished (or the race was stopped).
    pub finished: bool,
    pub endpoints: Vec<EndpointSnapshot>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EndpointSnapshot {
    pub name: String,
    pub counts: Counts,
    /// Failed requests by error class.
    pub errors: BTreeMap<ErrorClass, u64>,
    pub latency: Latency,
    pub tokens: Tokens,
    pub rates: Rates,
    /// The last minute, one bucket per second (oldest first), for live rates and sparklines.
    #[serde(skip)]
    pub recent_seconds: Vec<Second>,
    /// The most recently finished requests, newest last (bounded).
    #[serde(skip)]
    pub recent_requests: Vec<RequestRecord>,
}

/// `sent = succeeded + failed + cancelled + in_flight`; warm-up requests are counted apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub sent: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub in_flight: u64,
    pub warmup: u64,
    /// Requests that met every SLO set.
    pub good: u64,
    /// Requests that opened a new connection.
    pub new_connections: u64,
}

/// Latency distributions in milliseconds (`None` until a value exists).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub ttfb_ms: Option<Summary>,
    pub ttft_ms: Option<Summary>,
    pub ttfa_ms: Option<Summary>,
    pub ttlt_ms: Option<Summary>,
    pub tpot_ms: Option<Summary>,
    pub itl_ms: Option<Summary>,
    /// Per-request output tokens/s (tokens / TTLT).
    pub output_tps: Option<Summary>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    pub cached_input: u64,
    pub reasoning: u64,
    /// Succeeded requests whose output count was estimated (the server reported none).
    pub estimated_output_requests: u64,
    pub chunks: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    /// Seconds from the first request sent to the last request finished (so far).
    pub window_s: f64,
    /// Succeeded requests per second over the window.
    pub requests_per_s: f64,
    pub requests_per_min: f64,
    /// Output tokens of succeeded requests per second over the window.
    pub output_tokens_per_s: f64,
    /// Requests per second that met every SLO.
    pub goodput_per_s: f64,
    /// Succeeded / (succeeded + failed); 1 when nothing has ended yet.
    pub success_rate: f64,
    /// Output tokens/s over the last 10 seconds.
    pub live_output_tokens_per_s: f64,
}
