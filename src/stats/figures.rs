//! The figures a threshold names (`ttft.p95`, `error_rate`, `cost.total`…), read from an
//! endpoint's final numbers and its cost: what `threshold::evaluate` checks a race against.

use std::collections::BTreeMap;

use super::distribution::Summary;
use super::snapshot::Cost;
use super::snapshot::EndpointSnapshot;
use crate::threshold::{CostBasis, Latency, Measured, Metric, Stat};

#[cfg(test)]
mod tests;

/// One endpoint's final numbers with what it cost (`None` when it has no price).
#[derive(Clone, Copy, Debug)]
pub struct Figures<'a> {
    pub endpoint: &'a EndpointSnapshot,
    pub cost: Option<&'a Cost>,
}

/// Every endpoint's figures, in race order, each with its cost from `costs` (by name).
pub fn of<'a>(
    endpoints: &'a [EndpointSnapshot],
    costs: &'a BTreeMap<String, Cost>,
) -> Vec<Figures<'a>> {
    endpoints
        .iter()
        .map(|endpoint| Figures {
            endpoint,
            cost: costs.get(&endpoint.name),
        })
        .collect()
}

impl Measured for Figures<'_> {
    fn name(&self) -> &str {
        &self.endpoint.name
    }

    /// The metric's value in its base unit, or why there is none.
    fn measure(&self, metric: Metric) -> Result<f64, &'static str> {
        const NO_DATA: &str = "no data";
        let endpoint = self.endpoint;
        let c = &endpoint.counts;
        let ended = c.succeeded + c.failed;
        let r = &endpoint.rates;
        // Tokens are what an embeddings endpoint has none of: not a failure, not a zero.
        let tokens = matches!(
            metric,
            Metric::Latency(
                Latency::Ttft | Latency::Ttfa | Latency::Tpot | Latency::Itl,
                _
            ) | Metric::OutputTps(_)
                | Metric::TokensPerS
        );
        if tokens && endpoint.embeddings.is_some() {
            return Err("not applicable: an embeddings endpoint generates no tokens");
        }
        let value = match metric {
            Metric::InputsPerS => match endpoint.embeddings {
                Some(m) => (c.succeeded > 0).then_some(m.inputs_per_s),
                None => return Err("not applicable: not an embeddings endpoint"),
            },
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
            Metric::CacheHitRate => endpoint.tokens.cache_hit_rate(),
            Metric::RepeatShare => c.repeat_share(),
            Metric::JsonValid => c.json_valid_share(),
            Metric::Cost(basis) => {
                let cost = self.cost.ok_or("no price")?;
                match basis {
                    CostBasis::Total => Some(cost.total_usd),
                    CostBasis::Per1k => cost.per_1k_requests_usd,
                    CostBasis::PerMillionOutput => cost.per_million_output_usd,
                }
            }
        };
        value.filter(|v| v.is_finite()).ok_or(NO_DATA)
    }
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
