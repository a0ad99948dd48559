//! The immutable picture of a race that views render: per-endpoint counts, distributions and
//! rates at one moment. Built by the aggregator, never changed afterwards; `summary.json` is the
//! final one.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::distribution::Summary;
use super::window::Second;
use crate::event::{ErrorClass, Offset, PromptId, RequestId};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Race time this snapshot describes.
    pub t: Offset,
    /// All endpoints have finished (or the race was stopped).
    pub finished: bool,
    pub endpoints: Vec<EndpointSnapshot>,
    /// What each priced endpoint's requests have cost so far, by endpoint name (empty when
    /// none is priced).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub costs: BTreeMap<String, Cost>,
    /// Where playback stands, when this snapshot comes from a replay.
    #[serde(skip)]
    pub playback: Option<Playback>,
    /// The commentary's lines so far, oldest first (`stats::commentary`), shared.
    #[serde(skip)]
    pub commentary: Arc<std::collections::VecDeque<super::comment::Comment>>,
}

/// US dollars an endpoint's requests cost. The per-unit figures are `None` while there is
/// nothing to divide by (no request ended, no output token).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[expect(
    clippy::struct_field_names,
    reason = "the fields are the result files' keys, where the unit is part of the name"
)]
pub struct Cost {
    pub total_usd: f64,
    pub per_1k_requests_usd: Option<f64>,
    pub per_million_output_usd: Option<f64>,
}

/// A replay's playback state, for the header and the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Playback {
    /// The race time the replay covers.
    pub duration: Offset,
    /// Playback speed: 1.0 is the race's own pace; `None` is as fast as possible.
    pub speed: Option<f64>,
    pub paused: bool,
    /// Race times worth marking on the timeline (failed requests), shared between snapshots.
    pub marks: Arc<[Offset]>,
    /// The replay stops early or is damaged past this point; says why.
    pub damage: Option<String>,
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
    /// The last few minutes (`window::WINDOW_SECS`), one bucket per second (oldest first), for
    /// live rates, sparklines and charts.
    #[serde(skip)]
    pub recent_seconds: Vec<Second>,
    /// Recent requests, in flight and finished, oldest first (bounded): what the inspector
    /// shows. Shared, so a snapshot costs a pointer copy per request, not its text.
    #[serde(skip)]
    pub requests: Vec<Arc<RequestView>>,
    /// How the endpoint is doing lately, for the lane's badge.
    #[serde(skip)]
    pub health: Health,
    /// Head-to-head laps won by first token (0 when no laps were run).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub wins_first_token: u64,
    /// Head-to-head laps won by first finished response.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub wins_first_finished: u64,
    /// Head-to-head laps judged (every endpoint's request in them ended); 0 without laps.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub laps: u64,
    /// The endpoint's server as its own `/metrics` describes it, when it was scraped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<Arc<super::server::ServerView>>,
    /// The latencies in fixed buckets, for the Prometheus exporter (shared, not copied).
    #[serde(skip)]
    pub buckets: Arc<super::buckets::LatencyBuckets>,
    /// An embeddings endpoint's figures; `None` for an endpoint that generates text (views
    /// show TTFT, ITL, TPOT and output tokens only for those).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embeddings: Option<Embeddings>,
}

/// What an embeddings endpoint did: inputs embedded, not tokens generated. Its latency is the
/// request's TTLT (request to last byte); it has no first token and no output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Embeddings {
    /// Inputs per request, as sent (the largest, should requests differ).
    pub batch: u32,
    /// Inputs of the succeeded requests: one vector came back for each.
    pub inputs: u64,
    /// `inputs` per second over the window (requests/s × batch).
    pub inputs_per_s: f64,
    /// Input tokens of the succeeded requests (those `inputs` counts) per second over the window.
    pub input_tokens_per_s: f64,
    /// The vectors' length, as the last answer gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension: Option<u32>,
}

