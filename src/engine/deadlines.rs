//! The deadlines of one request: first token, idle between chunks and total, and which one
//! expired, with the message that says so.

use std::time::Duration;

use crate::clock::RaceClock;
use crate::config::Timeouts;
use crate::event::{ErrorClass, Offset};

/// The deadlines of one request, as instants on the race clock.
pub(super) struct Deadlines {
    first_token: Duration,
    idle: Duration,
    total: Duration,
    clock_first_token: tokio::time::Instant,
    clock_total: tokio::time::Instant,
}

impl Deadlines {
    pub(super) fn new(clock: &RaceClock, timeouts: &Timeouts, sent: Offset) -> Self {
        let at = |d: Duration| tokio::time::Instant::from_std(clock.instant_at(sent) + d);
        Deadlines {
            first_token: timeouts.first_token,
            idle: timeouts.idle,
            total: timeouts.total,
            clock_first_token: at(timeouts.first_token),
            clock_total: at(timeouts.total),
        }
    }

    pub(super) fn before_first_token(&self) -> tokio::time::Instant {
        self.clock_first_token.min(self.clock_total)
    }

    pub(super) fn expired_before_first_token(&self) -> (ErrorClass, String) {
        if self.first_token <= self.total {
            (
                ErrorClass::FirstTokenTimeout,
                format!(
                    "no token within the first-token timeout ({})",
                    humantime::format_duration(self.first_token)
                ),
            )
        } else {
            self.expired_total()
        }
    }

    pub(super) fn between_chunks(
        &self,
        clock: &RaceClock,
        last_bytes: Offset,
    ) -> tokio::time::Instant {
        let idle = tokio::time::Instant::from_std(clock.instant_at(last_bytes) + self.idle);
        idle.min(self.clock_total)
    }

    pub(super) fn expired_between_chunks(
        &self,
        clock: &RaceClock,
        last_bytes: Offset,
    ) -> (ErrorClass, String) {
        if self.between_chunks(clock, last_bytes) < self.clock_total {
            (
                ErrorClass::IdleTimeout,
                format!(
                    "nothing arrived for {} mid-stream (idle timeout)",
                    humantime::format_duration(self.idle)
                ),
            )
        } else {
            self.expired_total()
        }
    }

    pub(super) fn expired_total(&self) -> (ErrorClass, String) {
        (
            ErrorClass::TotalTimeout,
            format!(
                "the request took longer than the total timeout ({})",
                humantime::format_duration(self.total)
            ),
        )
    }
}
