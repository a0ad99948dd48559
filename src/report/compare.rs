//! `llmrace compare`: two races side by side, endpoint by endpoint and metric by metric, with a
//! verdict on each change — better, worse, or within the noise the runs themselves show.
//!
//! Values shown are the races' own summary numbers; whether a change is real is judged from
//! the distributions behind them (see [`significance`]), never from a fixed percentage alone.

mod matching;
mod render;
mod servers;
pub mod significance;
#[cfg(test)]
mod tests;
mod trend;

use chrono::{DateTime, Utc};

use super::headline::Better;
use crate::replay::Run;
use crate::stats::{EndpointSnapshot, Outcome, RequestRecord};
pub use matching::{mismatches, partial_match, setup_differences, unchecked, workload_differences};
pub use render::{render_markdown, render_text};
pub use servers::render as servers;
use significance::{log_rate_p, log_ratio_se, mann_whitney, two_proportion_p};
pub use trend::trend;

/// A change must be at least this share of the base value to count, however significant: a
/// 0.5 % faster TTFT over ten thousand requests is real but not worth a verdict.
pub const PRACTICAL_SHARE: f64 = 0.02;
/// The same floor for the error rate, in absolute terms (one percentage point): relative
/// changes of a rate near zero mean little.
pub const PRACTICAL_ERROR_POINTS: f64 = 0.01;
/// Significance level of every test (two-sided).
pub const ALPHA: f64 = 0.05;
/// Fewer samples than this on either side and no verdict is given.
pub const MIN_SAMPLES: u64 = 8;
/// Bootstrap resamples for the rate tests.
const RESAMPLES: u32 = 1000;

/// A metric compared between runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    TtftP50,
    TtftP95,
    TtftP99,
    TtltP50,
    TtltP95,
    TpotP50,
    ItlP50,
    /// Per-request output tokens/s, median.
    RequestTpsP50,
    /// The endpoint's output tokens/s over the race.
    OutputTps,
    RequestsPerMin,
    ErrorRate,
}

/// How a metric's values are written and tested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Milliseconds; tested per request (Mann–Whitney).
    Latency,
    /// A per-request rate (tokens/s); tested per request (Mann–Whitney).
    RequestRate,
    /// An endpoint-wide rate; tested by a bootstrap of its ratio estimator.
    Rate,
    /// A share of requests; tested by a two-proportion z-test.
    Share,
}

