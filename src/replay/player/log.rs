//! A replay's events held for playback in little memory: in blocks of binary records (replay
//! format 3's) compressed as the file is, so a 30-minute race of five million events takes the size of its file
//! rather than gigabytes, with the aggregator's state kept every so many blocks so that a seek
//! folds at most that many blocks, not the race from its start.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::sync::Arc;

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;

use crate::event::{EventKind, Offset, RaceEvent};
#[cfg(test)]
use crate::record::Replay;
use crate::record::replay::{ReplayReader, binary};
use crate::record::{ReplayEnd, ReplayHeader};
use crate::replay::fold::{Fold, aggregator_for};
use crate::stats::{Aggregator, Snapshot};

/// Events per block: decoding one costs a few milliseconds.
const BLOCK_EVENTS: usize = 4096;

/// Blocks between two kept aggregator states: a seek folds at most this many blocks
/// (about a quarter of a million events, well under a second).
const CHECKPOINT_BLOCKS: usize = 64;

/// The events of a replay, its header and how it ended; what the player needs and no more.
pub struct EventLog {
    pub header: ReplayHeader,
    pub end: Option<ReplayEnd>,
    pub damage: Option<String>,
    blocks: Vec<Vec<u8>>,
    block_events: usize,
    len: usize,
    last_t: Option<Offset>,
    checkpoints: Vec<Checkpoint>,
    marks: Arc<[Offset]>,
}

/// The aggregator after folding every event before `next`, all of them at or before
/// `folded_to`: playback may start from here at any position from `folded_to` on.
pub struct Checkpoint {
    pub next: usize,
    pub folded_to: Offset,
    pub aggregator: Aggregator,
}

impl EventLog {
    /// A log of a replay already in memory (tests and fixtures).
    #[cfg(test)]
    pub fn of(replay: &Replay) -> EventLog {
        EventLog::of_sized(replay, BLOCK_EVENTS, CHECKPOINT_BLOCKS)
    }

    /// [`EventLog::of`] in blocks of `block_events`, a state kept every `checkpoint_blocks`.
    #[cfg(test)]
    pub(crate) fn of_sized(
        replay: &Replay,
        block_events: usize,
        checkpoint_blocks: usize,
    ) -> EventLog {
        let mut builder = LogBuilder::sized(replay.header.clone(), block_events, checkpoint_blocks);
        let mut aggregator = aggregator_for(&replay.header);
        for event in &replay.events {
            builder.push(event, &aggregator);
            aggregator.apply(event);
        }
        builder.finish(replay.end, replay.damage.clone())
    }

    #[cfg(any(test, feature = "test-support"))]
    pub fn len(&self) -> usize {
        self.len
    }

    #[cfg(any(test, feature = "test-support"))]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The race time the replay covers: its end, or its last event when cut short.
    pub fn duration(&self) -> Offset {
        self.end
            .map(|e| e.t)
            .or(self.last_t)
            .unwrap_or(Offset::ZERO)
    }

    /// The race times at which measured requests failed, in order.
    pub fn marks(&self) -> Arc<[Offset]> {
        Arc::clone(&self.marks)
    }

    /// The latest kept state from which playback can reach `position`: the one that has
    /// folded the most events while none of them is later than `position`.
    pub fn checkpoint_for(&self, position: Offset) -> &Checkpoint {
        let later = self
            .checkpoints
            .partition_point(|c| c.folded_to <= position);
        // The first checkpoint, before any event, serves every position.
        &self.checkpoints[later.saturating_sub(1)]
    }

    /// The last kept state, for playing to the end.
    pub fn last_checkpoint(&self) -> &Checkpoint {
        self.checkpoints
            .last()
            .expect("a log starts with the state before any event")
    }

    /// The events of block `index`, decoded.
    fn block(&self, index: usize) -> Vec<RaceEvent> {
        // Whole, then decoded from the slice.
        let mut records = Vec::new();
        DeflateDecoder::new(&self.blocks[index][..])
            .read_to_end(&mut records)
            .expect("a block is the deflate stream it was written as");
        binary::events(&records)
    }
}

