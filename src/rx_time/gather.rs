//! Letting segments gather before a runtime worker waits for more.
//!
//! At the rates a benchmark cares about, a client that keeps up wakes for nearly every segment:
//! `epoll_wait` sleeps, the next segment wakes it, it reads one event and sleeps again. The
//! sleep and the wake-up cost the kernel about as much as the read itself (on this project's
//! 2-core VMs, ~2.5 µs of a floor client's ~6.6 µs per event at 100 streams × 1 000 tokens/s;
//! BENCHMARKS.md "Per-event delivery"). A worker about to wait first sleeps [`GATHER`], so one
//! wake-up serves every socket that became readable meanwhile.
//!
//! Timing does not move: each read still carries the kernel's receive stamp of its segment, and
//! a segment is only read together with a later one of the same stream if the server wrote the
//! two less than [`GATHER`] apart, which the read's note says as it says for any late read.
//! Without kernel stamps (not Linux) a read's own instant would stand in and be up to
//! [`GATHER`] late, so there it does nothing.

use std::time::Duration;

/// How long a worker with nothing left to run lets segments gather before it waits.
pub const GATHER: Duration = Duration::from_micros(100);

/// For `tokio::runtime::Builder::on_thread_park`: runs on a worker that found nothing to do.
pub fn before_park() {
    if cfg!(target_os = "linux") {
        std::thread::sleep(GATHER);
    }
}
