//! Reading a profile spec (`turbo,ttft=200ms,fault=http_429:0.2`) into a [`Profile`], with
//! errors that name the bad part and list what is allowed.

use std::time::Duration;

use super::delivery::Delivery;
use super::faults::Fault;
use super::profile::{Delay, Profile, TokenCount};

const KEYS: &str = "ttft, itl, tokens, chunk, reasoning, prefill, cache, cache_read, \
                    cache_write, fault, header_delay, load, close_after_stream, h2_streams, \
                    goaway_after, delivery, seed";
const DELAY: &str = "a duration like `200ms`, `200ms~40ms` (log-normal mean~std-dev) or \
                     `200ms+-40ms` (normal); units ns, us, ms, s, no unit means ms";
const TOKENS: &str = "a count like `128` or an inclusive range like `64..256`";
const CHUNK: &str = "a whole number of tokens per chunk, at least 1";
const COUNT: &str = "a whole number";
const AT_LEAST_ONE: &str = "a whole number, at least 1";
const FAULT: &str = "KIND:RATE with RATE from 0 to 1 (KIND alone means 1), or `none`";
const DURATION: &str = "a duration like `2s` or `500ms`";

/// A profile spec that could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProfileError {
    #[error("empty mock profile: give a profile name ({names}) and/or KEY=VALUE settings ({KEYS})")]
    Empty { names: String },
    #[error("unknown mock profile `{name}`: the profiles are {names}")]
    UnknownProfile { name: String, names: String },
    #[error("profile name `{name}` must come first in a mock profile spec, before any KEY=VALUE")]
    MisplacedName { name: String },
    #[error("unknown mock profile setting `{key}`: the settings are {KEYS}")]
    UnknownKey { key: String },
    #[error("bad value `{value}` for mock profile setting `{key}`: expected {expected}")]
    BadValue {
        key: String,
        value: String,
        expected: &'static str,
    },
    #[error("unknown fault `{kind}` in `fault={value}`: the faults are {names}")]
    UnknownFault {
        kind: String,
        value: String,
        names: String,
    },
    #[error("mock fault rates add up to {total}, more than 1: lower some `fault=KIND:RATE`")]
    RatesOverOne { total: f64 },
}

fn profile_names() -> String {
    let names: Vec<&str> = Profile::names().iter().map(|(n, _)| *n).collect();
    names.join(", ")
}

impl Profile {
    /// Reads a spec: a profile name optionally followed by `KEY=VALUE` settings, or settings
    /// alone on top of `steady`. Items are comma separated.
    ///
    /// # Errors
    /// A [`ProfileError`] naming the unknown profile, setting, value or fault, and listing
    /// what is allowed.
    pub fn parse(spec: &str) -> Result<Profile, ProfileError> {
        let items: Vec<&str> = spec
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let Some(first) = items.first() else {
            return Err(ProfileError::Empty {
                names: profile_names(),
            });
        };
        let (mut profile, settings) = if first.contains('=') {
            (Profile::default(), &items[..])
        } else {
            let profile = Profile::named(first).ok_or_else(|| ProfileError::UnknownProfile {
                name: (*first).to_owned(),
                names: profile_names(),
            })?;
            (profile, &items[1..])
        };
        let mut keys = Vec::new();
        for item in settings {
            let Some((key, value)) = item.split_once('=') else {
                if Profile::named(item).is_some() {
                    return Err(ProfileError::MisplacedName {
                        name: (*item).to_owned(),
                    });
                }
                return Err(ProfileError::UnknownKey {
                    key: (*item).to_owned(),
                });
            };
            apply(&mut profile, key.trim(), value.trim())?;
            keys.push(key.trim());
        }
        // A TTFT given as a number is the whole TTFT, as it always was, unless a prefill
        // is given with it.
        if keys.contains(&"ttft") && !keys.contains(&"prefill") {
            profile.prefill = Duration::ZERO;
        }
        let total: f64 = profile.faults.iter().map(|(_, rate)| rate).sum();
        if total > 1.0 + 1e-9 {
            return Err(ProfileError::RatesOverOne { total });
        }
        Ok(profile)
    }
}

