//! How a live race is shown while it runs: the dashboard, on a thread of its own, or the
//! headless progress printer; and the race as the dashboard describes it.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::RaceConfig;
use crate::engine::Controls;
use crate::stats::Snapshot;
use crate::{tui, workload};

use super::field::Field;
use super::options::RaceOptions;
use super::pipeline;

/// How the race is shown while it runs.
pub(super) enum View {
    Dashboard(JoinHandle<std::io::Result<()>>),
    Progress(JoinHandle<()>),
}

/// What a view is fed from the pipeline.
pub(super) struct Feeds {
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    /// Every recording problem so far.
    pub problems: watch::Receiver<Vec<String>>,
}

/// What the dashboard steers: the engine, and who stopped the race.
pub(super) struct Steering {
    pub controls: Controls,
    pub stops: Arc<pipeline::Stops>,
    /// Cancelled at a signal: the dashboard leaves once results are saved.
    pub exit: CancellationToken,
}

impl View {
    /// The dashboard, when the race has a theme for it, or the progress printer.
    pub(super) fn start(
        config: &RaceConfig,
        options: &RaceOptions,
        field: &Field,
        prompts: Vec<workload::Prompt>,
        notices: &[String],
        feeds: Feeds,
        steering: Steering,
    ) -> View {
        if let Some(theme) = &options.dashboard {
            let info = tui::RaceInfo {
                metrics: options.metrics.as_ref().map(|m| m.url().to_string()),
                ..race_info(config, field, prompts, notices)
            };
            let (commands_tx, commands_rx) = mpsc::unbounded_channel();
            tokio::spawn(pipeline::obey(
                commands_rx,
                steering.controls,
                steering.stops,
            ));
            // Drawing writes to the terminal, which can block: not on the workers either.
            View::Dashboard(pipeline::apart(tui::app::run(
                info,
                theme.clone(),
                tui::app::Feeds {
                    snapshots: feeds.snapshots,
                    problems: feeds.problems,
                },
                commands_tx,
                steering.exit,
            )))
        } else {
            // Quiet races print no progress, but a file that fails is told at once all the same.
            let targets =
                (!options.quiet).then(|| vec![own_requests(config); config.endpoints.len()]);
            View::Progress(tokio::spawn(pipeline::print_progress(
                feeds.snapshots,
                feeds.problems,
                targets,
                super::sharding::label(config),
            )))
        }
    }

    /// Waits for the view to end: the dashboard once the user has seen the finish and quits
    /// (or a signal came), the progress printer with the last snapshot. Says why the dashboard
    /// failed, if it did.
    pub(super) async fn close(self) -> Option<String> {
        match self {
            View::Dashboard(dashboard) => match dashboard.await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("the dashboard failed: {e}")),
                Err(e) => Some(format!("the dashboard failed: {e}")),
            },
            View::Progress(progress) => {
                // It ends with the last snapshot, once every recording problem is told.
                let _ = progress.await;
                None
            }
        }
    }
}

/// The requests per endpoint this process sends: a shard's share of the race's.
fn own_requests(config: &RaceConfig) -> Option<u64> {
    let turns = config.workload.turns;
    (config.load.requests).map(|n| config.shard.map_or(n, |s| s.requests(n, turns)))
}

/// The race as the dashboard describes it.
fn race_info(
    config: &RaceConfig,
    field: &Field,
    prompts: Vec<workload::Prompt>,
    notices: &[String],
) -> tui::RaceInfo {
    tui::RaceInfo {
        name: config.name.clone(),
        lanes: config
            .endpoints
            .iter()
            .zip(&field.info)
            .map(|(e, info)| tui::LaneInfo {
                name: e.name.clone(),
                model: e.model.clone(),
                protocol: e.protocol.name().to_string(),
                color: e.color.clone(),
                price: e.price,
                simulated: info.simulated,
                concurrency: info.concurrency,
                salt: info.salt.clone(),
            })
            .collect(),
        requests: own_requests(config),
        duration: config.load.duration,
        load: match super::sharding::label(config) {
            Some(shard) => format!("{shard} of {}", config.load.describe()),
            None => config.load.describe(),
        },
        prompts: prompts.into(),
        replay: false,
        notices: notices
            .iter()
            .cloned()
            .chain(crate::report::proxy::notices(&field.info))
            .collect(),
        metrics: None,
    }
}
