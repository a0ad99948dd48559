//! How the outside world steers a running race: stop sending, abort what is in flight, pause
//! and resume; the clock of time spent paused, and the gate a worker passes before each send.

use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How the outside world steers a running race.
#[derive(Clone, Debug, Default)]
pub struct Controls {
    /// No new request is sent once this is cancelled; requests in flight finish.
    pub stop_sending: CancellationToken,
    /// Requests in flight are cancelled (and counted as cancelled).
    pub abort: CancellationToken,
    /// While `true`, no new request is sent; requests in flight go on. Set it with
    /// [`Controls::pause`].
    pub paused: watch::Sender<bool>,
    /// How long the race has been paused, for schedules that stand still while it is.
    /// Kept apart from `paused`, whose receivers are the workers waiting at the gate.
    pub(super) pause_clock: watch::Sender<PauseClock>,
}

/// Time spent paused: the pauses that ended, and when the current one began.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct PauseClock {
    ended: Duration,
    since: Option<std::time::Instant>,
}

impl PauseClock {
    fn set(&mut self, paused: bool, now: std::time::Instant) {
        match (paused, self.since) {
            (true, None) => self.since = Some(now),
            (false, Some(since)) => {
                self.ended += now.saturating_duration_since(since);
                self.since = None;
            }
            _ => {}
        }
    }

    /// All the time spent paused up to `now`, the current pause included.
    pub(super) fn paused_for(&self, now: std::time::Instant) -> Duration {
        self.ended
            + self
                .since
                .map_or(Duration::ZERO, |since| now.saturating_duration_since(since))
    }
}

impl Controls {
    /// What Ctrl-C does: stop sending and cancel what is in flight.
    pub fn interrupt(&self) {
        self.stop_sending.cancel();
        self.abort.cancel();
    }

    /// Pauses (`true`) or resumes (`false`) sending. Requests in flight are not touched, and
    /// stopping still works while paused. A duration limit keeps counting while paused: it
    /// limits the race's time, not its sending time. Ramps stand still: resuming goes on from
    /// the level the ramp had reached.
    pub fn pause(&self, paused: bool) {
        // The clock first: a worker that sees the resume sees the pause's length with it.
        let now = std::time::Instant::now();
        self.pause_clock.send_modify(|clock| clock.set(paused, now));
        self.paused.send_replace(paused);
    }

    pub fn is_paused(&self) -> bool {
        *self.paused.borrow()
    }
}

/// The gate a worker passes before sending a request: returns at once unless paused, else
/// when sending resumes (`true`) or stops (`false`).
///
/// Only a waiting worker subscribes to `paused`, so `paused.receiver_count()` tells how many
/// workers wait at the gate.
pub async fn wait_while_paused(paused: &watch::Sender<bool>, stop: &CancellationToken) -> bool {
    if !*paused.borrow() {
        return !stop.is_cancelled();
    }
    let mut resumed = paused.subscribe();
    tokio::select! {
        biased;
        () = stop.cancelled() => false,
        // Fails only if the sender is gone, which cannot be while it is borrowed here.
        _ = resumed.wait_for(|paused| !paused) => !stop.is_cancelled(),
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;

    use futures_util::FutureExt;

    use super::*;

    #[test]
    fn the_pause_clock_counts_only_time_spent_paused() {
        let t0 = std::time::Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut clock = PauseClock::default();
        assert_eq!(clock.paused_for(at(5)), Duration::ZERO);
        clock.set(true, at(10));
        assert_eq!(clock.paused_for(at(25)), Duration::from_millis(15));
        // Pausing again while paused changes nothing.
        clock.set(true, at(20));
        clock.set(false, at(30));
        assert_eq!(clock.paused_for(at(100)), Duration::from_millis(20));
        clock.set(false, at(110));
        clock.set(true, at(200));
        assert_eq!(clock.paused_for(at(205)), Duration::from_millis(25));
    }

    #[test]
    fn the_gate_is_open_unless_paused() {
        let controls = Controls::default();
        assert!(!controls.is_paused());
        let gate = wait_while_paused(&controls.paused, &controls.stop_sending);
        assert_eq!(gate.now_or_never(), Some(true));
        assert_eq!(controls.paused.receiver_count(), 0);
    }

    #[test]
    fn a_paused_gate_opens_when_resumed() {
        let controls = Controls::default();
        controls.pause(true);
        let mut gate = pin!(wait_while_paused(&controls.paused, &controls.stop_sending));
        assert_eq!(gate.as_mut().now_or_never(), None);
        assert_eq!(controls.paused.receiver_count(), 1, "one worker waits");
        // Pausing again changes nothing.
        controls.pause(true);
        assert_eq!(gate.as_mut().now_or_never(), None);
        controls.pause(false);
        assert_eq!(gate.now_or_never(), Some(true));
        assert_eq!(controls.paused.receiver_count(), 0);
    }

    #[test]
    fn stopping_wins_while_paused() {
        let controls = Controls::default();
        controls.pause(true);
        let mut gate = pin!(wait_while_paused(&controls.paused, &controls.stop_sending));
        assert_eq!(gate.as_mut().now_or_never(), None);
        controls.stop_sending.cancel();
        assert_eq!(gate.now_or_never(), Some(false));
        // And a stopped race does not pass an open gate either.
        controls.pause(false);
        let gate = wait_while_paused(&controls.paused, &controls.stop_sending);
        assert_eq!(gate.now_or_never(), Some(false));
    }

    #[test]
    fn clones_share_the_pause() {
        let controls = Controls::default();
        let ui = controls.clone();
        ui.pause(true);
        assert!(controls.is_paused());
    }
}
