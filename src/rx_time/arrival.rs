//! What a connection's reads tell of their bytes' arrival: the last read's kernel stamp (as an
//! instant on the monotonic clock), how late it was read, and the floor under its bytes.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime};

/// The arrival of the bytes most recently read from one connection, shared with whoever
/// handles what they carried.
///
/// Bytes are read in stream order, so when an HTTP/1.1 server is handed a request, the last
/// read holds that request's final header bytes or later ones: its arrival is never earlier
/// than the request's, and no earlier request's body can stand in for it.
#[derive(Clone, Debug, Default)]
pub struct LastArrival(Arc<Mutex<Reads>>);

/// One read that returned bytes, as its handler sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Read {
    /// When its last segment reached the machine (the kernel's stamp, or the read's instant).
    pub arrived: Instant,
    /// How long after `arrived` the read began (its end, for bytes that came while it ran): the
    /// time the bytes waited for the reader.
    /// A lower bound on how long its earliest bytes waited: segments queued before the last
    /// one carry its stamp too. Never more than the time since `after`, so a stepped wall
    /// clock cannot make a prompt read look late.
    pub late: std::time::Duration,
    /// No byte it returned can have arrived before this: when the last earlier read that left
    /// the socket empty began. `None` for the connection's first read.
    pub after: Option<Instant>,
    /// The kernel stamped it: `arrived` and `late` are measured. Without a stamp (not Linux,
    /// a socket that refused stamping, bytes before the kernel turned stamping on) `arrived`
    /// is the read's own instant and `late` is 0, which says nothing about how late it was.
    pub stamped: bool,
}

#[derive(Debug, Default)]
struct Reads {
    last: Option<Read>,
    /// When the latest read that did not fill its buffer (so left the queue empty) began:
    /// whatever a later read returns arrived after it.
    drained: Option<Instant>,
}

impl LastArrival {
    /// The arrival of the last read that returned bytes; `None` before the first.
    #[must_use]
    pub fn get(&self) -> Option<Instant> {
        self.last_read().map(|read| read.arrived)
    }

    /// The last read that returned bytes; `None` before the first.
    #[must_use]
    pub fn last_read(&self) -> Option<Read> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).last
    }

    /// Notes a read at `now` of bytes whose last segment arrived at `arrived` (`stamped` when
    /// the kernel said so); `emptied` is when it began if it left the socket empty (it did not
    /// take all the room it had).
    pub(super) fn set(
        &self,
        arrived: Instant,
        now: Instant,
        emptied: Option<Instant>,
        stamped: bool,
    ) {
        let mut reads = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let late = now.saturating_duration_since(arrived);
        // Nothing it returned was queued before the previous read emptied the socket: a wall
        // clock stepped back between the stamp and the read cannot make it later than that.
        let late = reads.drained.map_or(late, |drained| {
            late.min(now.saturating_duration_since(drained))
        });
        reads.last = Some(Read {
            arrived,
            late,
            after: reads.drained,
            stamped,
        });
        if emptied.is_some() {
            reads.drained = emptied;
        }
    }
}

/// Both clocks, read together just before a read (wall first, so what is placed by them errs
/// late): the one pair of clock reads a stamped read needs.
#[derive(Clone, Copy, Debug)]
pub(super) struct Clocks {
    pub(super) wall: SystemTime,
    pub(super) mono: Instant,
}

impl Clocks {
    pub(super) fn now() -> Clocks {
        Clocks {
            wall: SystemTime::now(),
            mono: Instant::now(),
        }
    }
}

/// The monotonic instant of a wall-clock receive `stamp` of a read that began at `began`, the
/// instant the read counts as done at, and whether the stamp placed it; `end` reads the
/// monotonic clock after the read, and is called only when it must be. A stamp from before the
/// read is its age before `began` (no later clock read: the read's lateness is then counted to
/// its start, a lower bound). A stamp from during the read (bytes that came while it ran) is
/// placed as far after `began`. None, or one from after the read's end (the wall clock stepped
/// back), gives the read's end: arrivals are never later than the read that saw them.
pub(super) fn arrival_instant(
    stamp: Option<SystemTime>,
    began: Clocks,
    end: impl FnOnce() -> Instant,
) -> (Instant, Instant, bool) {
    let Some(stamp) = stamp else {
        let end = end();
        return (end, end, false);
    };
    if let Some(arrived) = began
        .wall
        .duration_since(stamp)
        .ok()
        .and_then(|age| began.mono.checked_sub(age))
    {
        return (arrived, began.mono, true);
    }
    let end = end();
    let during = stamp.duration_since(began.wall).unwrap_or_default();
    match began.mono.checked_add(during) {
        Some(arrived) if arrived <= end => (arrived, end, true),
        _ => (end, end, false),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn wall(micros: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_micros(micros)
    }

    #[test]
    fn a_stamp_becomes_the_same_age_on_the_monotonic_clock() {
        let now = Instant::now();
        let began = Clocks {
            wall: wall(1_800_000_000_000_000),
            mono: now,
        };
        let stamp = wall(1_800_000_000_000_000 - 3_000);
        let (arrived, read, stamped) =
            arrival_instant(Some(stamp), began, || panic!("no clock read"));
        assert_eq!(arrived, now.checked_sub(Duration::from_millis(3)).unwrap());
        assert_eq!(read, now);
        assert!(stamped);
    }

    #[test]
    fn no_stamp_gives_the_read_end() {
        let now = Instant::now();
        let began = Clocks {
            wall: wall(1_800_000_000_000_000),
            mono: now,
        };
        let end = now + Duration::from_micros(7);
        assert_eq!(arrival_instant(None, began, || end), (end, end, false));
    }

    #[test]
    fn a_stamp_during_the_read_is_placed_after_its_start_but_never_after_its_end() {
        let now = Instant::now();
        let began = Clocks {
            wall: wall(1_800_000_000_000_000),
            mono: now,
        };
        let end = now + Duration::from_micros(10);
        let during = wall(1_800_000_000_000_000 + 4);
        assert_eq!(
            arrival_instant(Some(during), began, || end),
            (now + Duration::from_micros(4), end, true)
        );
        // After the read's end: the wall clock stepped back while the read ran.
        let future = wall(1_800_000_000_000_000 + 5_000);
        assert_eq!(
            arrival_instant(Some(future), began, || end),
            (end, end, false)
        );
    }

    /// A wall clock stepped back between a segment's stamp and its read puts the stamp far in
    /// the past; the read before, which emptied the socket, bounds how late it can be.
    #[test]
    fn a_stepped_wall_clock_makes_no_read_later_than_the_read_before_it() {
        let arrival = LastArrival::default();
        let drained = Instant::now();
        arrival.set(drained, drained, Some(drained), true);
        let now = drained + Duration::from_millis(2);
        let stepped = drained.checked_sub(Duration::from_secs(5)).unwrap();
        arrival.set(stepped, now, Some(now), true);
        let read = arrival.last_read().unwrap();
        assert_eq!(read.late, Duration::from_millis(2), "{read:?}");
        assert_eq!(read.after, Some(drained));
    }
}