impl Metric {
    pub const ALL: [Metric; 11] = [
        Metric::TtftP50,
        Metric::TtftP95,
        Metric::TtftP99,
        Metric::TtltP50,
        Metric::TtltP95,
        Metric::TpotP50,
        Metric::ItlP50,
        Metric::RequestTpsP50,
        Metric::OutputTps,
        Metric::RequestsPerMin,
        Metric::ErrorRate,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Metric::TtftP50 => "TTFT p50",
            Metric::TtftP95 => "TTFT p95",
            Metric::TtftP99 => "TTFT p99",
            Metric::TtltP50 => "TTLT p50",
            Metric::TtltP95 => "TTLT p95",
            Metric::TpotP50 => "TPOT p50",
            Metric::ItlP50 => "ITL p50",
            Metric::RequestTpsP50 => "req tok/s p50",
            Metric::OutputTps => "out tok/s",
            Metric::RequestsPerMin => "req/min",
            Metric::ErrorRate => "error rate",
        }
    }

    /// A figure only generated text has (first token, tokens): an embeddings endpoint has none.
    pub fn text_only(self) -> bool {
        !matches!(
            self,
            Metric::TtltP50 | Metric::TtltP95 | Metric::RequestsPerMin | Metric::ErrorRate
        )
    }

    pub fn better(self) -> Better {
        match self {
            Metric::RequestTpsP50 | Metric::OutputTps | Metric::RequestsPerMin => Better::Higher,
            _ => Better::Lower,
        }
    }

    pub fn kind(self) -> Kind {
        match self {
            Metric::RequestTpsP50 => Kind::RequestRate,
            Metric::OutputTps | Metric::RequestsPerMin => Kind::Rate,
            Metric::ErrorRate => Kind::Share,
            _ => Kind::Latency,
        }
    }

    /// The endpoint's reported value.
    pub fn value(self, e: &EndpointSnapshot) -> Option<f64> {
        let l = &e.latency;
        let ended = e.counts.succeeded + e.counts.failed;
        match self {
            Metric::TtftP50 => l.ttft_ms.map(|s| s.p50),
            Metric::TtftP95 => l.ttft_ms.map(|s| s.p95),
            Metric::TtftP99 => l.ttft_ms.map(|s| s.p99),
            Metric::TtltP50 => l.ttlt_ms.map(|s| s.p50),
            Metric::TtltP95 => l.ttlt_ms.map(|s| s.p95),
            Metric::TpotP50 => l.tpot_ms.map(|s| s.p50),
            Metric::ItlP50 => l.itl_ms.map(|s| s.p50),
            Metric::RequestTpsP50 => l.output_tps.map(|s| s.p50),
            // An embeddings endpoint writes no tokens: nothing to compare.
            Metric::OutputTps => (e.counts.succeeded > 0 && e.embeddings.is_none())
                .then_some(e.rates.output_tokens_per_s),
            Metric::RequestsPerMin => (e.counts.succeeded > 0).then_some(e.rates.requests_per_min),
            Metric::ErrorRate => (ended > 0).then(|| e.counts.failed as f64 / ended as f64),
        }
    }

    /// One request's value, for the per-request tests. ITL is each request's median gap: the
    /// gaps within one request are not independent samples.
    fn sample(self, r: &RequestRecord) -> Option<f64> {
        match self {
            Metric::TtftP50 | Metric::TtftP95 | Metric::TtftP99 => r.ttft_ms,
            Metric::TtltP50 | Metric::TtltP95 => r.ttlt_ms,
            Metric::TpotP50 => r.tpot_ms,
            Metric::ItlP50 => median(&r.itl_ms),
            Metric::RequestTpsP50 => r.output_tps,
            Metric::OutputTps | Metric::RequestsPerMin | Metric::ErrorRate => None,
        }
    }
}

/// Whether a change is real and which way it goes for the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Better,
    Worse,
    WithinNoise,
}

/// Why a verdict was given.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reason {
    /// The test found a difference (p < [`ALPHA`]) at least the practical threshold.
    Significant,
    /// The test found no difference.
    NotSignificant,
    /// Significant, but smaller than the practical threshold.
    Small,
    /// The distributions moved one way and this percentile the other (a tail quirk).
    Disagrees,
    /// Fewer than [`MIN_SAMPLES`] on a side.
    TooFewSamples,
    /// A value is missing on a side (nothing succeeded, or no request records).
    NoData,
}

/// One metric of one endpoint in both runs.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricComparison {
    pub metric: Metric,
    pub base: Option<f64>,
    pub current: Option<f64>,
    /// current − base.
    pub delta: Option<f64>,
    /// The change as a percentage of the base (`None` when the base is 0 or missing).
    pub delta_pct: Option<f64>,
    pub verdict: Verdict,
    pub reason: Reason,
    /// The test's two-sided p-value, when a test ran.
    pub p: Option<f64>,
    /// Samples the test saw on each side (requests, or ended requests for the error rate).
    pub samples: (u64, u64),
}

#[derive(Clone, Debug, PartialEq)]
pub struct EndpointComparison {
    pub name: String,
    pub metrics: Vec<MetricComparison>,
}

/// Which race a side of the comparison is.
#[derive(Clone, Debug, PartialEq)]
pub struct RunLabel {
    pub name: String,
    pub started_at: DateTime<Utc>,
}

impl RunLabel {
    fn of(run: &Run) -> RunLabel {
        RunLabel {
            name: run.info.name.clone(),
            started_at: run.info.started_at,
        }
    }
}

/// Two races compared: endpoints raced in both, matched by name, in the base's order.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub base: RunLabel,
    pub current: RunLabel,
    pub endpoints: Vec<EndpointComparison>,
    /// Endpoints only in the current run.
    pub added: Vec<String>,
    /// Endpoints only in the base run.
    pub removed: Vec<String>,
}

