//! The guards of a response body being read: the race's stop and the one timer of its
//! deadlines. Polled with every piece, as a `select!` does, they cost per event what the piece
//! itself barely does: the stop's `Notify` waiter queued and removed under its lock, the token's
//! own lock, the timer's waker registered again. Here each is polled through a waker of its
//! own (a relay to the task's) once, and again only after it woke the task, the task's waker
//! changed or the timer was moved; a piece in between costs one atomic load and a waker
//! comparison. A deadline is still checked when its timer fires, and a stop still wakes the
//! task at once.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Wake, Waker};

use tokio::time::{Instant, Sleep};
use tokio_util::sync::WaitForCancellationFuture;

/// The stop and the timer of one body, each pinned by the caller for the body's whole read.
pub(super) struct Guards<'a, 'b> {
    stop: Pin<&'a mut WaitForCancellationFuture<'b>>,
    expiry: Pin<&'a mut Sleep>,
    relay: Arc<Relay>,
    /// `relay` as a waker, given to the stop and the timer.
    relay_waker: Waker,
    /// The task's waker the relay was last given.
    task: Option<Waker>,
    /// Poll both at the next look: they never were, or the timer was moved.
    stale: bool,
    stopped: bool,
    expired: bool,
}

/// What the guards said at a look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Look {
    /// The race is stopping.
    pub(super) stopped: bool,
    /// The timer fired: its deadline (or an earlier one it was set to) passed.
    pub(super) expired: bool,
}

/// Woken by a guard: notes it, and wakes the task.
#[derive(Default)]
struct Relay {
    woken: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl Wake for Relay {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Noted before the task is woken, so the task's next look sees it.
        self.woken.store(true, Ordering::Release);
        let task = self.task.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(task) = &*task {
            task.wake_by_ref();
        }
    }
}

impl<'a, 'b> Guards<'a, 'b> {
    pub(super) fn new(
        stop: Pin<&'a mut WaitForCancellationFuture<'b>>,
        expiry: Pin<&'a mut Sleep>,
    ) -> Guards<'a, 'b> {
        let relay = Arc::new(Relay::default());
        Guards {
            stop,
            expiry,
            relay_waker: Waker::from(Arc::clone(&relay)),
            relay,
            task: None,
            stale: true,
            stopped: false,
            expired: false,
        }
    }

    /// When the timer fires.
    pub(super) fn deadline(&self) -> Instant {
        self.expiry.deadline()
    }

    /// Moves the timer to `deadline`.
    pub(super) fn reset(&mut self, deadline: Instant) {
        self.expiry.as_mut().reset(deadline);
        self.expired = false;
        self.stale = true;
    }

    /// What the guards say, for the task polled with `cx`: they are polled only if one of them
    /// woke it since the last look (or they must be, see [`Guards`]); either way a guard that
    /// fires later wakes the task.
    pub(super) fn look(&mut self, cx: &Context<'_>) -> Look {
        if !self.task.as_ref().is_some_and(|t| t.will_wake(cx.waker())) {
            let task = cx.waker().clone();
            *self
                .relay
                .task
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(task.clone());
            self.task = Some(task);
        }
        // A wake after this load finds the guards polled below (or sets it for the next look,
        // and wakes the task): none is lost.
        if self.stale || self.relay.woken.load(Ordering::Acquire) {
            self.relay.woken.store(false, Ordering::Release);
            self.stale = false;
            let mut relayed = Context::from_waker(&self.relay_waker);
            self.stopped |= self.stop.as_mut().poll(&mut relayed).is_ready();
            self.expired = self.expiry.as_mut().poll(&mut relayed).is_ready();
        }
        Look {
            stopped: self.stopped,
            expired: self.expired,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use std::future::poll_fn;
    use std::pin::pin;
    use std::task::Poll;
    use std::time::Duration;

    use tokio_util::sync::CancellationToken;

    use super::*;

    /// Looks each time the task is woken until a guard fires.
    async fn wait(guards: &mut Guards<'_, '_>) -> Look {
        poll_fn(|cx| {
            let look = guards.look(cx);
            if look.stopped || look.expired {
                Poll::Ready(look)
            } else {
                Poll::Pending
            }
        })
        .await
    }

    #[tokio::test]
    async fn the_timer_wakes_the_task_when_it_fires_and_again_after_a_move() {
        let token = CancellationToken::new();
        let stop = pin!(token.cancelled());
        let start = Instant::now();
        let expiry = pin!(tokio::time::sleep_until(start + Duration::from_millis(20)));
        let mut guards = Guards::new(stop, expiry);
        // Looked at (and so registered), then not polled again until it fires.
        let look = poll_fn(|cx| Poll::Ready(guards.look(cx))).await;
        assert!(!look.stopped && !look.expired);
        let look = wait(&mut guards).await;
        assert!(look.expired && !look.stopped);
        assert!(Instant::now() >= start + Duration::from_millis(20));
        // Moved later after it fired: not expired until the new deadline.
        let later = Instant::now() + Duration::from_secs(3600);
        guards.reset(later);
        let look = poll_fn(|cx| Poll::Ready(guards.look(cx))).await;
        assert!(!look.expired, "{look:?}");
        guards.reset(Instant::now() + Duration::from_millis(20));
        let look = wait(&mut guards).await;
        assert!(look.expired);
    }

    #[tokio::test]
    async fn a_stop_wakes_the_task() {
        let token = CancellationToken::new();
        let stop = pin!(token.cancelled());
        let expiry = pin!(tokio::time::sleep(Duration::from_secs(3600)));
        let mut guards = Guards::new(stop, expiry);
        let waiting = async {
            // Registered, then left waiting.
            let look = poll_fn(|cx| Poll::Ready(guards.look(cx))).await;
            assert!(!look.stopped);
            wait(&mut guards).await
        };
        let stopping = async {
            tokio::task::yield_now().await;
            token.cancel();
        };
        let (look, ()) = tokio::join!(waiting, stopping);
        assert!(look.stopped && !look.expired, "{look:?}");
    }

    #[tokio::test]
    async fn a_stop_before_the_first_look_is_seen_by_it() {
        let token = CancellationToken::new();
        token.cancel();
        let stop = pin!(token.cancelled());
        let expiry = pin!(tokio::time::sleep(Duration::from_secs(3600)));
        let mut guards = Guards::new(stop, expiry);
        let look = poll_fn(|cx| Poll::Ready(guards.look(cx))).await;
        assert!(look.stopped);
    }
}
