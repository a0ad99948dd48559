//! One endpoint as the commentary follows it from look to look: what each interval added to
//! its cumulative figures (failures, successes, TTFT, ITL, send lag), its recent baselines,
//! and which of its facts were told and are not yet over.

use std::collections::VecDeque;

use crate::event::Offset;
use crate::stats::distribution::Summary;
use crate::stats::snapshot::EndpointSnapshot;

/// Looks over which failures are counted.
pub const FAILING_SPAN: usize = 3;
/// Failures in that span that make an endpoint "failing again and again".
const FAILING_AT: u64 = 3;
/// Mean send lag (ms) over an interval that is "behind its schedule", and under which it is
/// back on it.
const BEHIND_MS: f64 = 100.0;
const BACK_ON_SCHEDULE_MS: f64 = 50.0;
/// Intervals the baseline of a jump is the mean of, and the values it needs.
const BASELINE_SPAN: usize = 10;
const BASELINE_VALUES: u64 = 5;
/// Values the interval needs to be judged.
const INTERVAL_VALUES: u64 = 2;
/// A jump is at least this many times the baseline.
const JUMP_FACTOR: f64 = 2.0;
/// A jump of one metric is not told again for this long.
const JUMP_QUIET: Offset = Offset(10_000_000_000);

/// The metrics whose jumps are told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jump {
    Ttft,
    Itl,
}

impl Jump {
    pub fn label(self) -> &'static str {
        match self {
            Jump::Ttft => "TTFT",
            Jump::Itl => "ITL",
        }
    }

    /// The least rise (ms) over the baseline worth telling.
    fn floor_ms(self) -> f64 {
        match self {
            Jump::Ttft => 50.0,
            Jump::Itl => 10.0,
        }
    }
}

/// A count and a sum: what an interval added to a distribution.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Tally {
    count: u64,
    sum: f64,
}

impl Tally {
    fn of(summary: Option<&Summary>) -> Tally {
        summary.map_or_else(Tally::default, |s| Tally {
            count: s.count,
            sum: s.mean * s.count as f64,
        })
    }

    /// What `self` (cumulative, now) adds to `before`.
    fn since(self, before: Tally) -> Tally {
        Tally {
            count: self.count.saturating_sub(before.count),
            sum: self.sum - before.sum,
        }
    }

    fn mean(self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}

/// One metric's jumps: the cumulative tally at the last look and the recent intervals.
#[derive(Clone, Debug, Default)]
struct Baseline {
    last: Tally,
    recent: VecDeque<Tally>,
    quiet_until: Offset,
}

impl Baseline {
    /// Notes the interval up to `now` (cumulative `total`); returns the interval's mean and
    /// the baseline's when the interval is a jump.
    fn see(&mut self, t: Offset, total: Tally, jump: Jump) -> Option<(f64, f64)> {
        let interval = total.since(self.last);
        self.last = total;
        let pooled = self.recent.iter().fold(Tally::default(), |a, b| Tally {
            count: a.count + b.count,
            sum: a.sum + b.sum,
        });
        if interval.count > 0 {
            if self.recent.len() == BASELINE_SPAN {
                self.recent.pop_front();
            }
            self.recent.push_back(interval);
        }
        let now = interval
            .mean()
            .filter(|_| interval.count >= INTERVAL_VALUES)?;
        let before = pooled.mean().filter(|_| pooled.count >= BASELINE_VALUES)?;
        let jumped = now >= JUMP_FACTOR * before && now - before >= jump.floor_ms();
        if !jumped || t < self.quiet_until {
            return None;
        }
        self.quiet_until = Offset(t.0.saturating_add(JUMP_QUIET.0));
        Some((now, before))
    }
}

/// What one look found about an endpoint worth telling.
#[derive(Debug, Default)]
pub struct Seen {
    /// Failures in the span, when it just began failing again and again.
    pub failing: Option<u64>,
    /// The interval's mean send lag (ms), when it just fell behind.
    pub behind: Option<f64>,
    /// Jumps: the metric, the interval's mean and the baseline's (ms).
    pub jumps: Vec<(Jump, f64, f64)>,
}

#[derive(Clone, Debug, Default)]
pub struct Track {
    /// Failed and succeeded counts at the last look.
    failed: u64,
    succeeded: u64,
    /// (failed, succeeded) in each of the last looks.
    outcomes: VecDeque<(u64, u64)>,
    failing: bool,
    lag: Tally,
    behind: bool,
    ttft: Baseline,
    itl: Baseline,
}

impl Track {
    /// Notes what happened to `endpoint` since the last look, at `t`.
    pub fn see(&mut self, t: Offset, endpoint: &EndpointSnapshot) -> Seen {
        let mut seen = Seen::default();
        let counts = endpoint.counts;
        let failed = counts.failed.saturating_sub(self.failed);
        let succeeded = counts.succeeded.saturating_sub(self.succeeded);
        (self.failed, self.succeeded) = (counts.failed, counts.succeeded);
        if self.outcomes.len() == FAILING_SPAN {
            self.outcomes.pop_front();
        }
        self.outcomes.push_back((failed, succeeded));
        let (span_failed, span_succeeded) =
            (self.outcomes.iter()).fold((0, 0), |(f, s), (df, ds)| (f + df, s + ds));
        let failing = span_failed >= FAILING_AT && span_failed > span_succeeded;
        if failing && !self.failing {
            seen.failing = Some(span_failed);
        }
        if failing {
            self.failing = true;
        } else if span_failed < FAILING_AT || span_succeeded > span_failed {
            self.failing = false;
        }

        let lag = Tally::of(endpoint.latency.send_lag_ms.as_ref());
        if let Some(mean) = lag.since(self.lag).mean() {
            if mean >= BEHIND_MS && !self.behind {
                self.behind = true;
                seen.behind = Some(mean);
            } else if mean < BACK_ON_SCHEDULE_MS {
                self.behind = false;
            }
        }
        self.lag = lag;

        let latency = &endpoint.latency;
        for (jump, baseline, summary) in [
            (Jump::Ttft, &mut self.ttft, latency.ttft_ms.as_ref()),
            (Jump::Itl, &mut self.itl, latency.itl_ms.as_ref()),
        ] {
            if let Some((now, before)) = baseline.see(t, Tally::of(summary), jump) {
                seen.jumps.push((jump, now, before));
            }
        }
        seen
    }
}
