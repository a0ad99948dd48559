//! The shards' events as one race: each shard's stream moved onto the shared wall clock (its
//! start less the earliest shard's start added to every time), its request and session ids
//! made unique across shards (`id × N + K`, so the shard is the id modulo N), and the streams
//! interleaved by time, each shard's own order kept. A shard whose replay was cut (killed)
//! has its requests still in flight closed as cancelled at its last event, so that every
//! request sent is accounted for and the merged replay plays to the same numbers.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::time::Duration;

use crate::config::Shard;
use crate::event::{EndpointId, EventKind, Offset, RaceEvent, RequestId};
use crate::record::replay::ReplayReader;
use crate::record::{ReplayEnd, ReplayHeader};

/// A shard's events as read: in file order, then how the file ended.
pub(crate) trait Source {
    fn header(&self) -> &ReplayHeader;
    fn next_event(&mut self) -> Option<RaceEvent>;
    /// The end line, once the events are read; `None` when the file stops before it.
    fn end(&self) -> Option<ReplayEnd>;
    /// What was wrong with the file, once the events are read.
    fn damage(&self) -> Option<String>;
}

impl<R: std::io::BufRead> Source for ReplayReader<R> {
    fn header(&self) -> &ReplayHeader {
        ReplayReader::header(self)
    }

    fn next_event(&mut self) -> Option<RaceEvent> {
        self.next()
    }

    fn end(&self) -> Option<ReplayEnd> {
        ReplayReader::end(self)
    }

    fn damage(&self) -> Option<String> {
        ReplayReader::damage(self).map(str::to_string)
    }
}

/// `id` of shard `shard` as the merged race numbers it; `None` past what a `u64` holds.
pub(crate) fn merged_id(id: u64, shard: Shard) -> Option<u64> {
    id.checked_mul(u64::from(shard.count))?
        .checked_add(u64::from(shard.index))
        // The server's id stays free.
        .filter(|&merged| merged != RequestId::SERVER.0)
}

/// An id that could not be made unique: the shard (by its place) and the id.
#[derive(Debug, PartialEq)]
pub(crate) struct TooHigh {
    pub lane: usize,
    pub id: u64,
}

/// How one shard's stream ended, once it has.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LaneEnd {
    pub shard: Shard,
    /// Its last moment on the merged clock: its end line's, or its last event's when cut.
    pub t: Offset,
    /// Stopped early (a signal), or cut (no end line).
    pub interrupted: bool,
    /// Cut without an end line: the requests it had in flight, closed as cancelled at `t`.
    pub cut_in_flight: Option<usize>,
    pub damage: Option<String>,
    /// When it started sending, on the merged clock: when its first measured (not warm-up)
    /// request left, less when its schedule had it leave (`lag_us` says how late it was: a
    /// shard's first request at a rate is due a share of the interval after the others').
    pub started_sending: Option<Offset>,
}

/// One shard's stream on the merged clock.
struct Lane<S> {
    shard: Shard,
    shift: Offset,
    source: S,
    /// Whether its server scrapes are kept (one shard's only: see [`Interleave::new`]).
    keeps_scrapes: bool,
    open: BTreeMap<RequestId, EndpointId>,
    last_t: Offset,
    started_sending: Option<Offset>,
    /// The cancellations closing a cut stream, handed out last.
    closing: Vec<RaceEvent>,
    end: Option<LaneEnd>,
}

impl<S: Source> Lane<S> {
    /// The next event, moved onto the merged clock and renumbered.
    fn next(&mut self, lane: usize) -> Option<Result<RaceEvent, TooHigh>> {
        if self.end.is_some() {
            return self.closing.pop().map(Ok);
        }
        loop {
            let Some(mut event) = self.source.next_event() else {
                self.ended();
                return self.closing.pop().map(Ok);
            };
            if matches!(event.kind, EventKind::ServerMetrics(_)) && !self.keeps_scrapes {
                continue;
            }
            if let Err(id) = self.renumber(&mut event) {
                return Some(Err(TooHigh { lane, id }));
            }
            match event.kind {
                EventKind::Sent { warmup, lag_us, .. } => {
                    self.open.insert(event.request, event.endpoint);
                    match lag_us {
                        // At a rate: the shard's zero and how late its first request was.
                        Some(lag) if !warmup => {
                            let late = self.shift.as_duration() + Duration::from_micros(lag);
                            self.started_sending
                                .get_or_insert(Offset::from_duration(late));
                        }
                        None if !warmup => {
                            let first = self.started_sending.get_or_insert(event.t);
                            *first = (*first).min(event.t);
                        }
                        _ => {}
                    }
                }
                EventKind::Finished { .. }
                | EventKind::Failed { .. }
                | EventKind::Cancelled { .. } => {
                    self.open.remove(&event.request);
                }
                _ => {}
            }
            self.last_t = self.last_t.max(event.t);
            return Some(Ok(event));
        }
    }

