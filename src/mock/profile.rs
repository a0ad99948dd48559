//! Mock profiles: how fast, how long and how faulty the mock's answers are, the named presets,
//! and the random draws a profile makes for one request.

use std::fmt;
use std::time::Duration;

use rand::Rng;
use rand_distr::{Distribution, LogNormal, Normal};

use super::delivery::Delivery;
use super::faults::Fault;
use super::text::mix;

/// A delay the mock waits before a token (TTFT) or between tokens (ITL).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Delay {
    Fixed(Duration),
    /// Normal with this mean and standard deviation; draws below zero count as zero.
    Normal {
        mean: Duration,
        std_dev: Duration,
    },
    /// Log-normal with this mean and standard deviation: never negative, with the long right
    /// tail real servers show.
    LogNormal {
        mean: Duration,
        std_dev: Duration,
    },
}

/// How many answer tokens a response has before the request's own cap applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenCount {
    Fixed(u32),
    /// Inclusive range; each prompt gets its own count, the same every time it is asked.
    Range {
        min: u32,
        max: u32,
    },
}

/// Everything that shapes the mock's answers. Deterministic for a given `seed`: the text and
/// length of an answer follow from the seed and the request body, the timing and faults from
/// the seed and the request's sequence number.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// The named profile this one started from.
    pub name: &'static str,
    pub ttft: Delay,
    pub itl: Delay,
    pub tokens: TokenCount,
    /// Tokens per streamed chunk: servers batch.
    pub chunk: u32,
    /// Reasoning tokens sent before the answer (chat protocols only).
    pub reasoning: u32,
    /// Extra TTFT per prompt token not read from the prefix cache: the prefill.
    pub prefill: Duration,
    /// Prompt tokens the prefix cache holds (0: no cache).
    pub cache: u32,
    /// Prompt tokens the usage reports as read from the prompt cache (at most the prompt),
    /// whatever the prefix cache holds; 0 reports what the prefix cache hit.
    pub cache_read: u32,
    /// Prompt tokens the usage reports as written to the prompt cache (Anthropic only: at most
    /// the prompt's tokens not read from it).
    pub cache_write: u32,
    /// Probability per request of each fault; they add up to at most 1.
    pub faults: Vec<(Fault, f64)>,
    /// How late the headers are under the `slow_headers` fault.
    pub header_delay: Duration,
    /// Extra TTFT per other generation already in progress when a request arrives, with the
    /// ITL growing in the same proportion: a server that saturates, for sweeps to find.
    pub load: Duration,
    /// Say `Keep-Alive: timeout=5, max=100` yet close the connection this long after a
    /// streamed response has been sent, reading no further request on it: what llama.cpp's
    /// server does.
    pub close_after_stream: Option<Duration>,
    /// HTTP/2: how many streams a connection may have open at once (its
    /// `SETTINGS_MAX_CONCURRENT_STREAMS`); `None`: [`DEFAULT_H2_STREAMS`].
    pub h2_streams: Option<u32>,
    /// Each connection, once this many requests arrived on it, says GOAWAY (HTTP/2; HTTP/1.1
    /// closes after the response) and closes [`GOAWAY_GRACE`] later, cutting what is still
    /// streaming.
    pub goaway_after: Option<u32>,
    /// One write per streamed event, or whatever is due in one write.
    pub delivery: Delivery,
    pub seed: u64,
}

/// Streams an HTTP/2 connection to the mock may have open at once unless `h2_streams=` says.
pub const DEFAULT_H2_STREAMS: u32 = 200;

/// How long a connection that said GOAWAY (`goaway_after=`) lets its open streams run.
pub const GOAWAY_GRACE: Duration = Duration::from_millis(50);

/// Prompt tokens a profile's prefix cache holds unless `cache=` says otherwise.
pub const DEFAULT_CACHE_TOKENS: u32 = 1 << 20;

