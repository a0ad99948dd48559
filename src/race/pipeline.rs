//! The tasks of a live race besides the engine: the pipeline folding events into statistics
//! and files (and noting how far behind it fell), the headless progress printer, and the
//! listener that turns signals into a stop. `race.rs` wires them together; `replay/` and
//! `replay_dashboard.rs` are the same for recorded races.

mod backlog;
mod turn;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::engine::Controls;
use crate::event::{Offset, RaceEvent};
use crate::record::Recorder;
use crate::stats::{Aggregator, Snapshot};
use crate::{clock, print, report, signals, tui};

use super::tell::{Teller, Telling};

pub(crate) use backlog::Backlog;

/// Who stopped the race early, if anyone.
#[derive(Default)]
pub(crate) struct Stops {
    /// The first signal that came (Ctrl-C in the dashboard counts as SIGINT).
    pub signal: std::sync::OnceLock<signals::Signal>,
    /// The user quit the dashboard before the race ended.
    pub by_user: AtomicBool,
}

/// Where the pipeline's work goes: the files, the views, and the engine if the pipeline fails.
pub(crate) struct Pipeline {
    pub recorder: Recorder,
    pub snapshots: watch::Sender<Arc<Snapshot>>,
    /// Every recording problem so far, for the views to tell at once.
    pub problems: watch::Sender<Vec<String>>,
    pub controls: Controls,
    /// Blanked out of error messages before anything records or shows them.
    pub secrets: crate::secret::Secrets,
    /// When the engine stopped, set before the scraper's last scrape: the race's end, which
    /// that scrape does not move.
    pub ended: Arc<std::sync::OnceLock<crate::event::Offset>>,
}

/// Stops the race if the pipeline task unwinds: without statistics the race would run on
/// unseen and unrecorded until its end.
struct StopOnPanic(Controls);

impl Drop for StopOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.interrupt();
        }
    }
}

/// Runs `task` on a thread of its own, not on the runtime's workers.
///
/// The workers' tasks read the sockets: a task that holds a worker for milliseconds (folding a
/// batch of events, compressing the replay, writing files, drawing to a slow terminal) leaves
/// the reads queued behind it waiting, even with another worker idle, and tokens that wait
/// are read together. The kernel preempts a thread of its own instead. Its timers and
/// channels still run on the runtime's drivers.
pub(crate) fn apart<F>(task: F) -> tokio::task::JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || runtime.block_on(task))
}

/// The most events the pipeline takes from the channel at once.
const BATCH: usize = 1024;

/// How long the pipeline waits after a drain that did not fill its batch before it looks again.
///
/// Waiting on the channel, the pipeline is woken by the first send: a futex wake paid by the
/// worker that reads the socket, and two context switches when they share a core. Events
/// arriving one read at a time (a real server streaming, each token its own segment) would pay
/// that for nearly every event. After a short wait the events of a few milliseconds are
/// taken at once, for one wake-up; the snapshot's 33 ms tick and the race's end are late by at
/// most this much, and a full batch is followed by the next at once. BENCHMARKS.md ("Pipeline
/// and replay") measures what it saved.
const GATHER: Duration = Duration::from_millis(2);