/// Reads a log's events in order, a decoded block at a time.
#[derive(Default)]
pub struct Cursor {
    block: Option<(usize, Vec<RaceEvent>)>,
}

impl Cursor {
    /// Event `index` of `log`, or `None` past its end.
    pub fn get<'a>(&'a mut self, log: &EventLog, index: usize) -> Option<&'a RaceEvent> {
        if index >= log.len {
            return None;
        }
        let block = index / log.block_events;
        if self.block.as_ref().is_none_or(|(held, _)| *held != block) {
            self.block = Some((block, log.block(block)));
        }
        self.block
            .as_ref()
            .and_then(|(_, events)| events.get(index % log.block_events))
    }
}

/// Builds an [`EventLog`] from events in file order, each handed with the aggregator as it
/// stood before that event.
pub struct LogBuilder {
    log: EventLog,
    block_events: usize,
    checkpoint_blocks: usize,
    /// The open block's records, compressed whole when it closes: the encoder is slow
    /// with many small writes.
    current: Vec<u8>,
    /// Encodes the open block's events, from its start: each block decodes on its own.
    encoder: binary::Encoder,
    in_block: usize,
    folded_to: Offset,
    warmups: HashSet<crate::event::RequestId>,
    marks: Vec<Offset>,
}

impl LogBuilder {
    pub fn new(header: ReplayHeader) -> LogBuilder {
        LogBuilder::sized(header, BLOCK_EVENTS, CHECKPOINT_BLOCKS)
    }

    /// With blocks of `block_events` events and a kept state every `checkpoint_blocks` blocks.
    pub fn sized(header: ReplayHeader, block_events: usize, checkpoint_blocks: usize) -> Self {
        let block_events = block_events.max(1);
        let aggregator = aggregator_for(&header);
        LogBuilder {
            log: EventLog {
                header,
                end: None,
                damage: None,
                blocks: Vec::new(),
                block_events,
                len: 0,
                last_t: None,
                checkpoints: vec![Checkpoint {
                    next: 0,
                    folded_to: Offset::ZERO,
                    aggregator,
                }],
                marks: Arc::from([]),
            },
            block_events,
            checkpoint_blocks: checkpoint_blocks.max(1),
            current: Vec::new(),
            encoder: binary::Encoder::default(),
            in_block: 0,
            folded_to: Offset::ZERO,
            warmups: HashSet::new(),
            marks: Vec::new(),
        }
    }

    /// Adds `event`; `before` is the aggregator with every earlier event folded in.
    pub fn push(&mut self, event: &RaceEvent, before: &Aggregator) {
        if self.in_block == self.block_events {
            self.close_block();
            if self.log.blocks.len().is_multiple_of(self.checkpoint_blocks) {
                self.log.checkpoints.push(Checkpoint {
                    next: self.log.len,
                    folded_to: self.folded_to,
                    aggregator: before.clone(),
                });
            }
        }
        self.encoder.event(event, &mut self.current);
        self.in_block += 1;
        self.log.len += 1;
        self.folded_to = self.folded_to.max(event.t);
        self.log.last_t = Some(event.t);
        // Warm-ups are kept out of the marks, as out of every statistic.
        match event.kind {
            EventKind::Sent { warmup: true, .. } => {
                self.warmups.insert(event.request);
            }
            EventKind::Failed { .. } if !self.warmups.contains(&event.request) => {
                self.marks.push(event.t);
            }
            _ => {}
        }
    }

    pub fn finish(mut self, end: Option<ReplayEnd>, damage: Option<String>) -> EventLog {
        if self.in_block > 0 {
            self.close_block();
        }
        self.marks.sort_unstable();
        self.log.marks = self.marks.into();
        self.log.end = end;
        self.log.damage = damage;
        self.log
    }

