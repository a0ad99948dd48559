use super::*;
use crate::stats::snapshot::{Counts, Latency as Lat, Rates, Tokens};
use crate::threshold::{Check, Threshold, evaluate, parse};

fn ok(expr: &str) -> Threshold {
    match parse(expr) {
        Ok(t) => t,
        Err(e) => panic!("{expr}: {e}"),
    }
}

fn summary(value: f64) -> Summary {
    Summary {
        count: 10,
        min: value / 2.0,
        mean: value,
        p50: value,
        p90: value,
        p95: value,
        p99: value * 2.0,
        max: value * 3.0,
    }
}

/// An endpoint with `ok` succeeded and `failed` failed requests, TTFT p95 `ttft` ms.
fn endpoint(name: &str, ok: u64, failed: u64, ttft: Option<f64>) -> EndpointSnapshot {
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
        errors: BTreeMap::new(),
        latency: Lat {
            ttft_ms: ttft.map(summary),
            output_tps: ttft.map(|_| summary(25.0)),
            ..Lat::default()
        },
        tokens: Tokens::default(),
        rates: Rates {
            window_s: 10.0,
            requests_per_s: ok as f64 / 10.0,
            requests_per_min: ok as f64 * 6.0,
            output_tokens_per_s: 40.0,
            ..Rates::default()
        },
        recent_seconds: Vec::new(),
        requests: Vec::new(),
        health: crate::stats::Health::default(),
        wins_first_token: 0,
        wins_first_finished: 0,
        laps: 0,
    }
}

fn run(exprs: &[&str], endpoints: &[EndpointSnapshot]) -> Vec<Check> {
    let thresholds: Vec<Threshold> = exprs.iter().map(|e| ok(e)).collect();
    evaluate(&thresholds, &of(endpoints, &BTreeMap::new()))
}

fn verdicts(checks: &[Check]) -> Vec<(&str, bool)> {
    checks
        .iter()
        .map(|c| (c.endpoint.as_str(), c.passed))
        .collect()
}

#[test]
fn one_check_per_threshold_and_endpoint_it_covers() {
    let endpoints = [
        endpoint("fast", 10, 0, Some(300.0)),
        endpoint("slow", 10, 0, Some(900.0)),
    ];
    let checks = run(&["ttft.p95 > 800ms", "slow: rpm < 100"], &endpoints);
    assert_eq!(
        verdicts(&checks),
        vec![("fast", true), ("slow", false), ("slow", false)]
    );
    assert_eq!(checks[0].measured, "300.0 ms");
    assert_eq!(checks[1].expression, "ttft.p95 > 800ms");
    assert_eq!(checks[2].measured, "60.0 req/min");
}

#[test]
fn boundaries_are_exact() {
    let endpoints = [endpoint("e", 99, 1, Some(800.0))];
    let checks = run(
        &[
            "ttft.p95 > 800ms",
            "ttft.p95 >= 800ms",
            "ttft.p95 > 0.8s",
            "ttft.p95 < 800ms",
            "ttft.p95 <= 800ms",
            "error_rate > 1%",
            "error_rate >= 1%",
            "error_rate >= 0.01",
            "success_rate < 99%",
            "success_rate <= 99%",
            "output_tps.p50 < 25",
            "output_tps.p50 <= 25",
        ],
        &endpoints,
    );
    let passed: Vec<bool> = checks.iter().map(|c| c.passed).collect();
    assert_eq!(
        passed,
        vec![
            true, false, true, true, false, true, false, false, true, false, true, false
        ]
    );
    assert_eq!(checks[5].measured, "1.00%");
}

#[test]
fn statistics_pick_the_right_number() {
    let endpoints = [endpoint("e", 10, 0, Some(100.0))];
    let checks = run(
        &["ttft.p99 > 150ms", "ttft.max > 250ms", "ttft.min < 60ms"],
        &endpoints,
    );
    assert_eq!(
        verdicts(&checks),
        vec![("e", false), ("e", false), ("e", false)]
    );
    assert_eq!(checks[1].measured, "300.0 ms");
}