const NAMES: [(&str, &str); 6] = [
    ("instant", "no delays, 128 tokens: for benchmarks"),
    (
        "turbo",
        "TTFT ~80 ms + 60 µs per uncached prompt token, ~8 ms/token",
    ),
    (
        "steady",
        "TTFT ~250 ms + 240 µs per uncached prompt token, ~20 ms/token, low jitter (the default)",
    ),
    (
        "thinker",
        "~40 reasoning tokens first, TTFT ~150 ms + 120 µs per uncached prompt token, ~15 ms/token",
    ),
    (
        "flaky",
        "TTFT ~120 ms jittery + 100 µs per uncached prompt token, ~12 ms/token, ~8% of requests fail",
    ),
    (
        "slow",
        "TTFT ~1 s + 800 µs per uncached prompt token, ~60 ms/token",
    ),
];

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

const fn jitter(mean: Duration, std_dev: Duration) -> Delay {
    Delay::LogNormal { mean, std_dev }
}

impl Profile {
    /// The named profiles with a one-line description each.
    #[must_use]
    pub fn names() -> &'static [(&'static str, &'static str)] {
        &NAMES
    }

    /// A named profile, unmodified.
    #[must_use]
    pub fn named(name: &str) -> Option<Profile> {
        let base = Profile {
            name: "steady",
            ttft: jitter(ms(250), ms(10)),
            itl: jitter(ms(20), ms(1)),
            tokens: TokenCount::Fixed(128),
            chunk: 1,
            reasoning: 0,
            prefill: Duration::from_micros(240),
            cache: DEFAULT_CACHE_TOKENS,
            cache_read: 0,
            cache_write: 0,
            faults: Vec::new(),
            header_delay: ms(2000),
            load: Duration::ZERO,
            close_after_stream: None,
            h2_streams: None,
            goaway_after: None,
            delivery: Delivery::Coalesced,
            seed: 1,
        };
        let profile = match name {
            "steady" => base,
            "instant" => Profile {
                name: "instant",
                ttft: Delay::Fixed(Duration::ZERO),
                itl: Delay::Fixed(Duration::ZERO),
                prefill: Duration::ZERO,
                ..base
            },
            "turbo" => Profile {
                name: "turbo",
                ttft: jitter(ms(80), ms(15)),
                itl: jitter(ms(8), ms(2)),
                tokens: TokenCount::Range { min: 64, max: 192 },
                prefill: us(60),
                ..base
            },
            "thinker" => Profile {
                name: "thinker",
                ttft: jitter(ms(150), ms(20)),
                itl: jitter(ms(15), ms(2)),
                tokens: TokenCount::Range { min: 96, max: 160 },
                reasoning: 40,
                prefill: us(120),
                ..base
            },
            "flaky" => Profile {
                name: "flaky",
                ttft: jitter(ms(120), ms(60)),
                itl: jitter(ms(12), ms(4)),
                tokens: TokenCount::Range { min: 64, max: 160 },
                faults: vec![
                    (Fault::Http429, 0.02),
                    (Fault::Http500, 0.015),
                    (Fault::Http503, 0.01),
                    (Fault::ResetMidStream, 0.01),
                    (Fault::ErrorMidStream, 0.01),
                    (Fault::MalformedChunk, 0.005),
                    (Fault::NoTerminator, 0.005),
                    (Fault::ResetBeforeHeaders, 0.005),
                ],
                prefill: us(100),
                ..base
            },
            "slow" => Profile {
                name: "slow",
                ttft: jitter(ms(1000), ms(100)),
                itl: jitter(ms(60), ms(5)),
                tokens: TokenCount::Range { min: 48, max: 96 },
                prefill: us(800),
                ..base
            },
            _ => return None,
        };
        Some(profile)
    }

    /// Sets the rate of one fault, replacing any rate it had.
    pub(crate) fn set_fault(&mut self, fault: Fault, rate: f64) {
        match self.faults.iter_mut().find(|(f, _)| *f == fault) {
            Some(entry) => entry.1 = rate,
            None => self.faults.push((fault, rate)),
        }
    }

    /// The fault (if any) for a request whose uniform draw in `[0, 1)` is `u`.
    pub(crate) fn pick_fault(&self, u: f64) -> Option<Fault> {
        let mut edge = 0.0;
        for &(fault, rate) in &self.faults {
            edge += rate;
            if u < edge {
                return Some(fault);
            }
        }
        None
    }

    /// The extra TTFT and the ITL factor for a request that arrives while `others`
    /// generations are in progress. The ITL grows by the same fraction as the mean TTFT, so
    /// both latency and throughput per request degrade together as a real server's do.
    pub(crate) fn slowdown(&self, others: u64) -> (Duration, f64) {
        if self.load.is_zero() || others == 0 {
            return (Duration::ZERO, 1.0);
        }
        let extra = self
            .load
            .saturating_mul(u32::try_from(others).unwrap_or(u32::MAX));
        let base = match self.ttft {
            Delay::Fixed(d) | Delay::Normal { mean: d, .. } | Delay::LogNormal { mean: d, .. } => d,
        };
        // Without a base TTFT to scale against, each other request adds 10 % to the ITL.
        #[expect(clippy::cast_precision_loss, reason = "a count of requests in flight")]
        let factor = if base.is_zero() {
            1.0 + 0.1 * others as f64
        } else {
            1.0 + extra.as_secs_f64() / base.as_secs_f64()
        };
        (extra, factor)
    }

    /// The answer length for the prompt whose text seed is `text_seed`.
    pub(crate) fn answer_tokens(&self, text_seed: u64) -> u32 {
        match self.tokens {
            TokenCount::Fixed(n) => n,
            TokenCount::Range { min, max } => {
                let span = u64::from(max.saturating_sub(min)) + 1;
                // `span` fits in u32 + 1 and the remainder is below it.
                min.saturating_add(u32::try_from(mix(text_seed ^ 0x5EED) % span).unwrap_or(0))
            }
        }
    }
}