/// The lane badge: judged from the recent error rate and latency.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Health {
    /// Too few requests have ended to judge.
    #[default]
    WarmingUp,
    Healthy,
    /// Some recent requests failed, or recent latency is far above the race's norm.
    Degraded,
    /// Most recent requests failed.
    Failing,
}

/// One request as the inspector shows it: what was sent, what came back and when.
/// Times are milliseconds since the request was sent.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestView {
    pub request: RequestId,
    pub prompt: PromptId,
    pub warmup: bool,
    /// Race time it was sent.
    pub sent: Offset,
    pub state: RequestState,
    pub http_status: Option<u16>,
    pub server_request_id: Option<String>,
    /// The response headers (sensitive ones never recorded), shared by every copy of the view.
    pub headers: Arc<[(String, String)]>,
    pub new_connection: bool,
    pub ttft_ms: Option<f64>,
    /// Set once the request ended (any outcome): its duration.
    pub ended_ms: Option<f64>,
    pub output_tokens: Option<u32>,
    pub finish_reason: Option<String>,
    /// The response text as it arrived, one segment per arrival (capped, see `truncated`).
    pub segments: super::segments::Segments,
    /// Everything else that arrived (headers, usage, the end), for the raw view.
    pub marks: Vec<Mark>,
    /// Text beyond the inspector's cap was dropped (the result files have the timings).
    pub truncated: bool,
    /// Multi-turn sessions: the session and the turn.
    pub session: Option<(u64, u32)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RequestState {
    InFlight,
    Succeeded,
    Failed { class: ErrorClass, message: String },
    Cancelled,
}

/// Text that arrived together (kept in `stats/segments.rs`, with the chunks that hold it).
pub use super::segments::Segment;

/// A non-text stream event, `at_ms` after the request was sent, described for people
/// (`headers 200`, `usage in=12 out=96`, `finished: stop`).
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    pub at_ms: f64,
    pub label: String,
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
    /// Of `sent`, the retries of earlier attempts (each also counted as sent, and as whatever
    /// it ended as). Left out of the JSON of races without retries.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: u64,
    /// Of `succeeded`, those whose first token came in one network read with later content:
    /// their TTFT is an upper bound. Left out of the JSON when none did.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub batched_first_token: u64,
    /// Requests some of whose content was read without a kernel receive stamp: how late the
    /// client read it is not measured (`latency.read_late_ms` leaves them out). Left out of the
    /// JSON when none was.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unstamped_reads: u64,
    /// Of `succeeded`, the answers that called one tool or more. Left out of the JSON when
    /// none did.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tool_call_requests: u64,
    /// Of `succeeded`, the answers checked as JSON (their request asked for JSON), and of
    /// those, the ones that were. Left out of the JSON when none was checked.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub json_checked: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub json_valid: u64,
    /// Requests whose prompt had been sent to the endpoint before (`stats::repeats`).
    #[serde(default)]
    pub repeats: u64,
    /// Of `failed`, the requests that never reached a server: no connection could be opened
    /// for them (`stats::repeats::never_reached`). Not repeats: no server saw their prompt.
    /// Left out of the JSON when none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unreached: u64,
}

impl Counts {
    /// Of the answers checked as JSON, the share that were (0 to 1); `None` when none was.
    #[must_use]
    pub fn json_valid_share(&self) -> Option<f64> {
        (self.json_checked > 0).then(|| self.json_valid as f64 / self.json_checked as f64)
    }

    /// Of the requests that ended having reached a server, the share that repeated a prompt;
    /// None before any did.
    #[must_use]
    pub fn repeat_share(&self) -> Option<f64> {
        let ended = self.reached_ended();
        (ended > 0).then(|| self.repeats as f64 / ended as f64)
    }

    /// Requests that ended, less those that never reached a server (`unreached`).
    #[must_use]
    pub fn reached_ended(&self) -> u64 {
        (self.succeeded + self.failed + self.cancelled).saturating_sub(self.unreached)
    }