#[test]
fn no_data_fails() {
    // Nothing succeeded: no latency, no throughput; everything failed: a real error rate.
    let endpoints = [endpoint("down", 0, 5, None), endpoint("idle", 0, 0, None)];
    let checks = run(
        &[
            "ttft.p95 > 800ms",
            "tokens_per_s < 1",
            "error_rate > 50%",
            "cost > 1",
        ],
        &endpoints,
    );
    let summary: Vec<(&str, &str, bool)> = checks
        .iter()
        .map(|c| (c.endpoint.as_str(), c.measured.as_str(), c.passed))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("down", "no data", false),
            ("idle", "no data", false),
            ("down", "no data", false),
            ("idle", "no data", false),
            ("down", "100.00%", false),
            ("idle", "no data", false),
            ("down", "no price", false),
            ("idle", "no price", false),
        ]
    );
}

#[test]
fn a_tpot_without_data_fails_saying_why() {
    // Requests succeeded, but none had two tokens arriving apart: TPOT and ITL are undefined.
    let endpoints = [
        endpoint("whole", 5, 0, Some(100.0)),
        endpoint("down", 0, 5, None),
    ];
    let checks = run(&["tpot.p95 > 50ms", "itl.p50 > 5ms"], &endpoints);
    let summary: Vec<(&str, &str, bool)> = checks
        .iter()
        .map(|c| (c.endpoint.as_str(), c.measured.as_str(), c.passed))
        .collect();
    let why = "no data: no request had two tokens arriving apart";
    assert_eq!(
        summary,
        vec![
            ("whole", why, false),
            ("down", "no data", false),
            ("whole", why, false),
            ("down", "no data", false),
        ]
    );
}

#[test]
fn cost_thresholds_read_the_costs() {
    let endpoints = [endpoint("a", 10, 0, Some(1.0)), endpoint("b", 10, 0, None)];
    let mut costs = BTreeMap::new();
    let cost = Cost {
        total_usd: 2.0,
        per_1k_requests_usd: Some(200.0),
        per_million_output_usd: None,
    };
    costs.insert("a".to_string(), cost);
    let thresholds = [
        ok("a: cost > $100"),
        ok("a: cost.total >= 2"),
        ok("a: cost.per_mtok > 1"),
    ];
    let checks = evaluate(&thresholds, &of(&endpoints, &costs));
    let measured: Vec<(&str, bool)> = checks
        .iter()
        .map(|c| (c.measured.as_str(), c.passed))
        .collect();
    assert_eq!(
        measured,
        vec![
            ("$200.00 /1k req", false),
            ("$2.00", false),
            ("no data", false)
        ]
    );
}

/// A race of a chat and an embeddings endpoint: a threshold on tokens leaves the embeddings
/// endpoint out, one on inputs/s the chat endpoint, unless the threshold names it.
#[test]
fn thresholds_skip_what_an_endpoint_kind_never_has() {
    let endpoints = crate::stats::fixture::finished_race_with_embeddings(2, 10).endpoints;
    let (chat, embeddings) = (endpoints[0].name.clone(), endpoints[1].name.clone());
    let run = |expr: &str| evaluate(&[ok(expr)], &of(&endpoints, &BTreeMap::new()));
    let ttft = run("ttft.p50 > 100s");
    assert_eq!(ttft.len(), 1, "{ttft:?}");
    assert_eq!(
        (ttft[0].endpoint.as_str(), ttft[0].passed),
        (chat.as_str(), true)
    );
    let inputs = run("inputs_per_s < 1");
    assert_eq!(inputs.len(), 1, "{inputs:?}");
    assert_eq!(inputs[0].endpoint, embeddings);
    assert!(
        inputs[0].passed && inputs[0].measured.ends_with("inputs/s"),
        "{inputs:?}"
    );
    let named = run(&format!("{embeddings}: tpot.p50 > 1s"));
    assert!(
        !named[0].passed && named[0].measured.starts_with("not applicable"),
        "{named:?}"
    );
}