impl Default for Profile {
    fn default() -> Self {
        Profile::named("steady").unwrap_or_else(|| unreachable!("steady is a built-in profile"))
    }
}

/// A [`Delay`] ready to draw from, built once per request.
pub(crate) enum Sampler {
    Fixed(Duration),
    Normal(Normal<f64>),
    LogNormal(LogNormal<f64>),
}

impl Sampler {
    pub(crate) fn new(delay: Delay) -> Sampler {
        let secs = |d: Duration| d.as_secs_f64();
        match delay {
            Delay::Fixed(d) => Sampler::Fixed(d),
            Delay::Normal { mean, std_dev } => {
                Normal::new(secs(mean), secs(std_dev)).map_or(Sampler::Fixed(mean), Sampler::Normal)
            }
            Delay::LogNormal { mean, std_dev } if !mean.is_zero() => {
                LogNormal::from_mean_cv(secs(mean), secs(std_dev) / secs(mean))
                    .map_or(Sampler::Fixed(mean), Sampler::LogNormal)
            }
            Delay::LogNormal { mean, .. } => Sampler::Fixed(mean),
        }
    }

    pub(crate) fn draw(&self, rng: &mut impl Rng) -> Duration {
        let secs = match self {
            Sampler::Fixed(d) => return *d,
            Sampler::Normal(n) => n.sample(rng),
            Sampler::LogNormal(n) => n.sample(rng),
        };
        // A wild draw must not stall a stream for hours.
        Duration::try_from_secs_f64(secs.clamp(0.0, 3600.0)).unwrap_or(Duration::ZERO)
    }
}

/// Formats a duration the way specs write it: `0ms`, `250ms`, `2s`, `1500us`.
pub(crate) fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        "0ms".to_owned()
    } else if nanos.is_multiple_of(1_000_000_000) {
        format!("{}s", nanos / 1_000_000_000)
    } else if nanos.is_multiple_of(1_000_000) {
        format!("{}ms", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        format!("{}us", nanos / 1_000)
    } else {
        format!("{nanos}ns")
    }
}

