//! Open-loop schedules: when each request is meant to leave, as offsets from the start, given a
//! rate, an arrival process and a seed. Pure: no clock, no I/O, so it is tested on numbers.

use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Exp1};

use crate::config::Shard;

// The load types lived here once; they stay reachable by their old paths.
pub use crate::pace::{Arrivals, LoadShape, Ramp, RateShape};

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
    /// A shard's share (`sharded`): its arrivals are every `stride`th of the race's, from the
    /// `phase`th; 1 and 0 for a whole race.
    stride: u64,
    phase: u64,
}

impl Schedule {
    /// The same shape and seed always give the same offsets.
    pub fn new(shape: LoadShape, seed: u64) -> Schedule {
        Schedule {
            shape,
            rng: StdRng::seed_from_u64(seed),
            work: 0.0,
            sent: 0,
            stride: 1,
            phase: 0,
        }
    }

    /// Shard `shard`'s part of the race's schedule (`seed` already the shard's own). Constant
    /// arrivals: the race's own offsets of the shard's ordinals, so the shards together leave
    /// exactly when one process would. Poisson: a Poisson stream at 1/N of the rate (unit gaps
    /// in the shard's work, N in the race's), so the N independent streams together are one at
    /// the race's rate; only shard 0 sends at 0, as a whole race's first request does.
    pub fn sharded(shape: LoadShape, seed: u64, shard: Option<Shard>) -> Schedule {
        let mut schedule = Schedule::new(shape, seed);
        if let Some(shard) = shard {
            schedule.stride = u64::from(shard.count);
            schedule.phase = u64::from(shard.index);
            if shape.arrivals == Arrivals::Poisson && shard.index > 0 {
                schedule.work = schedule.gap();
            }
        }
        schedule
    }

    /// The next Poisson gap in the race's work: a unit exponential in the shard's.
    fn gap(&mut self) -> f64 {
        let gap: f64 = Exp1.sample(&mut self.rng);
        #[expect(clippy::cast_precision_loss, reason = "shard counts are small")]
        let stride = self.stride as f64;
        gap * stride
    }

    fn time_at(&self, work: f64) -> f64 {
        match self.shape.rate {
            RateShape::Fixed(rate) => work / rate.per_sec(),
            RateShape::Ramp(ramp) => ramp_time_at(ramp, work),
        }
    }
}

/// `Λ⁻¹(work)` for a linear ramp: `Λ(t) = b·t + a·t²` with `b = from`, `a = (to − from)/2T`
/// until `T`, then `to` per second.
fn ramp_time_at(ramp: Ramp, work: f64) -> f64 {
    let over = ramp.over.as_secs_f64();
    let b = ramp.from.per_sec();
    let a = (ramp.to.per_sec() - b) / (2.0 * over);
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
        over + (work - at_end) / ramp.to.per_sec()
    }
}

/// A trace's send offsets: its rows' times (from its first row) played `speed` times faster,
/// rounded to whole nanoseconds; ends with the trace.
pub fn trace_schedule(times: &[Duration], speed: f64) -> impl Iterator<Item = Duration> + '_ {
    times.iter().map(move |time| {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "non-negative offsets far below u64::MAX nanoseconds; a trace's times \
                      need no more than f64's 52 bits of nanoseconds (about 52 days exactly)"
        )]
        let nanos = (time.as_nanos() as f64 / speed).round() as u64;
        Duration::from_nanos(nanos)
    })
}

