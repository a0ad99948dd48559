//! One live race, wired together in named steps: start-up (`start_up.rs`), setting off the
//! pipeline, the view and the signal listener, running the engine, telling the end, and
//! finishing the result files. The library prints nothing here: what the race has to tell
//! its user is handed to the command edge through a [`Teller`], at the moment it is known.

mod bedrock_auth;
mod error;
mod field;
mod options;
mod pipeline;
mod sharding;
mod start_up;
mod tell;
mod view;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::RaceConfig;
use crate::engine::{self, Controls};
use crate::record::{self, Recorder, RunInfo, Summary};
use crate::stats::{Aggregator, Snapshot};
use crate::{capacity, event, runtime_lag, signals};

pub use error::RaceError;
use field::Field;
pub use options::RaceOptions;
pub use sharding::parse_start_at;
pub use tell::{Teller, Telling};
use view::View;

/// What a finished race left behind.
#[derive(Debug)]
pub struct RaceOutcome {
    pub dir: PathBuf,
    pub summary: Summary,
    /// Stopped before its end, by a signal or by the user quitting the dashboard.
    pub interrupted: bool,
    /// Which signal stopped it (SIGINT, SIGTERM, SIGHUP, or Ctrl-C in the dashboard): the exit
    /// code is 128 + its number.
    pub signal: Option<signals::Signal>,
    /// Files that could not be written (disk full, folder removed): the race still ran and
    /// the other files were written, but the exit code must not be 0.
    pub write_failures: Vec<String>,
    /// Why the dashboard stopped working (its terminal closed, …), which also stopped the race.
    pub dashboard_failure: Option<String>,
    /// The endpoints as `run.json` describes them (the proxy each went through, say).
    pub endpoint_info: Vec<record::EndpointInfo>,
}

/// Runs a whole race: resolves the endpoints, warms the connections, races, and writes the
/// result files — also when the race is stopped by a signal (SIGINT, SIGTERM, SIGHUP).
/// `shutdown` is listening already: the caller starts it before it tells the user anything,
/// so a signal sent as soon as the race is announced still stops this race.
///
/// # Errors
/// A setup problem found before anything is sent ([`RaceError::exit_code`] 2), a signal
/// before the start, or llmrace failing inside while it raced.
pub async fn race(
    config: RaceConfig,
    base_dir: &Path,
    options: &RaceOptions,
    mut shutdown: signals::Shutdown,
) -> Result<RaceOutcome, RaceError> {
    let started = start_up::start(&config, base_dir, options, &mut shutdown).await?;
    options.tell.tell(Telling::Notices(&started.notices));
    let live = set_off(&config, started, options, shutdown);
    let ended = live.run(&config).await?;
    Ok(finish(&config, options, ended).await)
}

/// What a race holds from the start to its finish.
struct Held {
    clock: crate::clock::RaceClock,
    dir: PathBuf,
    /// Kept until the end: its mock servers serve the race.
    field: Field,
    notices: Vec<String>,
    stops: Arc<pipeline::Stops>,
    signals: JoinHandle<()>,
    /// Held until the end, so the files written then can be opened whatever the race opened.
    reserve: capacity::Reserve,
    /// The notices found at the end reach the dashboard this way too, after the pipeline ended.
    end_feed: watch::Sender<Vec<String>>,
    view: View,
}

/// A race under way: the pipeline folding what the engine sends, a view showing it, a
/// listener ready to stop it at a signal.
struct Live {
    held: Held,
    workers: Vec<engine::Worker>,
    controls: Controls,
    events: mpsc::UnboundedSender<event::RaceEvent>,
    lag_probe: runtime_lag::LagProbe,
    /// When the engine stopped (the race's end), told to the pipeline.
    ended: Arc<std::sync::OnceLock<event::Offset>>,
    pipeline: JoinHandle<(Snapshot, Recorder, pipeline::Backlog)>,
}

