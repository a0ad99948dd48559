//! Letting segments gather before a runtime worker waits for more, for as long as the load
//! allows.
//!
//! At the rates a benchmark cares about, a client that keeps up wakes for nearly every segment:
//! `epoll_wait` sleeps, the next segment wakes it, it reads one event and sleeps again. The
//! sleep and the wake-up cost the kernel about as much as the read itself (on this project's
//! 2-core VMs, ~2.5 µs of a floor client's ~6.6 µs per event at 100 streams × 1 000 tokens/s;
//! BENCHMARKS.md "Per-event delivery"). A worker about to wait first sleeps a while, so one
//! wake-up serves every socket that became readable meanwhile.
//!
//! How long: a fraction ([`SHARE`]) of the shortest gap seen lately between two segments of one
//! connection, between [`SHORTEST`] (100 µs) and [`LONGEST`] (1 ms); [`SHORTEST`] when many of
//! the gaps are shorter than that (a stream writing faster than every 100 µs). Where each stream writes
//! every millisecond the gather stays at 100 µs; where thousands of streams write every 50 ms
//! each (20 tokens/s), a wake-up lets 1 ms of segments gather instead of 100 µs, and the worker
//! wakes a third to a quarter as often (BENCHMARKS.md "Low rates per stream").
//!
//! Timing does not move: each read still carries the kernel's receive stamp of its segment, and
//! a segment is only read together with a later one of the same stream if the server wrote the
//! two closer than the gather, which the sizing keeps to streams writing faster than they did in
//! the last quarter-second (or less than [`SHORTEST`] apart, as before), and which the read's
//! note says as it says for any late read. What the gather does delay is the worker noticing a
//! timer or a wake-up from another thread (a key, a timeout): by at most [`LONGEST`]. Requests
//! that leave on a schedule (an open loop, a trace) must not wait for it (measured: 1 ms of
//! gather took the send lag's p99 from 3.7 to 27 ms at 2 000 requests/s), so while such a race
//! runs ([`keep_short`]) the gather stays at [`SHORTEST`].
//! Without kernel stamps (not Linux) a read's own instant would stand in and be up to a gather
//! late, so there it does nothing.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The shortest gather, and the one before any gap has been seen: segments of one stream less
/// than this apart may be read together, as they were when the gather was always this long.
pub const SHORTEST: Duration = Duration::from_micros(100);

/// The longest gather: how late, at most, a worker notices a timer or another thread's wake-up
/// because it was gathering (an open-loop send's lag, a key's frame).
pub const LONGEST: Duration = Duration::from_millis(1);

/// The gather is this share of the shortest recent gap between two segments of one connection:
/// a stream may speed up this many times before two of its segments can be read together.
pub const SHARE: u32 = 8;

/// How long the shortest gap seen counts: the gather follows a load that changes within this.
pub const WINDOW: Duration = Duration::from_millis(250);

/// The gather for the shortest gap between two segments of one connection seen in the last
/// window (`None`: no gap seen, e.g. before the first answers stream).
#[must_use]
pub fn sized(shortest_gap: Option<Duration>) -> Duration {
    shortest_gap.map_or(SHORTEST, |gap| (gap / SHARE).clamp(SHORTEST, LONGEST))
}

/// The gaps seen and the gather they size, shared by a runtime's workers: the reads note gaps
/// (a relaxed load, and a store only when a gap is the window's shortest yet), the workers about
/// to wait read the gather and, once a window, size it anew.
#[derive(Debug)]
pub struct Gather {
    /// The shortest gap of at least [`SHORTEST`] noted in this window, in nanoseconds
    /// (`u64::MAX`: none).
    shortest_ns: AtomicU64,
    /// How many gaps this window noted, and how many of them were under [`SHORTEST`].
    gaps: AtomicU64,
    small: AtomicU64,
    /// The current gather, in nanoseconds.
    current_ns: AtomicU64,
    /// When this window began, in nanoseconds after `origin`.
    window_ns: AtomicU64,
    origin: Instant,
    /// How many [`Short`]s are alive: while any is, the gather is [`SHORTEST`].
    short: AtomicUsize,
}

/// While alive, the gather it was taken from stays at [`SHORTEST`]: requests leave on a
/// schedule that a worker's gathering must not delay.
#[derive(Debug)]
pub struct Short<'g>(&'g Gather);

