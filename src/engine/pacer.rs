//! Precise send times for the open loop. tokio's timers tick in whole milliseconds and round a
//! deadline up to the next tick, so a request due at 10.2 ms left at 11–12 ms: a send lag of
//! 1–2 ms that the client added itself, all the 2 ms an open loop may be late at p99. A pacer is
//! a thread of its own that sleeps to the instant on the kernel's high-resolution timers (tens
//! of microseconds late) and then wakes the dispatcher, which sends.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Instant;

use tokio::sync::oneshot;

/// A wait the dispatcher asked for: the instant, and where to say it has come.
type Wait = (Instant, oneshot::Sender<()>);

/// One dispatcher's pacer: its thread ends when the pacer is dropped.
pub(super) struct Pacer {
    waits: mpsc::Sender<Wait>,
}

impl Pacer {
    /// Starts the pacer's thread; `None` if the system would not give one (the dispatcher
    /// then waits on tokio's timers, a millisecond coarser).
    pub(super) fn start() -> Option<Pacer> {
        let (waits, asked) = mpsc::channel();
        thread::Builder::new()
            .name("llmrace-pacer".into())
            .spawn(move || run(&asked))
            .ok()?;
        Some(Pacer { waits })
    }

    /// Returns at `due`, at once if it has passed.
    pub(super) async fn until(&self, due: Instant) {
        if due <= Instant::now() {
            return;
        }
        let (done, came) = oneshot::channel();
        let waited = self.waits.send((due, done)).is_ok() && came.await.is_ok();
        if !waited {
            // The thread is gone (it cannot panic, but never wait forever on it).
            tokio::time::sleep_until(due.into()).await;
        }
    }
}

/// The pacer's thread: sleeps to each asked instant and says so. A newer wait replaces one the
/// dispatcher stopped waiting for; the pacer dropped, the thread ends even mid-sleep.
fn run(asked: &mpsc::Receiver<Wait>) {
    let Ok(mut wait) = asked.recv() else {
        return;
    };
    loop {
        let left = wait.0.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let _ = wait.1.send(());
            match asked.recv() {
                Ok(next) => wait = next,
                Err(_) => return,
            }
            continue;
        }
        match asked.recv_timeout(left) {
            Ok(newer) => wait = newer,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn returns_no_earlier_than_asked_and_at_once_for_a_past_instant() {
        let pacer = Pacer::start().unwrap();
        for ms in [0, 1, 3] {
            let due = Instant::now() + Duration::from_millis(ms);
            pacer.until(due).await;
            assert!(Instant::now() >= due);
        }
        let before = Instant::now();
        pacer
            .until(before.checked_sub(Duration::from_millis(5)).unwrap())
            .await;
        pacer.until(before).await;
    }

    #[tokio::test]
    async fn a_wait_given_up_is_replaced_by_the_next() {
        let pacer = Pacer::start().unwrap();
        let far = Instant::now() + Duration::from_secs(3600);
        // Asked, then given up, as the dispatcher gives up when the race is stopped.
        let given_up = tokio::time::timeout(Duration::from_millis(1), pacer.until(far)).await;
        assert!(given_up.is_err());
        let due = Instant::now() + Duration::from_millis(2);
        pacer.until(due).await;
        assert!(Instant::now() >= due);
    }
}
