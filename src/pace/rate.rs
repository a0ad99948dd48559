//! Open-loop rates as users write them: a rate (`5/s`), a linear ramp between two rates
//! (`1/s..20/s:60s`), how arrivals are spaced, and the shape they make together. Also the one
//! reader of every ramp's command-line form, `FROM..TO:OVER`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

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
    #[expect(
        clippy::trivially_copy_pass_by_ref,
        reason = "serde's `skip_serializing_if` passes a reference"
    )]
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
        let (from, to, over) = parse_ramp(text, "1/s..20/s:60s")?;
        Ok(Ramp { from, to, over })
    }
}

/// The one reading of a ramp's command-line form, `FROM..TO:OVER`, for every kind of ramp
/// (rates, concurrency): `example` is shown when `text` is not one.
pub fn parse_ramp<T: FromStr>(text: &str, example: &str) -> Result<(T, T, Duration), String> {
    let bad = |why: &str| {
        format!("'{text}' is not a ramp: {why}; write FROM..TO:OVER, like \"{example}\"")
    };
    let (ends, over) = text
        .rsplit_once(':')
        .ok_or_else(|| bad("the duration (:OVER) is missing"))?;
    let (from, to) = ends
        .split_once("..")
        .ok_or_else(|| bad("FROM..TO is missing"))?;
    let over = humantime::parse_duration(over.trim())
        .map_err(|_| bad("OVER is not a duration with a unit"))?;
    if over.is_zero() {
        return Err(bad("a ramp must last longer than zero"));
    }
    let from = from.trim().parse().map_err(|_| bad("FROM is not valid"))?;
    let to = to.trim().parse().map_err(|_| bad("TO is not valid"))?;
    Ok((from, to, over))
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

pub(crate) mod humantime_secs {
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
    fn ramps_parse_from_the_command_line_form() {
        let ramp: Ramp = "1/s..20/s:60s".parse().expect("a valid ramp");
        assert_eq!(ramp.over, Duration::from_secs(60));
        assert!((ramp.to.per_sec() - 20.0).abs() < 1e-12);
        for bad in ["1/s..20/s", "1/s:60s", "1/s..20/s:0s", "1/s..x:60s"] {
            assert!(bad.parse::<Ramp>().is_err(), "{bad}");
        }
    }
}