fn apply(profile: &mut Profile, key: &str, value: &str) -> Result<(), ProfileError> {
    let bad = |expected| ProfileError::BadValue {
        key: key.to_owned(),
        value: value.to_owned(),
        expected,
    };
    match key {
        "ttft" => profile.ttft = parse_delay(value).ok_or_else(|| bad(DELAY))?,
        "itl" => profile.itl = parse_delay(value).ok_or_else(|| bad(DELAY))?,
        "tokens" => profile.tokens = parse_tokens(value).ok_or_else(|| bad(TOKENS))?,
        "chunk" => {
            profile.chunk = value
                .parse()
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| bad(CHUNK))?;
        }
        "reasoning" => profile.reasoning = value.parse().map_err(|_| bad(COUNT))?,
        "prefill" => profile.prefill = parse_duration(value).ok_or_else(|| bad(DURATION))?,
        "cache" => profile.cache = value.parse().map_err(|_| bad(COUNT))?,
        "cache_read" => profile.cache_read = value.parse().map_err(|_| bad(COUNT))?,
        "cache_write" => profile.cache_write = value.parse().map_err(|_| bad(COUNT))?,
        "seed" => profile.seed = value.parse().map_err(|_| bad(COUNT))?,
        "header_delay" => {
            profile.header_delay = parse_duration(value).ok_or_else(|| bad(DURATION))?;
        }
        "load" => profile.load = parse_duration(value).ok_or_else(|| bad(DURATION))?,
        "close_after_stream" => {
            profile.close_after_stream = Some(parse_duration(value).ok_or_else(|| bad(DURATION))?);
        }
        "h2_streams" => {
            profile.h2_streams = Some(
                value
                    .parse()
                    .ok()
                    .filter(|&n| n >= 1)
                    .ok_or_else(|| bad(AT_LEAST_ONE))?,
            );
        }
        "goaway_after" => {
            profile.goaway_after = Some(
                value
                    .parse()
                    .ok()
                    .filter(|&n| n >= 1)
                    .ok_or_else(|| bad(AT_LEAST_ONE))?,
            );
        }
        "delivery" => {
            profile.delivery = Delivery::parse(value).ok_or_else(|| bad(Delivery::EXPECTED))?;
        }
        "fault" | "faults" => {
            if value == "none" {
                profile.faults.clear();
                return Ok(());
            }
            let (kind, rate) = match value.split_once(':') {
                Some((kind, rate)) => {
                    let rate = rate.trim().parse::<f64>().ok();
                    (
                        kind.trim(),
                        rate.filter(|r| (0.0..=1.0).contains(r))
                            .ok_or_else(|| bad(FAULT))?,
                    )
                }
                None => (value, 1.0),
            };
            let fault = Fault::from_name(kind).ok_or_else(|| ProfileError::UnknownFault {
                kind: kind.to_owned(),
                value: value.to_owned(),
                names: Fault::names_list(),
            })?;
            profile.set_fault(fault, rate);
        }
        _ => {
            return Err(ProfileError::UnknownKey {
                key: key.to_owned(),
            });
        }
    }
    Ok(())
}

fn parse_delay(value: &str) -> Option<Delay> {
    if let Some((mean, std_dev)) = value.split_once("+-") {
        let (mean, std_dev) = (parse_duration(mean)?, parse_duration(std_dev)?);
        return Some(Delay::Normal { mean, std_dev });
    }
    if let Some((mean, std_dev)) = value.split_once('~') {
        let (mean, std_dev) = (parse_duration(mean)?, parse_duration(std_dev)?);
        return Some(Delay::LogNormal { mean, std_dev });
    }
    parse_duration(value).map(Delay::Fixed)
}

fn parse_tokens(value: &str) -> Option<TokenCount> {
    match value.split_once("..") {
        Some((min, max)) => {
            let (min, max) = (min.trim().parse().ok()?, max.trim().parse().ok()?);
            (min <= max).then_some(TokenCount::Range { min, max })
        }
        None => value.parse().ok().map(TokenCount::Fixed),
    }
}

/// A non-negative decimal number with an optional unit; at most a day, which is already far
/// beyond any timeout a race would use.
fn parse_duration(value: &str) -> Option<Duration> {
    let value = value.trim();
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    let unit_secs = match unit.trim() {
        "" | "ms" => 1e-3,
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "s" => 1.0,
        "m" | "min" => 60.0,
        _ => return None,
    };
    let secs = number * unit_secs;
    if !(0.0..=86_400.0).contains(&secs) {
        return None;
    }
    // Round to whole nanoseconds so `0.1ms` reads back exactly as written.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "secs is checked to be within 0..=86400 above"
    )]
    let nanos = (secs * 1e9).round() as u64;
    Some(Duration::from_nanos(nanos))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_and_default_to_ms() {
        assert_eq!(parse_duration("200"), Some(Duration::from_millis(200)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0.1ms"), Some(Duration::from_micros(100)));
        assert_eq!(parse_duration("-1ms"), None);
        assert_eq!(parse_duration("5 parsecs"), None);
    }

    #[test]
    fn a_ttft_alone_is_the_whole_ttft_unless_a_prefill_comes_with_it() {
        let named = Profile::parse("steady").unwrap();
        assert_eq!(named.prefill, Duration::from_micros(240));
        assert_eq!(
            Profile::parse("steady,ttft=100ms").unwrap().prefill,
            Duration::ZERO
        );
        let both = Profile::parse("prefill=1ms,ttft=100ms,cache=0").unwrap();
        assert_eq!((both.prefill, both.cache), (Duration::from_millis(1), 0));
        assert!(matches!(
            Profile::parse("cache=lots"),
            Err(ProfileError::BadValue { .. })
        ));
    }

    #[test]
    fn display_reads_back_equal() {
        for (name, _) in Profile::names() {
            let mut p = Profile::named(name).unwrap();
            p.ttft = Delay::Normal {
                mean: Duration::from_micros(1500),
                std_dev: Duration::from_millis(3),
            };
            p.load = Duration::from_millis(40);
            p.cache_read = 100;
            p.prefill = Duration::from_micros(70);
            p.cache = 4096;
            p.cache_write = 20;
            p.close_after_stream = Some(Duration::from_millis(2));
            let again = Profile::parse(&p.to_string()).unwrap();
            assert_eq!(again, p, "{p}");
        }
    }

    #[test]
    fn delivery_is_set_by_the_spec_and_reads_back() {
        let profile = Profile::parse("instant,delivery=per-event").unwrap();
        assert_eq!(profile.delivery, Delivery::PerEvent);
        assert_eq!(Profile::parse(&profile.to_string()).unwrap(), profile);
        assert_eq!(
            Profile::parse("instant").unwrap().delivery,
            Delivery::Coalesced
        );
        let message = Profile::parse("instant,delivery=fast")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("`delivery`") && message.contains("per-event"),
            "{message}"
        );
    }
}
