//! llmrace: race LLM endpoints head to head. This file is the only place that wires the engine,
//! the aggregator, the recorder and the views together.

pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod engine;
pub mod event;
pub mod mock;
pub mod playback;
pub mod player;
pub mod protocol;
pub mod record;
pub mod report;
pub mod secret;
pub mod stats;
pub mod sweep;
pub mod tui;
pub mod workload;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

pub use playback::{fold_replay, play, report};

use config::RaceConfig;
use engine::{Controls, Limits, Target, TargetSpec};
use event::{EndpointId, RaceEvent};
use record::{EndpointInfo, Recorder, ResultsWriter, RunInfo, Summary};
use stats::{Aggregator, Snapshot};

/// The seed of Poisson schedules: fixed, so that the same race file sends the same schedule
/// every time it is run.
const OPEN_LOOP_SEED: u64 = 0x006c_6c6d_7261_6365;

/// How a race is run, beyond what is raced.
#[derive(Clone, Debug, Default)]
pub struct RaceOptions {
    /// The results folder; a fresh folder under the platform data folder when `None`.
    pub out: Option<PathBuf>,
    /// No progress lines, only the final table.
    pub quiet: bool,
    /// Record the race's event stream into a replay file in the results folder.
    pub replay: bool,
    /// Show the live dashboard in this theme (the terminal must be a terminal).
    pub dashboard: Option<tui::Theme>,
}

/// What a finished race left behind.
#[derive(Debug)]
pub struct RaceOutcome {
    pub dir: PathBuf,
    pub summary: Summary,
    /// Stopped before its end, by a signal or by the user quitting the dashboard.
    pub interrupted: bool,
    /// Stopped by a signal (Ctrl-C): exit code 130.
    pub signalled: bool,
}