/// The aggregator's task: folds every event, streams finished request records to disk and
/// publishes a snapshot at most ~30 times a second when something changed, and once a second
/// in quiet spells (race time and live rates move on while every endpoint is thinking).
/// Ends with the largest backlog it drained.
///
/// The channel is unbounded on purpose: a worker that waited for room would delay its socket
/// reads, and one that dropped an event would lose a number. ARCHITECTURE.md says why it stays
/// small; BENCHMARKS.md how small it was.
pub(crate) async fn aggregate(
    mut aggregator: Aggregator,
    mut events: mpsc::UnboundedReceiver<RaceEvent>,
    pipeline: Pipeline,
    clock: clock::RaceClock,
) -> (Snapshot, Recorder, Backlog) {
    let Pipeline {
        mut recorder,
        snapshots,
        problems,
        controls,
        secrets,
        ended,
    } = pipeline;
    let _stop_on_panic = StopOnPanic(controls);
    let mut batch = Vec::with_capacity(BATCH);
    let mut tick = tokio::time::interval(Duration::from_millis(33));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut ticks = 0u32;
    let mut told = 0;
    let mut backlog = Backlog::default();
    let mut gather = false;
    // Under a real-time policy, a worker gives this thread its core when it is overdue.
    let turn = turn::arm(&clock);
    loop {
        if std::mem::take(&mut gather) {
            // Lets the next batch gather rather than being woken by every send.
            turn.sleeping_until(Offset::from_duration(clock.now().as_duration() + GATHER));
            tokio::time::sleep(GATHER).await;
        }
        tokio::select! {
            n = events.recv_many(&mut batch, BATCH) => {
                turn.running();
                if n == 0 {
                    break;
                }
                gather = n < BATCH;
                backlog.note(&batch, events.len(), clock.now());
                // Taken in place, not moved out one by one: an event is large (a `Content` is
                // most of it) and the recorder and the aggregator only read it.
                for event in &mut batch {
                    // Servers quote the key they refused; the message is the one place a
                    // server's words about the request reach the files.
                    if let crate::event::EventKind::Failed { message, .. } = &mut event.kind
                        && let Some(clean) = secrets.scrub(message)
                    {
                        *message = clean;
                    }
                    if let crate::event::EventKind::ServerMetrics(scrape) = &mut event.kind
                        && let Some(error) = &mut scrape.error
                        && let Some(clean) = secrets.scrub(&error.message)
                    {
                        error.message = clean;
                    }
                    recorder.event(event);
                    if let Some(record) = aggregator.apply(event) {
                        recorder.request(&record);
                    }
                }
                batch.clear();
            }
            _ = tick.tick() => {
                // Once a second even when nothing arrived: race time and live rates move on
                // while every endpoint is still thinking.
                if aggregator.changed() || ticks.is_multiple_of(30) {
                    let _ = snapshots.send(Arc::new(aggregator.snapshot(clock.now(), false)));
                }
                ticks = ticks.wrapping_add(1);
                if ticks.is_multiple_of(30) {
                    recorder.flush();
                }
            }
        }
        if recorder.problems().len() != told {
            told = recorder.problems().len();
            let _ = problems.send(recorder.problems().to_vec());
        }
    }
    let end = ended.get().copied().unwrap_or_else(|| clock.now());
    let last = aggregator.snapshot(end, true);
    let _ = snapshots.send(Arc::new(last.clone()));
    (last, recorder, backlog)
}

/// The text of a task's panic, for the error that replaces it.
pub(crate) fn panic_message(error: tokio::task::JoinError) -> String {
    match error.try_into_panic() {
        Ok(panic) => panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_string()),
        Err(e) => e.to_string(),
    }
}

/// Headless: a progress line to stderr every second (when `targets` is given) and every
/// recording problem the moment it happens. Ends with the race's last snapshot.
pub(crate) async fn print_progress(
    mut snapshots: watch::Receiver<Arc<Snapshot>>,
    mut problems: watch::Receiver<Vec<String>>,
    targets: Option<Vec<Option<u64>>>,
    label: Option<String>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tick.tick().await;
    let mut progress =
        targets.map(|targets| report::progress::Progress::new(targets).labelled(label));
    let mut told = 0;
    let mut problems_open = true;
    loop {
        tokio::select! {
            changed = problems.changed(), if problems_open => {
                problems_open = changed.is_ok();
                told = tell_problems(&problems.borrow_and_update(), told);
            }
            changed = snapshots.changed() => {
                if changed.is_err() || snapshots.borrow_and_update().finished {
                    break;
                }
            }
            _ = tick.tick(), if progress.is_some() => {
                let snapshot = Arc::clone(&snapshots.borrow());
                if let Some(block) = progress.as_mut().and_then(|p| p.block(&snapshot)) {
                    print::err(&block);
                }
            }
        }
    }
    tell_problems(&problems.borrow(), told);
}

/// Prints the problems after the first `told`; returns how many are told now.
fn tell_problems(problems: &[String], told: usize) -> usize {
    for problem in problems.iter().skip(told) {
        print::err(&format!("! {problem}"));
    }
    problems.len().max(told)
}

/// Stops the race at the first signal. Later signals cannot lose anything: the files are being
/// completed and the process ends as soon as they are, so they are only acknowledged (told).
pub(crate) async fn stop_on_signals(
    mut shutdown: signals::Shutdown,
    controls: Controls,
    stops: Arc<Stops>,
    exit: CancellationToken,
    tell: Teller,
) {
    let first = shutdown.recv().await;
    let _ = stops.signal.set(first);
    controls.interrupt();
    exit.cancel();
    loop {
        tell.tell(Telling::StillSaving(shutdown.recv().await));
    }
}

