//! Everything a race does before its first request — checking what it asks of the machine,
//! making its prompts, resolving its endpoints, checking its results folder, warming its
//! connections, opening its result files — run so that a signal stops it at once. Before the
//! start nothing has been sent and there is nothing to save, so the race ends there and what it
//! wrote is removed. Part of the race's wiring: called only from `race.rs`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::task::JoinHandle;

use crate::config::RaceConfig;
use crate::record::{ReplayHeader, ReplayWriter, ResultsWriter};
use crate::{capacity, clock, engine, record, signals};
use crate::{workload, workload::Prompt};

use super::error::RaceError;
use super::field::{Field, resolve_endpoints};
use super::options::RaceOptions;
use super::tell::{Teller, Telling};

/// A race ready to start: nothing sent yet, its result files open.
pub(crate) struct Started {
    pub prompts: Vec<Prompt>,
    /// What the user should hear before the start (prompts left out, endpoints not reached).
    pub notices: Vec<String>,
    pub field: Field,
    pub workers: Vec<engine::Worker>,
    /// The results folder, checked: it exists, takes a file, and its disk has room.
    pub dir: PathBuf,
    pub results: ResultsWriter,
    /// With its header written; the header's start is the clock's.
    pub replay: Option<ReplayWriter>,
    pub clock: clock::RaceClock,
}

/// Prepares the race in a task of its own while listening to `shutdown`: a signal ends the
/// preparation where it is (a connection warming towards a server that never answers,
/// thousands of prompts being made, the replay's header being written) and the race with
/// [`RaceError::StoppedBeforeStart`].
pub(crate) async fn start(
    config: &RaceConfig,
    base_dir: &Path,
    options: &RaceOptions,
    shutdown: &mut signals::Shutdown,
) -> Result<Started, RaceError> {
    let dir = if let Some(dir) = &options.out {
        dir.clone()
    } else {
        let parent = record::default_runs_dir().ok_or(RaceError::NoDataDir)?;
        record::race_folder(
            &parent,
            &super::sharding::folder_name(config),
            chrono::Utc::now(),
        )
    };
    // What a signal may remove: only what this race creates.
    let existed = dir.exists();
    let created: Vec<PathBuf> = record::results::opened_files(&dir)
        .into_iter()
        .chain(options.replay.then(|| dir.join(record::REPLAY_FILE)))
        .filter(|file| !file.exists())
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let discard = |signal| {
        for file in &created {
            let _ = std::fs::remove_file(file);
        }
        if !existed {
            // Only if now empty: a folder the race made and nothing else was written into.
            let _ = std::fs::remove_dir(&dir);
        }
        RaceError::StoppedBeforeStart(signal)
    };
    let task = tokio::spawn(prepare(
        config.clone(),
        base_dir.to_path_buf(),
        dir.clone(),
        options.replay,
        options.tell.clone(),
        Arc::clone(&stop),
        options.start_at,
    ));
    let mut prepared = until_signal(task, shutdown.recv(), &stop, "preparing the race")
        .await
        .map_err(discard)??;
    // `--start-at`: everything is ready; the clock starts, and the race, at the instant.
    if let Some(at) = options.start_at {
        let late = super::sharding::wait_for_start(at, shutdown.recv(), &options.tell)
            .await
            .map_err(discard)?;
        prepared.notices.extend(late);
    }
    let start_at = options.start_at;
    let opening = tokio::task::spawn_blocking({
        let (config, dir, stop) = (config.clone(), dir.clone(), Arc::clone(&stop));
        let replay = options.replay;
        let replace = options.replace.clone();
        move || {
            open_files(
                prepared,
                &config,
                &dir,
                replay,
                replace.as_ref(),
                start_at,
                &stop,
            )
        }
    });
    until_signal(opening, shutdown.recv(), &stop, "opening the result files")
        .await
        .map_err(discard)?
}

