//! What the dashboard knows about the race that never changes while it runs: the endpoints'
//! names, models and colours, the load, the prompts. Built once before the start.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Price;
use crate::workload::Prompt;

#[derive(Clone, Debug)]
pub struct RaceInfo {
    pub name: String,
    pub lanes: Vec<LaneInfo>,
    /// Requests per endpoint the race stops at, if any.
    pub requests: Option<u64>,
    /// Time after which the race stops sending, if any.
    pub duration: Option<Duration>,
    /// The load shape in a few words: `closed loop, 4 in flight per endpoint`.
    pub load: String,
    /// The workload's prompts, by `PromptId` (the inspector shows what was sent).
    pub prompts: Arc<[Prompt]>,
    /// Playing back a recorded race rather than running one.
    pub replay: bool,
    /// Found before the start and worth showing all race long (an endpoint that could not be
    /// reached when connections were warmed).
    pub notices: Vec<String>,
    /// Where the race's metrics are served for Prometheus (`--metrics-addr`): the help shows it.
    pub metrics: Option<String>,
}

impl RaceInfo {
    /// Whether any endpoint has a price (cost figures are shown only then).
    pub fn priced(&self) -> bool {
        self.lanes.iter().any(|l| l.price.is_some())
    }
}

#[derive(Clone, Debug)]
pub struct LaneInfo {
    pub name: String,
    pub model: String,
    pub protocol: String,
    /// The colour the race file asked for (a name or `#rrggbb`); the theme's otherwise.
    pub color: Option<String>,
    /// What the endpoint charges: the lane shows the race's cost so far, and the leaderboard
    /// can rank by cost per 1000 requests.
    pub price: Option<Price>,
    /// Served by the built-in mock.
    pub simulated: bool,
    pub concurrency: u32,
    /// The salt that started every prompt sent to it (a cold race): shown as part of them.
    pub salt: Option<String>,
}
