//! The aggregator: the only owner of statistics. It folds race events into per-request records
//! and per-endpoint statistics, and builds immutable [`Snapshot`]s for the views. Live races and
//! replays feed it the same events, so both give the same numbers.

pub mod distribution;
pub mod endpoint;
pub mod request;
pub mod snapshot;
pub mod window;

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::config::Slo;
use crate::event::{EventKind, Offset, RaceEvent, RequestId};
use endpoint::EndpointStats;
pub use request::{Outcome, RequestRecord, RequestTrace};
pub use snapshot::{EndpointSnapshot, Snapshot};

pub struct Aggregator {
    endpoints: Vec<EndpointStats>,
    in_flight: HashMap<RequestId, RequestTrace>,
    slo: Slo,
    wall_start: DateTime<Utc>,
    last_t: Offset,
    changed: bool,
}

impl Aggregator {
    /// One entry per endpoint, in `EndpointId` order.
    /// `wall_start` is the race's UTC start, from which each request's `request_time` follows.
    pub fn new(endpoint_names: &[String], slo: Slo, wall_start: DateTime<Utc>) -> Self {
        Aggregator {
            endpoints: endpoint_names
                .iter()
                .map(|n| EndpointStats::new(n))
                .collect(),
            in_flight: HashMap::new(),
            slo,
            wall_start,
            last_t: Offset::ZERO,
            changed: true,
        }
    }

    /// Folds one event in. Returns the request's record when the event ended the request.
    /// Events for unknown endpoints or requests (a damaged stream) are ignored.
    pub fn apply(&mut self, event: &RaceEvent) -> Option<RequestRecord> {
        self.last_t = self.last_t.max(event.t);
        self.changed = true;
        let index = usize::from(event.endpoint.0);
        let stats = self.endpoints.get_mut(index)?;
        match &event.kind {
            EventKind::Sent {
                prompt,
                bytes,
                warmup,
            } => {
                stats.on_sent(event.t, *warmup);
                self.in_flight.insert(
                    event.request,
                    RequestTrace::new(
                        event.request,
                        event.endpoint,
                        *prompt,
                        *warmup,
                        event.t,
                        *bytes,
                    ),
                );
                None
            }
            EventKind::Finished { .. } | EventKind::Failed { .. } | EventKind::Cancelled { .. } => {
                let trace = self.in_flight.remove(&event.request)?;
                let record = trace.finish(event.t, &event.kind, stats.name(), self.wall_start)?;
                stats.on_finished(event.t, &record, &self.slo);
                Some(record)
            }
            kind => {
                let trace = self.in_flight.get_mut(&event.request)?;
                if let EventKind::Content { chunks, .. } = kind
                    && !trace.is_warmup()
                {
                    stats.on_content(event.t, *chunks);
                }
                trace.apply(event.t, kind);
                None
            }
        }
    }

    /// Whether anything arrived since the last snapshot.
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// The race as of `now` (at least the last event's time).
    pub fn snapshot(&mut self, now: Offset, finished: bool) -> Snapshot {
        self.changed = false;
        let t = now.max(self.last_t);
        Snapshot {
            t,
            finished,
            endpoints: self.endpoints.iter().map(|e| e.snapshot(t)).collect(),
        }
    }
}