/// The seed of endpoint `endpoint`'s arrivals in a race seeded with `seed`: distinct per
/// endpoint, and well mixed, so neighbouring seeds or endpoints share no arrivals.
pub fn endpoint_seed(seed: u64, endpoint: u16) -> u64 {
    // SplitMix64's finaliser over the pair: a bijection, so distinct inputs stay distinct.
    let mut z = seed
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(u64::from(endpoint))
        ^ 0x006c_6c6d_7261_6365;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
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
            Arrivals::Constant => (self.sent * self.stride + self.phase) as f64,
            Arrivals::Poisson => {
                let at = self.work;
                self.work += self.gap();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pace::Rate;

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
    fn the_race_seed_drives_every_endpoints_arrivals() {
        let shape = fixed("5/s", Arrivals::Poisson);
        let arrivals = |seed, endpoint| -> Vec<Duration> {
            Schedule::new(shape, endpoint_seed(seed, endpoint))
                .take(50)
                .collect()
        };
        // The same seed gives the same arrivals, run after run.
        assert_eq!(arrivals(7, 0), arrivals(7, 0));
        assert_eq!(arrivals(7, 1), arrivals(7, 1));
        // Another seed gives other arrivals, and each endpoint has its own.
        assert_ne!(arrivals(7, 0), arrivals(8, 0));
        assert_ne!(arrivals(7, 0), arrivals(7, 1));
        // Neighbouring seeds and endpoints do not share a stream.
        assert_ne!(endpoint_seed(1, 0), endpoint_seed(0, 1));
        assert_ne!(endpoint_seed(0, 0), endpoint_seed(1, 0));
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

    fn secs(d: Duration) -> f64 {
        d.as_secs_f64()
    }

    /// The arrivals of `count` shards of a race with `shape`, up to `horizon` seconds, merged.
    fn merged_shards(shape: LoadShape, count: u32, horizon: f64) -> Vec<Vec<f64>> {
        (0..count)
            .map(|index| {
                let shard = Shard { index, count };
                let seed = endpoint_seed(shard.seed(7), 0);
                Schedule::sharded(shape, seed, Some(shard))
                    .map(secs)
                    .take_while(|t| *t < horizon)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn constant_shards_leave_exactly_when_the_whole_race_would() {
        let ramp: Ramp = "2/s..30/s:10s".parse().expect("a valid ramp");
        for rate in [RateShape::Fixed(rate("7/s")), RateShape::Ramp(ramp)] {
            let shape = LoadShape {
                rate,
                arrivals: Arrivals::Constant,
            };
            let whole: Vec<Duration> = Schedule::new(shape, 1).take(300).collect();
            let count = 3;
            let parts: Vec<Vec<Duration>> = (0..count)
                .map(|index| {
                    let shard = Some(Shard { index, count });
                    Schedule::sharded(shape, 1, shard).take(100).collect()
                })
                .collect();
            for (i, at) in whole.iter().enumerate() {
                assert_eq!(parts[i % 3][i / 3], *at, "request {i}");
            }
        }
    }

    #[test]
    fn poisson_shards_together_are_one_poisson_stream_at_the_races_rate() {
        // Four shards of a 20/s Poisson race, on the schedule's own (virtual) clock.
        let horizon = 500.0;
        let shards = merged_shards(fixed("20/s", Arrivals::Poisson), 4, horizon);
        // Each shard is a Poisson stream at 5/s: 2 500 ± 50 (one standard deviation) arrivals.
        for shard in &shards {
            assert!(
                (shard.len() as f64 - 2500.0).abs() < 250.0,
                "{}",
                shard.len()
            );
        }
        let mut merged: Vec<f64> = shards.concat();
        merged.sort_by(f64::total_cmp);
        // Together: 10 000 ± 100 arrivals, gaps with the exponential's mean 1/20 s.
        assert!(
            (merged.len() as f64 - 10_000.0).abs() < 500.0,
            "{}",
            merged.len()
        );
        let mut gaps: Vec<f64> = merged.windows(2).map(|w| w[1] - w[0]).collect();
        let m = gaps.len() as f64;
        let mean = gaps.iter().sum::<f64>() / m;
        // The mean's standard error is 0.05/√m = 0.0005 s: five of them.
        assert!((mean - 0.05).abs() < 0.0025, "mean {mean}");
        // Kolmogorov–Smirnov against Exponential(20/s): D below the 0.1 % critical value
        // 1.95/√m. (Four streams at the full rate merged would fail it by far: their gaps'
        // mean is a quarter of this one.)
        gaps.sort_by(f64::total_cmp);
        let d = gaps
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let cdf = 1.0 - (-20.0 * g).exp();
                (cdf - i as f64 / m)
                    .abs()
                    .max((cdf - (i + 1) as f64 / m).abs())
            })
            .fold(0.0, f64::max);
        assert!(d < 1.95 / m.sqrt(), "KS distance {d}");
        // Only shard 0 sends at the start, as a whole race's first request does.
        assert_eq!(merged.iter().filter(|t| **t == 0.0).count(), 1);
    }

    #[test]
    fn poisson_shards_of_a_ramp_follow_the_ramp_together() {
        // 10/s rising to 50/s over 100 s: Λ(100) = 3 000 arrivals expected, √3000 ≈ 55.
        let ramp: Ramp = "10/s..50/s:100s".parse().expect("a valid ramp");
        let shape = LoadShape {
            rate: RateShape::Ramp(ramp),
            arrivals: Arrivals::Poisson,
        };
        let merged: Vec<f64> = merged_shards(shape, 3, 100.0).concat();
        assert!(
            (merged.len() as f64 - 3000.0).abs() < 275.0,
            "{}",
            merged.len()
        );
        // Λ(50) = 10·50 + 0.2·50² = 1 000 in the first half.
        let early = merged.iter().filter(|t| **t < 50.0).count() as f64;
        assert!((early - 1000.0).abs() < 160.0, "{early}");
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
            let expected = f64::midpoint(-1.0, (1.0 + 4.0 * k as f64).sqrt());
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
    fn a_trace_is_played_at_its_times_and_speed() {
        let millis = Duration::from_millis;
        let times = [millis(0), millis(10_535), millis(27_482)];
        let as_recorded: Vec<_> = trace_schedule(&times, 1.0).collect();
        assert_eq!(as_recorded, times);
        let twice: Vec<_> = trace_schedule(&times, 2.0).collect();
        assert_eq!(
            twice,
            [
                millis(0),
                millis(5_267) + Duration::from_micros(500),
                millis(13_741)
            ]
        );
        let half: Vec<_> = trace_schedule(&times, 0.5).collect();
        assert_eq!(half, [millis(0), millis(21_070), millis(54_964)]);
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
}
