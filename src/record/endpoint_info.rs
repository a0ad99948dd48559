//! An endpoint as a race describes it, in `run.json` and in a replay's header alike.

use serde::{Deserialize, Serialize};

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
    /// The salt that started every prompt sent to it (a cold race, `[workload] cache`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// The HTTP proxy its connections went through (redacted): its latency is in every figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// The HTTP it was spoken to in, "1.1" or "2": as negotiated when the connections were
    /// warmed, else as asked for; left out when neither tells (https, `http = "auto"`, no
    /// warm-up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_version: Option<String>,
}
