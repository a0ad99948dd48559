//! Everything a race does before its first request — checking what it asks of the machine,
//! making its prompts, resolving its endpoints, checking its results folder, warming its
//! connections — run so that a signal stops it at once. Before the start nothing has been sent
//! and there is nothing to save, so the race ends there.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::RaceConfig;
use crate::{Field, RaceError, RaceOptions, capacity, engine, record, signals, workload};

/// A race ready to start: nothing sent yet, no result file written yet.
pub(crate) struct Started {
    pub prompts: Vec<workload::Prompt>,
    /// What the user should hear before the start (prompts left out, endpoints not reached).
    pub notices: Vec<String>,
    pub field: Field,
    pub workers: Vec<engine::Worker>,
    /// The results folder, checked: it exists, takes a file, and its disk has room.
    pub dir: PathBuf,
}

/// Prepares the race in a task of its own while listening to `shutdown`: a signal ends the
/// preparation where it is (a connection warming towards a server that never answers,
/// thousands of prompts being made) and the race with [`RaceError::StoppedBeforeStart`].
pub(crate) async fn start(
    config: &RaceConfig,
    base_dir: &Path,
    options: &RaceOptions,
    shutdown: &mut signals::Shutdown,
) -> Result<Started, RaceError> {
    let dir = match &options.out {
        Some(dir) => dir.clone(),
        None => {
            let parent = record::default_runs_dir().ok_or(RaceError::NoDataDir)?;
            record::race_folder(&parent, &config.name, chrono::Utc::now())
        }
    };
    let existed = dir.exists();
    let stop = Arc::new(AtomicBool::new(false));
    let mut task = tokio::spawn(prepare(
        config.clone(),
        base_dir.to_path_buf(),
        dir.clone(),
        options.replay,
        Arc::clone(&stop),
    ));
    tokio::select! {
        joined = &mut task => joined.map_err(|e| RaceError::Init(format!(
            "preparing the race failed: {}",
            crate::live::panic_message(e)
        )))?,
        signal = shutdown.recv() => {
            // Making prompts stops at its next one; the rest of the task at its next await.
            stop.store(true, Ordering::Relaxed);
            task.abort();
            if !existed {
                // Only if still empty: a folder the race made and nothing was written into.
                let _ = std::fs::remove_dir(&dir);
            }
            Err(RaceError::StoppedBeforeStart(signal))
        }
    }
}

async fn prepare(
    config: RaceConfig,
    base_dir: PathBuf,
    dir: PathBuf,
    replay: bool,
    stop: Arc<AtomicBool>,
) -> Result<Started, RaceError> {
    let load = &config.load;
    // The race sends at most this many prompts per endpoint when it counts its requests.
    let needed = load
        .requests
        .map(|n| n.saturating_add(u64::from(load.warmup_requests)));
    let open_files = capacity::open_file_limit();
    let memory = capacity::available_memory();
    // Before any prompt is made: synthetic ones are known by their spec.
    let (planned, planned_bytes) =
        workload::planned_size(&config.workload, needed).unwrap_or_default();
    capacity::Demand::of(&config, planned, planned_bytes, replay).check(open_files, memory)?;
    let workload = {
        let workload = config.workload.clone();
        let stop = Arc::clone(&stop);
        tokio::task::spawn_blocking(move || {
            let loading = workload::Loading {
                needed,
                stop: &stop,
            };
            workload::load_needed(&workload, &base_dir, loading)
        })
        .await
        .map_err(|e| {
            RaceError::Init(format!(
                "loading the prompts failed: {}",
                crate::live::panic_message(e)
            ))
        })??
    };
    // Read prompts are measured, before a request body is built for each on every endpoint.
    let bytes: usize = workload
        .prompts
        .iter()
        .flat_map(|p| &p.messages)
        .map(|m| m.content.len())
        .sum();
    capacity::Demand::of(&config, workload.prompts.len() as u64, bytes as u64, replay)
        .check(open_files, memory)?;
    let field = crate::resolve_endpoints(&config, &workload.prompts).await?;
    let mut workers = engine::workers(&field.targets, &config.timeouts).map_err(RaceError::Tls)?;
    // Before anything is sent: a race that cannot keep its results is not worth running.
    record::disk::check_folder(&dir, record::disk::MIN_FREE_BYTES)?;
    let mut notices = workload.notes;
    if config.load.warm_connections {
        for problem in engine::warm_connections(&mut workers, &config.timeouts).await {
            notices.push(format!(
                "{}: could not open a connection before the start: {}",
                problem.endpoint, problem.message
            ));
        }
    }
    Ok(Started {
        prompts: workload.prompts,
        notices,
        field,
        workers,
        dir,
    })
}