    /// `event` on the merged clock, its ids unique across shards; the id that could not be.
    fn renumber(&self, event: &mut RaceEvent) -> Result<(), u64> {
        let shift = |t: Offset| Offset(t.0.saturating_add(self.shift.0));
        let id = |id: u64| merged_id(id, self.shard).ok_or(id);
        event.t = shift(event.t);
        if event.request != RequestId::SERVER {
            event.request = RequestId(id(event.request.0)?);
        }
        match &mut event.kind {
            EventKind::Sent { retry, session, .. } => {
                if let Some(retry) = retry {
                    retry.of = RequestId(id(retry.of.0)?);
                }
                if let Some(session) = session {
                    *session = id(*session)?;
                }
            }
            EventKind::Content {
                after: Some(after), ..
            } => *after = shift(*after),
            _ => {}
        }
        Ok(())
    }

    /// Notes how the stream ended; a cut one gets its open requests closed.
    fn ended(&mut self) {
        let end = self.source.end();
        let t = match end {
            Some(end) => Offset(end.t.0.saturating_add(self.shift.0)),
            None => self.last_t,
        };
        let cut_in_flight = end.is_none().then_some(self.open.len());
        if end.is_none() {
            // Handed out by `pop`: last first, so they leave in request order.
            self.closing = std::mem::take(&mut self.open)
                .into_iter()
                .rev()
                .map(|(request, endpoint)| RaceEvent {
                    t,
                    endpoint,
                    request,
                    kind: EventKind::Cancelled { bytes: 0 },
                })
                .collect();
        }
        self.end = Some(LaneEnd {
            shard: self.shard,
            t,
            interrupted: end.is_none_or(|e| e.interrupted),
            cut_in_flight,
            damage: self.source.damage(),
            started_sending: self.started_sending,
        });
    }
}

/// The shards' streams interleaved on the merged clock: an iterator of the merged race's
/// events, then [`Interleave::ends`].
pub(crate) struct Interleave<S> {
    lanes: Vec<Lane<S>>,
    /// Each lane's next event, and the heap of their times to take the earliest.
    heads: Vec<Option<RaceEvent>>,
    order: BinaryHeap<Reverse<(Offset, usize)>>,
    failed: Option<TooHigh>,
}

impl<S: Source> Interleave<S> {
    /// `sources`: each shard, the time its stream starts at on the merged clock, and its
    /// events. Server scrapes are kept from the first shard only: every shard scrapes the same
    /// servers, and one scraper's series keeps each counter rising (two hosts' clocks, a few
    /// milliseconds apart, would interleave their readings out of order, and a counter read
    /// lower after higher is taken for a reset).
    pub(crate) fn new(sources: Vec<(Shard, Offset, S)>) -> Self {
        let lanes: Vec<Lane<S>> = sources
            .into_iter()
            .enumerate()
            .map(|(i, (shard, shift, source))| Lane {
                shard,
                shift,
                source,
                keeps_scrapes: i == 0,
                open: BTreeMap::new(),
                last_t: shift,
                started_sending: None,
                closing: Vec::new(),
                end: None,
            })
            .collect();
        let mut merged = Interleave {
            heads: vec![None; lanes.len()],
            lanes,
            order: BinaryHeap::new(),
            failed: None,
        };
        for lane in 0..merged.lanes.len() {
            merged.refill(lane);
        }
        merged
    }

    fn refill(&mut self, lane: usize) {
        match self.lanes[lane].next(lane) {
            Some(Ok(event)) => {
                self.order.push(Reverse((event.t, lane)));
                self.heads[lane] = Some(event);
            }
            Some(Err(too_high)) => self.failed = Some(too_high),
            None => {}
        }
    }

    /// How each shard's stream ended, in the order given, once every event has been taken;
    /// or the id that could not be made unique, if one stopped the merge.
    pub(crate) fn ends(self) -> Result<Vec<LaneEnd>, TooHigh> {
        if let Some(failed) = self.failed {
            return Err(failed);
        }
        Ok(self.lanes.into_iter().filter_map(|lane| lane.end).collect())
    }
}

impl<S: Source> Iterator for Interleave<S> {
    type Item = RaceEvent;

    fn next(&mut self) -> Option<RaceEvent> {
        if self.failed.is_some() {
            return None;
        }
        let Reverse((_, lane)) = self.order.pop()?;
        let event = self.heads[lane].take();
        self.refill(lane);
        event
    }
}
