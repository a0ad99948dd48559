//! The closed-loop concurrency ramp: how many workers per endpoint may send at a given time
//! after the start. Pure (no clock), so it is tested on numbers; the workers ask it before
//! each request.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::humantime_secs;
use super::rate::parse_ramp;

/// Workers per endpoint changing linearly from `from` to `to` over `over`; `to` holds after.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConcurrencyRamp {
    pub from: u32,
    pub to: u32,
    #[serde(with = "humantime_secs")]
    pub over: Duration,
}

/// How a concurrency ramp is written on the command line.
pub const CONCURRENCY_RAMP_EXAMPLE: &str = "1..16:60s";

impl ConcurrencyRamp {
    /// A ramp, if it can run: it must last longer than zero and end with at least one worker.
    pub fn new(from: u32, to: u32, over: Duration) -> Result<ConcurrencyRamp, String> {
        if over.is_zero() {
            return Err("a concurrency ramp must last longer than zero".to_string());
        }
        if to == 0 {
            return Err(
                "a concurrency ramp must end with at least 1 request in flight".to_string(),
            );
        }
        Ok(ConcurrencyRamp { from, to, over })
    }

    /// The most workers it ever uses: how many each endpoint needs.
    pub fn peak(&self) -> u32 {
        self.from.max(self.to).max(1)
    }

    /// Workers allowed to send at `t` after the start: `from + (to − from)·t/over`, rounded,
    /// at least one; `to` from `over` on.
    pub fn active_at(&self, t: Duration) -> u32 {
        if t >= self.over {
            return self.to.max(1);
        }
        let from = f64::from(self.from);
        let to = f64::from(self.to);
        let now = from + (to - from) * t.as_secs_f64() / self.over.as_secs_f64();
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "between from and to, both u32"
        )]
        let rounded = now.round() as u32;
        rounded.max(1)
    }

    /// The earliest time, `t` or later, at which worker `slot` (from 0) may send; `None` when
    /// it never may again (a falling ramp has retired it). The ramp is monotonic, so a worker
    /// waiting for its turn on a rising ramp is never turned away once it has one.
    pub fn turn(&self, slot: u32, t: Duration) -> Option<Duration> {
        if self.active_at(t) > slot {
            return Some(t);
        }
        if self.to <= slot || self.to <= self.from {
            return None;
        }
        // round(v) > slot ⟺ v ≥ slot + ½, and v rises linearly from `from` to `to`.
        let share = (f64::from(slot) + 0.5 - f64::from(self.from)) / f64::from(self.to - self.from);
        let at = self.over.mul_f64(share.clamp(0.0, 1.0)).max(t);
        // Floating point may land a hair early; a microsecond later the slot is surely open.
        Some(if self.active_at(at) > slot {
            at
        } else {
            (at + Duration::from_micros(1)).min(self.over)
        })
    }
}

impl FromStr for ConcurrencyRamp {
    type Err = String;

    /// `1..16:60s`.
    fn from_str(text: &str) -> Result<ConcurrencyRamp, String> {
        let (from, to, over) = parse_ramp::<u32>(text, CONCURRENCY_RAMP_EXAMPLE)?;
        ConcurrencyRamp::new(from, to, over)
            .map_err(|why| format!("'{text}' is not a usable ramp: {why}"))
    }
}

impl fmt::Display for ConcurrencyRamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} to {} in flight over {}",
            self.from,
            self.to,
            humantime::format_duration(self.over)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(text: &str) -> ConcurrencyRamp {
        text.parse().expect("a valid ramp")
    }

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn a_rising_ramp_adds_workers_linearly_then_holds() {
        let r = ramp("1..5:4s");
        let active: Vec<u32> = [0.0, 0.4, 0.6, 1.0, 2.0, 3.0, 3.9, 4.0, 100.0]
            .iter()
            .map(|&t| r.active_at(secs(t)))
            .collect();
        // v(t) = 1 + t: rounds up at the half.
        assert_eq!(active, [1, 1, 2, 2, 3, 4, 5, 5, 5]);
        assert_eq!(r.peak(), 5);
    }

    #[test]
    fn a_falling_ramp_retires_workers() {
        let r = ramp("8..2:6s");
        assert_eq!(r.active_at(Duration::ZERO), 8);
        assert_eq!(r.active_at(secs(3.0)), 5);
        assert_eq!(r.active_at(secs(6.0)), 2);
        assert_eq!(r.active_at(secs(60.0)), 2);
        assert_eq!(r.peak(), 8);
        // Worker 7 works until its count is passed, then never again.
        assert_eq!(r.turn(7, Duration::ZERO), Some(Duration::ZERO));
        assert_eq!(r.turn(7, secs(1.0)), None);
        assert_eq!(r.turn(1, secs(1000.0)), Some(secs(1000.0)));
    }

    #[test]
    fn equal_ends_hold_steady() {
        let r = ramp("4..4:10s");
        for t in [0.0, 5.0, 10.0, 11.0] {
            assert_eq!(r.active_at(secs(t)), 4);
        }
        assert_eq!(r.turn(4, Duration::ZERO), None);
    }

    #[test]
    fn at_least_one_worker_sends() {
        let r = ramp("0..2:2s");
        assert_eq!(r.active_at(Duration::ZERO), 1);
        assert_eq!(r.active_at(secs(1.4)), 1);
        assert_eq!(r.active_at(secs(1.6)), 2);
    }

    #[test]
    fn a_waiting_worker_learns_when_its_turn_comes() {
        let r = ramp("1..5:4s");
        // Worker 2 (the third) may send once v(t) = 1 + t reaches 2.5.
        let at = r.turn(2, Duration::ZERO).expect("it joins");
        assert!((at.as_secs_f64() - 1.5).abs() < 1e-5, "{at:?}");
        assert_eq!(r.active_at(at), 3);
        let before = at
            .checked_sub(Duration::from_millis(1))
            .expect("it joins after 1.5 s");
        assert!(r.active_at(before) < 3);
        for slot in 0..5 {
            let at = r.turn(slot, Duration::ZERO).expect("every worker joins");
            assert!(r.active_at(at) > slot && at <= r.over, "{slot}: {at:?}");
        }
        assert_eq!(r.turn(5, Duration::ZERO), None);
    }

    #[test]
    fn ramps_parse_from_the_command_line_form() {
        assert_eq!(
            ramp("1..16:60s"),
            ConcurrencyRamp {
                from: 1,
                to: 16,
                over: Duration::from_secs(60)
            }
        );
        assert_eq!(ramp(" 16 .. 2 : 1m ").to, 2);
        for (bad, why) in [
            ("1..16:0s", "longer than zero"),
            ("1..0:10s", "at least 1"),
            ("1..16", ":OVER"),
            ("1:10s", "FROM..TO"),
            ("1..x:10s", "TO"),
            ("-1..4:10s", "FROM"),
            ("1/s..4/s:10s", "FROM"),
        ] {
            let message = bad.parse::<ConcurrencyRamp>().expect_err(bad);
            assert!(message.contains(why), "{bad}: {message}");
            assert!(
                message.contains("1..16:60s") || message.contains("usable"),
                "{message}"
            );
        }
    }

    #[test]
    fn it_reads_as_a_phrase() {
        assert_eq!(ramp("1..8:30s").to_string(), "1 to 8 in flight over 30s");
    }
}