/// A worse metric beyond the allowed change.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Regression<'a> {
    pub endpoint: &'a str,
    pub metric: &'a MetricComparison,
}

/// Compares `current` against `base`.
pub fn compare(base: &Run, current: &Run) -> Comparison {
    let find = |run: &Run, name: &str| run.summary.endpoints.iter().any(|e| e.name == name);
    let endpoints = base
        .summary
        .endpoints
        .iter()
        .filter_map(|b| {
            let c = current
                .summary
                .endpoints
                .iter()
                .find(|c| c.name == b.name)?;
            let sides = (
                Side::new(b, &base.requests),
                Side::new(c, &current.requests),
            );
            // Embeddings on both sides: the figures of generated text are left out.
            let vectors = b.embeddings.is_some() && c.embeddings.is_some();
            Some(EndpointComparison {
                name: b.name.clone(),
                metrics: Metric::ALL
                    .iter()
                    .filter(|m| !(vectors && m.text_only()))
                    .map(|&m| compare_metric(m, &sides.0, &sides.1))
                    .collect(),
            })
        })
        .collect();
    let only_in = |a: &Run, b: &Run| {
        a.summary
            .endpoints
            .iter()
            .filter(|e| !find(b, &e.name))
            .map(|e| e.name.clone())
            .collect()
    };
    Comparison {
        base: RunLabel::of(base),
        current: RunLabel::of(current),
        endpoints,
        added: only_in(current, base),
        removed: only_in(base, current),
    }
}

/// Worse verdicts whose change exceeds `fail_pct` percent of the base (a worse error rate from
/// a base of zero always does), in table order.
pub fn regressions(comparison: &Comparison, fail_pct: f64) -> Vec<Regression<'_>> {
    comparison
        .endpoints
        .iter()
        .flat_map(|e| {
            e.metrics
                .iter()
                .filter(|m| m.verdict == Verdict::Worse)
                .filter(move |m| m.delta_pct.is_none_or(|pct| pct.abs() > fail_pct))
                .map(|metric| Regression {
                    endpoint: &e.name,
                    metric,
                })
        })
        .collect()
}

/// Metrics judged (a test ran) and metrics in all, over every endpoint compared: a metric
/// with too few samples or no data on a side has no verdict a gate can rely on.
pub fn judged(comparison: &Comparison) -> (usize, usize) {
    let metrics = comparison.endpoints.iter().flat_map(|e| &e.metrics);
    let judged = metrics
        .clone()
        .filter(|m| !matches!(m.reason, Reason::TooFewSamples | Reason::NoData))
        .count();
    (judged, metrics.count())
}

/// One endpoint in one run: its summary and its measured, succeeded requests.
struct Side<'a> {
    summary: &'a EndpointSnapshot,
    succeeded: Vec<&'a RequestRecord>,
}

impl<'a> Side<'a> {
    fn new(summary: &'a EndpointSnapshot, requests: &'a [RequestRecord]) -> Side<'a> {
        let succeeded = requests
            .iter()
            .filter(|r| r.endpoint_name == summary.name)
            .filter(|r| !r.warmup && r.outcome == Outcome::Succeeded)
            .collect();
        Side { summary, succeeded }
    }

    fn samples(&self, metric: Metric) -> Vec<f64> {
        self.succeeded
            .iter()
            .filter_map(|r| metric.sample(r))
            .filter(|v| v.is_finite())
            .collect()
    }

    /// (numerator, seconds) per request for an endpoint-wide rate: its ratio of sums is what
    /// a closed loop's throughput follows.
    fn rate_pairs(&self, metric: Metric) -> Vec<(f64, f64)> {
        self.succeeded
            .iter()
            .filter_map(|r| {
                let seconds = r.ttlt_ms? / 1000.0;
                let numerator = match metric {
                    Metric::OutputTps => f64::from(r.output_tokens?),
                    _ => 1.0,
                };
                Some((numerator, seconds))
            })
            .collect()
    }

    fn ended(&self) -> u64 {
        self.summary.counts.succeeded + self.summary.counts.failed
    }
}

