//! The race's own metrics served live for Prometheus (`--metrics-addr`): one HTTP listener for
//! a race, a sweep (a `level` label per level) or a replay, reading the same snapshots the
//! dashboard draws, so the two never disagree. `encode.rs` writes a page of them
//! (Prometheus text, or OpenMetrics when the scraper asks), `serve.rs` answers the scrapes.

mod encode;
mod serve;

use std::sync::Arc;

use tokio::sync::watch;

use crate::config::RaceConfig;
use crate::stats::Snapshot;

pub use encode::{OPENMETRICS, PROMETHEUS_TEXT, encode};
pub use serve::{ExportError, Exporter};

/// What every series of one race carries, and each endpoint's own labels (in `EndpointId`
/// order, as the snapshot lists the endpoints).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaceLabels {
    pub race: String,
    /// The sweep level (`8`, `2/s`); none outside sweeps.
    pub level: Option<String>,
    pub endpoints: Vec<EndpointLabels>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointLabels {
    pub endpoint: String,
    pub model: String,
    pub protocol: String,
}

impl RaceLabels {
    pub fn of(config: &RaceConfig, level: Option<String>) -> RaceLabels {
        RaceLabels {
            race: config.name.clone(),
            level,
            endpoints: config
                .endpoints
                .iter()
                .map(|e| EndpointLabels {
                    endpoint: e.name.clone(),
                    model: e.model.clone(),
                    protocol: e.protocol.name().to_string(),
                })
                .collect(),
        }
    }
}

/// One race whose snapshots are served: its latest stays served after it ends.
struct Source {
    labels: Arc<RaceLabels>,
    snapshots: watch::Receiver<Arc<Snapshot>>,
}

/// Where races hand their snapshots to the exporter (cloned into each race of a sweep).
/// A sweep's levels each publish through a copy that names their level.
#[derive(Clone)]
pub struct Publisher {
    sources: Arc<watch::Sender<Vec<Source>>>,
    level: Option<String>,
    /// Where the exporter serves them, as `Exporter::url` says it.
    url: Arc<str>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Publisher")
    }
}

impl Publisher {
    fn new(url: String) -> Publisher {
        Publisher {
            sources: Arc::new(watch::Sender::new(Vec::new())),
            level: None,
            url: url.into(),
        }
    }

    /// Where the metrics are served (`http://127.0.0.1:9464/metrics`), for the dashboard to
    /// show: with port 0 the terminal line saying it is hidden by the dashboard.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The same exporter, for a sweep's level: its series get a `level` label.
    #[must_use]
    pub fn at_level(&self, level: String) -> Publisher {
        Publisher {
            sources: Arc::clone(&self.sources),
            level: Some(level),
            url: Arc::clone(&self.url),
        }
    }

    /// Serves this race's snapshots from now on (and its last one once it has ended). A race
    /// with the same labels replaces the earlier one (a sweep level run again).
    pub fn publish(&self, config: &RaceConfig, snapshots: watch::Receiver<Arc<Snapshot>>) {
        let labels = RaceLabels::of(config, self.level.clone());
        self.sources.send_modify(|sources| {
            sources.retain(|s| *s.labels != labels);
            sources.push(Source {
                labels: Arc::new(labels),
                snapshots,
            });
        });
    }

    /// Every race's latest snapshot, as it is now.
    fn latest(&self) -> Vec<(Arc<RaceLabels>, Arc<Snapshot>)> {
        self.sources
            .borrow()
            .iter()
            .map(|s| (Arc::clone(&s.labels), Arc::clone(&s.snapshots.borrow())))
            .collect()
    }
}