/// `task`'s result, or the signal that came first: then `stop` is set and `task` is ended —
/// aborted at its next await, or left to see `stop` — and waited for: an aborted task runs on
/// to its next await on another worker (it may be writing the folder's probe), and nothing it
/// writes may come after the clean-up.
async fn until_signal<T>(
    mut task: JoinHandle<Result<T, RaceError>>,
    signal: impl Future<Output = signals::Signal>,
    stop: &AtomicBool,
    what: &'static str,
) -> Result<Result<T, RaceError>, signals::Signal> {
    tokio::select! {
        joined = &mut task => Ok(joined.unwrap_or_else(|e| Err(RaceError::StartUpFailed {
            what,
            why: super::pipeline::panic_message(e),
        }))),
        signal = signal => {
            stop.store(true, Ordering::Relaxed);
            task.abort();
            let _ = (&mut task).await;
            Err(signal)
        }
    }
}

/// Opens the result files of a prepared race and starts its clock; the replay's header is
/// written, which for a large prompt set takes seconds and stops on `stop`.
fn open_files(
    prepared: Prepared,
    config: &RaceConfig,
    dir: &Path,
    replay: bool,
    replace: Option<&PathBuf>,
    start_at: Option<chrono::DateTime<chrono::Utc>>,
    stop: &AtomicBool,
) -> Result<Started, RaceError> {
    // `--force`: the earlier race's files go only now, when nothing can stop the new race
    // from writing its own.
    if let Some(earlier) = replace {
        record::folder::remove_earlier(earlier).map_err(RaceError::ResultsFolder)?;
    }
    let results = ResultsWriter::create(dir)?;
    // `--start-at`: the race's zero is the instant, a moment ahead (`sharding::LEAD`).
    let clock = start_at.map_or_else(clock::RaceClock::start, clock::RaceClock::start_at);
    // The replay's header carries the clock's wall start, so a replay gives every request
    // the same `request_time` as the live race did.
    let replay = if replay {
        let header = ReplayHeader::new(
            crate::config::redact_config(config),
            prepared.field.info.clone(),
            prepared
                .prompts
                .iter()
                .map(|p| p.messages.clone())
                .collect(),
            clock.wall_start(),
        );
        Some(ReplayWriter::create_until(dir, &header, stop)?)
    } else {
        None
    };
    Ok(Started {
        prompts: prepared.prompts,
        notices: prepared.notices,
        field: prepared.field,
        workers: prepared.workers,
        dir: dir.to_path_buf(),
        results,
        replay,
        clock,
    })
}

/// A race ready for its files: prompts made, endpoints resolved, connections warm.
struct Prepared {
    prompts: Vec<Prompt>,
    notices: Vec<String>,
    field: Field,
    workers: Vec<engine::Worker>,
}

