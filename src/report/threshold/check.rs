//! Thresholds applied to a race's final numbers: one check per threshold and endpoint it covers,
//! and the pass/FAIL table CI logs show.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{CostBasis, Latency, Metric, Stat, Threshold, ThresholdError};
use crate::format::rate;
use crate::format::usd;
use crate::stats::Cost;
use crate::stats::EndpointSnapshot;
use crate::stats::distribution::Summary;

/// One threshold checked against one endpoint (serializable, for a results file).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    /// The threshold as written.
    pub expression: String,
    pub endpoint: String,
    /// What was measured, for people (`812.4 ms`, `1.25%`), or why nothing was (`no data`).
    pub measured: String,
    /// The threshold was not crossed. A metric without data never passes.
    pub passed: bool,
}

/// Refuses thresholds whose endpoint prefix names no endpoint of the race, before it starts.
pub fn check_endpoints(thresholds: &[Threshold], names: &[String]) -> Result<(), ThresholdError> {
    for threshold in thresholds {
        let Some(endpoint) = &threshold.endpoint else {
            continue;
        };
        if names.iter().any(|n| n == endpoint) {
            continue;
        }
        let text = &threshold.text;
        let start = text.find(endpoint.as_str()).unwrap_or(0);
        let known: Vec<&str> = names.iter().map(String::as_str).collect();
        let list = format!("the race's endpoints: {}", known.join(", "));
        let help = match crate::config::did_you_mean(endpoint, &known) {
            Some(guess) => format!("did you mean `{guess}`? {list}"),
            None => list,
        };
        return Err(ThresholdError::new(
            text,
            start..start + endpoint.len(),
            format!("no endpoint is named `{endpoint}`"),
            help,
        ));
    }
    Ok(())
}

/// Refuses TPOT and ITL thresholds for a race that does not stream: every response arrives
/// whole, so neither has a value and the threshold could only fail.
pub fn check_streamed(thresholds: &[Threshold], stream: bool) -> Result<(), ThresholdError> {
    if stream {
        return Ok(());
    }
    for threshold in thresholds {
        let name = match threshold.metric {
            Metric::Latency(Latency::Tpot, _) => "tpot",
            Metric::Latency(Latency::Itl, _) => "itl",
            _ => continue,
        };
        let text = &threshold.text;
        // The metric comes after any endpoint prefix, which may hold the same letters.
        let start = text.rfind(name).unwrap_or(0);
        return Err(ThresholdError::new(
            text,
            start..start + name.len(),
            format!(
                "`{name}` has no value in a race that does not stream (`stream = false` or \
                 --no-stream): each response arrives whole, so this threshold could only fail"
            ),
            "stream the race, or leave this threshold out (`ttlt` bounds a whole response)"
                .to_string(),
        ));
    }
    Ok(())
}

/// Every threshold against every endpoint it covers, in threshold order. `costs` holds the
/// priced endpoints' costs by name; a cost threshold on an unpriced endpoint fails (no data).
pub fn evaluate(
    thresholds: &[Threshold],
    endpoints: &[EndpointSnapshot],
    costs: &BTreeMap<String, Cost>,
) -> Vec<Check> {
    let mut checks = Vec::new();
    for threshold in thresholds {
        let covered = endpoints
            .iter()
            .filter(|e| threshold.endpoint.as_ref().is_none_or(|n| *n == e.name));
        for endpoint in covered {
            let (measured, passed) = match measure(threshold.metric, endpoint, costs) {
                Ok(value) => (
                    show(threshold.metric, value),
                    !threshold.op.holds(value, threshold.limit),
                ),
                Err(why) => (why.to_string(), false),
            };
            checks.push(Check {
                expression: threshold.text.clone(),
                endpoint: endpoint.name.clone(),
                measured,
                passed,
            });
        }
    }
    checks
}

