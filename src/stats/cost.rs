//! What a race cost at an endpoint's prices: input tokens (those read from and written to the
//! prompt cache at their own prices), output tokens, per request and per million output
//! tokens (a snapshot's `Cost`). A statistic like any other: the aggregator prices every
//! snapshot, so views read the figures instead of computing them.

use std::collections::BTreeMap;

use super::snapshot::{Cost, EndpointSnapshot};
use crate::config::{Price, RaceConfig};

/// The cost of every token `endpoint` counted (failed and cancelled requests' tokens too: a
/// provider bills them), per 1000 ended requests and per million output tokens.
pub fn cost(endpoint: &EndpointSnapshot, price: &Price) -> Cost {
    let tokens = &endpoint.tokens;
    // `input` counts the cached tokens too; a server reporting more cached tokens than input
    // never makes a negative bill.
    let read = tokens.cached_input.min(tokens.input);
    let written = tokens.cache_write_input.min(tokens.input - read);
    let uncached = tokens.input - read - written;
    let total_usd = (uncached as f64 * price.input
        + read as f64 * price.cache_read_price()
        + written as f64 * price.cache_write_price()
        + tokens.output as f64 * price.output)
        / 1e6;
    let counts = &endpoint.counts;
    let ended = counts.succeeded + counts.failed + counts.cancelled;
    Cost {
        total_usd,
        per_1k_requests_usd: (ended > 0).then(|| total_usd / ended as f64 * 1000.0),
        per_million_output_usd: (tokens.output > 0).then(|| total_usd / tokens.output as f64 * 1e6),
    }
}

/// Each endpoint's price as `race` sets it, in the order of `names` (`None` when unpriced).
pub fn prices(race: &RaceConfig, names: &[String]) -> Vec<Option<Price>> {
    names
        .iter()
        .map(|name| race.endpoints.iter().find(|c| c.name == *name)?.price)
        .collect()
}

/// The cost of every priced endpoint, by name; `prices` are in the order of `endpoints`.
pub fn costs(endpoints: &[EndpointSnapshot], prices: &[Option<Price>]) -> BTreeMap<String, Cost> {
    endpoints
        .iter()
        .zip(prices)
        .filter_map(|(e, price)| Some((e.name.clone(), cost(e, price.as_ref()?))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::snapshot::{Counts, Latency, Rates, Tokens};

    fn endpoint(input: u64, cached: u64, output: u64, ended: u64) -> EndpointSnapshot {
        with_writes(input, cached, 0, output, ended)
    }

    fn with_writes(
        input: u64,
        cached: u64,
        written: u64,
        output: u64,
        ended: u64,
    ) -> EndpointSnapshot {
        EndpointSnapshot {
            server: None,
            buckets: std::sync::Arc::default(),
            embeddings: None,
            name: "e".to_string(),
            counts: Counts {
                sent: ended,
                succeeded: ended,
                ..Counts::default()
            },
            errors: std::collections::BTreeMap::new(),
            latency: Latency::default(),
            tokens: Tokens {
                input,
                cached_input: cached,
                cache_write_input: written,
                output,
                ..Tokens::default()
            },
            rates: Rates::default(),
            recent_seconds: Vec::new(),
            requests: Vec::new(),
            health: crate::stats::Health::default(),
            wins_first_token: 0,
            wins_first_finished: 0,
            laps: 0,
        }
    }

    const PRICE: Price = Price {
        input: 0.15,
        cached_input: Some(0.075),
        cache_write: None,
        output: 0.60,
    };

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn cached_input_is_billed_at_the_cached_price() {
        // 1M input of which 400k cached, 500k output, 100 requests.
        let c = cost(&endpoint(1_000_000, 400_000, 500_000, 100), &PRICE);
        let expected = 0.6 * 0.15 + 0.4 * 0.075 + 0.5 * 0.60;
        assert!(close(c.total_usd, expected), "{c:?}");
        assert!(close(
            c.per_1k_requests_usd.unwrap_or_default(),
            expected * 10.0
        ));
        assert!(close(
            c.per_million_output_usd.unwrap_or_default(),
            expected * 2.0
        ));
    }

    #[test]
    fn cache_reads_and_writes_are_billed_at_their_prices_or_as_input() {
        // Anthropic's prices for one model: reads at a tenth, writes at a premium.
        let price = Price {
            input: 3.0,
            cached_input: Some(0.30),
            cache_write: Some(3.75),
            output: 15.0,
        };
        // 1M input tokens: 500k read from the cache, 200k written to it, 300k neither.
        let c = cost(&with_writes(1_000_000, 500_000, 200_000, 0, 1), &price);
        assert!(
            close(c.total_usd, 0.3 * 3.0 + 0.5 * 0.30 + 0.2 * 3.75),
            "{c:?}"
        );
        // No cache prices given: every input token at the input price.
        let plain = Price {
            cached_input: None,
            cache_write: None,
            ..price
        };
        let c = cost(&with_writes(1_000_000, 500_000, 200_000, 0, 1), &plain);
        assert!(close(c.total_usd, 3.0), "{c:?}");
        // Reads and writes beyond the input never bill a negative uncached part.
        let c = cost(&with_writes(10, 8, 8, 0, 1), &price);
        assert!(close(c.total_usd, (8.0 * 0.30 + 2.0 * 3.75) / 1e6), "{c:?}");
    }

    #[expect(
        clippy::float_cmp,
        reason = "exact values: parsed from literals or computed from whole numbers"
    )]
    #[test]
    fn only_priced_endpoints_have_costs() {
        let mut race = crate::config::demo_race();
        race.endpoints[1].price = Some(Price {
            input: 1.0,
            cached_input: Some(0.5),
            cache_write: None,
            output: 2.0,
        });
        let names: Vec<String> = race.endpoints.iter().map(|e| e.name.clone()).collect();
        let endpoints: Vec<EndpointSnapshot> = names
            .iter()
            .map(|name| EndpointSnapshot {
                name: name.clone(),
                ..with_writes(2_000_000, 0, 0, 1_000_000, 2)
            })
            .collect();
        let costs = costs(&endpoints, &prices(&race, &names));
        let priced: Vec<&str> = costs.keys().map(String::as_str).collect();
        assert_eq!(priced, ["steady"]);
        assert_eq!(costs["steady"].total_usd, 4.0);
    }

    #[expect(
        clippy::float_cmp,
        reason = "exact values: parsed from literals or computed from whole numbers"
    )]
    #[test]
    fn nothing_to_divide_by_is_no_figure() {
        let c = cost(&endpoint(0, 0, 0, 0), &PRICE);
        assert_eq!(c.total_usd, 0.0);
        assert_eq!(c.per_1k_requests_usd, None);
        assert_eq!(c.per_million_output_usd, None);
        // A server reporting more cached than input tokens never makes a negative bill.
        let c = cost(&endpoint(10, 20, 0, 1), &PRICE);
        assert!(c.total_usd >= 0.0);
    }
}