impl Drop for Short<'_> {
    fn drop(&mut self) {
        self.0.short.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Gather {
    #[must_use]
    pub fn new(origin: Instant) -> Self {
        Self {
            shortest_ns: AtomicU64::new(u64::MAX),
            gaps: AtomicU64::new(0),
            small: AtomicU64::new(0),
            current_ns: AtomicU64::new(nanos(SHORTEST)),
            window_ns: AtomicU64::new(0),
            origin,
            short: AtomicUsize::new(0),
        }
    }

    /// Keeps the gather at [`SHORTEST`] until the returned guard is dropped.
    pub fn keep_short(&self) -> Short<'_> {
        self.short.fetch_add(1, Ordering::Relaxed);
        Short(self)
    }

    /// Notes the gap between two segments of one connection that were read apart. A gap shorter
    /// than [`SHORTEST`] is only counted: a server writing an answer's last events back to back
    /// leaves a few such now and then, which must not pin the gather, but a stream writing
    /// faster than every 100 µs leaves mostly such gaps, and then the gather stays short.
    pub fn note_gap(&self, gap: Duration) {
        self.gaps.fetch_add(1, Ordering::Relaxed);
        if gap < SHORTEST {
            self.small.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let gap = nanos(gap);
        if gap < self.shortest_ns.load(Ordering::Relaxed) {
            self.shortest_ns.fetch_min(gap, Ordering::Relaxed);
        }
    }

    /// How long a worker about to wait at `now` lets segments gather; once a [`WINDOW`], sized
    /// anew from the shortest gap of the window that ended.
    pub fn at(&self, now: Instant) -> Duration {
        if self.short.load(Ordering::Relaxed) > 0 {
            return SHORTEST;
        }
        let now_ns = nanos(now.saturating_duration_since(self.origin));
        let began = self.window_ns.load(Ordering::Relaxed);
        if now_ns.saturating_sub(began) >= nanos(WINDOW)
            && self
                .window_ns
                .compare_exchange(began, now_ns, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let shortest = self.shortest_ns.swap(u64::MAX, Ordering::Relaxed);
            let gaps = self.gaps.swap(0, Ordering::Relaxed);
            let small = self.small.swap(0, Ordering::Relaxed);
            // One gap in [`SHARE`] under 100 µs: some stream writes that fast.
            let fast = small.saturating_mul(u64::from(SHARE)) >= gaps.max(1);
            let gap = (shortest != u64::MAX && !fast).then(|| Duration::from_nanos(shortest));
            let gather = sized(gap);
            self.current_ns.store(nanos(gather), Ordering::Relaxed);
            return gather;
        }
        Duration::from_nanos(self.current_ns.load(Ordering::Relaxed))
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The process's gather: the one `main.rs` hooks into a race's runtime.
fn shared() -> &'static Gather {
    static SHARED: OnceLock<Gather> = OnceLock::new();
    SHARED.get_or_init(|| Gather::new(Instant::now()))
}

/// For the read path: the gap between two segments of one connection, read apart.
pub fn note_gap(gap: Duration) {
    shared().note_gap(gap);
}

/// For a race whose requests leave on a schedule (an open loop, a trace): the gather stays at
/// [`SHORTEST`] until the guard is dropped.
pub fn keep_short() -> Short<'static> {
    shared().keep_short()
}

/// For `tokio::runtime::Builder::on_thread_park`: runs on a worker that found nothing to do.
pub fn before_park() {
    if cfg!(target_os = "linux") {
        std::thread::sleep(shared().at(Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_gather_is_a_share_of_the_shortest_gap_within_its_bounds() {
        assert_eq!(sized(None), SHORTEST);
        // 1 000 tokens/s per stream: as before.
        assert_eq!(sized(Some(MS)), Duration::from_micros(125));
        assert_eq!(sized(Some(Duration::from_micros(300))), SHORTEST);
        // 20 and 4 tokens/s per stream: the longest.
        assert_eq!(sized(Some(50 * MS)), LONGEST);
        assert_eq!(sized(Some(250 * MS)), LONGEST);
        assert_eq!(sized(Some(4 * MS)), Duration::from_micros(500));
    }

    #[test]
    fn a_window_sizes_the_next_one_and_a_quiet_window_falls_back_to_the_shortest() {
        let origin = Instant::now();
        let gather = Gather::new(origin);
        assert_eq!(gather.at(origin), SHORTEST);
        gather.note_gap(50 * MS);
        gather.note_gap(20 * MS);
        gather.note_gap(40 * MS);
        // Not sized before the window ends.
        assert_eq!(gather.at(origin + 100 * MS), SHORTEST);
        assert_eq!(gather.at(origin + WINDOW), LONGEST);
        assert_eq!(gather.at(origin + WINDOW + MS), LONGEST);
        // A stream writing every 2 ms shortens the next window's gather.
        gather.note_gap(2 * MS);
        gather.note_gap(30 * MS);
        assert_eq!(gather.at(origin + 2 * WINDOW), Duration::from_micros(250));
        // Nothing read in a window: back to the shortest until gaps are seen again.
        assert_eq!(gather.at(origin + 3 * WINDOW), SHORTEST);
    }

    #[test]
    fn a_stream_writing_faster_than_every_100_us_keeps_the_gather_short() {
        let origin = Instant::now();
        let gather = Gather::new(origin);
        // Segments every 50 µs, and the pauses between its answers.
        for _ in 0..100 {
            gather.note_gap(Duration::from_micros(50));
        }
        gather.note_gap(20 * MS);
        assert_eq!(gather.at(origin + WINDOW), SHORTEST);
    }

    #[test]
    fn a_scheduled_race_keeps_the_gather_short_while_it_runs() {
        let origin = Instant::now();
        let gather = Gather::new(origin);
        gather.note_gap(50 * MS);
        let short = gather.keep_short();
        assert_eq!(gather.at(origin + WINDOW), SHORTEST);
        drop(short);
        gather.note_gap(50 * MS);
        assert_eq!(gather.at(origin + 2 * WINDOW), LONGEST);
    }

    #[test]
    fn gaps_below_the_shortest_gather_do_not_pin_it() {
        let origin = Instant::now();
        let gather = Gather::new(origin);
        // An answer's last events, written back to back, between tokens 50 ms apart.
        gather.note_gap(Duration::from_micros(3));
        for _ in 0..20 {
            gather.note_gap(50 * MS);
        }
        gather.note_gap(Duration::ZERO);
        assert_eq!(gather.at(origin + WINDOW), LONGEST);
    }
}
