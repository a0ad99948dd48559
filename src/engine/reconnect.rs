//! A closed-loop worker's back-off after a request that could not reach its server (no
//! connection: a closed port, a dead proxy, a name that does not resolve): without it, a worker
//! fails at the speed of a refused `connect`, tens of thousands of requests a second, each a
//! record on disk. The wait doubles from [`FIRST`] to [`LONGEST`] while the failures go on and
//! is forgotten at the first request that reaches a server. It is time between requests, never
//! part of one: no latency counts it.

use std::time::Duration;

/// The wait after the first request in a row that could not connect.
pub const FIRST: Duration = Duration::from_millis(10);

/// The longest wait: a server that comes back is found within about a second.
pub const LONGEST: Duration = Duration::from_secs(1);

/// One worker's back-off.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reconnect {
    /// The wait after the next failure to connect; zero before the first.
    next: Duration,
}

impl Reconnect {
    /// After a request: how long to wait before the next one, when `unreached` (it could not
    /// connect); none, and the back-off forgotten, when it reached its server.
    pub fn after(&mut self, unreached: bool) -> Option<Duration> {
        if !unreached {
            self.next = Duration::ZERO;
            return None;
        }
        let wait = self.next.max(FIRST);
        self.next = (wait * 2).min(LONGEST);
        Some(wait)
    }
}

/// The most requests one worker backing off can send in `span` if none reaches its server
/// (each failing at once): the waits 10, 20, 40 … ms, then one a second.
#[cfg(any(test, feature = "test-support"))]
#[must_use]
pub fn most_unreached(span: Duration) -> u64 {
    let mut backoff = Reconnect::default();
    let (mut spent, mut sent) = (Duration::ZERO, 1_u64);
    while let Some(wait) = backoff.after(true) {
        spent += wait;
        if spent > span {
            return sent;
        }
        sent += 1;
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_to_a_second_and_a_success_forgets_it() {
        let mut backoff = Reconnect::default();
        let ms = |ms| Some(Duration::from_millis(ms));
        let waits: Vec<_> = (0..9).map(|_| backoff.after(true)).collect();
        assert_eq!(
            waits,
            [
                ms(10),
                ms(20),
                ms(40),
                ms(80),
                ms(160),
                ms(320),
                ms(640),
                ms(1000),
                ms(1000)
            ]
        );
        assert_eq!(backoff.after(false), None);
        assert_eq!(backoff.after(true), ms(10));
    }

    #[test]
    fn a_worker_that_never_connects_sends_a_few_requests_a_second() {
        // 10 + 20 + … + 640 ms = 1.27 s for the first eight; then one a second.
        assert_eq!(most_unreached(Duration::from_millis(5)), 1);
        assert_eq!(most_unreached(Duration::from_millis(1_270)), 8);
        assert_eq!(most_unreached(Duration::from_secs(8)), 14);
    }
}
