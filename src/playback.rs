//! Recorded races wired to the same parts as live ones: a replay folded through the
//! aggregator into result files (`llmrace report`), or played on a virtual clock into the
//! dashboard (`llmrace replay`). The live race's wiring is in `race.rs`; this is its other half.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use crate::race::RaceError;
use crate::record::replay::ReplayReader;
use crate::record::{ResultsWriter, Summary};
use crate::report::run::{Records, Run};
use crate::stats::Snapshot;
use crate::{event, player, record, stats, tui, workload};

/// Folds a replay's events through the aggregator, as fast as possible, handing each finished
/// request to `on_request`. Returns the final snapshot: exactly the live race's.
///
/// A replay cut short (the race crashed or was killed) has requests that were sent and never
/// ended: they are counted as cancelled at the replay's last moment, so that every request
/// sent is accounted for (sent = succeeded + failed + cancelled) in what is rebuilt from it.
pub fn fold_replay(
    replay: &record::Replay,
    mut on_request: impl FnMut(&stats::RequestRecord),
) -> Snapshot {
    let mut fold = Fold::new(&replay.header);
    for event in &replay.events {
        fold.apply(event, &mut on_request);
    }
    fold.finish(replay.end, replay.duration(), on_request)
}

/// [`fold_replay`] on a replay read as it is folded: memory stays flat however long the race
/// was. The reader is left at its end, holding how the file ended and its damage.
pub fn fold_stream<R: std::io::BufRead + Send>(
    reader: &mut ReplayReader<R>,
    mut on_request: impl FnMut(&stats::RequestRecord),
) -> Snapshot {
    let mut fold = Fold::new(reader.header());
    reader.read_ahead(|event, _| fold.apply(event, &mut on_request));
    fold.finish(reader.end(), reader.duration(), on_request)
}

/// The aggregator over a replay's events, with the requests still open so that a cut replay
/// can close them.
struct Fold {
    aggregator: stats::Aggregator,
    open: BTreeMap<event::RequestId, event::EndpointId>,
}

impl Fold {
    fn new(header: &record::ReplayHeader) -> Fold {
        Fold {
            aggregator: player::aggregator_for(header),
            open: BTreeMap::new(),
        }
    }

    fn apply(
        &mut self,
        event: &event::RaceEvent,
        on_request: &mut impl FnMut(&stats::RequestRecord),
    ) {
        match event.kind {
            event::EventKind::Sent { .. } => {
                self.open.insert(event.request, event.endpoint);
            }
            event::EventKind::Finished { .. }
            | event::EventKind::Failed { .. }
            | event::EventKind::Cancelled { .. } => {
                self.open.remove(&event.request);
            }
            _ => {}
        }
        if let Some(record) = self.aggregator.apply(event) {
            on_request(&record);
        }
    }

    fn finish(
        mut self,
        end: Option<record::ReplayEnd>,
        duration: event::Offset,
        mut on_request: impl FnMut(&stats::RequestRecord),
    ) -> Snapshot {
        if end.is_none() {
            for (request, endpoint) in std::mem::take(&mut self.open) {
                let cut = event::RaceEvent {
                    t: duration,
                    endpoint,
                    request,
                    kind: event::EventKind::Cancelled { bytes: 0 },
                };
                if let Some(record) = self.aggregator.apply(&cut) {
                    on_request(&record);
                }
            }
        }
        self.aggregator.snapshot(duration, true)
    }
}

/// Regenerates a race's result files (summary.json, requests.jsonl, requests.csv, run.json)
/// in `dir` from its replay.
pub fn report(replay: &record::Replay, dir: &Path) -> Result<(PathBuf, Summary), RaceError> {
    let run = crate::report::run::from_replay(replay);
    let mut results = ResultsWriter::create(dir)?;
    for request in &run.requests {
        results.write(request)?;
    }
    finish_results(results, &run)
}

/// [`report`] from a replay file (or a folder holding one) that `reader` opened, read as a
/// stream: each request record goes to disk as it is folded, so nothing grows with the race's
/// length. Returns the run as the files describe it, with its request records if asked; what
/// is wrong with the replay, if anything, is among its notices.
pub fn report_file(
    reader: ReplayReader,
    dir: &Path,
    records: Records,
) -> Result<(PathBuf, Run), RaceError> {
    let mut results = ResultsWriter::create(dir)?;
    let mut failed = None;
    let run = crate::report::run::fold_file(reader, records, |request| {
        if failed.is_none() {
            failed = results.write(request).err();
        }
    });
    if let Some(failure) = failed {
        return Err(failure.into());
    }
    let (dir, _) = finish_results(results, &run)?;
    Ok((dir, run))
}

fn finish_results(results: ResultsWriter, run: &Run) -> Result<(PathBuf, Summary), RaceError> {
    let finished = results.finish(&run.info, &run.summary);
    if let Some(failure) = finished.failures.into_iter().next() {
        return Err(failure.into());
    }
    Ok((finished.dir, run.summary.clone()))
}

