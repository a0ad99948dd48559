//! How endpoints are ranked, for the leaderboard, the finish panel and the app loop that keeps
//! the previous order: the metrics `s` cycles through, each endpoint's value under one, the
//! order (better first, no data last) and the winner. Read from the snapshot, never computed.

use std::cmp::Ordering;

use crate::format::{ms, percent, rate, usd_short};
use crate::stats::{Cost, EndpointSnapshot, Snapshot};

/// What the leaderboard ranks by; `s` cycles through them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rank {
    #[default]
    TtftP50,
    OutputTokensPerS,
    TtltP50,
    SuccessRate,
    /// Cost per 1000 requests: only when some endpoint has a price.
    Cost,
}

impl Rank {
    /// The ranks every race has.
    pub const ALL: [Rank; 4] = [
        Rank::TtftP50,
        Rank::OutputTokensPerS,
        Rank::TtltP50,
        Rank::SuccessRate,
    ];
    /// The ranks of a race with a priced endpoint.
    pub const WITH_COST: [Rank; 5] = [
        Rank::TtftP50,
        Rank::OutputTokensPerS,
        Rank::TtltP50,
        Rank::SuccessRate,
        Rank::Cost,
    ];

    /// The ranks `s` cycles through: cost only when an endpoint is priced.
    pub fn available(priced: bool) -> &'static [Rank] {
        if priced { &Rank::WITH_COST } else { &Rank::ALL }
    }

    pub fn label(self) -> &'static str {
        match self {
            Rank::TtftP50 => "TTFT p50",
            Rank::OutputTokensPerS => "tokens/s",
            Rank::TtltP50 => "TTLT p50",
            Rank::SuccessRate => "success rate",
            Rank::Cost => "cost/1k req",
        }
    }

    /// The rank after this one in `s`'s cycle.
    #[must_use]
    pub fn next(self, priced: bool) -> Rank {
        let ranks = Rank::available(priced);
        let i = ranks.iter().position(|r| *r == self).unwrap_or(0);
        ranks[(i + 1) % ranks.len()]
    }
}

/// The value `rank` orders by, `None` while the endpoint has none. `cost` is the endpoint's
/// (from the snapshot), for ranking by cost.
pub fn value(endpoint: &EndpointSnapshot, rank: Rank, cost: Option<&Cost>) -> Option<f64> {
    let value = match rank {
        Rank::TtftP50 => endpoint.latency.ttft_ms.map(|s| s.p50),
        Rank::TtltP50 => endpoint.latency.ttlt_ms.map(|s| s.p50),
        // The race-long rate, not the live one: places should not swap on a burst.
        // An embeddings endpoint writes no tokens: it has no place here, not the last one.
        Rank::OutputTokensPerS => (endpoint.counts.succeeded > 0 && endpoint.embeddings.is_none())
            .then_some(endpoint.rates.output_tokens_per_s),
        // The rate reads 1 before anything ended: that is no data, not a perfect score.
        Rank::SuccessRate => (endpoint.counts.succeeded + endpoint.counts.failed > 0)
            .then_some(endpoint.rates.success_rate),
        // An unpriced endpoint has no cost to compare: it comes last, not first.
        Rank::Cost => cost.and_then(|c| c.per_1k_requests_usd),
    };
    value.filter(|v| v.is_finite())
}

/// `value` written for people, `—` when absent.
pub fn show(rank: Rank, value: Option<f64>) -> String {
    match rank {
        Rank::TtftP50 | Rank::TtltP50 => ms(value),
        Rank::OutputTokensPerS => value.map_or_else(|| "—".to_string(), rate),
        Rank::SuccessRate => value.map_or_else(|| "—".to_string(), percent),
        Rank::Cost => value.map_or_else(|| "—".to_string(), usd_short),
    }
}

fn lower_is_better(rank: Rank) -> bool {
    matches!(rank, Rank::TtftP50 | Rank::TtltP50 | Rank::Cost)
}

/// Better first under `rank`; endpoints without a value come last.
pub fn compare(a: Option<f64>, b: Option<f64>, rank: Rank) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) if lower_is_better(rank) => a.total_cmp(&b),
        (Some(a), Some(b)) => b.total_cmp(&a),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Endpoint indices, leader first. Ties and endpoints without data keep the race's endpoint
/// order (the sort is stable), so equal endpoints never swap places from frame to frame.
pub fn order(snapshot: &Snapshot, rank: Rank) -> Vec<usize> {
    let values: Vec<Option<f64>> = (snapshot.endpoints.iter())
        .map(|e| value(e, rank, snapshot.costs.get(&e.name)))
        .collect();
    let mut indices: Vec<usize> = (0..values.len()).collect();
    indices.sort_by(|&a, &b| compare(values[a], values[b], rank));
    indices
}

/// The best endpoint under `rank` (the first in race order if several share the best value),
/// its value, and how many others share it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Winner {
    pub endpoint: usize,
    pub value: f64,
    pub tied: usize,
}

