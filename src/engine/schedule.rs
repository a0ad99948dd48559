//! Open-loop schedules: when each request is meant to leave, as offsets from the start, given a
//! rate, an arrival process and a seed. Pure: no clock, no I/O, so it is tested on numbers.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Exp1};
use serde::{Deserialize, Serialize};

/// Requests per second, parsed from `"5/s"`, `"300/min"` or `"2/h"`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rate {
    per_sec: f64,
}

impl Rate {
    pub fn per_sec(self) -> f64 {
        self.per_sec
    }
}

/// Why a rate string was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error(
    "'{0}' is not a rate: write a positive number of requests per unit, like \"5/s\" or \"300/min\""
)]
pub struct RateError(pub String);

impl FromStr for Rate {
    type Err = RateError;

    fn from_str(text: &str) -> Result<Rate, RateError> {
        let bad = || RateError(text.to_string());
        let (count, unit) = text.trim().split_once('/').ok_or_else(bad)?;
        let count: f64 = count.trim().parse().map_err(|_| bad())?;
        let secs = match unit.trim() {
            "s" | "sec" | "second" => 1.0,
            "m" | "min" | "minute" => 60.0,
            "h" | "hour" => 3600.0,
            _ => return Err(bad()),
        };
        let per_sec = count / secs;
        if !per_sec.is_finite() || per_sec <= 0.0 {
            return Err(bad());
        }
        Ok(Rate { per_sec })
    }
}

impl TryFrom<String> for Rate {
    type Error = RateError;

    fn try_from(text: String) -> Result<Rate, RateError> {
        text.parse()
    }
}

impl From<Rate> for String {
    fn from(rate: Rate) -> String {
        rate.to_string()
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", self.per_sec)
    }
}

/// How arrivals are spaced at a given rate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrivals {
    /// Evenly spaced: one every `1/rate`.
    #[default]
    Constant,
    /// A Poisson process: exponential gaps with mean `1/rate`, as independent users arrive.
    Poisson,
}

impl Arrivals {
    /// The default, left out of `run.json` so closed-loop races read as before.
    pub fn is_constant(&self) -> bool {
        *self == Arrivals::Constant
    }
}

/// A linear change of rate from `from` to `to` over `over`; `to` holds afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ramp {
    pub from: Rate,
    pub to: Rate,
    #[serde(with = "humantime_secs")]
    pub over: Duration,
}

impl FromStr for Ramp {
    type Err = String;

    /// `1/s..20/s:60s`.
    fn from_str(text: &str) -> Result<Ramp, String> {
        let bad = || format!("'{text}' is not a ramp: write FROM..TO:OVER, like \"1/s..20/s:60s\"");
        let (rates, over) = text.rsplit_once(':').ok_or_else(bad)?;
        let (from, to) = rates.split_once("..").ok_or_else(bad)?;
        let over = humantime::parse_duration(over.trim()).map_err(|_| bad())?;
        if over.is_zero() {
            return Err(bad());
        }
        Ok(Ramp {
            from: from.parse().map_err(|_| bad())?,
            to: to.parse().map_err(|_| bad())?,
            over,
        })
    }
}

/// The shape of an open-loop load: a fixed rate or a ramp, and how arrivals are spaced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoadShape {
    pub rate: RateShape,
    pub arrivals: Arrivals,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RateShape {
    Fixed(Rate),
    Ramp(Ramp),
}

/// The intended send offsets of an open-loop run, in order; endless (the engine stops it).
///
/// Both arrival processes are drawn in "work" space, where the cumulative rate `Λ(t)` grows by
/// one per request: constant arrivals sit at 0, 1, 2, …; Poisson arrivals at sums of unit
/// exponential gaps. Mapping back through `Λ⁻¹` (time rescaling) gives the right process for a
/// fixed rate and for a ramp alike.
pub struct Schedule {
    shape: LoadShape,
    rng: StdRng,
    work: f64,
    sent: u64,
}

impl Schedule {
    /// The same shape and seed always give the same offsets.
    pub fn new(shape: LoadShape, seed: u64) -> Schedule {
        Schedule {
            shape,
            rng: StdRng::seed_from_u64(seed),
            work: 0.0,
            sent: 0,
        }
    }

    fn time_at(&self, work: f64) -> f64 {
        match self.shape.rate {
            RateShape::Fixed(rate) => work / rate.per_sec,
            RateShape::Ramp(ramp) => ramp_time_at(ramp, work),
        }
    }
}

/// `Λ⁻¹(work)` for a linear ramp: `Λ(t) = b·t + a·t²` with `b = from`, `a = (to − from)/2T`
/// until `T`, then `to` per second.
fn ramp_time_at(ramp: Ramp, work: f64) -> f64 {
    let over = ramp.over.as_secs_f64();
    let b = ramp.from.per_sec;
    let a = (ramp.to.per_sec - b) / (2.0 * over);
    let at_end = b * over + a * over * over;
    if work <= at_end {
        // The root of a·t² + b·t − w, written so that a = 0 needs no special case.
        let denominator = b + (b * b + 4.0 * a * work).max(0.0).sqrt();
        if denominator <= 0.0 {
            0.0
        } else {
            2.0 * work / denominator
        }
    } else {
        over + (work - at_end) / ramp.to.per_sec
    }
}