/// Reads a replay for the dashboard: its events into a compact log to play back and seek in,
/// and, folded on the way, the final snapshot of the race (what [`fold_stream`] returns).
pub fn load_for_playback<R: std::io::BufRead + Send>(
    mut reader: ReplayReader<R>,
) -> (player::EventLog, Snapshot) {
    let mut fold = Fold::new(reader.header());
    let mut log = player::LogBuilder::new(reader.header().clone());
    reader.read_ahead(|event, line| {
        log.push(event, line, &fold.aggregator);
        fold.apply(event, &mut |_| {});
    });
    let last = fold.finish(reader.end(), reader.duration(), |_| {});
    let (_, end, damage) = reader.into_parts();
    (log.finish(end, damage), last)
}

/// Plays a replay back in the dashboard: the same aggregator and views as the live race, on a
/// virtual clock the user steers (pause, speed, seek, step). Returns when the user quits, with
/// the signal that made it quit if one did (its exit code is 128 + its number).
pub async fn play(
    log: player::EventLog,
    theme: tui::Theme,
    speed: player::Speed,
) -> Result<Option<crate::signals::Signal>, RaceError> {
    let info = replay_info(&log);
    let mut player = player::Player::new(log, speed);
    // The first frame shows the replay's start, not an empty board.
    let (snapshots_tx, snapshots_rx) = watch::channel(Arc::new(player.snapshot()));
    let (playback_tx, playback_rx) = mpsc::unbounded_channel();
    let playback = tokio::spawn(player::play(player, snapshots_tx, playback_rx));
    let (commands_tx, mut commands_rx) = mpsc::unbounded_channel();
    let forward = tokio::spawn(async move {
        while let Some(command) = commands_rx.recv().await {
            match command {
                tui::app::RaceCommand::Playback(command) => {
                    if playback_tx.send(command).is_err() {
                        break;
                    }
                }
                // A replay has no sending to pause or stop: quitting just leaves.
                tui::app::RaceCommand::Pause(_)
                | tui::app::RaceCommand::Stop
                | tui::app::RaceCommand::Interrupt
                | tui::app::RaceCommand::TerminalClosed => {}
            }
        }
    });
    // A signal (the terminal's Ctrl-C reaches the dashboard as a key) leaves the replay too.
    let exit = tokio_util::sync::CancellationToken::new();
    let mut shutdown = crate::signals::Shutdown::listen();
    let signals = tokio::spawn({
        let exit = exit.clone();
        async move {
            let signal = shutdown.recv().await;
            exit.cancel();
            signal
        }
    });
    let feeds = tui::app::Feeds::snapshots(snapshots_rx);
    let shown = tui::app::run(info, theme, feeds, commands_tx, exit).await;
    // Aborting a listener that already returned keeps what it returned.
    signals.abort();
    let signal = signals.await.ok();
    // The dashboard dropped its command sender: forwarding ends, and with it playback.
    let _ = forward.await;
    let _ = playback.await;
    shown.map_err(|e| RaceError::Dashboard(e.to_string()))?;
    Ok(signal)
}

