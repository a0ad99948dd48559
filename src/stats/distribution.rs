//! A latency distribution: an HDR histogram of microseconds that reports the percentiles
//! everyone quotes. Memory is fixed however many values go in.

use std::cell::Cell;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

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
            let v = scaled.round() as u64;
            if self.histogram.record(v.max(1)).is_ok() {
                self.sum += v.max(1) as f64;
                self.cached.set(None);
            }
        }
    }

    pub fn len(&self) -> u64 {
        self.histogram.len()
    }

    pub fn is_empty(&self) -> bool {
        self.histogram.is_empty()
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
        let q = |q: f64| unit(self.histogram.value_at_quantile(q));
        let summary = Summary {
            count: self.histogram.len(),
            min: unit(self.histogram.min()),
            mean: self.sum / self.histogram.len() as f64 / 1000.0,
            p50: q(0.50),
            p90: q(0.90),
            p95: q(0.95),
            p99: q(0.99),
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

    #[test]
    fn empty_has_no_summary_and_garbage_is_ignored() {
        let mut d = Distribution::new();
        d.record_ms(f64::NAN);
        d.record_ms(-1.0);
        assert!(d.summary().is_none());
    }
}
