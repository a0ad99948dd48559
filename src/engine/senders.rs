//! The senders of a race: each worker with its own connection, and what they all share — the
//! limits, the request counters, the controls and the synchronized start — whatever paces them
//! (the closed loop in `engine.rs`, `open_loop.rs`, `laps.rs`).

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::Barrier;
use tokio_util::sync::CancellationToken;

use super::attempts::Attempts;
use super::connection::Connection;
use super::controls::Controls;
use super::request::EventSender;
use super::session_plan::Sessions;
use super::target::Target;
use crate::clock::RaceClock;
use crate::config::{Shard, Timeouts};
use crate::event::Offset;
use crate::pace::ConcurrencyRamp;

/// When to stop sending.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Measured requests per endpoint.
    pub requests: Option<u64>,
    /// Time from the (post-warm-up) start after which no request is sent.
    pub duration: Option<Duration>,
    /// Requests per endpoint sent before the measured start and kept out of statistics.
    pub warmup_requests: u32,
    /// `--shard K/N`: this process sends the race's ordinals `i % N == K` (after its own
    /// warm-ups); `requests` is then the shard's own count.
    pub shard: Option<Shard>,
}

/// A worker with its own connection, before the race starts.
pub struct Worker {
    pub(super) target: Arc<Target>,
    pub(super) connection: Connection,
    /// Its place among its endpoint's workers, from 0: a concurrency ramp lets the first
    /// `n` send.
    pub(super) slot: u32,
}

/// What every sender of a race shares.
pub(super) struct Shared {
    pub(super) limits: Limits,
    pub(super) timeouts: Timeouts,
    pub(super) clock: RaceClock,
    pub(super) events: EventSender,
    pub(super) controls: Controls,
    pub(super) next_request: AtomicU64,
    /// Every worker waits here after the warm-up requests: the synchronized start.
    pub(super) start: Barrier,
    /// Per endpoint (by id), the next request's sequence number: which prompt it gets.
    pub(super) sequences: Vec<AtomicU64>,
    /// Per endpoint (by id), cancelled once its request count is reached: a worker waiting for
    /// its turn on a ramp need not wait any longer.
    pub(super) exhausted: Vec<CancellationToken>,
    /// Closed loop: how many of each endpoint's workers may send, over time.
    pub(super) ramp: Option<ConcurrencyRamp>,
    /// Retries of an attempt that failed with 429 or 503, at most.
    pub(super) retries: u32,
    /// Multi-turn sessions, when the race runs them.
    pub(super) sessions: Option<Sessions>,
    /// Where session ids come from.
    pub(super) next_session: AtomicU64,
    /// Per endpoint (by id), the measured turns sessions have reserved: the request limit
    /// counts them.
    pub(super) turns_taken: Vec<AtomicU64>,
    /// When the first measured request was handed to be sent: the start's skew is measured
    /// from it.
    pub(super) first_measured: Arc<OnceLock<(Offset, Offset)>>,
}

impl Shared {
    pub(super) fn attempts(&self) -> Attempts<'_> {
        Attempts {
            retries: self.retries,
            next_request: &self.next_request,
            controls: &self.controls,
            first_measured: &self.first_measured,
            unreached: AtomicBool::new(false),
        }
    }

    /// The whole race's ordinal of this process's `seq`th request at an endpoint: which prompt
    /// it sends and which session it is. Warm-ups are each shard's own; after them, a shard
    /// sends the race's ordinals it owns.
    pub(super) fn ordinal(&self, seq: u64) -> u64 {
        let warmups = u64::from(self.limits.warmup_requests);
        match self.limits.shard {
            Some(shard) if seq >= warmups => warmups + shard.ordinal(seq - warmups),
            _ => seq,
        }
    }

    /// Reserves a session's `turns` from `target`'s request limit before its first turn: false
    /// (and the endpoint is exhausted) when what is left cannot finish it, so the limit runs
    /// whole sessions only. The endpoint is exhausted too once the limit is all reserved.
    pub(super) fn reserve_session(&self, target: &Target, turns: u32) -> bool {
        use std::sync::atomic::Ordering;
        let endpoint = usize::from(target.id.0);
        let (Some(taken), Some(exhausted)) =
            (self.turns_taken.get(endpoint), self.exhausted.get(endpoint))
        else {
            return false;
        };
        let turns = u64::from(turns);
        let Some(limit) = self.limits.requests else {
            taken.fetch_add(turns, Ordering::AcqRel);
            return true;
        };
        let reserved = taken.fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
            (t + turns <= limit).then_some(t + turns)
        });
        if reserved.is_ok_and(|t| t + turns + turns <= limit) {
            return true;
        }
        exhausted.cancel();
        reserved.is_ok()
    }
}

/// Waits until every worker has finished its warm-up; false if the race was stopped first.
pub(super) async fn synchronized_start(shared: &Shared) -> bool {
    let stop = &shared.controls.stop_sending;
    tokio::select! {
        () = stop.cancelled() => false,
        result = shared.start.wait() => {
            if result.is_leader()
                && let Some(duration) = shared.limits.duration
            {
                arm_duration_limit(duration, stop.clone());
            }
            true
        }
    }
}

pub(super) fn arm_duration_limit(duration: Duration, stop: CancellationToken) {
    tokio::spawn(async move {
        tokio::select! {
            () = tokio::time::sleep(duration) => stop.cancel(),
            () = stop.cancelled() => {}
        }
    });
}