/// The recorded race as the dashboard describes it, with what is wrong with the file told.
fn replay_info(replay: &player::EventLog) -> tui::RaceInfo {
    let header = &replay.header;
    let race = &header.race;
    let lanes = header
        .endpoints
        .iter()
        .map(|e| tui::LaneInfo {
            name: e.name.clone(),
            model: e.model.clone(),
            protocol: e.protocol.clone(),
            color: race
                .endpoints
                .iter()
                .find(|c| c.name == e.name)
                .and_then(|c| c.color.clone()),
            price: race
                .endpoints
                .iter()
                .find(|c| c.name == e.name)
                .and_then(|c| c.price),
            simulated: e.simulated,
            concurrency: e.concurrency,
        })
        .collect();
    let prompts: Vec<workload::Prompt> = header
        .prompts
        .iter()
        .enumerate()
        .map(|(i, messages)| workload::Prompt {
            id: event::PromptId(u32::try_from(i).unwrap_or(u32::MAX)),
            messages: messages.clone(),
            max_tokens: None,
        })
        .collect();
    let mut notices = Vec::new();
    if replay.end.is_some_and(|end| end.interrupted) {
        notices.push("the race was stopped early: the replay ends where it stopped".to_string());
    }
    if let Some(damage) = &replay.damage {
        notices.push(record::replay::damage::notice(damage));
    }
    tui::RaceInfo {
        name: header.name.clone(),
        lanes,
        requests: race.load.requests,
        duration: race.load.duration,
        load: format!(
            "closed loop, {} in flight per endpoint",
            race.load.concurrency
        ),
        prompts: prompts.into(),
        replay: true,
        notices,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_replay_is_described_from_its_header_with_its_damage_told() {
        let mut replay = player::fixture::replay(3, 10);
        replay.header.prompts = vec![Vec::new(), Vec::new()];
        // The race as run names endpoint 0 differently: no colour is guessed for it.
        replay.header.race.endpoints[0].name = "elsewhere".to_string();
        replay.damage = Some("the file ends in the middle of line 7".to_string());
        let info = replay_info(&player::EventLog::of(&replay));
        assert!(info.replay);
        let names: Vec<&str> = info.lanes.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["turbo", "steady", "thinker"]);
        // Colours come from the race as run, matched by name.
        assert_eq!(info.lanes[1].color.as_deref(), Some("green"));
        assert_eq!(info.lanes[0].color, None);
        assert_eq!(info.prompts[1].id, event::PromptId(1));
        assert_eq!(info.notices.len(), 1);
        assert!(info.notices[0].contains("line 7"), "{:?}", info.notices);
    }

    #[test]
    fn a_cut_replay_counts_what_was_in_flight_as_cancelled() {
        let mut replay = player::fixture::replay(3, 40);
        let half = replay.events.len() / 2;
        replay.events.truncate(half);
        replay.end = None;
        let mut records = 0u64;
        let last = fold_replay(&replay, |_| records += 1);
        let mut cancelled = 0;
        for e in &last.endpoints {
            let c = e.counts;
            assert_eq!(c.sent, c.succeeded + c.failed + c.cancelled, "{}", e.name);
            cancelled += c.cancelled;
        }
        assert!(cancelled > 0, "the fixture has requests in flight half-way");
        // Warm-up requests have records too, kept out of the counts.
        let sent: u64 = last
            .endpoints
            .iter()
            .map(|e| e.counts.sent + e.counts.warmup)
            .sum();
        assert_eq!(records, sent, "a record for every request sent");
    }

    #[test]
    fn a_replay_folded_as_a_stream_gives_what_folding_it_whole_gives() {
        let dir = tempfile::tempdir().unwrap();
        let replay = player::fixture::replay(3, 40);
        player::fixture::write_file(dir.path(), &replay, None);
        let (mut whole, mut streamed) = (Vec::new(), Vec::new());
        let folded = fold_replay(&replay, |r| whole.push(r.clone()));
        let mut reader = ReplayReader::open(dir.path()).unwrap();
        assert_eq!(
            fold_stream(&mut reader, |r| streamed.push(r.clone())),
            folded
        );
        assert_eq!(streamed, whole);

        // Written as a stream too, the result files are those of the replay held whole.
        let (from_stream, from_memory) = (dir.path().join("a"), dir.path().join("b"));
        let open = || ReplayReader::open(dir.path()).unwrap();
        let (_, run) = report_file(open(), &from_stream, Records::Skip).unwrap();
        // No damage to tell; only what the fixture's reads say about its times.
        let reads = crate::record::run_info::read_notices(&run.summary.endpoints, None);
        assert_eq!(run.info.notices, reads);
        assert!(run.requests.is_empty());
        let summary = run.summary;
        // Kept, the records are those the files hold.
        let kept = dir.path().join("kept");
        let (_, run) = report_file(open(), &kept, Records::Keep).unwrap();
        assert_eq!(run.requests, whole);
        assert_eq!(run.summary, summary);
        let (_, held) = report(&replay, &from_memory).unwrap();
        assert_eq!(summary, held);
        for name in ["requests.jsonl", "requests.csv", "summary.json"] {
            let read = |d: &Path| std::fs::read(d.join(name)).unwrap();
            assert_eq!(read(&from_stream), read(&from_memory), "{name}");
        }
    }

    #[test]
    fn a_replay_loaded_for_the_dashboard_holds_every_event_and_the_final_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let replay = player::fixture::replay(4, 400);
        for cut_after in [None, Some(replay.events.len() / 2 + 1)] {
            let dir = dir.path().join(format!("{cut_after:?}"));
            std::fs::create_dir(&dir).unwrap();
            player::fixture::write_file(&dir, &replay, cut_after);
            let mut held = replay.clone();
            if let Some(kept) = cut_after {
                held.events.truncate(kept);
                held.end = None;
            }
            let reader = ReplayReader::open(&dir).unwrap();
            let progress = reader.progress().unwrap();
            let (log, last) = load_for_playback(reader);
            assert_eq!(progress.fraction(), 1.0);
            assert_eq!(last, fold_replay(&held, |_| {}), "{cut_after:?}");
            assert_eq!(log.end, held.end);
            assert_eq!(
                log.damage.is_some(),
                cut_after.is_some(),
                "{:?}",
                log.damage
            );
            let mut cursor = player::log::Cursor::default();
            let read: Vec<event::RaceEvent> = (0..log.len())
                .map(|i| cursor.get(&log, i).cloned().unwrap())
                .collect();
            assert_eq!(read, held.events, "{cut_after:?}");
        }
    }

    #[test]
    fn playing_to_the_end_gives_what_folding_the_replay_gives() {
        let replay = player::fixture::replay(4, 100);
        let folded = fold_replay(&replay, |_| {});
        let mut played = player::Player::new(player::EventLog::of(&replay), player::Speed::MAX);
        played.advance(Duration::ZERO);
        let mut end = played.snapshot();
        end.playback = None;
        assert_eq!(end, folded);
    }
}
