//! The pipeline's turn on a core when the race runs under a real-time policy (`chrt -f`,
//! `SCHED_FIFO` or `SCHED_RR`).
//!
//! A real-time thread runs until it blocks, and one of equal priority that becomes runnable
//! waits for it. At saturation a runtime worker reading sockets never blocks (there is always
//! another segment), so the pipeline's thread, woken from its 2 ms gathering wait, waited
//! seconds behind it and the event channel's backlog grew past a million events (BENCHMARKS.md,
//! "Per-event delivery"). The normal scheduler gives every runnable thread its share, so this is
//! only armed under a real-time policy: a task on the runtime looks every [`CHECK`] whether the
//! pipeline is overdue by more than [`LATE`] and, if so, yields its worker's core
//! (`sched_yield`), which under a real-time policy lets the waiting pipeline run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::clock::RaceClock;
use crate::event::Offset;

/// How often the runtime looks whether the pipeline is overdue.
const CHECK: Duration = Duration::from_millis(4);
/// How far past its wake-up the pipeline may be before a worker gives way.
const LATE: Duration = Duration::from_millis(2);

/// When the pipeline means to run next, in race time (nanoseconds); `u64::MAX` while it is
/// running or waiting for events, when nothing is due.
#[derive(Debug)]
pub(crate) struct Turn {
    due: AtomicU64,
}

impl Default for Turn {
    fn default() -> Self {
        Self {
            due: AtomicU64::new(u64::MAX),
        }
    }
}

impl Turn {
    /// The pipeline goes to sleep until `t`.
    pub fn sleeping_until(&self, t: Offset) {
        self.due.store(t.0, Ordering::Relaxed);
    }

    /// The pipeline is running: nothing is due.
    pub fn running(&self) {
        self.due.store(u64::MAX, Ordering::Relaxed);
    }

    /// Whether at `now` the pipeline is more than [`LATE`] past the time it meant to run.
    fn overdue(&self, now: Offset) -> bool {
        let due = self.due.load(Ordering::Relaxed);
        let late = u64::try_from(LATE.as_nanos()).unwrap_or(u64::MAX);
        now.0 > due.saturating_add(late)
    }
}

/// Runs on the runtime until the pipeline drops its `Turn`: gives the pipeline's thread a
/// worker's core whenever it is overdue. Only worth running under a real-time policy
/// ([`real_time`]).
pub(crate) async fn give_way(turn: Weak<Turn>, clock: RaceClock) {
    let mut check = tokio::time::interval(CHECK);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        check.tick().await;
        let Some(turn) = turn.upgrade() else { return };
        if turn.overdue(clock.now()) {
            // Under SCHED_FIFO this puts the worker behind the waiting pipeline thread.
            std::thread::yield_now();
        }
    }
}

/// The pipeline's `Turn`, and the task that gives it way when the process runs under a
/// real-time policy (none otherwise).
pub(crate) fn arm(clock: &RaceClock) -> Arc<Turn> {
    let turn = Arc::new(Turn::default());
    if real_time() {
        tokio::spawn(give_way(Arc::downgrade(&turn), *clock));
    }
    turn
}

/// Whether this process runs under `SCHED_FIFO` or `SCHED_RR`: the `policy` field of
/// `/proc/self/stat` (Linux; elsewhere, or if it cannot be read, no).
fn real_time() -> bool {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| policy(&stat))
        .is_some_and(|policy| policy == 1 || policy == 2)
}

/// The `policy` field (the 41st) of a `/proc/<pid>/stat` line. The command name (2nd) is in
/// parentheses and may hold spaces and parentheses itself, so fields count from the last `)`.
fn policy(stat: &str) -> Option<u32> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace()
        .nth(41 - 3)
        .and_then(|f| f.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(comm: &str, policy: u32) -> String {
        // Fields 3 to 52 of a real line, with `rt_priority` 1 and the policy given.
        let mut fields: Vec<String> = (3..=52).map(|n| n.to_string()).collect();
        fields[40 - 3] = "1".into();
        fields[41 - 3] = policy.to_string();
        format!("4242 ({comm}) {}", fields.join(" "))
    }

    #[test]
    fn the_policy_is_read_past_a_command_name_with_spaces_and_parentheses() {
        assert_eq!(policy(&stat("llmrace", 1)), Some(1));
        assert_eq!(policy(&stat("a (b) c", 0)), Some(0));
        assert_eq!(policy(&stat(") 7 7", 2)), Some(2));
        assert_eq!(policy("4242 (cut short) S 1"), None);
        assert_eq!(policy(""), None);
    }

    #[test]
    fn this_process_is_read_without_error() {
        // Whatever the policy the tests run under, reading it must not fail on Linux.
        if cfg!(target_os = "linux") {
            let stat = std::fs::read_to_string("/proc/self/stat").expect("Linux has it");
            assert!(policy(&stat).is_some(), "{stat}");
        }
    }

    #[test]
    fn the_pipeline_is_overdue_only_past_its_wake_up_and_the_slack() {
        let turn = Turn::default();
        let ms = |n: u64| Offset(n * 1_000_000);
        assert!(!turn.overdue(ms(1_000)), "nothing due while running");
        turn.sleeping_until(ms(10));
        assert!(!turn.overdue(ms(11)));
        assert!(!turn.overdue(ms(12)));
        assert!(turn.overdue(ms(13)));
        turn.running();
        assert!(!turn.overdue(ms(13)));
    }
}
