//! How late the runtime's workers get round to their tasks during a race: a timer on the same
//! workers as the requests, noting how far past its deadline it woke.
//!
//! A read's own lateness (its instant against the kernel's stamp) is measured from the last
//! segment it returned, which the kernel gives to every segment queued before it too: on a
//! fast stream a client that stalls still reads each time just after the latest token, so
//! that figure stays small. A task that wakes late because the workers were busy, starved of
//! CPU or held by something blocking shows the stall itself, on any platform.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// How often the probe wakes: often enough that a stall of a few token gaps shows, rarely
/// enough to cost nothing beside hundreds of streams.
const PERIOD: Duration = Duration::from_millis(5);

/// A running probe; [`LagProbe::stop`] gives what it saw.
#[derive(Debug)]
pub(crate) struct LagProbe {
    late_max_us: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl LagProbe {
    /// Starts probing the current runtime's workers (not a thread apart: they are what is
    /// measured).
    pub(crate) fn start() -> LagProbe {
        let late_max_us = Arc::new(AtomicU64::new(0));
        let noted = Arc::clone(&late_max_us);
        // Due from now, not from when the task first runs: a runtime already held is late.
        let mut due = Instant::now() + PERIOD;
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep_until(due).await;
                let now = Instant::now();
                let late = u64::try_from(now.saturating_duration_since(due).as_micros())
                    .unwrap_or(u64::MAX);
                noted.fetch_max(late, Ordering::Relaxed);
                due = now + PERIOD;
            }
        });
        LagProbe { late_max_us, task }
    }

    /// Stops the probe: the most its timer woke late, in ms.
    pub(crate) fn stop(self) -> f64 {
        self.task.abort();
        late_ms(self.late_max_us.load(Ordering::Relaxed))
    }
}

#[expect(
    clippy::cast_precision_loss,
    reason = "microseconds of lateness are far below 2^52"
)]
fn late_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Holding the runtime's only thread stands for a client too busy to read: the probe's
    /// timer cannot wake until it is let go, and says by how much at least.
    #[tokio::test]
    async fn a_held_runtime_shows_as_lateness() {
        let probe = LagProbe::start();
        let held = Duration::from_millis(30);
        std::thread::sleep(held);
        // The probe's timer, due first, fires before this one.
        tokio::time::sleep(PERIOD).await;
        let late = probe.stop();
        let beyond = held.checked_sub(PERIOD).expect("held longer than a period");
        assert!(late >= beyond.as_secs_f64() * 1000.0, "{late} ms");
    }
}
