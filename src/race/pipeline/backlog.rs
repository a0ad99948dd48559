//! How far the pipeline fell behind the engine during a live race: the most events that waited
//! at once in the channel between them, and how far behind the wire the statistics were (the
//! longest from content's arrival to the pipeline taking it). Looked at once per drain of the
//! channel, never per send, so the workers that read the sockets pay nothing for it.

use std::time::Duration;

use crate::event::{EventKind, Offset, RaceEvent};

/// The largest backlog seen so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Backlog {
    /// The most events waiting at once: a batch just taken plus what was still queued behind it.
    pub events_max: u64,
    /// The longest from content's arrival (its read's kernel stamp) to the drain that took it:
    /// how late it was read, decoded and sent on, and its wait in the channel, together.
    pub age_max: Duration,
}

impl Backlog {
    /// Notes a drain at `now` that took `batch` with `still_queued` events left behind it.
    ///
    /// Only content is aged: its time is when its bytes arrived, and it is sent on as soon as
    /// it is decoded. Other events carry times that are not their arrival (a request's send
    /// counts from before its connect; its end waits for a token count made aside).
    pub(crate) fn note(&mut self, batch: &[RaceEvent], still_queued: usize, now: Offset) {
        let waiting = u64::try_from(batch.len().saturating_add(still_queued)).unwrap_or(u64::MAX);
        self.events_max = self.events_max.max(waiting);
        let oldest = batch
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Content { .. }))
            .map(|e| e.t)
            .min();
        if let Some(oldest) = oldest {
            self.age_max = self.age_max.max(now.since(oldest));
        }
    }

    /// The longest wait in milliseconds, to the microsecond, as `run.json` keeps it.
    pub(crate) fn age_max_ms(&self) -> f64 {
        let us = u32::try_from(self.age_max.as_micros()).unwrap_or(u32::MAX);
        f64::from(us) / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EndpointId, RequestId};

    fn event(t_ms: u64, kind: EventKind) -> RaceEvent {
        RaceEvent {
            t: Offset::from_duration(Duration::from_millis(t_ms)),
            endpoint: EndpointId(0),
            request: RequestId(1),
            kind,
        }
    }

    fn content(t_ms: u64) -> RaceEvent {
        read_late(t_ms, None)
    }

    fn read_late(t_ms: u64, late_us: Option<u64>) -> RaceEvent {
        event(
            t_ms,
            EventKind::Content {
                text: "a".into(),
                reasoning: false,
                chunks: 1,
                after: None,
                late_us,
                unstamped: false,
                tool: None,
            },
        )
    }

    fn at(ms: u64) -> Offset {
        Offset::from_duration(Duration::from_millis(ms))
    }

    #[test]
    fn the_largest_backlog_counts_what_was_still_queued() {
        let mut backlog = Backlog::default();
        backlog.note(&[content(1), content(2)], 5, at(3));
        backlog.note(&[content(4)], 0, at(4));
        assert_eq!(backlog.events_max, 7);
    }

    #[test]
    fn content_is_aged_from_its_arrival_to_the_drain_that_took_it() {
        let mut backlog = Backlog::default();
        // Not in time order: reads of different connections interleave.
        backlog.note(&[content(12), content(10), content(11)], 0, at(15));
        assert_eq!(backlog.age_max, Duration::from_millis(5));
        backlog.note(&[content(20)], 0, at(21));
        assert_eq!(
            backlog.age_max,
            Duration::from_millis(5),
            "the largest is kept"
        );
        assert!((backlog.age_max_ms() - 5.0).abs() < 1e-9);
    }

    /// The statistics lag the wire by the client's late read as much as by the channel.
    #[test]
    fn a_late_read_counts_in_the_lag() {
        let mut backlog = Backlog::default();
        backlog.note(&[read_late(10, Some(30_000))], 0, at(42));
        assert_eq!(backlog.age_max, Duration::from_millis(32));
    }

    /// A cancel is stamped when it happens, a send before its connect: neither is an arrival.
    #[test]
    fn events_that_are_not_content_are_counted_but_not_aged() {
        let mut backlog = Backlog::default();
        backlog.note(&[event(0, EventKind::Cancelled { bytes: 0 })], 0, at(90));
        assert_eq!(backlog.events_max, 1);
        assert_eq!(backlog.age_max, Duration::ZERO);
    }

    #[test]
    fn a_time_after_the_drain_is_no_wait() {
        let mut backlog = Backlog::default();
        backlog.note(&[content(10)], 0, at(9));
        assert_eq!(backlog.age_max, Duration::ZERO);
    }
}
