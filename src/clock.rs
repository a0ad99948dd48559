//! The race clock: the one place live code reads time. Every event offset comes from here, on
//! one monotonic clock per race, with the wall-clock (UTC) start kept beside it so any offset
//! can be turned back into a `request_time`.

use std::time::Instant;

use chrono::{DateTime, Utc};

use crate::event::Offset;

/// Zero is the synchronized start of the race.
#[derive(Clone, Copy, Debug)]
pub struct RaceClock {
    start: Instant,
    wall_start: DateTime<Utc>,
}

impl RaceClock {
    /// Starts the clock now.
    pub fn start() -> Self {
        RaceClock {
            start: Instant::now(),
            wall_start: Utc::now(),
        }
    }

    /// Starts the clock at the wall-clock instant `wall` (`--start-at`), by the system
    /// clock: until then the race's time stands at zero. An instant past starts it now.
    pub fn start_at(wall: DateTime<Utc>) -> Self {
        let (instant, now) = (Instant::now(), Utc::now());
        let ahead = (wall - now).to_std().unwrap_or_default();
        RaceClock {
            start: instant + ahead,
            wall_start: now + chrono::Duration::from_std(ahead).unwrap_or_default(),
        }
    }

    /// The race's time; zero before a start set ahead (`start_at`).
    pub fn now(&self) -> Offset {
        Offset::from_duration(Instant::now().saturating_duration_since(self.start))
    }

    /// The offset of a monotonic instant (one before the start is the start).
    pub fn offset_of(&self, at: Instant) -> Offset {
        Offset::from_duration(at.saturating_duration_since(self.start))
    }

    /// The monotonic instant of an offset, for deadlines.
    pub fn instant_at(&self, t: Offset) -> Instant {
        self.start + t.as_duration()
    }

    pub fn wall_start(&self) -> DateTime<Utc> {
        self.wall_start
    }
}

/// The wall-clock time of an offset into a race that started at `wall_start`.
pub fn wall_time(wall_start: DateTime<Utc>, t: Offset) -> DateTime<Utc> {
    let nanos = i64::try_from(t.0).unwrap_or(i64::MAX);
    wall_start + chrono::Duration::nanoseconds(nanos)
}

/// Measures a short span (connecting) outside the race clock, where no race exists yet.
#[derive(Clone, Copy, Debug)]
pub struct Stopwatch(Instant);

impl Stopwatch {
    pub fn start() -> Self {
        Stopwatch(Instant::now())
    }

    pub fn elapsed(&self) -> std::time::Duration {
        self.0.elapsed()
    }
}
