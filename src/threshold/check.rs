//! Thresholds applied to a race's final numbers: the checks of a race before it starts (every
//! endpoint prefix names an endpoint, TPOT and ITL only when streamed), and after it ends one
//! check per threshold and endpoint it covers. The numbers come from whatever implements
//! [`Measured`] (the statistics); the pass/FAIL table is the report's (`report::verdict`).

use serde::Serialize;

use super::{CostBasis, Latency, Metric, Threshold, ThresholdError};
use crate::format::{rate, usd};

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
        let help = match crate::spelling::did_you_mean(endpoint, &known) {
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

/// An endpoint's final numbers as a threshold reads them.
pub trait Measured {
    /// The endpoint's name, as an endpoint prefix names it.
    fn name(&self) -> &str;
    /// The metric's value in its base unit, or why there is none (`no data`, `no price`).
    fn measure(&self, metric: Metric) -> Result<f64, &'static str>;
}

/// The start of the reason a metric has no value for a kind of endpoint (TTFT for an
/// embeddings endpoint, inputs/s for a chat one).
pub const NOT_APPLICABLE: &str = "not applicable";

/// Every threshold against every endpoint it covers, in threshold order. A threshold on a
/// metric an endpoint has no value for fails, saying why; one on a metric its kind of endpoint
/// never has (TTFT of an embeddings endpoint) leaves it out, unless it names that endpoint or
/// no endpoint of the race has the metric at all.
pub fn evaluate(thresholds: &[Threshold], endpoints: &[impl Measured]) -> Vec<Check> {
    let mut checks = Vec::new();
    for threshold in thresholds {
        let covered: Vec<_> = endpoints
            .iter()
            .filter(|e| threshold.endpoint.as_ref().is_none_or(|n| n == e.name()))
            .collect();
        let any_applies = covered.iter().any(|e| {
            !e.measure(threshold.metric)
                .is_err_and(|why| why.starts_with(NOT_APPLICABLE))
        });
        for endpoint in covered {
            let (measured, passed) = match endpoint.measure(threshold.metric) {
                Ok(value) => (
                    show(threshold.metric, value),
                    !threshold.op.holds(value, threshold.limit),
                ),
                Err(why) if why.starts_with(NOT_APPLICABLE) && any_applies => continue,
                Err(why) => (why.to_string(), false),
            };
            checks.push(Check {
                expression: threshold.text.clone(),
                endpoint: endpoint.name().to_string(),
                measured,
                passed,
            });
        }
    }
    checks
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
        Metric::InputsPerS => format!("{} inputs/s", rate(value)),
        Metric::ErrorRate
        | Metric::SuccessRate
        | Metric::CacheHitRate
        | Metric::RepeatShare
        | Metric::JsonValid => format!("{:.2}%", value * 100.0),
        Metric::Cost(CostBasis::Total) => usd(value),
        Metric::Cost(CostBasis::Per1k) => format!("{} /1k req", usd(value)),
        Metric::Cost(CostBasis::PerMillionOutput) => format!("{} /M out tok", usd(value)),
    }
}