/// Sets the race's tasks going, before the first request: the signal listener, the pipeline
/// on its own thread, and the view.
fn set_off(
    config: &RaceConfig,
    started: start_up::Started,
    options: &RaceOptions,
    shutdown: signals::Shutdown,
) -> Live {
    let start_up::Started {
        prompts,
        notices,
        field,
        workers,
        dir,
        results,
        replay,
        clock,
    } = started;
    let names: Vec<String> = config.endpoints.iter().map(|e| e.name.clone()).collect();
    let controls = Controls::default();
    let stops = Arc::new(pipeline::Stops::default());
    // A signal stops the race; the dashboard, if any, leaves once results are saved.
    let exit = tokio_util::sync::CancellationToken::new();
    let signals = tokio::spawn(pipeline::stop_on_signals(
        shutdown,
        controls.clone(),
        Arc::clone(&stops),
        exit.clone(),
        options.tell.clone(),
    ));

    let reserve = capacity::Reserve::hold();
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (snapshots_tx, snapshots_rx) = watch::channel(Arc::new(Snapshot {
        t: event::Offset::ZERO,
        finished: false,
        endpoints: Vec::new(),
        costs: std::collections::BTreeMap::new(),
        playback: None,
        commentary: std::sync::Arc::default(),
    }));
    if let Some(metrics) = &options.metrics {
        metrics.publish(config, snapshots_rx.clone());
    }
    let (problems_tx, problems_rx) = watch::channel(Vec::new());
    let ended = Arc::new(std::sync::OnceLock::new());
    let end_feed = problems_tx.clone();
    let aggregator = Aggregator::new(&names, config.slo.clone(), clock.wall_start())
        .priced(config)
        .knowing(prompts.iter().map(|p| p.messages.as_slice()));
    let lag_probe = runtime_lag::LagProbe::start();
    let pipeline = pipeline::apart(pipeline::aggregate(
        aggregator,
        events_rx,
        pipeline::Pipeline {
            recorder: Recorder::new(results, replay).with_server_metrics(
                record::server_file::ServerMetricsFile::new(
                    &dir,
                    clock.wall_start(),
                    names.clone(),
                ),
            ),
            snapshots: snapshots_tx,
            problems: problems_tx,
            controls: controls.clone(),
            secrets: field.secrets.clone(),
            ended: Arc::clone(&ended),
        },
        clock,
    ));
    let view = View::start(
        config,
        options,
        &field,
        prompts,
        &notices,
        view::Feeds {
            snapshots: snapshots_rx,
            problems: problems_rx,
        },
        view::Steering {
            controls: controls.clone(),
            stops: Arc::clone(&stops),
            exit,
        },
    );
    Live {
        held: Held {
            clock,
            dir,
            field,
            notices,
            stops,
            signals,
            reserve,
            end_feed,
            view,
        },
        workers,
        controls,
        events: events_tx,
        lag_probe,
        ended,
        pipeline,
    }
}

/// A race whose engine has stopped and whose pipeline has folded every event.
struct Ended {
    held: Held,
    final_snapshot: Snapshot,
    recorder: Recorder,
    /// What the race measured of the client itself.
    client: record::run_info::Client,
    /// When the first measured request was handed to be sent: the start's skew.
    /// And when it was due by the schedule.
    first_measured: Option<(event::Offset, event::Offset)>,
}

impl Live {
    /// Races: the engine sends until the race's end (or a stop), then the pipeline folds the
    /// last events. A pipeline that crashed is told with where its records are.
    async fn run(self, config: &RaceConfig) -> Result<Ended, RaceError> {
        let Live {
            held,
            workers,
            controls,
            events,
            lag_probe,
            ended,
            pipeline,
        } = self;
        let plan = engine::Plan::of(config);
        let timeouts = config.timeouts.clone();
        let mut scraper = engine::scrape::Scraper::start(
            &config.endpoints,
            &held.field.targets,
            held.clock,
            &events,
            controls.abort.clone(),
        );
        if let Some(scraper) = &mut scraper {
            // The servers' counters are measured from a scrape before the first request.
            tokio::select! {
                () = scraper.first_scrapes() => {}
                () = controls.abort.cancelled() => {}
            }
        }
        // `--start-at`: everything is ready; the first request leaves at the race's zero.
        sharding::until_zero(&held.clock, &controls.stop_sending).await;
        let first_measured =
            engine::drive(workers, plan, timeouts, held.clock, events, controls).await;
        let _ = ended.set(held.clock.now());
        if let Some(scraper) = scraper {
            scraper.finish().await;
        }
        let runtime_late_ms = lag_probe.stop();
        let (final_snapshot, recorder, backlog) = match pipeline.await {
            Ok(done) => done,
            Err(e) => {
                // The statistics task crashed (a bug): its guard stopped the race, and dropping
                // its writers flushed what was recorded. Say where that is rather than hang or
                // vanish.
                let why = pipeline::panic_message(e);
                if let View::Dashboard(dashboard) = held.view {
                    let _ = dashboard.await;
                }
                held.signals.abort();
                return Err(RaceError::Crashed { why, dir: held.dir });
            }
        };
        Ok(Ended {
            held,
            final_snapshot,
            recorder,
            client: record::run_info::Client {
                runtime_late_max_ms: runtime_late_ms,
                event_backlog_max: backlog.events_max,
                event_backlog_age_max_ms: backlog.age_max_ms(),
            },
            first_measured,
        })
    }
}

