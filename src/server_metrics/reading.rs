//! A reading: one scrape of one server in llmrace's vocabulary, and the server it came from.

use serde::{Deserialize, Serialize};

/// The serving stack a `/metrics` page came from, recognised by its metric names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerKind {
    Vllm,
    Sglang,
    Llamacpp,
    Tgi,
    /// llmrace's own mock (`llmrace mock`, `mock://`): vLLM's names, and a series that names
    /// the mock ([`MOCK_MARKER`]), so its figures are never taken for a real vLLM's.
    #[serde(rename = "llmrace-mock")]
    LlmraceMock,
}

/// The series the built-in mock's `/metrics` page names itself with.
pub const MOCK_MARKER: &str = "llmrace_mock_info";

/// One scrape of one server, in llmrace's vocabulary. Every field is `None` when the server
/// does not publish it. Gauges are as the server stated them at the scrape; the `_total`
/// fields are the server's own cumulative counters (since it started), so a rate over an
/// interval is the difference between two readings (the aggregator's job).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerReading {
    /// Recognised from the metric names; `None` for a server llmrace does not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerKind>,
    /// Requests waiting to be scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<f64>,
    /// Requests being processed (the running batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<f64>,
    /// Share of the KV cache in use, 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_cache: Option<f64>,
    /// Prefix cache, cumulative: prompt tokens looked up, and of those found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_queries_total: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_hits_total: Option<f64>,
    /// A prefix-cache hit rate the server states itself (0 to 1), when it has no counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_hit_rate: Option<f64>,
    /// Speculative decoding, cumulative: draft tokens proposed, and of those accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_drafted_total: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_accepted_total: Option<f64>,
    /// An acceptance rate the server states itself (0 to 1), when it has no counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_accept_rate: Option<f64>,
    /// Requests preempted (evicted from the batch), cumulative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preemptions_total: Option<f64>,
}