    /// Requests of the workload that have ended, against which progress is told: an attempt
    /// that was retried is not one (its retry stands for the same request).
    #[must_use]
    pub fn requests_done(&self) -> u64 {
        (self.succeeded + self.failed + self.cancelled).saturating_sub(self.retries)
    }
}

/// Lap counters are left out of the JSON of races without laps.
#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes &T"
)]
fn is_zero(n: &u64) -> bool {
    *n == 0
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
    /// Open loop: actual minus scheduled send time. Absent in closed-loop races.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_lag_ms: Option<Summary>,
    /// Per request that read content measurably late (by 1 ms or more), the longest it took
    /// the client to read what had arrived: a lower bound, from each read's last segment.
    /// Absent when no read was measured that late, which is not proof the client kept up:
    /// reads without a kernel stamp are not measured (`counts.unstamped_reads`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_late_ms: Option<Summary>,
    /// The largest of `read_late_ms`, exactly (the summary's max is the histogram's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_late_max_ms: Option<f64>,
    /// Multi-turn sessions: TTFT per turn (empty, and absent from files, otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ttft_by_turn: Vec<super::turns::TurnTtft>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tokens {
    /// Every prompt token, cached ones included.
    pub input: u64,
    pub output: u64,
    /// Of `input`, those read from the prompt cache.
    pub cached_input: u64,
    /// Of `input`, those written to the prompt cache. Left out of the JSON when none were.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_write_input: u64,
    /// Reasoning tokens, as the servers counted them: `None` (null in the JSON) when no request
    /// reported a count (Anthropic's API sends none; the reasoning is then in `output`).
    #[serde(default)]
    pub reasoning: Option<u64>,
    /// Succeeded requests whose output count was estimated (the server reported none, or
    /// zero for a response that carried text).
    pub estimated_output_requests: u64,
    /// Of those, the requests whose server reported zero output tokens for a response that
    /// carried text. Left out of the JSON when none did.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub contradicted_output_requests: u64,
    pub chunks: u64,
    /// Bytes sent by the measured requests that ended (request line, headers and body): what
    /// images and long prompts cost on the wire. Left out of the JSON when none were counted.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub request_bytes: u64,
    /// Requests whose usage said how many of their input tokens were cached (0 included):
    /// without any, the cache hit rate is unknown. Left out of the JSON when none did.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_reported: u64,
}

impl Tokens {
    /// Cached input tokens over all input tokens, when the server reported cached tokens for
    /// any request (one that left the count out had none cached); None when it never did.
    #[must_use]
    pub fn cache_hit_rate(&self) -> Option<f64> {
        (self.cache_reported > 0 && self.input > 0)
            .then(|| self.cached_input as f64 / self.input as f64)
    }
}

impl EndpointSnapshot {
    /// Bytes sent per measured request that ended, on average; `None` before any ended.
    #[must_use]
    pub fn mean_request_bytes(&self) -> Option<u64> {
        let ended = self.counts.succeeded + self.counts.failed + self.counts.cancelled;
        (ended > 0 && self.tokens.request_bytes > 0).then(|| self.tokens.request_bytes / ended)
    }
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
    /// Of the requests that ended, the share that repeated a prompt ([`Counts::repeat_share`]).
    #[serde(default)]
    pub repeat_share: f64,
    /// Cached input tokens over input tokens ([`Tokens::cache_hit_rate`]); null when the
    /// server never said how many were cached.
    #[serde(default)]
    pub cache_hit_rate: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::Counts;

    #[test]
    fn retried_attempts_are_not_requests_done() {
        // 6 prompts: 4 succeeded at once, one failed, was retried and then succeeded, one
        // failed, was retried twice and failed again (3 failures, 2 retries).
        let counts = Counts {
            sent: 9,
            succeeded: 5,
            failed: 4,
            retries: 3,
            ..Counts::default()
        };
        assert_eq!(counts.requests_done(), 6);
        let plain = Counts {
            sent: 3,
            succeeded: 2,
            cancelled: 1,
            ..Counts::default()
        };
        assert_eq!(plain.requests_done(), 3);
    }
}