impl fmt::Display for Delay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Delay::Fixed(d) => f.write_str(&format_duration(d)),
            Delay::Normal { mean, std_dev } => {
                write!(f, "{}+-{}", format_duration(mean), format_duration(std_dev))
            }
            Delay::LogNormal { mean, std_dev } => {
                write!(f, "{}~{}", format_duration(mean), format_duration(std_dev))
            }
        }
    }
}

impl fmt::Display for TokenCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenCount::Fixed(n) => write!(f, "{n}"),
            TokenCount::Range { min, max } => write!(f, "{min}..{max}"),
        }
    }
}

/// The full spec, which [`Profile::parse`] reads back to an equal profile.
impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{},ttft={},itl={},tokens={},chunk={},reasoning={},header_delay={},seed={}",
            self.name,
            self.ttft,
            self.itl,
            self.tokens,
            self.chunk,
            self.reasoning,
            format_duration(self.header_delay),
            self.seed
        )?;
        if !self.load.is_zero() {
            write!(f, ",load={}", format_duration(self.load))?;
        }
        if !self.prefill.is_zero() {
            write!(f, ",prefill={}", format_duration(self.prefill))?;
        }
        if self.cache != DEFAULT_CACHE_TOKENS {
            write!(f, ",cache={}", self.cache)?;
        }
        if self.cache_read > 0 {
            write!(f, ",cache_read={}", self.cache_read)?;
        }
        if self.cache_write > 0 {
            write!(f, ",cache_write={}", self.cache_write)?;
        }
        if let Some(after) = self.close_after_stream {
            write!(f, ",close_after_stream={}", format_duration(after))?;
        }
        if let Some(n) = self.h2_streams {
            write!(f, ",h2_streams={n}")?;
        }
        if let Some(n) = self.goaway_after {
            write!(f, ",goaway_after={n}")?;
        }
        if self.delivery != Delivery::Coalesced {
            write!(f, ",delivery={}", self.delivery)?;
        }
        for (fault, rate) in &self.faults {
            write!(f, ",fault={fault}:{rate}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    use super::*;

    #[test]
    fn every_name_is_a_profile() {
        for (name, _) in Profile::names() {
            assert_eq!(Profile::named(name).map(|p| p.name), Some(*name));
        }
    }

    #[test]
    fn flaky_fails_about_eight_percent() {
        let flaky = Profile::named("flaky").unwrap();
        let total: f64 = flaky.faults.iter().map(|(_, r)| r).sum();
        assert!((total - 0.08).abs() < 1e-9);
        assert_eq!(flaky.pick_fault(0.0), Some(Fault::Http429));
        assert_eq!(flaky.pick_fault(0.5), None);
    }

    #[test]
    fn samplers_stay_non_negative() {
        let mut rng = SmallRng::seed_from_u64(3);
        let normal = Sampler::new(Delay::Normal {
            mean: ms(1),
            std_dev: ms(5),
        });
        let log = Sampler::new(jitter(ms(10), ms(3)));
        for _ in 0..1000 {
            assert!(normal.draw(&mut rng) <= Duration::from_secs(1));
            assert!(log.draw(&mut rng) > Duration::ZERO);
        }
    }

    #[test]
    fn ranges_stay_inside() {
        let p = Profile {
            tokens: TokenCount::Range { min: 5, max: 7 },
            ..Profile::default()
        };
        for seed in 0..200 {
            assert!((5..=7).contains(&p.answer_tokens(seed)));
        }
    }

    #[test]
    fn load_slows_down_with_others_in_flight() {
        let p = Profile::parse("ttft=100ms,itl=10ms,load=50ms").unwrap();
        assert_eq!(p.slowdown(0), (Duration::ZERO, 1.0));
        let (extra, factor) = p.slowdown(4);
        assert_eq!(extra, ms(200));
        assert!((factor - 3.0).abs() < 1e-9);
        assert_eq!(Profile::default().slowdown(7), (Duration::ZERO, 1.0));
    }

    #[test]
    fn durations_format_compactly() {
        assert_eq!(format_duration(ms(2000)), "2s");
        assert_eq!(format_duration(ms(250)), "250ms");
        assert_eq!(format_duration(Duration::from_micros(1500)), "1500us");
    }
}