fn compare_metric(metric: Metric, base: &Side, current: &Side) -> MetricComparison {
    let b = metric.value(base.summary).filter(|v| v.is_finite());
    let c = metric.value(current.summary).filter(|v| v.is_finite());
    let delta = b.zip(c).map(|(b, c)| c - b);
    let delta_pct = b
        .zip(delta)
        .filter(|(b, _)| *b != 0.0)
        .map(|(b, d)| d / b.abs() * 100.0);
    let (verdict, reason, p, samples) = match (b, c, delta) {
        (Some(b), Some(_), Some(delta)) => judge(metric, b, delta, base, current),
        _ => (Verdict::WithinNoise, Reason::NoData, None, (0, 0)),
    };
    MetricComparison {
        metric,
        base: b,
        current: c,
        delta,
        delta_pct,
        verdict,
        reason,
        p,
        samples,
    }
}

/// The test for `metric`, then [`verdict`].
fn judge(
    metric: Metric,
    base_value: f64,
    delta: f64,
    base: &Side,
    current: &Side,
) -> (Verdict, Reason, Option<f64>, (u64, u64)) {
    let (p, agrees, samples) = match metric.kind() {
        Kind::Latency | Kind::RequestRate => {
            let (a, b) = (base.samples(metric), current.samples(metric));
            let samples = (a.len() as u64, b.len() as u64);
            if samples.0 < MIN_SAMPLES || samples.1 < MIN_SAMPLES {
                return (Verdict::WithinNoise, Reason::TooFewSamples, None, samples);
            }
            let Some(test) = mann_whitney(&a, &b) else {
                return (Verdict::WithinNoise, Reason::NoData, None, samples);
            };
            // z > 0: the base tends larger, so the current values went down.
            let agrees = test.z == 0.0 || (test.z > 0.0) == (delta < 0.0);
            (test.p, agrees, samples)
        }
        Kind::Rate => {
            let (a, b) = (base.rate_pairs(metric), current.rate_pairs(metric));
            let samples = (a.len() as u64, b.len() as u64);
            if samples.0 < MIN_SAMPLES || samples.1 < MIN_SAMPLES {
                return (Verdict::WithinNoise, Reason::TooFewSamples, None, samples);
            }
            let p = log_rate_p(
                base_value,
                log_ratio_se(&a, RESAMPLES, 1),
                base_value + delta,
                log_ratio_se(&b, RESAMPLES, 2),
            );
            (p, true, samples)
        }
        Kind::Share => {
            let (n_a, n_b) = (base.ended(), current.ended());
            let samples = (n_a, n_b);
            if samples.0 < MIN_SAMPLES || samples.1 < MIN_SAMPLES {
                return (Verdict::WithinNoise, Reason::TooFewSamples, None, samples);
            }
            let p = two_proportion_p(
                base.summary.counts.failed,
                n_a,
                current.summary.counts.failed,
                n_b,
            );
            (p, true, samples)
        }
    };
    let practical = match metric.kind() {
        Kind::Share => delta.abs() >= PRACTICAL_ERROR_POINTS,
        _ => delta.abs() >= PRACTICAL_SHARE * base_value.abs(),
    };
    let (verdict, reason) = verdict(metric.better(), delta, p, practical, agrees);
    (verdict, reason, Some(p), samples)
}

/// The verdict rule: significant (p < [`ALPHA`]), large enough to matter, and moving the same
/// way as the distribution did → better or worse by the metric's direction; else noise.
pub fn verdict(
    better: Better,
    delta: f64,
    p: f64,
    practical: bool,
    agrees: bool,
) -> (Verdict, Reason) {
    if p >= ALPHA || p.is_nan() {
        return (Verdict::WithinNoise, Reason::NotSignificant);
    }
    if !practical {
        return (Verdict::WithinNoise, Reason::Small);
    }
    if !agrees {
        return (Verdict::WithinNoise, Reason::Disagrees);
    }
    let improved = match better {
        Better::Lower => delta < 0.0,
        Better::Higher => delta > 0.0,
    };
    if improved {
        (Verdict::Better, Reason::Significant)
    } else {
        (Verdict::Worse, Reason::Significant)
    }
}

/// The median of unsorted values (`None` when empty).
fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        f64::midpoint(v[mid - 1], v[mid])
    } else {
        v[mid]
    })
}
