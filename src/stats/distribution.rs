//! A latency distribution: an HDR histogram of microseconds that reports the percentiles
//! everyone quotes. Memory is fixed however many values go in.

use std::cell::Cell;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::quantile::QuantileCursor;
use crate::convert::saturating_u64;

/// The quantiles a summary quotes, in rising order (a cursor starts from the one before it).
const QUANTILES: [f64; 4] = [0.50, 0.90, 0.95, 0.99];

/// Values are recorded in microseconds with 3 significant digits (0.1% resolution).
#[derive(Clone, Debug)]
pub struct Distribution {
    histogram: Histogram<u64>,
    /// The sum of the recorded values, for the mean: the histogram's own mean walks every
    /// bucket, which made it most of a snapshot's cost.
    sum: f64,
    /// The last summary, until a value is recorded: snapshots come far more often than most
    /// distributions change, and percentiles walk the histogram.
    cached: Cell<Option<Summary>>,
    /// Where each of [`QUANTILES`] stands: a summary after a few new values then moves a few
    /// buckets instead of summing the histogram from the bottom once per quantile, which was
    /// nearly all of a snapshot's cost in a long race.
    cursors: Cell<[QuantileCursor; 4]>,
}

impl Default for Distribution {
    fn default() -> Self {
        Self::new()
    }
}

impl Distribution {
    pub fn new() -> Self {
        // Auto-resizing so an hour-long request or a huge tokens/s value is never lost; three
        // significant digits keep the histogram a few tens of kilobytes.
        let mut histogram =
            Histogram::new(3).expect("3 significant digits is a valid HDR histogram precision");
        histogram.auto(true);
        Distribution {
            histogram,
            sum: 0.0,
            cached: Cell::new(None),
            cursors: Cell::new(QUANTILES.map(QuantileCursor::new)),
        }
    }

    /// Records a value in milliseconds.
    pub fn record_ms(&mut self, ms: f64) {
        self.record_scaled(ms * 1000.0);
    }

    /// Records a unitless value (e.g. tokens/s) with three decimals kept.
    pub fn record_value(&mut self, value: f64) {
        self.record_scaled(value * 1000.0);
    }

    fn record_scaled(&mut self, scaled: f64) {
        if scaled.is_finite() && scaled >= 0.0 {
            // Rounded to the nearest unit; values beyond u64 cannot occur from real timings.
            let v = saturating_u64(scaled.round());
            let v = v.max(1);
            if self.histogram.record(v).is_ok() {
                self.sum += v as f64;
                self.cached.set(None);
                for cursor in self.cursors.get_mut() {
                    cursor.recorded(v);
                }
            }
        }
    }

    pub(crate) fn len(&self) -> u64 {
        self.histogram.len()
    }

    /// The summary, in the unit values were recorded in (ms or the unitless value).
    pub fn summary(&self) -> Option<Summary> {
        if self.histogram.is_empty() {
            return None;
        }
        if let Some(summary) = self.cached.get() {
            return Some(summary);
        }
        let unit = |v: u64| v as f64 / 1000.0;
        let mut cursors = self.cursors.get();
        let mut values = [0; QUANTILES.len()];
        let mut start = cursors[0];
        for (cursor, value) in cursors.iter_mut().zip(&mut values) {
            *value = cursor.value(&self.histogram, &start);
            start = *cursor;
        }
        self.cursors.set(cursors);
        let [p50, p90, p95, p99] = values.map(unit);
        let summary = Summary {
            count: self.histogram.len(),
            min: unit(self.histogram.min()),
            mean: self.sum / self.histogram.len() as f64 / 1000.0,
            p50,
            p90,
            p95,
            p99,
            max: unit(self.histogram.max()),
        };
        self.cached.set(Some(summary));
        Some(summary)
    }
}

/// The quoted percentiles of a distribution.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub count: u64,
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_known_values() {
        let mut d = Distribution::new();
        for ms in 1..=100 {
            d.record_ms(f64::from(ms));
        }
        let s = d.summary().unwrap();
        assert_eq!(s.count, 100);
        assert!((s.p50 - 50.0).abs() < 0.1, "{s:?}");
        assert!((s.p99 - 99.0).abs() < 0.1, "{s:?}");
        assert!((s.max - 100.0).abs() < 0.1, "{s:?}");
        assert!((s.mean - 50.5).abs() < 0.1, "{s:?}");
    }

    #[expect(
        clippy::float_cmp,
        reason = "exact values: parsed from literals or computed from whole numbers"
    )]
    #[test]
    fn a_cached_summary_follows_new_values() {
        let mut d = Distribution::new();
        d.record_ms(10.0);
        assert_eq!(d.summary().unwrap().count, 1);
        assert_eq!(d.summary().unwrap().mean, 10.0);
        d.record_ms(20.0);
        let s = d.summary().unwrap();
        assert_eq!((s.count, s.mean), (2, 15.0));
        assert!((s.max - 20.0).abs() < 0.1, "{s:?}");
        // A clone carries the summary and stays right on its own.
        let mut c = d.clone();
        c.record_ms(30.0);
        assert_eq!(c.summary().unwrap().count, 3);
        assert_eq!(d.summary().unwrap().count, 2);
    }

    #[expect(
        clippy::float_cmp,
        reason = "exact values: parsed from literals or computed from whole numbers"
    )]
    #[test]
    fn summaries_quote_exactly_what_value_at_quantile_gives() {
        let mut d = Distribution::new();
        let mut state = 11u64;
        for round in 0..200u32 {
            // Latency-like values with bursts far below and far above, in batches of 1 to 97
            // between summaries, so the quantiles move both ways and the histogram grows.
            for i in 0..=(round * 13 % 97) {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let r = (state >> 33) as f64;
                let ms = match (round / 25) % 4 {
                    0 => 80.0 + r % 900.0,
                    1 => (r % 50.0) / 100.0,
                    2 => 60_000.0 + r % 3_600_000.0,
                    _ => (r % 1000.0) * 10f64.powi((i % 7).cast_signed() - 2),
                };
                d.record_ms(ms);
            }
            let s = d.summary().unwrap();
            let want = |q: f64| d.histogram.value_at_quantile(q) as f64 / 1000.0;
            let got = [s.p50, s.p90, s.p95, s.p99];
            assert_eq!(
                got,
                QUANTILES.map(want),
                "round {round}, {} values",
                s.count
            );
        }
    }

    #[test]
    fn empty_has_no_summary_and_garbage_is_ignored() {
        let mut d = Distribution::new();
        d.record_ms(f64::NAN);
        d.record_ms(-1.0);
        assert!(d.summary().is_none());
    }
}