/// The metric's value in its base unit, or why there is none.
fn measure(
    metric: Metric,
    endpoint: &EndpointSnapshot,
    costs: &BTreeMap<String, Cost>,
) -> Result<f64, &'static str> {
    const NO_DATA: &str = "no data";
    let c = &endpoint.counts;
    let ended = c.succeeded + c.failed;
    let r = &endpoint.rates;
    let value = match metric {
        Metric::Latency(latency, stat) => {
            let l = &endpoint.latency;
            let summary = match latency {
                Latency::Ttfb => l.ttfb_ms,
                Latency::Ttft => l.ttft_ms,
                Latency::Ttfa => l.ttfa_ms,
                Latency::Ttlt => l.ttlt_ms,
                Latency::Tpot => l.tpot_ms,
                Latency::Itl => l.itl_ms,
            };
            // Requests that succeeded with output in one piece (one token, or a stream read in
            // one go) have no time between tokens: say so, not just that nothing was measured.
            if summary.is_none()
                && c.succeeded > 0
                && matches!(latency, Latency::Tpot | Latency::Itl)
            {
                return Err("no data: no request had two tokens arriving apart");
            }
            summary.map(|s| statistic(&s, stat))
        }
        Metric::OutputTps(stat) => endpoint.latency.output_tps.map(|s| statistic(&s, stat)),
        // Rates over a window of nothing are no measurement, not zero.
        Metric::TokensPerS => (c.succeeded > 0).then_some(r.output_tokens_per_s),
        Metric::Rpm => (ended > 0 && r.window_s > 0.0).then_some(r.requests_per_min),
        Metric::Rps => (ended > 0 && r.window_s > 0.0).then_some(r.requests_per_s),
        Metric::Goodput => (ended > 0 && r.window_s > 0.0).then_some(r.goodput_per_s),
        Metric::ErrorRate => (ended > 0).then(|| c.failed as f64 / ended as f64),
        Metric::SuccessRate => (ended > 0).then(|| c.succeeded as f64 / ended as f64),
        Metric::Cost(basis) => {
            let cost = costs.get(&endpoint.name).ok_or("no price")?;
            match basis {
                CostBasis::Total => Some(cost.total_usd),
                CostBasis::Per1k => cost.per_1k_requests_usd,
                CostBasis::PerMillionOutput => cost.per_million_output_usd,
            }
        }
    };
    value.filter(|v| v.is_finite()).ok_or(NO_DATA)
}

fn statistic(summary: &Summary, stat: Stat) -> f64 {
    match stat {
        Stat::P50 => summary.p50,
        Stat::P90 => summary.p90,
        Stat::P95 => summary.p95,
        Stat::P99 => summary.p99,
        Stat::Mean => summary.mean,
        Stat::Max => summary.max,
        Stat::Min => summary.min,
    }
}

/// A measured value precise enough to see which side of a threshold it fell on.
fn show(metric: Metric, value: f64) -> String {
    match metric {
        Metric::Latency(..) if value >= 10_000.0 => format!("{:.3} s", value / 1000.0),
        Metric::Latency(..) if value < 1.0 => format!("{:.1} µs", value * 1000.0),
        Metric::Latency(..) => format!("{value:.1} ms"),
        Metric::OutputTps(_) | Metric::TokensPerS => format!("{} tok/s", rate(value)),
        Metric::Rpm => format!("{} req/min", rate(value)),
        Metric::Rps | Metric::Goodput => format!("{} req/s", rate(value)),
        Metric::ErrorRate | Metric::SuccessRate => format!("{:.2}%", value * 100.0),
        Metric::Cost(CostBasis::Total) => usd(value),
        Metric::Cost(CostBasis::Per1k) => format!("{} /1k req", usd(value)),
        Metric::Cost(CostBasis::PerMillionOutput) => format!("{} /M out tok", usd(value)),
    }
}

/// The checks as a table, then a verdict line:
///
/// ```text
///          threshold           endpoint  measured
/// ✓ pass   ttft.p95 > 800ms    vllm      412.3 ms
/// ✗ FAIL   error_rate > 1%     ollama    3.20%
/// 1 of 2 checks failed
/// ```
pub fn render(checks: &[Check]) -> String {
    let width = |f: fn(&Check) -> &str, header: &str| {
        checks
            .iter()
            .map(|c| f(c).chars().count())
            .chain([header.chars().count()])
            .max()
            .unwrap_or(0)
    };
    let expression = width(|c| &c.expression, "threshold");
    let endpoint = width(|c| &c.endpoint, "endpoint");
    let mut out = format!(
        "{:8} {:expression$}  {:endpoint$}  measured\n",
        "", "threshold", "endpoint"
    );
    for check in checks {
        let verdict = if check.passed { "✓ pass" } else { "✗ FAIL" };
        let line = format!(
            "{verdict:8} {:expression$}  {:endpoint$}  {}",
            check.expression, check.endpoint, check.measured
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let failed = checks.iter().filter(|c| !c.passed).count();
    let noun = if checks.len() == 1 { "check" } else { "checks" };
    if failed == 0 {
        out.push_str(&format!("all {} {noun} passed\n", checks.len()));
    } else {
        out.push_str(&format!("{failed} of {} {noun} failed\n", checks.len()));
    }
    out
}