/// Carries out the dashboard's commands on the engine.
pub(crate) async fn obey(
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
            tui::app::RaceCommand::Interrupt => {
                let _ = stops.signal.set(signals::Signal::Interrupt);
                controls.interrupt();
            }
            tui::app::RaceCommand::TerminalClosed => {
                let _ = stops.signal.set(signals::Signal::Hangup);
                controls.interrupt();
            }
            tui::app::RaceCommand::Pause(paused) => controls.pause(paused),
            // Only replays are played back; a live race has no playback to steer.
            tui::app::RaceCommand::Playback(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pipeline_that_panics_stops_the_race() {
        let controls = Controls::default();
        let guard = StopOnPanic(controls.clone());
        let task = tokio::spawn(async move {
            let _guard = guard;
            panic!("a bug in the statistics");
        });
        let error = task.await.unwrap_err();
        assert!(
            controls.abort.is_cancelled(),
            "requests in flight are cancelled"
        );
        assert!(controls.stop_sending.is_cancelled(), "nothing more is sent");
        assert_eq!(panic_message(error), "a bug in the statistics");
    }

    /// On a runtime of one thread, a task spawned on it would hold the very thread that reads
    /// the sockets; apart, it runs elsewhere, and the runtime's timers still serve it.
    #[tokio::test]
    async fn a_task_apart_runs_off_the_runtimes_threads_with_its_timers() {
        let runtime_thread = std::thread::current().id();
        let task = apart(async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            std::thread::current().id()
        });
        assert_ne!(task.await.unwrap(), runtime_thread);
    }

    /// Between drains the pipeline lets events gather rather than being woken by each send:
    /// every event still reaches the statistics and the replay, in order, and the pipeline
    /// ends once the engine's senders are gone.
    #[tokio::test]
    async fn a_pipeline_that_gathers_its_batches_loses_nothing_and_ends_with_the_engine() {
        let dir = tempfile::tempdir().unwrap();
        let header = crate::record::ReplayHeader::new(
            crate::config::demo_race(),
            Vec::new(),
            Vec::new(),
            chrono::Utc::now(),
        );
        let recorder = Recorder::new(
            crate::record::ResultsWriter::create(dir.path()).unwrap(),
            Some(crate::record::ReplayWriter::create(dir.path(), &header).unwrap()),
        );
        let (snapshots, _seen) = watch::channel(Arc::new(crate::stats::fixture::race(2, 0)));
        let (problems, _told) = watch::channel(Vec::new());
        let pipeline = Pipeline {
            recorder,
            snapshots,
            problems,
            controls: Controls::default(),
            secrets: crate::secret::Secrets::default(),
            ended: Arc::new(std::sync::OnceLock::new()),
        };
        let (events, taken) = mpsc::unbounded_channel();
        let task = apart(aggregate(
            crate::stats::fixture::aggregator(2),
            taken,
            pipeline,
            clock::RaceClock::start(),
        ));
        let sent: Vec<RaceEvent> = crate::stats::fixture::events(2, 300).collect();
        // In a few sends with pauses between, so that some find the pipeline waiting.
        for part in sent.chunks(700) {
            for event in part {
                events.send(event.clone()).unwrap();
            }
            tokio::task::yield_now().await;
        }
        drop(events);
        let (last, recorder, backlog) = task.await.unwrap();
        assert!(last.finished);
        let expected = crate::stats::fixture::finished_race(2, 300);
        for (got, want) in last.endpoints.iter().zip(&expected.endpoints) {
            assert_eq!(got.counts, want.counts);
        }
        assert!(backlog.events_max >= 1);
        drop(recorder);
        let replay = crate::record::Replay::open(dir.path()).unwrap();
        assert_eq!(replay.events, sent, "every event, in the order sent");
    }

    #[test]
    fn a_pipeline_that_ends_normally_leaves_the_race_alone() {
        let controls = Controls::default();
        drop(StopOnPanic(controls.clone()));
        assert!(!controls.abort.is_cancelled());
    }

    #[test]
    fn problems_are_told_once_each() {
        let problems = vec!["a".to_string(), "b".to_string()];
        assert_eq!(tell_problems(&problems[..1], 0), 1);
        assert_eq!(tell_problems(&problems, 1), 2);
        assert_eq!(tell_problems(&problems, 2), 2);
    }
}
