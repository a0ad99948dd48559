//! A replay's events folded through the aggregator, the same one a live race feeds: whole
//! ([`fold_replay`]), as the file is read ([`fold_stream`]), or while the player's event log is
//! built ([`load_for_playback`]). A replay cut short closes what was in flight, so that every
//! request sent is accounted for.

use std::collections::BTreeMap;

use crate::event::{EndpointId, EventKind, Offset, RaceEvent, RequestId};
use crate::record::replay::ReplayReader;
use crate::record::{Replay, ReplayEnd, ReplayHeader};
use crate::stats::{Aggregator, RequestRecord, Snapshot};

/// Folds a replay's events through the aggregator, as fast as possible, handing each finished
/// request to `on_request`. Returns the final snapshot: exactly the live race's.
///
/// A replay cut short (the race crashed or was killed) has requests that were sent and never
/// ended: they are counted as cancelled at the replay's last moment, so that every request
/// sent is accounted for (sent = succeeded + failed + cancelled) in what is rebuilt from it.
pub fn fold_replay(replay: &Replay, mut on_request: impl FnMut(&RequestRecord)) -> Snapshot {
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
    on_request: impl FnMut(&RequestRecord),
) -> Snapshot {
    fold_stream_seeing(reader, on_request, |_| {})
}

/// [`fold_stream`], each event also handed to `on_event` (for files written from events).
pub(crate) fn fold_stream_seeing<R: std::io::BufRead + Send>(
    reader: &mut ReplayReader<R>,
    mut on_request: impl FnMut(&RequestRecord),
    mut on_event: impl FnMut(&RaceEvent),
) -> Snapshot {
    let mut fold = Fold::new(reader.header());
    reader.read_ahead(|event| {
        on_event(event);
        fold.apply(event, &mut on_request);
    });
    fold.finish(reader.end(), reader.duration(), on_request)
}

/// The aggregator over a replay's events, with the requests still open so that a cut replay
/// can close them.
pub(crate) struct Fold {
    aggregator: Aggregator,
    open: BTreeMap<RequestId, EndpointId>,
    /// A merged race's shard count: each record then names its shard (`llmrace merge`).
    shards: Option<u32>,
}

impl Fold {
    pub(crate) fn new(header: &ReplayHeader) -> Fold {
        Fold {
            aggregator: aggregator_for(header),
            open: BTreeMap::new(),
            shards: header.shards.filter(|n| *n > 0),
        }
    }

    /// The aggregator as the events so far left it.
    pub(crate) fn aggregator(&self) -> &Aggregator {
        &self.aggregator
    }

    /// The race as of `t` while the replay is still being folded (`llmrace share` samples
    /// it at a fixed step).
    pub(crate) fn snapshot_at(&mut self, t: Offset) -> Snapshot {
        self.aggregator.snapshot(t, false)
    }

    pub(crate) fn apply(&mut self, event: &RaceEvent, on_request: &mut impl FnMut(&RequestRecord)) {
        match event.kind {
            EventKind::Sent { .. } => {
                self.open.insert(event.request, event.endpoint);
            }
            EventKind::Finished { .. } | EventKind::Failed { .. } | EventKind::Cancelled { .. } => {
                self.open.remove(&event.request);
            }
            _ => {}
        }
        if let Some(record) = self.aggregator.apply(event) {
            on_request(&self.named(record));
        }
    }

    /// `record` with its shard, in a merged race.
    fn named(&self, mut record: RequestRecord) -> RequestRecord {
        if let Some(count) = self.shards {
            record.shard = u32::try_from(record.request.0 % u64::from(count)).ok();
        }
        record
    }

    pub(crate) fn finish(
        mut self,
        end: Option<ReplayEnd>,
        duration: Offset,
        mut on_request: impl FnMut(&RequestRecord),
    ) -> Snapshot {
        if end.is_none() {
            for (request, endpoint) in std::mem::take(&mut self.open) {
                let cut = RaceEvent {
                    t: duration,
                    endpoint,
                    request,
                    kind: EventKind::Cancelled { bytes: 0 },
                };
                if let Some(record) = self.aggregator.apply(&cut) {
                    on_request(&self.named(record));
                }
            }
        }
        self.aggregator.snapshot(duration, true)
    }
}

/// An empty aggregator set up as the recorded race's was: its endpoints, SLOs and start.
pub fn aggregator_for(header: &ReplayHeader) -> Aggregator {
    let names: Vec<String> = header.endpoints.iter().map(|e| e.name.clone()).collect();
    Aggregator::new(&names, header.race.slo.clone(), header.started_at)
        .priced(&header.race)
        .knowing(header.prompts.iter().map(Vec::as_slice))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::replay::fixture;

    #[test]
    fn a_cut_replay_counts_what_was_in_flight_as_cancelled() {
        let mut replay = fixture::replay(3, 40);
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
}