    fn close_block(&mut self) {
        // Fast: this runs while the replay loads; the ratio is near the file's level 6.
        let mut block = DeflateEncoder::new(Vec::new(), Compression::fast());
        block
            .write_all(&self.current)
            .expect("writing to memory cannot fail");
        let bytes = block.finish().expect("writing to memory cannot fail");
        self.log.blocks.push(bytes);
        self.current.clear();
        self.encoder = binary::Encoder::default();
        self.in_block = 0;
    }
}

/// Reads a replay for the dashboard: its events into a compact log to play back and seek in,
/// and, folded on the way, the final snapshot of the race (what [`fold_stream`](crate::replay::fold_stream) returns).
pub fn load_for_playback<R: std::io::BufRead + Send>(
    mut reader: ReplayReader<R>,
) -> (EventLog, Snapshot) {
    let mut fold = Fold::new(reader.header());
    let mut log = LogBuilder::new(reader.header().clone());
    reader.read_ahead(|event| {
        log.push(event, fold.aggregator());
        fold.apply(event, &mut |_| {});
    });
    let last = fold.finish(reader.end(), reader.duration(), |_| {});
    let (_, end, damage) = reader.into_parts();
    (log.finish(end, damage), last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::replay::fixture;
    use crate::replay::fold_replay;

    #[test]
    fn every_event_reads_back_in_order_across_blocks() {
        let replay = fixture::replay(2, 30);
        for block in [1, 5, 4096] {
            let log = EventLog::of_sized(&replay, block, 3);
            assert_eq!(log.len(), replay.events.len());
            assert_eq!(log.duration(), replay.duration());
            let mut cursor = Cursor::default();
            let read: Vec<RaceEvent> = (0..log.len())
                .map(|i| cursor.get(&log, i).cloned().unwrap())
                .collect();
            assert_eq!(read, replay.events, "blocks of {block}");
            assert!(cursor.get(&log, log.len()).is_none());
            // Back to the start after the end: the first block again.
            assert_eq!(cursor.get(&log, 0), replay.events.first());
        }
    }

    #[test]
    fn a_kept_state_is_the_fold_of_every_event_before_it() {
        let replay = fixture::replay(2, 30);
        let log = EventLog::of_sized(&replay, 4, 2);
        assert!(log.checkpoints.len() > 3, "{}", log.checkpoints.len());
        for kept in &log.checkpoints {
            let mut fresh = aggregator_for(&replay.header);
            for event in &replay.events[..kept.next] {
                fresh.apply(event);
            }
            let t = kept.folded_to;
            assert_eq!(
                kept.aggregator.clone().snapshot(t, false),
                fresh.snapshot(t, false)
            );
        }
        for event in &replay.events {
            let kept = log.checkpoint_for(event.t);
            assert!(kept.folded_to <= event.t);
            // None later would do: the next one has folded past the position.
            let index = log
                .checkpoints
                .iter()
                .position(|c| c.next == kept.next)
                .unwrap();
            if let Some(next) = log.checkpoints.get(index + 1) {
                assert!(next.folded_to > event.t);
            }
        }
        assert_eq!(log.checkpoint_for(Offset::ZERO).next, 0);
    }

    #[test]
    #[expect(
        clippy::float_cmp,
        reason = "the share read is exactly 1.0 once every byte was read"
    )]
    fn a_replay_loaded_for_the_dashboard_holds_every_event_and_the_final_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let replay = fixture::replay(4, 400);
        for cut_after in [None, Some(replay.events.len() / 2 + 1)] {
            let dir = dir.path().join(format!("{cut_after:?}"));
            std::fs::create_dir(&dir).unwrap();
            fixture::write_file(&dir, &replay, cut_after);
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
            let mut cursor = Cursor::default();
            let read: Vec<RaceEvent> = (0..log.len())
                .map(|i| cursor.get(&log, i).cloned().unwrap())
                .collect();
            assert_eq!(read, held.events, "{cut_after:?}");
        }
    }
}
