//! What one network read tells about the content it carried: how late it was read, whether
//! the kernel stamped it, and the floor under its bytes' arrival.

use std::time::{Duration, Instant};

use crate::event::{LATE_READ_FLOOR_US, Offset, READ_FLOOR_SLACK_US};
use crate::rx_time::Read;

/// What the read being decoded tells about the content it carried.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct ReadNote {
    /// None of its bytes arrived before this.
    pub(super) after: Option<Offset>,
    /// How long after its bytes arrived it happened, when that was worth noting.
    pub(super) late_us: Option<u64>,
    /// The kernel gave it no receive stamp.
    pub(super) unstamped: bool,
}

impl ReadNote {
    /// The note of `read`, the last read when its frame came, with the floor of `before`, the
    /// last read before the frame was taken, less the kernel's queueing slack; instants are
    /// placed on the race clock by `offset`.
    ///
    /// `before` is the read that completed the frame or an earlier one (the connection reads
    /// no further until the frame is taken), so the read that left the socket empty before it
    /// came before the frame's bytes did. `read`, sampled once the frame was taken, can be a
    /// later read: the socket it left empty may have held the frame's bytes.
    pub(super) fn of(
        read: Option<Read>,
        before: Option<Read>,
        offset: impl Fn(Instant) -> Offset,
    ) -> ReadNote {
        let slack = Duration::from_micros(READ_FLOOR_SLACK_US);
        read.map_or_else(ReadNote::default, |read| ReadNote {
            after: before
                .and_then(|before| before.after)
                .and_then(|after| after.checked_sub(slack))
                .map(offset),
            late_us: u64::try_from(read.late.as_micros())
                .ok()
                .filter(|us| *us >= LATE_READ_FLOOR_US),
            unstamped: !read.stamped,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    /// The connection read again (and emptied the socket) between handing the frame over and
    /// the request looking: that later floor would sit after the frame's own bytes.
    #[test]
    fn the_floor_is_the_read_before_the_frame_less_the_slack() {
        let base = Instant::now();
        let at = |ms: u64| base + Duration::from_millis(ms);
        let offset = |i: Instant| Offset(u64::try_from(i.duration_since(base).as_nanos()).unwrap());
        let before = Read {
            arrived: at(30),
            late: Duration::ZERO,
            after: Some(at(10)),
            stamped: true,
        };
        let raced = Read {
            arrived: at(50),
            late: Duration::from_millis(4),
            after: Some(at(40)),
            stamped: true,
        };
        let note = ReadNote::of(Some(raced), Some(before), offset);
        assert_eq!(
            note,
            ReadNote {
                after: Some(Offset(offset(at(10)).0 - READ_FLOOR_SLACK_US * 1_000)),
                late_us: Some(4_000),
                unstamped: false,
            }
        );
        // A read the kernel did not stamp says nothing of its lateness.
        let unstamped = Read {
            stamped: false,
            late: Duration::ZERO,
            ..raced
        };
        let note = ReadNote::of(Some(unstamped), None, offset);
        assert_eq!(
            (note.after, note.late_us, note.unstamped),
            (None, None, true)
        );
    }
}
