//! A quantile followed through a growing HDR histogram. `Histogram::value_at_quantile` sums the
//! buckets from the bottom on every call, tens of thousands for a latency histogram; a cursor
//! keeps its place and the count below it between calls, so after a few new values it moves a
//! few buckets. The answer is exactly `value_at_quantile`'s: the first bucket where the
//! running count reaches `ceil(quantile × total)`, at least 1.

use hdrhistogram::Histogram;

/// One quantile's place in one histogram: the bucket holding it (by its lowest value) and how
/// many recorded values lie in the buckets below that one.
#[derive(Clone, Copy, Debug)]
pub struct QuantileCursor {
    quantile: f64,
    bucket: u64,
    below: u64,
}

impl QuantileCursor {
    /// A cursor for `quantile` (0 to 1) at the bottom of an empty histogram.
    pub fn new(quantile: f64) -> Self {
        QuantileCursor {
            quantile: quantile.clamp(0.0, 1.0),
            bucket: 0,
            below: 0,
        }
    }

    /// `value` was just recorded in the histogram this cursor follows.
    pub fn recorded(&mut self, value: u64) {
        // `bucket` is the lowest value of its bucket, so anything smaller lies in a lower one.
        if value < self.bucket {
            self.below += 1;
        }
    }

    /// The quantile's value, as `histogram.value_at_quantile` gives it. `histogram` must be the
    /// one every recorded value went into, and `start` any cursor of the same histogram (a
    /// cursor for a lower quantile saves the walk up to it); pass `self` when there is none.
    pub fn value(&mut self, histogram: &Histogram<u64>, start: &QuantileCursor) -> u64 {
        if histogram.is_empty() {
            return 0;
        }
        // Places nearer the answer, each exact: the bottom of the lowest recorded bucket has
        // nothing below it, and another cursor knows the count below its own bucket.
        let lowest = histogram.lowest_equivalent(histogram.min());
        if self.bucket < lowest {
            (self.bucket, self.below) = (lowest, 0);
        }
        if self.bucket < start.bucket {
            (self.bucket, self.below) = (start.bucket, start.below);
        }
        let total = histogram.len();
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "the same rounding as value_at_quantile, so the answers agree exactly"
        )]
        let target = ((self.quantile * total as f64).ceil() as u64).max(1);
        let top = histogram.lowest_equivalent(histogram.max());
        loop {
            let here = histogram.count_at(self.bucket);
            if self.below + here < target {
                if self.bucket >= top {
                    // Counts and places disagree: never after only `recorded` values; start over.
                    (self.bucket, self.below) = (lowest, 0);
                    return histogram.value_at_quantile(self.quantile);
                }
                self.below += here;
                self.bucket = histogram.next_non_equivalent(self.bucket);
            } else if self.below >= target && self.bucket > 0 {
                let previous = histogram.lowest_equivalent(self.bucket - 1);
                self.below = self.below.saturating_sub(histogram.count_at(previous));
                self.bucket = previous;
            } else {
                break;
            }
        }
        if self.quantile == 0.0 {
            self.bucket
        } else {
            histogram.highest_equivalent(self.bucket)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic spread of values over many magnitudes: a step of a 64-bit LCG.
    fn next(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        *state >> 33
    }

    /// A phase of the test: its name and how it makes a value of a random number.
    type Phase = (&'static str, fn(u64) -> u64);

    const QUANTILES: [f64; 10] = [0.0, 0.0001, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0];

    fn check(histogram: &Histogram<u64>, cursors: &mut [QuantileCursor], phase: &str) {
        let mut start = cursors[0];
        for cursor in cursors.iter_mut() {
            let want = histogram.value_at_quantile(cursor.quantile);
            let got = cursor.value(histogram, &start);
            assert_eq!(
                got,
                want,
                "{phase}: quantile {} of {} values",
                cursor.quantile,
                histogram.len()
            );
            start = *cursor;
        }
    }

    #[test]
    fn cursors_give_exactly_value_at_quantile_as_values_arrive() {
        let mut histogram = Histogram::<u64>::new(3).unwrap();
        histogram.auto(true);
        let mut cursors: Vec<QuantileCursor> =
            QUANTILES.iter().map(|&q| QuantileCursor::new(q)).collect();
        let mut state = 7;
        // Phases that move the cursors up, down and across empty stretches: a latency-like
        // middle, a burst of tiny values, a burst of huge ones (the histogram grows), repeats
        // of one value, and a mix over nine orders of magnitude.
        let phases: [Phase; 5] = [
            ("middle", |r| 150_000 + r % 400_000),
            ("tiny", |r| 1 + r % 50),
            ("huge", |r| 2_000_000_000 + r % 3_000_000_000),
            ("repeat", |_| 123_456),
            ("mixed", |r| {
                (r % 1_000) * 10u64.pow(u32::try_from(r % 7).unwrap())
            }),
        ];
        check(&histogram, &mut cursors, "empty");
        for round in 0..3 {
            for (name, value) in phases {
                for batch in 0..20 {
                    // Batches of 1 to 400 values between two summaries.
                    for _ in 0..=((batch * 37 + round * 11) % 400) {
                        let v = value(next(&mut state)).max(1);
                        histogram.record(v).unwrap();
                        for c in &mut cursors {
                            c.recorded(v);
                        }
                    }
                    check(&histogram, &mut cursors, name);
                }
            }
        }
        assert!(histogram.len() > 10_000);
    }

    #[test]
    fn a_cursor_left_alone_catches_up_from_any_start() {
        let mut histogram = Histogram::<u64>::new(3).unwrap();
        histogram.auto(true);
        let mut fresh = QuantileCursor::new(0.99);
        let mut state = 3;
        for _ in 0..5_000 {
            let v = 1 + next(&mut state) % 10_000_000;
            histogram.record(v).unwrap();
            fresh.recorded(v);
        }
        let ahead = QuantileCursor::new(0.5);
        let want = histogram.value_at_quantile(0.99);
        assert_eq!(fresh.clone().value(&histogram, &ahead), want);
        let mut median = ahead;
        median.value(&histogram, &ahead);
        assert_eq!(fresh.value(&histogram, &median), want);
    }
}