pub fn winner(snapshot: &Snapshot, rank: Rank) -> Option<Winner> {
    let order = order(snapshot, rank);
    let first = *order.first()?;
    let value_at = |i: usize| {
        let endpoint = snapshot.endpoints.get(i)?;
        value(endpoint, rank, snapshot.costs.get(&endpoint.name))
    };
    let best = value_at(first)?;
    let tied = order[1..]
        .iter()
        .take_while(|&&i| value_at(i) == Some(best))
        .count();
    Some(Winner {
        endpoint: first,
        value: best,
        tied,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Offset;
    use crate::stats::distribution::Summary;
    use crate::stats::snapshot::{Counts, Health, Latency, Rates, Tokens};

    fn summary(p50: f64) -> Summary {
        Summary {
            count: 10,
            min: p50,
            mean: p50,
            p50,
            p90: p50,
            p95: p50,
            p99: p50,
            max: p50,
        }
    }

    /// An endpoint with `ttft` p50 (or none), `tps` tokens/s and `ok`/`failed` requests.
    fn endpoint(name: &str, ttft: Option<f64>, tps: f64, ok: u64, failed: u64) -> EndpointSnapshot {
        EndpointSnapshot {
            server: None,
            buckets: std::sync::Arc::default(),
            embeddings: None,
            name: name.to_string(),
            counts: Counts {
                sent: ok + failed,
                succeeded: ok,
                failed,
                ..Counts::default()
            },
            errors: std::collections::BTreeMap::default(),
            latency: Latency {
                ttft_ms: ttft.map(summary),
                ttlt_ms: ttft.map(|t| summary(t * 10.0)),
                ..Latency::default()
            },
            tokens: Tokens::default(),
            rates: Rates {
                output_tokens_per_s: tps,
                success_rate: if ok + failed == 0 {
                    1.0
                } else {
                    ok as f64 / (ok + failed) as f64
                },
                ..Rates::default()
            },
            recent_seconds: Vec::new(),
            requests: Vec::new(),
            health: Health::default(),
            wins_first_token: 0,
            wins_first_finished: 0,
            laps: 0,
        }
    }

    fn snapshot(endpoints: Vec<EndpointSnapshot>) -> Snapshot {
        Snapshot {
            playback: None,
            commentary: std::sync::Arc::default(),
            t: Offset::ZERO,
            finished: false,
            endpoints,
            costs: std::collections::BTreeMap::new(),
        }
    }

    #[test]
    fn lower_latency_and_higher_throughput_lead() {
        let s = snapshot(vec![
            endpoint("a", Some(300.0), 50.0, 10, 0),
            endpoint("b", Some(100.0), 20.0, 10, 0),
            endpoint("c", Some(200.0), 90.0, 5, 5),
        ]);
        assert_eq!(order(&s, Rank::TtftP50), vec![1, 2, 0]);
        assert_eq!(order(&s, Rank::TtltP50), vec![1, 2, 0]);
        assert_eq!(order(&s, Rank::OutputTokensPerS), vec![2, 0, 1]);
        assert_eq!(order(&s, Rank::SuccessRate), vec![0, 1, 2]);
    }

    #[test]
    fn ties_keep_the_race_order() {
        let s = snapshot(vec![
            endpoint("a", Some(200.0), 50.0, 10, 0),
            endpoint("b", Some(100.0), 50.0, 10, 0),
            endpoint("c", Some(100.0), 50.0, 10, 0),
        ]);
        assert_eq!(order(&s, Rank::TtftP50), vec![1, 2, 0]);
        assert_eq!(order(&s, Rank::OutputTokensPerS), vec![0, 1, 2]);
        assert_eq!(order(&s, Rank::SuccessRate), vec![0, 1, 2]);
    }

    #[test]
    fn endpoints_without_data_come_last() {
        let s = snapshot(vec![
            // Nothing ended yet: success rate reads 1 but is no data.
            endpoint("idle", None, 0.0, 0, 0),
            // Everything failed: no latency, no throughput, but a (bad) success rate.
            endpoint("failing", None, 0.0, 0, 4),
            endpoint("slow", Some(900.0), 5.0, 3, 1),
        ]);
        assert_eq!(order(&s, Rank::TtftP50), vec![2, 0, 1]);
        assert_eq!(order(&s, Rank::OutputTokensPerS), vec![2, 0, 1]);
        assert_eq!(order(&s, Rank::SuccessRate), vec![2, 1, 0]);
        assert_eq!(value(&s.endpoints[0], Rank::SuccessRate, None), None);
        assert_eq!(value(&s.endpoints[1], Rank::SuccessRate, None), Some(0.0));
    }

    #[test]
    fn not_a_number_counts_as_missing() {
        let s = snapshot(vec![
            endpoint("nan", Some(f64::NAN), 1.0, 1, 0),
            endpoint("ok", Some(500.0), 1.0, 1, 0),
        ]);
        assert_eq!(order(&s, Rank::TtftP50), vec![1, 0]);
    }

    #[test]
    fn cost_ranks_cheapest_first_and_unpriced_last() {
        let mut cheap = endpoint("cheap", Some(100.0), 1.0, 10, 0);
        cheap.tokens.output = 1000;
        let mut dear = endpoint("dear", Some(100.0), 1.0, 10, 0);
        dear.tokens.output = 1000;
        let unpriced = endpoint("free?", Some(100.0), 1.0, 10, 0);
        let mut s = snapshot(vec![dear, unpriced, cheap]);
        let price = |output| crate::config::Price {
            input: 1.0,
            cached_input: None,
            cache_write: None,
            output,
        };
        let prices = [Some(price(10.0)), None, Some(price(1.0))];
        s.costs = crate::stats::cost::costs(&s.endpoints, &prices);
        assert_eq!(order(&s, Rank::Cost), vec![2, 0, 1]);
        // 1000 output tokens at $1/M over 10 requests: $0.001 per request, $0.10 per 1000.
        let per_1k = value(&s.endpoints[2], Rank::Cost, s.costs.get("cheap"));
        assert_eq!(show(Rank::Cost, per_1k), "$0.1000");
        assert_eq!(value(&s.endpoints[1], Rank::Cost, None), None);
    }
}
