//! Reading the race file's `[load]` table: the load shape (closed loop, concurrency ramp,
//! open-loop rate or ramp, laps), its limits and retries, each value checked where it stands.

use std::time::Duration;

use toml::Spanned;

use super::Resolver;
use crate::config::error::ConfigError;
use crate::config::raw::{RawLoad, RawRamp};
use crate::config::validate::{self, Problem};
use crate::config::{DEFAULT_CONCURRENCY, LoadConfig};
use crate::pace::{Arrivals, ConcurrencyRamp, Ramp, Rate};

impl Resolver<'_> {
    pub(super) fn load(&self, raw: RawLoad) -> Result<LoadConfig, ConfigError> {
        if let Some(requests) = &raw.requests {
            self.check(requests, "load.requests", |r| {
                validate::at_least_one(*r, "requests = 20")
            })?;
        }
        if let Some(concurrency) = &raw.concurrency {
            self.check(concurrency, "load.concurrency", |c| {
                validate::at_least_one(u64::from(*c), "concurrency = 4")
            })?;
        }
        if let Some(laps) = raw.laps.as_ref().filter(|l| *l.get_ref())
            && (raw.rate.is_some() || raw.ramp.is_some())
        {
            return Err(self.fail(
                laps,
                "load.laps",
                Problem::new(
                    "laps and an open-loop `rate` or `ramp` cannot go together",
                    "laps send each prompt to every endpoint at once and wait for all of them; \
                     a rate sends on a clock: keep `laps = true` or the rate, not both",
                ),
            ));
        }
        if let Some(ramp) = &raw.concurrency_ramp {
            let other = [
                ("rate", raw.rate.is_some()),
                ("ramp", raw.ramp.is_some()),
                ("laps", raw.laps.as_ref().is_some_and(|l| *l.get_ref())),
                ("concurrency", raw.concurrency.is_some()),
            ]
            .into_iter()
            .find_map(|(key, set)| set.then_some(key));
            if let Some(other) = other {
                return Err(self.fail(
                    ramp,
                    "load.concurrency_ramp",
                    Problem::new(
                        format!("`concurrency_ramp` and `{other}` cannot go together"),
                        "a concurrency ramp is a closed loop whose requests in flight change \
                         over time (it replaces `concurrency`); `rate` and `ramp` are open \
                         loops and `laps` runs one prompt at a time: keep one of them",
                    ),
                ));
            }
        }
        if let (Some(_), Some(ramp)) = (&raw.rate, &raw.ramp) {
            return Err(self.fail(
                ramp,
                "load.ramp",
                Problem::new(
                    "`rate` and `ramp` both set the open-loop rate",
                    r#"keep one: `rate = "5/s"` for a steady rate, or `ramp = { from = "1/s", to = "20/s", over = "60s" }`"#,
                ),
            ));
        }
        Ok(LoadConfig {
            requests: raw.requests.map(Spanned::into_inner),
            duration: self.duration(raw.duration.as_ref(), "load.duration")?,
            concurrency: raw
                .concurrency
                .map_or(DEFAULT_CONCURRENCY, Spanned::into_inner),
            warmup_requests: raw.warmup_requests.unwrap_or(0),
            warm_connections: raw.warm_connections.unwrap_or(true),
            rate: raw
                .rate
                .as_ref()
                .map(|r| self.check(r, "load.rate", |t| rate(t)))
                .transpose()?,
            ramp: raw.ramp.as_ref().map(|r| self.ramp(r)).transpose()?,
            arrivals: raw
                .arrivals
                .as_ref()
                .map(|a| self.check(a, "load.arrivals", |t| arrivals(t)))
                .transpose()?
                .unwrap_or_default(),
            max_in_flight: raw
                .max_in_flight
                .as_ref()
                .map(|m| {
                    self.check(m, "load.max_in_flight", |m| {
                        validate::at_least_one(u64::from(*m), "max_in_flight = 64").map(|()| *m)
                    })
                })
                .transpose()?,
            laps: raw.laps.is_some_and(toml::Spanned::into_inner),
            concurrency_ramp: raw
                .concurrency_ramp
                .as_ref()
                .map(|r| self.concurrency_ramp(r))
                .transpose()?,
            arrival_seed: None,
            retries: raw.retries.unwrap_or(0),
            trace_speed: raw
                .trace_speed
                .as_ref()
                .map(|s| self.check(s, "load.trace_speed", |s| crate::config::trace::speed(*s)))
                .transpose()?,
        })
    }

    /// The problem with `arrivals` or `max_in_flight` set without an open-loop `rate` or
    /// `ramp`: they would do nothing.
    pub(super) fn open_loop_only(&self, raw: &RawLoad) -> Option<ConfigError> {
        if raw.rate.is_some() || raw.ramp.is_some() {
            return None;
        }
        let (key, at) = match (&raw.arrivals, &raw.max_in_flight) {
            (Some(arrivals), _) if arrivals.get_ref() != "constant" => {
                ("arrivals", self.at(arrivals))
            }
            (_, Some(cap)) => ("max_in_flight", self.at(cap)),
            _ => return None,
        };
        Some(ConfigError::invalid(
            at,
            format!("load.{key}"),
            format!("`{key}` applies only to an open loop, and this race has no `rate` or `ramp`"),
            r#"add e.g. `rate = "5/s"` (or a `ramp`, or --rate) to send on a schedule, or remove the key; a closed loop's load is set with `concurrency`"#,
        ))
    }

    /// `over` of a ramp: a duration longer than zero.
    fn ramp_over(
        &self,
        over: &Spanned<String>,
        key: &str,
        example: &str,
    ) -> Result<Duration, ConfigError> {
        let duration = self.duration(Some(over), key)?.unwrap_or_default();
        if duration.is_zero() {
            return Err(self.fail(
                over,
                key,
                Problem::new(
                    "a ramp must last longer than zero",
                    format!("write e.g. `{example}`"),
                ),
            ));
        }
        Ok(duration)
    }

    fn ramp(&self, raw: &Spanned<RawRamp<String>>) -> Result<Ramp, ConfigError> {
        let ramp = raw.get_ref();
        let over = self.ramp_over(
            &ramp.over,
            "load.ramp.over",
            r#"ramp = { from = "1/s", to = "20/s", over = "60s" }"#,
        )?;
        Ok(Ramp {
            from: self.check(&ramp.from, "load.ramp.from", |t| rate(t))?,
            to: self.check(&ramp.to, "load.ramp.to", |t| rate(t))?,
            over,
        })
    }

    fn concurrency_ramp(
        &self,
        raw: &Spanned<RawRamp<u32>>,
    ) -> Result<ConcurrencyRamp, ConfigError> {
        let ramp = raw.get_ref();
        let example = r#"concurrency_ramp = { from = 1, to = 16, over = "60s" }"#;
        let over = self.ramp_over(&ramp.over, "load.concurrency_ramp.over", example)?;
        self.check(&ramp.to, "load.concurrency_ramp.to", |to| {
            validate::at_least_one(u64::from(*to), example)
        })?;
        ConcurrencyRamp::new(*ramp.from.get_ref(), *ramp.to.get_ref(), over).map_err(|why| {
            self.fail(
                raw,
                "load.concurrency_ramp",
                Problem::new(why, format!("write e.g. `{example}`")),
            )
        })
    }
}

fn rate(text: &str) -> Result<Rate, Problem> {
    text.parse::<Rate>().map_err(|e| {
        Problem::new(
            e.to_string(),
            r#"write requests per second or per minute, e.g. `rate = "5/s"` or `rate = "300/min"`"#,
        )
    })
}

fn arrivals(text: &str) -> Result<Arrivals, Problem> {
    match text {
        "constant" => Ok(Arrivals::Constant),
        "poisson" => Ok(Arrivals::Poisson),
        other => Err(Problem::new(
            format!("'{other}' is not a kind of arrivals"),
            r#"write `arrivals = "constant"` (evenly spaced) or `arrivals = "poisson"` (random, as independent users)"#,
        )),
    }
}