async fn prepare(
    config: RaceConfig,
    base_dir: PathBuf,
    dir: PathBuf,
    replay: bool,
    tell: Teller,
    stop: Arc<AtomicBool>,
    start_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Prepared, RaceError> {
    let load = &config.load;
    // The race sends at most this many prompts per endpoint when it counts its requests.
    // An embeddings endpoint's request carries `embed_batch` prompts, each sent once before
    // any repeats, so its requests need that many times the prompts.
    let per_request = if config.endpoints.iter().any(|e| e.protocol.is_embeddings()) {
        u64::from(config.workload.embed_batch.max(1))
    } else {
        1
    };
    let needed = load.requests.map(|n| {
        n.saturating_add(u64::from(load.warmup_requests))
            .saturating_mul(per_request)
    });
    let machine = capacity::Machine::now();
    // Before any prompt is made: synthetic ones are known by their spec, a file by its size.
    let (made, kept) = workload::planned_size(&config.workload, &base_dir, needed);
    capacity::Demand::of(&config, made, kept, replay).fits(&machine)?;
    // A trace's rows due after the race's duration (in the trace's time) are never sent.
    let until = load
        .trace_speed
        .zip(load.duration)
        .map(|(speed, duration)| duration.mul_f64(speed));
    let workload = {
        let workload = config.workload.clone();
        let stop = Arc::clone(&stop);
        tokio::task::spawn_blocking(move || {
            let loading = workload::Loading {
                needed,
                stop: &stop,
                until,
            };
            workload::load_needed(&workload, &base_dir, loading)
        })
        .await
        .map_err(|e| RaceError::StartUpFailed {
            what: "loading the prompts",
            why: super::pipeline::panic_message(e),
        })??
    };
    // Kept prompts are measured, before a request body is built for each on every endpoint;
    // the others are gone.
    let kept = crate::workload::PromptsSize {
        count: workload.prompts.len() as u64,
        bytes: workload
            .prompts
            .iter()
            .flat_map(|p| &p.messages)
            // Images count as the base64 each request body carries.
            .map(|m| {
                m.content.len() as u64
                    + m.images
                        .iter()
                        .map(crate::protocol::Image::encoded_len)
                        .sum::<u64>()
            })
            .sum(),
    };
    capacity::Demand::of(&config, kept, kept, replay).fits(&machine)?;
    let mut field = resolve_endpoints(&config, &workload.prompts, start_at).await?;
    let mut workers = engine::workers(&field.targets, &config.timeouts).map_err(RaceError::Tls)?;
    // Before anything is sent: a race that cannot keep its results is not worth running.
    record::disk::check_folder(&dir, record::disk::MIN_FREE_BYTES)?;
    // The race can start: what it is, told before the connections are warmed.
    tell.tell(Telling::Ready);
    let mut notices = workload.notes;
    notices.extend(super::sharding::start_notices(&config, start_at));
    if config.load.warm_connections {
        let names: Vec<&str> = config.endpoints.iter().map(|e| e.name.as_str()).collect();
        let connections = if workers.len() == 1 {
            "connection"
        } else {
            "connections"
        };
        let doing = format!(
            "Warming {} {connections} to {} (up to {} s)…",
            workers.len(),
            names.join(", "),
            engine::warming_limit(&config.timeouts).as_secs_f64()
        );
        let warming = engine::warm_connections(&mut workers, &config.timeouts);
        tokio::pin!(warming);
        // Most warm at once; a slow one is told, so start-up is not a silent wait.
        let problems = tokio::select! {
            problems = &mut warming => problems,
            () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {
                tell.tell(Telling::Warming(&doing));
                warming.await
            }
        };
        for problem in problems {
            notices.push(format!(
                "{}: could not open a connection before the start: {}",
                problem.endpoint, problem.message
            ));
        }
    }
    // What the warmed connections speak: over https, the server chose.
    for (id, version) in engine::http_versions(&workers) {
        if let Some(info) = field.info.get_mut(usize::from(id.0)) {
            info.http_version = Some(version.to_string());
        }
    }
    Ok(Prepared {
        prompts: workload.prompts,
        notices,
        field,
        workers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_signal_waits_for_the_task_to_reach_its_next_await() {
        let (entered, has_entered) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (returned, has_returned) = std::sync::mpsc::channel::<()>();
        // The task is let go once `until_signal` has returned, or a while after it should have:
        // a call that does not wait for the task sees it unfinished every time.
        std::thread::spawn(move || {
            let _ = has_returned.recv_timeout(std::time::Duration::from_millis(200));
            let _ = release.send(());
        });
        let done = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let done = Arc::clone(&done);
            async move {
                let _ = entered.send(());
                // Holds its worker without an await, as writing a file does.
                let _ = released.recv();
                done.store(true, Ordering::Relaxed);
                Ok::<(), RaceError>(())
            }
        });
        let signal = async move {
            let _ = tokio::task::spawn_blocking(move || has_entered.recv()).await;
            signals::Signal::Terminate
        };
        let stop = AtomicBool::new(false);
        let ended = until_signal(task, signal, &stop, "a test").await;
        let finished = done.load(Ordering::Relaxed);
        let _ = returned.send(());
        assert!(matches!(ended, Err(signals::Signal::Terminate)));
        assert!(stop.load(Ordering::Relaxed));
        assert!(finished, "returned before the task stopped");
    }
}
