//! llmrace: race LLM endpoints head to head. This file is the only place that wires the engine,
//! the aggregator, the recorder and the views together.

pub mod capacity;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod engine;
pub mod event;
#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod mock;
pub mod pace;
mod pipeline;
pub mod playback;
pub mod player;
pub mod print;
pub mod protocol;
pub mod record;
pub mod report;
mod runtime_lag;
pub mod rx_time;
pub mod secret;
pub mod signals;
mod start_up;
pub mod stats;
pub mod sweep;
pub mod tui;
pub mod workload;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::{mpsc, watch};

pub use playback::{fold_replay, play, report};

use config::RaceConfig;
use engine::{Controls, Target, TargetSpec};
use event::EndpointId;
use record::{EndpointInfo, Recorder, RunInfo, Summary};
use stats::{Aggregator, Snapshot};

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
    /// A folder whose earlier results `--force` replaces (checked by
    /// [`record::folder::check_named_folder`]): removed only once this race is about to write.
    pub replace: Option<PathBuf>,
    /// What the race is, told on stderr once it can start: its prompts made and its endpoints
    /// resolved, so a bad workload or endpoint is told alone.
    pub banner: Option<String>,
}

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
    #[error(transparent)]
    Capacity(#[from] capacity::CapacityError),
    /// A signal came before the first request was sent: there is nothing to save.
    #[error("stopped by {} before the race started: nothing was sent", .0.name())]
    StoppedBeforeStart(signals::Signal),
    #[error("endpoint '{endpoint}': cannot start the built-in mock server: {message}")]
    Mock { endpoint: String, message: String },
    #[error("cannot set up TLS: {0}")]
    Tls(String),
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
    #[error(
        "llmrace failed inside ({why}) and stopped the race. What was recorded until then is in \
         {dir}: requests.jsonl.partial, and replay.jsonl.gz, which `llmrace report {dir}` reads. \
         Please report this as a bug."
    )]
    Crashed { why: String, dir: PathBuf },
}

impl RaceError {
    /// 2 for problems with what the user asked for, 1 for failures while running.
    pub fn exit_code(&self) -> i32 {
        match self {
            RaceError::Config(_)
            | RaceError::Workload(_)
            | RaceError::Secret(_)
            | RaceError::Target(_)
            | RaceError::Capacity(_)
            | RaceError::Mock { .. }
            | RaceError::NoDataDir
            | RaceError::Init(_)
            | RaceError::Tls(_) => 2,
            RaceError::StoppedBeforeStart(signal) => signal.exit_code(),
            RaceError::Replay(record::ReplayError::Write { .. }) => 1,
            RaceError::Replay(_) => 2,
            RaceError::Record(
                record::RecordError::CreateFolder { .. }
                | record::RecordError::NotWritable { .. }
                | record::RecordError::LowSpace { .. },
            ) => 2,
            RaceError::Record(_) | RaceError::Dashboard(_) | RaceError::Crashed { .. } => 1,
        }
    }
}

/// Endpoints resolved for racing: targets ready to send, with the mock servers they need
/// kept alive for the race.
struct Field {
    targets: Vec<Arc<Target>>,
    info: Vec<EndpointInfo>,
    /// What the race sends that must never come back into a file or onto the screen.
    secrets: secret::Secrets,
    _mocks: Vec<mock::MockServer>,
}

async fn resolve_endpoints(
    config: &RaceConfig,
    prompts: &[workload::Prompt],
) -> Result<Field, RaceError> {
    let mut targets = Vec::new();
    let mut info = Vec::new();
    let mut mocks = Vec::new();
    let mut secrets = secret::Secrets::default();
    for (i, endpoint) in config.endpoints.iter().enumerate() {
        let api_key = endpoint
            .api_key_env
            .as_deref()
            .map(|var| secret::ApiKey::from_env(var, &endpoint.name))
            .transpose()?;
        let headers = endpoint.resolve_headers()?;
        if let Some(key) = &api_key {
            secrets.add(key.expose());
        }
        for (name, value) in &headers {
            if secret::is_sensitive_header(name) {
                secrets.add(value);
            }
        }
        secrets.add_url(&endpoint.base_url);
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
            // More workers than requests would only open idle connections.
            concurrency: crate::capacity::workers(&config.load, concurrency),
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
        secrets,
        _mocks: mocks,
    })
}