/// Why a race could not run. Setup problems (exit code 2) are found before anything is sent.
#[derive(Debug, thiserror::Error)]
pub enum RaceError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Workload(#[from] workload::WorkloadError),
    #[error(transparent)]
    Secret(#[from] secret::SecretError),
    #[error(transparent)]
    Target(#[from] engine::TargetError),
    #[error("endpoint '{endpoint}': cannot start the built-in mock server: {message}")]
    Mock { endpoint: String, message: String },
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
    #[error(transparent)]
    Record(#[from] record::RecordError),
    #[error(transparent)]
    Replay(#[from] record::ReplayError),
    #[error(
        "no results folder: the platform data folder is unknown here; choose one with --out DIR"
    )]
    NoDataDir,
    #[error("{0}")]
    Init(String),
    #[error("the dashboard failed: {0}")]
    Dashboard(String),
}

impl RaceError {
    /// 2 for problems with what the user asked for, 1 for failures while running.
    pub fn exit_code(&self) -> i32 {
        match self {
            RaceError::Config(_)
            | RaceError::Workload(_)
            | RaceError::Secret(_)
            | RaceError::Target(_)
            | RaceError::Mock { .. }
            | RaceError::NoDataDir
            | RaceError::Init(_) => 2,
            RaceError::Replay(record::ReplayError::Write { .. }) => 1,
            RaceError::Replay(_) => 2,
            RaceError::Client(_) | RaceError::Record(_) | RaceError::Dashboard(_) => 1,
        }
    }
}

/// Endpoints resolved for racing: targets ready to send, with the mock servers they need
/// kept alive for the race.
struct Field {
    targets: Vec<Arc<Target>>,
    info: Vec<EndpointInfo>,
    _mocks: Vec<mock::MockServer>,
}

async fn resolve_endpoints(
    config: &RaceConfig,
    prompts: &[workload::Prompt],
) -> Result<Field, RaceError> {
    let mut targets = Vec::new();
    let mut info = Vec::new();
    let mut mocks = Vec::new();
    for (i, endpoint) in config.endpoints.iter().enumerate() {
        let api_key = endpoint
            .api_key_env
            .as_deref()
            .map(|var| secret::ApiKey::from_env(var, &endpoint.name))
            .transpose()?;
        let headers = endpoint.resolve_headers()?;
        let (base_url, simulated) = match endpoint.base_url.strip_prefix("mock://") {
            Some(spec) => {
                let profile = mock::Profile::parse(spec).map_err(|e| RaceError::Mock {
                    endpoint: endpoint.name.clone(),
                    message: e.to_string(),
                })?;
                let server = mock::MockServer::start(([127, 0, 0, 1], 0).into(), profile)
                    .await
                    .map_err(|e| RaceError::Mock {
                        endpoint: endpoint.name.clone(),
                        message: e.to_string(),
                    })?;
                let url = server.base_url(endpoint.protocol);
                mocks.push(server);
                (url, true)
            }
            None => (endpoint.base_url.clone(), false),
        };
        let concurrency = endpoint
            .concurrency
            .unwrap_or(config.load.concurrency)
            .max(1);
        let spec = TargetSpec {
            id: EndpointId(u16::try_from(i).unwrap_or(u16::MAX)),
            name: &endpoint.name,
            protocol: endpoint.protocol,
            base_url: &base_url,
            model: &endpoint.model,
            api_key: api_key.as_ref(),
            headers: &headers,
            body: &endpoint.body,
            max_tokens: endpoint.max_tokens.or(config.workload.max_tokens),
            temperature: config.workload.temperature,
            stream: config.workload.stream,
            concurrency,
        };
        targets.push(Arc::new(Target::new(&spec, prompts)?));
        info.push(EndpointInfo {
            name: endpoint.name.clone(),
            protocol: endpoint.protocol.name().to_string(),
            model: endpoint.model.clone(),
            base_url: secret::redact_url(&endpoint.base_url),
            simulated,
            concurrency,
        });
    }
    Ok(Field {
        targets,
        info,
        _mocks: mocks,
    })
}

/// Runs a whole race: resolves the endpoints, warms the connections, races, and writes the
/// result files — also when the race is interrupted with Ctrl-C.
pub async fn race(
    config: RaceConfig,
    base_dir: &Path,
    options: &RaceOptions,
) -> Result<RaceOutcome, RaceError> {
    let workload::Workload {
        prompts,
        notes: workload_notes,
    } = workload::load_workload(&config.workload, base_dir)?;
    let field = resolve_endpoints(&config, &prompts).await?;
    let names: Vec<String> = config.endpoints.iter().map(|e| e.name.clone()).collect();

    let started_wall = chrono::Utc::now();
    let dir = match &options.out {
        Some(dir) => dir.clone(),
        None => {
            let parent = record::default_runs_dir().ok_or(RaceError::NoDataDir)?;
            record::race_folder(&parent, &config.name, started_wall)
        }
    };
    let results = ResultsWriter::create(&dir)?;

    let mut workers = engine::workers(&field.targets, &config.timeouts)
        .map_err(|e| RaceError::Client(e.to_string()))?;
    let mut notices = workload_notes;
    if config.load.warm_connections {
        for problem in engine::warm_connections(&mut workers, &config.timeouts).await {
            notices.push(format!(
                "{}: could not open a connection before the start: {}",
                problem.endpoint, problem.message
            ));
        }
    }
    for notice in &notices {
        if !options.quiet {
            eprintln!("! {notice}");
        }
    }

    let controls = Controls::default();
    let stops = Arc::new(Stops::default());
    // Ctrl-C (SIGINT) stops the race; the dashboard, if any, leaves once results are saved.
    let exit = tokio_util::sync::CancellationToken::new();
    let signals = tokio::spawn({
        let controls = controls.clone();
        let stops = Arc::clone(&stops);
        let exit = exit.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stops.signalled.store(true, Ordering::SeqCst);
                controls.interrupt();
                exit.cancel();
            }
        }
    });

    let clock = clock::RaceClock::start();
    // The replay's header carries the clock's wall start, so a replay gives every request
    // the same `request_time` as the live race did.
    let replay = if options.replay {
        let header = record::ReplayHeader::new(
            secret::redact_config(&config),
            field.info.clone(),
            prompts.iter().map(|p| p.messages.clone()).collect(),
            clock.wall_start(),
        );
        Some(record::ReplayWriter::create(&dir, &header)?)
    } else {
        None
    };
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (snapshots_tx, snapshots_rx) = watch::channel(Arc::new(Snapshot {
        t: event::Offset::ZERO,
        finished: false,
        endpoints: Vec::new(),
        playback: None,
    }));
    let aggregator = Aggregator::new(&names, config.slo.clone(), clock.wall_start());
    let pipeline = tokio::spawn(aggregate(
        aggregator,
        events_rx,
        Recorder::new(results, replay),
        snapshots_tx,
        clock,
    ));
    let view = match &options.dashboard {
        Some(theme) => {
            let info = race_info(&config, &field, prompts, &notices);
            let (commands_tx, commands_rx) = mpsc::unbounded_channel();
            tokio::spawn(obey(commands_rx, controls.clone(), Arc::clone(&stops)));
            View::Dashboard(tokio::spawn(tui::app::run(
                info,
                theme.clone(),
                snapshots_rx,
                commands_tx,
                exit,
            )))
        }
        _ if options.quiet => View::None,
        _ => {
            let targets = vec![config.load.requests; names.len()];
            View::Progress(tokio::spawn(print_progress(snapshots_rx, targets)))
        }
    };

    let limits = Limits {
        requests: config.load.requests,
        duration: config.load.duration,
        warmup_requests: config.load.warmup_requests,
    };
    match config.load.open_loop() {
        None if config.load.laps => {
            let timeouts = config.timeouts.clone();
            engine::run_laps(workers, limits, timeouts, clock, events_tx, controls).await;
        }
        Some(shape) => {
            let open = engine::OpenLoop {
                shape,
                max_in_flight: config.load.max_in_flight,
                seed: OPEN_LOOP_SEED,
            };
            let timeouts = config.timeouts.clone();
            engine::run_open(workers, open, limits, timeouts, clock, events_tx, controls).await;
        }
        None => {
            let timeouts = config.timeouts.clone();
            engine::run(workers, limits, timeouts, clock, events_tx, controls).await;
        }
    }
    let (final_snapshot, recorder) = pipeline
        .await
        .map_err(|e| RaceError::Client(e.to_string()))?;

    let ended_wall = chrono::Utc::now();
    // The final snapshot's time: what a replay of this race ends at too.
    let duration_s = final_snapshot.t.as_secs_f64();
    let signalled = stops.signalled.load(Ordering::SeqCst);
    let interrupted = signalled || stops.by_user.load(Ordering::SeqCst);
    notices.extend(recorder.problems().iter().cloned());
    for notice in record::run_info::lag_notices(&final_snapshot.endpoints) {
        if !options.quiet {
            eprintln!("! {notice}");
        }
        notices.push(notice);
    }
    let summary = Summary {
        format_version: record::run_info::RESULTS_FORMAT_VERSION,
        name: config.name.clone(),
        started_at: clock.wall_start(),
        duration_s,
        interrupted,
        endpoints: final_snapshot.endpoints.clone(),
        costs: record::run_info::costs(&config, &final_snapshot.endpoints),
    };
    let run = RunInfo {
        format_version: record::run_info::RESULTS_FORMAT_VERSION,
        llmrace_version: env!("CARGO_PKG_VERSION").to_string(),
        name: config.name.clone(),
        started_at: clock.wall_start(),
        ended_at: ended_wall,
        duration_s,
        interrupted,
        host: record::run_info::host_name(),
        endpoints: field.info,
        notices,
        race: secret::redact_config(&config),
    };
    let end = record::ReplayEnd {
        t: final_snapshot.t,
        interrupted,
    };
    let finished = recorder.finish(&run, &summary, end);
    // The dashboard stays until the user has seen the finish and quits (or a signal came).
    let view_error: Option<String> = match view {
        View::Dashboard(dashboard) => match dashboard.await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(format!("the dashboard failed: {e}")),
            Err(e) => Some(format!("the dashboard failed: {e}")),
        },
        View::Progress(progress) => {
            progress.abort();
            None
        }
        View::None => None,
    };
    signals.abort();
    let dir = finished?;
    if let Some(e) = view_error {
        eprintln!("{e}");
    }
    Ok(RaceOutcome {
        dir,
        summary,
        interrupted,
        signalled,
    })
}