impl Iterator for Schedule {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let work = match self.shape.arrivals {
            // Counted, not summed, so that constant offsets do not drift.
            #[expect(
                clippy::cast_precision_loss,
                reason = "request counts stay far below 2^52"
            )]
            Arrivals::Constant => self.sent as f64,
            Arrivals::Poisson => {
                let at = self.work;
                let gap: f64 = Exp1.sample(&mut self.rng);
                self.work += gap;
                at
            }
        };
        self.sent += 1;
        let secs = self.time_at(work);
        // Rounded to whole nanoseconds so that 5/s gives exactly 0.2 s, 0.4 s, …
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "offsets are non-negative and far below u64::MAX nanoseconds"
        )]
        let nanos = (secs * 1e9).round() as u64;
        Some(Duration::from_nanos(nanos))
    }
}

mod humantime_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(text: &str) -> Rate {
        text.parse().expect("a valid rate")
    }

    fn fixed(text: &str, arrivals: Arrivals) -> LoadShape {
        LoadShape {
            rate: RateShape::Fixed(rate(text)),
            arrivals,
        }
    }

    #[test]
    fn rates_parse_per_second_and_per_minute() {
        assert!((rate("5/s").per_sec() - 5.0).abs() < 1e-12);
        assert!((rate("300/min").per_sec() - 5.0).abs() < 1e-12);
        assert!((rate(" 0.5 / s ").per_sec() - 0.5).abs() < 1e-12);
        for bad in ["5", "5/day", "0/s", "-1/s", "x/s", "inf/s", ""] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn constant_offsets_are_exact() {
        let offsets: Vec<Duration> = Schedule::new(fixed("5/s", Arrivals::Constant), 1)
            .take(4)
            .collect();
        let millis = |ms| Duration::from_millis(ms);
        assert_eq!(offsets, [millis(0), millis(200), millis(400), millis(600)]);
        let far = Schedule::new(fixed("300/min", Arrivals::Constant), 1)
            .nth(10_000)
            .expect("endless");
        assert_eq!(far, Duration::from_secs(2000));
    }

    #[test]
    fn poisson_is_reproducible_from_its_seed() {
        let shape = fixed("5/s", Arrivals::Poisson);
        let a: Vec<_> = Schedule::new(shape, 7).take(100).collect();
        let b: Vec<_> = Schedule::new(shape, 7).take(100).collect();
        let c: Vec<_> = Schedule::new(shape, 8).take(100).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn poisson_gaps_have_the_exponential_mean_and_variance() {
        let n = 10_000;
        let offsets: Vec<f64> = Schedule::new(fixed("5/s", Arrivals::Poisson), 42)
            .take(n + 1)
            .map(|d| d.as_secs_f64())
            .collect();
        let gaps: Vec<f64> = offsets.windows(2).map(|w| w[1] - w[0]).collect();
        let count = gaps.len() as f64;
        let mean = gaps.iter().sum::<f64>() / count;
        let variance = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / (count - 1.0);
        // Exponential(5/s): mean 0.2 s, variance 0.04 s². The mean's standard error is
        // 0.2/√n = 0.002 s, so ±0.01 s is five of them; the variance's relative error is about
        // √(8/n) ≈ 3 %, so ±15 % is five of those.
        assert!((mean - 0.2).abs() < 0.01, "mean {mean}");
        assert!((variance - 0.04).abs() < 0.04 * 0.15, "variance {variance}");
    }

    #[test]
    fn a_ramp_speeds_up_linearly_then_holds() {
        let ramp: Ramp = "1/s..21/s:10s".parse().expect("a valid ramp");
        let shape = LoadShape {
            rate: RateShape::Ramp(ramp),
            arrivals: Arrivals::Constant,
        };
        let offsets: Vec<f64> = Schedule::new(shape, 0)
            .take(400)
            .map(|d| d.as_secs_f64())
            .collect();
        // Λ(t) = t + t²: request k leaves when t + t² = k.
        for (k, t) in offsets.iter().enumerate().take(110) {
            let expected = (-1.0 + (1.0 + 4.0 * k as f64).sqrt()) / 2.0;
            assert!(
                (t - expected).abs() < 1e-6,
                "request {k}: {t} vs {expected}"
            );
        }
        // Λ(10) = 110; afterwards 21 per second.
        assert!((offsets[110] - 10.0).abs() < 1e-6);
        assert!((offsets[131] - 11.0).abs() < 1e-6);
        let early_gap = offsets[2] - offsets[1];
        let late_gap = offsets[300] - offsets[299];
        assert!(early_gap > late_gap * 5.0);
    }

    #[test]
    fn a_ramp_may_slow_down_too() {
        let ramp: Ramp = "10/s..2/s:4s".parse().expect("a valid ramp");
        let shape = LoadShape {
            rate: RateShape::Ramp(ramp),
            arrivals: Arrivals::Constant,
        };
        let offsets: Vec<f64> = Schedule::new(shape, 0)
            .take(40)
            .map(|d| d.as_secs_f64())
            .collect();
        // Λ(4) = 10·4 − 1·16 = 24.
        assert!((offsets[24] - 4.0).abs() < 1e-6);
        assert!((offsets[26] - 5.0).abs() < 1e-6);
        assert!(offsets.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn ramps_parse_from_the_command_line_form() {
        let ramp: Ramp = "1/s..20/s:60s".parse().expect("a valid ramp");
        assert_eq!(ramp.over, Duration::from_secs(60));
        assert!((ramp.to.per_sec() - 20.0).abs() < 1e-12);
        for bad in ["1/s..20/s", "1/s:60s", "1/s..20/s:0s", "1/s..x:60s"] {
            assert!(bad.parse::<Ramp>().is_err(), "{bad}");
        }
    }
}