/// The end's notices, what the final numbers say about the endpoints and the client, join the
/// race's notices (for `run.json`), after the files' problems. Headless, they are told now;
/// the dashboard owns the terminal until it closes: it shows them now, and they are returned
/// to be told after.
fn tell_the_end(config: &RaceConfig, options: &RaceOptions, ended: &mut Ended) -> Vec<String> {
    let held = &mut ended.held;
    held.notices
        .extend(ended.recorder.problems().iter().cloned());
    let endpoints = &ended.final_snapshot.endpoints;
    let client_notices =
        record::run_info::read_notices(endpoints, Some(ended.client.runtime_late_max_ms));
    let end_notices: Vec<String> = record::run_info::endpoint_notices(config, endpoints)
        .into_iter()
        .chain(client_notices)
        .collect();
    held.notices.extend(end_notices.iter().cloned());
    match &held.view {
        View::Dashboard(_) => {
            let mut shown = ended.recorder.problems().to_vec();
            shown.extend(end_notices.iter().cloned());
            let _ = held.end_feed.send(shown);
            end_notices
        }
        View::Progress(_) => {
            options.tell.tell(Telling::Notices(&end_notices));
            Vec::new()
        }
    }
}

/// Writes the result files once the end is told, and waits for the view to close.
async fn finish(config: &RaceConfig, options: &RaceOptions, mut ended: Ended) -> RaceOutcome {
    let ended_wall = chrono::Utc::now();
    // The final snapshot's time: what a replay of this race ends at too.
    let duration_s = ended.final_snapshot.t.as_secs_f64();
    let signal = ended.held.stops.signal.get().copied();
    let interrupted = signal.is_some() || ended.held.stops.by_user.load(Ordering::SeqCst);
    let told_later = tell_the_end(config, options, &mut ended);
    let Ended {
        held:
            Held {
                clock,
                dir: _,
                field,
                notices,
                stops: _,
                signals,
                reserve,
                end_feed: _,
                view,
            },
        final_snapshot,
        recorder,
        client,
        first_measured,
    } = ended;
    let endpoints = &final_snapshot.endpoints;
    let span = record::run_info::Span {
        started_at: clock.wall_start(),
        ended_at: ended_wall,
        duration_s,
        interrupted,
    };
    let endpoint_info = field.info.clone();
    let mut run = RunInfo::of_race(config, field.info, span, notices, endpoints, client);
    run.shard = sharding::shard_run(config, options.start_at, clock.wall_start(), first_measured);
    let summary = Summary::new(
        &run,
        duration_s,
        final_snapshot.endpoints.clone(),
        final_snapshot.costs.clone(),
    );
    let end = record::ReplayEnd {
        t: final_snapshot.t,
        interrupted,
    };
    reserve.release();
    let recorded = recorder.finish(&run, &summary, end);
    let view_error = view.close().await;
    options.tell.tell(Telling::Notices(&told_later));
    signals.abort();
    RaceOutcome {
        dir: recorded.dir,
        summary,
        interrupted,
        signal,
        write_failures: recorded.problems,
        dashboard_failure: view_error,
        endpoint_info,
    }
}
