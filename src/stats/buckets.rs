//! Latency histograms with fixed bucket bounds, for the Prometheus exporter: counts per bucket,
//! an exact sum and count, kept as values are recorded (a binary search each), so a snapshot
//! shares them by pointer instead of walking the HDR histograms.
//!
//! The bounds: 24 per decade, each `10^(1/24)` (≈ 1.10) times the one before, rounded to three
//! significant digits, from 1 ms to 562 s, then 600 s (10 minutes): 140 bounds, any two
//! neighbours at most 10.6 % apart (10 % before rounding). A quantile read from them
//! (`histogram_quantile`) is therefore within about 10 % of the value, wherever it lies in
//! that range.

use std::sync::{Arc, LazyLock};

/// Bounds per decade.
const PER_DECADE: i32 = 24;
/// The first bound, 1 ms, is `10^(FIRST / 24)` seconds.
const FIRST: i32 = -3 * PER_DECADE;
/// The last geometric bound, `10^(66/24)` ≈ 562 s; 600 s follows it.
const LAST: i32 = 66;
/// Ten minutes, the last bound before `+Inf`.
const TOP_S: f64 = 600.0;

/// The upper bounds (`le`), in seconds, rising.
pub static BOUNDS_S: LazyLock<Vec<f64>> = LazyLock::new(|| {
    let mut bounds: Vec<f64> = (FIRST..=LAST)
        .map(|k| three_digits(10f64.powf(f64::from(k) / f64::from(PER_DECADE))))
        .collect();
    bounds.push(TOP_S);
    bounds
});

/// `x` rounded to three significant digits (1.2115 → 1.21, 0.0464158 → 0.0464).
fn three_digits(x: f64) -> f64 {
    let magnitude = 10f64.powf(x.log10().floor() - 2.0);
    let rounded = (x / magnitude).round() * magnitude;
    // Printed as the shortest decimal that round-trips, so the `le` labels read as written.
    format!("{rounded:.12}").parse().unwrap_or(rounded)
}

/// One latency's histogram: values in seconds counted per bucket of [`BOUNDS_S`] (the last
/// entry is above them all, `+Inf`), with the exact sum and count.
#[derive(Clone, Debug)]
pub struct Buckets {
    /// Not cumulative: `counts[i]` holds the values in `(BOUNDS_S[i-1], BOUNDS_S[i]]`, and the
    /// entry after the last bound those above 600 s.
    counts: Vec<u64>,
    sum_s: f64,
    count: u64,
    /// The bucket of the last value: a request's gaps between tokens (a thousand values per
    /// request, recorded together) mostly fall in one or two neighbouring buckets, and two
    /// comparisons confirm it where the search took eight. Not part of what is counted.
    last: usize,
}

impl PartialEq for Buckets {
    fn eq(&self, other: &Self) -> bool {
        self.counts == other.counts && self.sum_s == other.sum_s && self.count == other.count
    }
}

impl Default for Buckets {
    fn default() -> Self {
        Buckets {
            counts: vec![0; BOUNDS_S.len() + 1],
            sum_s: 0.0,
            count: 0,
            last: 0,
        }
    }
}

impl Buckets {
    /// Records a value in milliseconds; garbage (negative, NaN, infinite) is left out, as the
    /// distributions leave it out.
    pub fn record_ms(&mut self, ms: f64) {
        if !ms.is_finite() || ms < 0.0 {
            return;
        }
        let s = ms / 1000.0;
        let i = bucket_of(s, self.last);
        self.last = i;
        self.counts[i] += 1;
        self.sum_s += s;
        self.count += 1;
    }

    /// Every bucket with its upper bound and the number of values in it (not cumulative), the
    /// last one `+Inf`: what an exposition encoder takes.
    pub fn per_bucket(&self) -> Vec<(f64, u64)> {
        BOUNDS_S
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(self.counts.iter().copied())
            .collect()
    }

    /// The sum of the values, in seconds.
    pub fn sum_s(&self) -> f64 {
        self.sum_s
    }

    pub fn count(&self) -> u64 {
        self.count
    }
}

/// The bucket of `s` seconds: the first bound not below it (`le` is inclusive). `guess` is
/// taken when the bounds either side of it say so, the same answer the search would give, as
/// the bounds rise; otherwise the bounds are searched.
fn bucket_of(s: f64, guess: usize) -> usize {
    let bounds = &**BOUNDS_S;
    let above_lower = guess == 0 || bounds.get(guess - 1).is_some_and(|&b| b < s);
    let within_upper = bounds.get(guess).is_none_or(|&b| b >= s);
    if above_lower && within_upper && guess <= bounds.len() {
        return guess;
    }
    bounds.partition_point(|&bound| bound < s)
}

/// An endpoint's latency histograms, as the snapshot shares them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LatencyBuckets {
    pub ttft: Buckets,
    pub ttfa: Buckets,
    pub ttlt: Buckets,
    pub itl: Buckets,
    pub tpot: Buckets,
}

/// The histograms the aggregator keeps: recording copies them only when a snapshot still
/// shares the last version (once per snapshot at most), and a snapshot takes a pointer.
#[derive(Clone, Debug, Default)]
pub struct SharedBuckets(Arc<LatencyBuckets>);