/// Runs a whole race: resolves the endpoints, warms the connections, races, and writes the
/// result files — also when the race is stopped by a signal (SIGINT, SIGTERM, SIGHUP).
/// `shutdown` is listening already: the caller starts it before it tells the user anything,
/// so a signal sent as soon as the race is announced still stops this race.
pub async fn race(
    config: RaceConfig,
    base_dir: &Path,
    options: &RaceOptions,
    mut shutdown: signals::Shutdown,
) -> Result<RaceOutcome, RaceError> {
    let start_up::Started {
        prompts,
        mut notices,
        field,
        workers,
        dir,
        results,
        replay,
        clock,
    } = start_up::start(&config, base_dir, options, &mut shutdown).await?;
    let names: Vec<String> = config.endpoints.iter().map(|e| e.name.clone()).collect();

    tell_notices(&notices, options.quiet);

    let controls = Controls::default();
    let stops = Arc::new(pipeline::Stops::default());
    // A signal stops the race; the dashboard, if any, leaves once results are saved.
    let exit = tokio_util::sync::CancellationToken::new();
    let signals = tokio::spawn(pipeline::stop_on_signals(
        shutdown,
        controls.clone(),
        Arc::clone(&stops),
        exit.clone(),
    ));

    // Held until the end, so the files written then can be opened whatever the race opened.
    let reserve = capacity::Reserve::hold();
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (snapshots_tx, snapshots_rx) = watch::channel(Arc::new(Snapshot {
        t: event::Offset::ZERO,
        finished: false,
        endpoints: Vec::new(),
        playback: None,
    }));
    let (problems_tx, problems_rx) = watch::channel(Vec::new());
    // The notices found at the end reach the dashboard this way too, after the pipeline ended.
    let end_feed = problems_tx.clone();
    let aggregator = Aggregator::new(&names, config.slo.clone(), clock.wall_start());
    let lag_probe = runtime_lag::LagProbe::start();
    let pipeline = pipeline::apart(pipeline::aggregate(
        aggregator,
        events_rx,
        pipeline::Pipeline {
            recorder: Recorder::new(results, replay),
            snapshots: snapshots_tx,
            problems: problems_tx,
            controls: controls.clone(),
            secrets: field.secrets.clone(),
        },
        clock,
    ));
    let view = match &options.dashboard {
        Some(theme) => {
            let info = race_info(&config, &field, prompts, &notices);
            let (commands_tx, commands_rx) = mpsc::unbounded_channel();
            tokio::spawn(pipeline::obey(
                commands_rx,
                controls.clone(),
                Arc::clone(&stops),
            ));
            // Drawing writes to the terminal, which can block: not on the workers either.
            View::Dashboard(pipeline::apart(tui::app::run(
                info,
                theme.clone(),
                tui::app::Feeds {
                    snapshots: snapshots_rx,
                    problems: problems_rx,
                },
                commands_tx,
                exit,
            )))
        }
        _ => {
            // Quiet races print no progress, but a file that fails is told at once all the same.
            let targets = (!options.quiet).then(|| vec![config.load.requests; names.len()]);
            View::Progress(tokio::spawn(pipeline::print_progress(
                snapshots_rx,
                problems_rx,
                targets,
            )))
        }
    };

    let plan = engine::Plan::of(&config);
    let timeouts = config.timeouts.clone();
    engine::drive(workers, plan, timeouts, clock, events_tx, controls).await;
    let runtime_late_ms = lag_probe.stop();
    let (final_snapshot, recorder) = match pipeline.await {
        Ok(done) => done,
        Err(e) => {
            // The statistics task crashed (a bug): its guard stopped the race, and dropping its
            // writers flushed what was recorded. Say where that is rather than hang or vanish.
            let why = pipeline::panic_message(e);
            if let View::Dashboard(dashboard) = view {
                let _ = dashboard.await;
            }
            signals.abort();
            return Err(RaceError::Crashed {
                why,
                dir: dir.clone(),
            });
        }
    };

    let ended_wall = chrono::Utc::now();
    // The final snapshot's time: what a replay of this race ends at too.
    let duration_s = final_snapshot.t.as_secs_f64();
    let signal = stops.signal.get().copied();
    let interrupted = signal.is_some() || stops.by_user.load(Ordering::SeqCst);
    notices.extend(recorder.problems().iter().cloned());
    let endpoints = &final_snapshot.endpoints;
    let client_notices = record::run_info::read_notices(endpoints, Some(runtime_late_ms));
    let end_notices: Vec<String> = record::run_info::endpoint_notices(&config, endpoints)
        .into_iter()
        .chain(client_notices)
        .collect();
    notices.extend(end_notices.iter().cloned());
    // The dashboard owns the terminal until it closes: it shows them now, they are printed after.
    let told_later = match &view {
        View::Dashboard(_) => {
            let mut shown = recorder.problems().to_vec();
            shown.extend(end_notices.iter().cloned());
            let _ = end_feed.send(shown);
            end_notices
        }
        View::Progress(_) => {
            tell_notices(&end_notices, options.quiet);
            Vec::new()
        }
    };
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
        read_late_max_ms: record::run_info::read_late_max_ms(endpoints),
        runtime_late_max_ms: Some(runtime_late_ms),
    };
    let end = record::ReplayEnd {
        t: final_snapshot.t,
        interrupted,
    };
    reserve.release();
    let recorded = recorder.finish(&run, &summary, end);
    // The dashboard stays until the user has seen the finish and quits (or a signal came).
    let view_error: Option<String> = match view {
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
    };
    tell_notices(&told_later, options.quiet);
    signals.abort();
    Ok(RaceOutcome {
        dir: recorded.dir,
        summary,
        interrupted,
        signal,
        write_failures: recorded.problems,
        dashboard_failure: view_error,
    })
}

/// Prints notices to stderr, unless the race is quiet.
fn tell_notices(notices: &[String], quiet: bool) {
    if !quiet {
        for notice in notices {
            print::err(&format!("! {notice}"));
        }
    }
}

/// How the race is shown while it runs.
enum View {
    Dashboard(tokio::task::JoinHandle<std::io::Result<()>>),
    Progress(tokio::task::JoinHandle<()>),
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
        load: config.load.describe(),
        prompts: prompts.into(),
        replay: false,
        notices: notices.to_vec(),
    }
}