/// How the race is shown while it runs.
enum View {
    Dashboard(tokio::task::JoinHandle<std::io::Result<()>>),
    Progress(tokio::task::JoinHandle<()>),
    None,
}

/// Who stopped the race early, if anyone.
#[derive(Default)]
struct Stops {
    /// Ctrl-C or another signal.
    signalled: AtomicBool,
    /// The user quit the dashboard before the race ended.
    by_user: AtomicBool,
}

/// Carries out the dashboard's commands on the engine.
async fn obey(
    mut commands: mpsc::UnboundedReceiver<tui::app::RaceCommand>,
    controls: Controls,
    stops: Arc<Stops>,
) {
    while let Some(command) = commands.recv().await {
        match command {
            tui::app::RaceCommand::Stop => {
                if !controls.stop_sending.is_cancelled() || !controls.abort.is_cancelled() {
                    stops.by_user.store(true, Ordering::SeqCst);
                }
                controls.interrupt();
            }
            tui::app::RaceCommand::Pause(paused) => controls.pause(paused),
            // Only replays are played back; a live race has no playback to steer.
            tui::app::RaceCommand::Playback(_) => {}
        }
    }
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
            })
            .collect(),
        requests: config.load.requests,
        duration: config.load.duration,
        load: format!(
            "closed loop, {} in flight per endpoint",
            config.load.concurrency
        ),
        prompts: prompts.into(),
        replay: false,
        notices: notices.to_vec(),
    }
}