impl SharedBuckets {
    /// The histograms to record into.
    pub fn edit(&mut self) -> &mut LatencyBuckets {
        Arc::make_mut(&mut self.0)
    }

    /// The histograms as they are now, for a snapshot.
    pub fn shared(&self) -> Arc<LatencyBuckets> {
        Arc::clone(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_run_from_a_millisecond_to_ten_minutes_at_most_ten_percent_apart() {
        let bounds = &*BOUNDS_S;
        assert!((bounds[0] - 0.001).abs() < 1e-12, "{}", bounds[0]);
        assert!((bounds[bounds.len() - 1] - 600.0).abs() < 1e-9);
        assert_eq!(bounds.len(), 140);
        for pair in bounds.windows(2) {
            let ratio = pair[1] / pair[0];
            assert!(ratio > 1.0 && ratio <= 1.106, "{pair:?} are {ratio} apart");
        }
        // Each decade's bounds are the same digits: 1 ms, 10 ms, 100 ms, 1 s, 10 s, 100 s.
        for decade in [0.001, 0.01, 0.1, 1.0, 10.0, 100.0] {
            assert!(
                bounds.iter().any(|b| (b / decade - 1.0).abs() < 1e-9),
                "{decade} is a bound"
            );
        }
        // Labels read as written: three significant digits.
        assert!(
            bounds.iter().any(|&b| b.to_string() == "0.121"),
            "{bounds:?}"
        );
        assert!(
            bounds.iter().any(|&b| b.to_string() == "2.61"),
            "{bounds:?}"
        );
    }

    #[test]
    fn values_land_in_the_first_bucket_whose_bound_is_not_below_them() {
        let mut b = Buckets::default();
        b.record_ms(1.0); // exactly 1 ms: le="0.001"
        b.record_ms(0.2); // below the first bound: le="0.001"
        b.record_ms(1.05); // in (0.001, 0.0011]
        b.record_ms(1_000_000.0); // 1000 s: +Inf only
        let per = b.per_bucket();
        assert_eq!(per.len(), BOUNDS_S.len() + 1);
        assert_eq!(per[0], (0.001, 2));
        assert_eq!(per[1].1, 1);
        assert_eq!(per[per.len() - 1], (f64::INFINITY, 1));
        assert_eq!(per.iter().map(|(_, n)| n).sum::<u64>(), b.count());
        assert_eq!(b.count(), 4);
        assert!((b.sum_s() - (0.001 + 0.0002 + 0.00105 + 1000.0)).abs() < 1e-9);
    }

    #[test]
    fn cumulative_counts_rise_to_the_count() {
        let mut b = Buckets::default();
        let mut state = 7u64;
        for _ in 0..10_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            // Spread over 0.1 ms to ~17 minutes.
            let exp = (state >> 40) as f64 / (1u64 << 24) as f64 * 7.0 - 1.0;
            b.record_ms(10f64.powf(exp));
        }
        let mut cumulative = 0;
        let mut last = 0;
        for (bound, n) in b.per_bucket() {
            cumulative += n;
            assert!(cumulative >= last, "at {bound}");
            last = cumulative;
        }
        assert_eq!(cumulative, 10_000);
        assert_eq!(b.count(), 10_000);
    }

    /// The last bucket is only a guess: every value lands where the search puts it, whatever
    /// came before it (runs of one bucket, jumps up and down, bounds exactly, the ends).
    #[test]
    fn a_value_lands_in_the_searched_bucket_whatever_the_last_one_was() {
        let bounds = &*BOUNDS_S;
        let mut values: Vec<f64> = vec![0.0, 1e-9, 1000.0, 1e9];
        values.extend(
            bounds
                .iter()
                .flat_map(|&b| [b, b * 0.999_999, b * 1.000_001]),
        );
        let mut state = 11u64;
        for _ in 0..5_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let exp = (state >> 40) as f64 / (1u64 << 24) as f64 * 7.0 - 4.0;
            values.push(10f64.powf(exp));
        }
        for guess in 0..=bounds.len() + 1 {
            for &s in &values {
                assert_eq!(
                    bucket_of(s, guess),
                    bounds.partition_point(|&bound| bound < s),
                    "{s} s after bucket {guess}"
                );
            }
        }
        let mut b = Buckets::default();
        for &s in &values {
            b.record_ms(s * 1000.0);
        }
        let mut searched = vec![0u64; bounds.len() + 1];
        for &s in &values {
            searched[bounds.partition_point(|&bound| bound < s)] += 1;
        }
        assert_eq!(b.counts, searched);
    }

    #[test]
    fn garbage_is_left_out() {
        let mut b = Buckets::default();
        b.record_ms(f64::NAN);
        b.record_ms(-3.0);
        b.record_ms(f64::INFINITY);
        assert_eq!(b.count(), 0);
        assert!(b.sum_s().abs() < f64::EPSILON);
    }

    #[test]
    fn a_snapshot_keeps_its_version_while_recording_goes_on() {
        let mut shared = SharedBuckets::default();
        shared.edit().ttft.record_ms(10.0);
        let seen = shared.shared();
        shared.edit().ttft.record_ms(20.0);
        assert_eq!(seen.ttft.count(), 1);
        assert_eq!(shared.shared().ttft.count(), 2);
    }
}