/// The aggregator's task: folds every event, streams finished request records to disk and
/// publishes a snapshot at most ~30 times a second, when something changed.
async fn aggregate(
    mut aggregator: Aggregator,
    mut events: mpsc::UnboundedReceiver<RaceEvent>,
    mut recorder: Recorder,
    snapshots: watch::Sender<Arc<Snapshot>>,
    clock: clock::RaceClock,
) -> (Snapshot, Recorder) {
    let mut batch = Vec::with_capacity(1024);
    let mut tick = tokio::time::interval(Duration::from_millis(33));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut ticks = 0u32;
    loop {
        tokio::select! {
            n = events.recv_many(&mut batch, 1024) => {
                if n == 0 {
                    break;
                }
                for event in batch.drain(..) {
                    recorder.event(&event);
                    if let Some(record) = aggregator.apply(&event) {
                        recorder.request(&record);
                    }
                }
            }
            _ = tick.tick() => {
                if aggregator.changed() {
                    let _ = snapshots.send(Arc::new(aggregator.snapshot(clock.now(), false)));
                }
                ticks = ticks.wrapping_add(1);
                if ticks.is_multiple_of(30) {
                    recorder.flush();
                }
            }
        }
    }
    let last = aggregator.snapshot(clock.now(), true);
    let _ = snapshots.send(Arc::new(last.clone()));
    (last, recorder)
}

/// Prints a progress line to stderr every second while the race runs.
async fn print_progress(mut snapshots: watch::Receiver<Arc<Snapshot>>, targets: Vec<Option<u64>>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tick.tick().await;
        let snapshot = Arc::clone(&snapshots.borrow_and_update());
        if snapshot.finished {
            break;
        }
        if !snapshot.endpoints.is_empty() {
            eprintln!("{}", report::progress::progress_line(&snapshot, &targets));
        }
    }
}
