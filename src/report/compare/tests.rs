//! Comparisons of constructed runs with known differences (and none).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::*;
use crate::event::{EndpointId, ErrorClass, PromptId, RequestId};
use crate::stats::distribution::Distribution;
use crate::stats::snapshot::{Counts, Latency, Rates, Tokens};
use crate::stats::{Health, Outcome};

/// How an endpoint's requests are drawn: TTFT and ITL around a centre with ±10 % and ±5 %
/// deterministic jitter, 50 output tokens each.
#[derive(Clone, Copy)]
struct Shape {
    ttft_ms: f64,
    itl_ms: f64,
    requests: usize,
    failures: usize,
    seed: u64,
}

fn shape(ttft_ms: f64, itl_ms: f64, seed: u64) -> Shape {
    Shape {
        ttft_ms,
        itl_ms,
        requests: 40,
        failures: 0,
        seed,
    }
}

/// Uniform in [−1, 1], from a hash of (seed, i).
fn jitter(seed: u64, i: u64) -> f64 {
    let mut z = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

const TOKENS: u32 = 50;

/// One endpoint's requests, sent one after another (concurrency 1); the failures come last.
fn records(name: &str, s: Shape) -> Vec<RequestRecord> {
    let mut sent_at_s = 0.0;
    let mut out = Vec::new();
    for i in 0..s.requests + s.failures {
        let n = i as u64 * 100;
        let ttft = s.ttft_ms * (1.0 + 0.1 * jitter(s.seed, n));
        let itl: Vec<f64> = (1..u64::from(TOKENS))
            .map(|k| s.itl_ms * (1.0 + 0.05 * jitter(s.seed, n + k)))
            .collect();
        let ttlt = ttft + itl.iter().sum::<f64>();
        let ok = i < s.requests;
        out.push(RequestRecord {
            request: RequestId(i as u64),
            endpoint: EndpointId(0),
            endpoint_name: name.to_string(),
            prompt: PromptId(u32::try_from(i).unwrap()),
            warmup: false,
            request_time: DateTime::<Utc>::UNIX_EPOCH,
            sent_at_s,
            outcome: if ok {
                Outcome::Succeeded
            } else {
                Outcome::Failed
            },
            http_status: Some(if ok { 200 } else { 500 }),
            error_class: (!ok).then_some(ErrorClass::ServerError),
            error_message: (!ok).then(|| "boom".to_string()),
            finish_reason: ok.then(|| "stop".to_string()),
            ttfb_ms: Some(ttft / 2.0),
            ttft_ms: ok.then_some(ttft),
            ttfa_ms: ok.then_some(ttft),
            ttlt_ms: ok.then_some(ttlt),
            tpot_ms: ok.then(|| (ttlt - ttft) / f64::from(TOKENS - 1)),
            output_tps: ok.then(|| f64::from(TOKENS) / (ttlt / 1000.0)),
            itl_ms: if ok { itl } else { Vec::new() },
            chunks: TOKENS,
            input_tokens: Some(10),
            input_tokens_source: None,
            output_tokens: ok.then_some(TOKENS),
            output_tokens_source: None,
            cached_input_tokens: None,
            cache_write_input_tokens: None,
            reasoning_tokens: None,
            usage_reported: crate::event::ReportedUsage::new(),
            usage_contradicted: false,
            bytes_sent: 0,
            bytes_received: 0,
            new_connection: false,
            connect_ms: None,
            server_request_id: None,
            response_id: None,
            server_timings: None,
            send_lag_ms: None,
            attempt: 1,
            retry_of: None,
            resent_after: None,
            lost_ms: None,
            ended_ms: None,
            batched_first_token: false,
            first_read_events: ok.then_some(1),
            ttft_min_ms: None,
            read_late_max_ms: None,
            unstamped_reads: 0,
            tool_calls: 0,
            json_valid: None,
            inputs: None,
            embedding_dimension: None,
            session: None,
            turn: None,
            repeat: false,
            shard: None,
        });
        sent_at_s += if ok { ttlt / 1000.0 } else { 0.01 };
    }
    out
}

/// The endpoint's summary, built from its records the way the aggregator does.
fn summarise(name: &str, records: &[RequestRecord]) -> EndpointSnapshot {
    let mut d: [Distribution; 5] = Default::default();
    let mut counts = Counts::default();
    let mut errors = BTreeMap::new();
    let mut tokens = 0u64;
    let mut end_s: f64 = 0.0;
    for r in records {
        counts.sent += 1;
        if r.outcome == Outcome::Succeeded {
            counts.succeeded += 1;
            d[0].record_ms(r.ttft_ms.unwrap());
            d[1].record_ms(r.ttlt_ms.unwrap());
            d[2].record_ms(r.tpot_ms.unwrap());
            for gap in &r.itl_ms {
                d[3].record_ms(*gap);
            }
            d[4].record_value(r.output_tps.unwrap());
            tokens += u64::from(r.output_tokens.unwrap());
            end_s = end_s.max(r.sent_at_s + r.ttlt_ms.unwrap() / 1000.0);
        } else {
            counts.failed += 1;
            *errors.entry(r.error_class.unwrap()).or_insert(0) += 1;
        }
    }
    let window_s = end_s;
    let per_s = |n: f64| if window_s > 0.0 { n / window_s } else { 0.0 };
    EndpointSnapshot {
        server: None,
        buckets: std::sync::Arc::default(),
        embeddings: None,
        name: name.to_string(),
        counts,
        errors,
        latency: Latency {
            ttft_ms: d[0].summary(),
            ttlt_ms: d[1].summary(),
            tpot_ms: d[2].summary(),
            itl_ms: d[3].summary(),
            output_tps: d[4].summary(),
            ..Latency::default()
        },
        tokens: Tokens {
            output: tokens,
            ..Tokens::default()
        },
        rates: Rates {
            window_s,
            requests_per_s: per_s(counts.succeeded as f64),
            requests_per_min: per_s(counts.succeeded as f64) * 60.0,
            output_tokens_per_s: per_s(tokens as f64),
            success_rate: counts.succeeded as f64 / (counts.succeeded + counts.failed) as f64,
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

fn run(name: &str, day: u32, endpoints: &[(&str, Shape)]) -> Run {
    let started_at = format!("2026-11-{day:02}T08:00:00Z")
        .parse::<DateTime<Utc>>()
        .unwrap();
    let mut requests = Vec::new();
    let mut summaries = Vec::new();
    for &(endpoint, s) in endpoints {
        let r = records(endpoint, s);
        summaries.push(summarise(endpoint, &r));
        requests.extend(r);
    }
    // The fixture run supplies the run info; its endpoints and requests are replaced.
    let mut run = crate::replay::load::fixture(1, 1);
    run.info.name = name.to_string();
    run.info.started_at = started_at;
    run.summary.name = name.to_string();
    run.summary.started_at = started_at;
    run.summary.endpoints = summaries;
    run.requests = requests;
    run
}

fn metric<'a>(c: &'a Comparison, endpoint: &str, metric: Metric) -> &'a MetricComparison {
    c.endpoints
        .iter()
        .find(|e| e.name == endpoint)
        .and_then(|e| e.metrics.iter().find(|m| m.metric == metric))
        .unwrap()
}

fn verdicts(c: &Comparison) -> Vec<(String, Metric, Verdict, Reason)> {
    c.endpoints
        .iter()
        .flat_map(|e| {
            e.metrics
                .iter()
                .map(|m| (e.name.clone(), m.metric, m.verdict, m.reason))
        })
        .collect()
}

#[test]
fn a_slower_first_token_is_worse_and_faster_streaming_is_better() {
    let base = run("nightly", 1, &[("vllm", shape(100.0, 10.0, 1))]);
    let current = run("nightly", 2, &[("vllm", shape(200.0, 6.0, 2))]);
    let c = compare(&base, &current);
    for m in [Metric::TtftP50, Metric::TtftP95, Metric::TtftP99] {
        let m = metric(&c, "vllm", m);
        assert_eq!(m.verdict, Verdict::Worse, "{m:?}");
        assert!(m.p.unwrap() < 1e-6, "{m:?}");
    }
    let ttft = metric(&c, "vllm", Metric::TtftP50);
    assert!((ttft.delta_pct.unwrap() - 100.0).abs() < 15.0, "{ttft:?}");
    assert_eq!(ttft.samples, (40, 40));
    for m in [
        Metric::TtltP50,
        Metric::TpotP50,
        Metric::ItlP50,
        Metric::RequestTpsP50,
        Metric::OutputTps,
        Metric::RequestsPerMin,
    ] {
        assert_eq!(metric(&c, "vllm", m).verdict, Verdict::Better, "{m:?}");
    }
    let errors = metric(&c, "vllm", Metric::ErrorRate);
    assert_eq!(
        (errors.verdict, errors.reason),
        (Verdict::WithinNoise, Reason::NotSignificant)
    );
}

#[test]
fn identical_runs_are_all_within_noise() {
    let shapes = [("a", shape(100.0, 10.0, 1)), ("b", shape(300.0, 20.0, 2))];
    let c = compare(&run("r", 1, &shapes), &run("r", 2, &shapes));
    for (endpoint, m, verdict, reason) in verdicts(&c) {
        assert_eq!(verdict, Verdict::WithinNoise, "{endpoint} {m:?}");
        assert_eq!(reason, Reason::NotSignificant, "{endpoint} {m:?}");
    }
    assert!(regressions(&c, 0.0).is_empty());
    assert!(c.added.is_empty() && c.removed.is_empty());
}

#[test]
fn an_embeddings_endpoint_is_compared_by_its_latency_and_rate_only() {
    let shapes = [
        ("chat", shape(100.0, 10.0, 1)),
        ("vec", shape(300.0, 20.0, 2)),
    ];
    let embed = |mut run: Run| {
        run.summary.endpoints[1].embeddings = Some(crate::stats::snapshot::Embeddings::default());
        run
    };
    let c = compare(&embed(run("r", 1, &shapes)), &embed(run("r", 2, &shapes)));
    let of = |name: &str| -> Vec<Metric> {
        let e = c.endpoints.iter().find(|e| e.name == name).unwrap();
        e.metrics.iter().map(|m| m.metric).collect()
    };
    assert_eq!(of("chat"), Metric::ALL);
    assert_eq!(
        of("vec"),
        [
            Metric::TtltP50,
            Metric::TtltP95,
            Metric::RequestsPerMin,
            Metric::ErrorRate
        ]
    );
}

#[test]
fn runs_from_the_same_distribution_are_within_noise() {
    let c = compare(
        &run("r", 1, &[("a", shape(100.0, 10.0, 11))]),
        &run("r", 2, &[("a", shape(100.0, 10.0, 12))]),
    );
    for (endpoint, m, verdict, _) in verdicts(&c) {
        assert_eq!(verdict, Verdict::WithinNoise, "{endpoint} {m:?}");
    }
    // Over many reruns, false verdicts stay rare: the tests hold their 5 % level and the
    // practical threshold removes most of what is left.
    let mut judged = 0;
    let mut false_verdicts = 0;
    for seed in 0..30 {
        let c = compare(
            &run("r", 1, &[("a", shape(100.0, 10.0, 1000 + seed))]),
            &run("r", 2, &[("a", shape(100.0, 10.0, 2000 + seed))]),
        );
        for (_, _, verdict, _) in verdicts(&c) {
            judged += 1;
            false_verdicts += usize::from(verdict != Verdict::WithinNoise);
        }
    }
    assert!(
        false_verdicts * 20 <= judged,
        "{false_verdicts} false verdicts in {judged}"
    );
}

#[test]
fn a_ten_percent_slower_first_token_is_caught() {
    let c = compare(
        &run("r", 1, &[("a", shape(100.0, 10.0, 1))]),
        &run("r", 2, &[("a", shape(110.0, 10.0, 2))]),
    );
    assert_eq!(metric(&c, "a", Metric::TtftP50).verdict, Verdict::Worse);
    assert_eq!(
        metric(&c, "a", Metric::ItlP50).verdict,
        Verdict::WithinNoise
    );
}

#[test]
fn warm_up_and_failed_requests_are_not_samples() {
    let shapes = [("a", shape(100.0, 10.0, 1))];
    let base = run("r", 1, &shapes);
    let mut current = run("r", 2, &shapes);
    let mut slow = records("a", shape(900.0, 50.0, 9));
    for r in &mut slow {
        r.warmup = true;
    }
    current.requests.extend(slow);
    let mut failed = records("a", shape(900.0, 50.0, 8));
    for r in &mut failed {
        r.outcome = Outcome::Failed;
    }
    current.requests.extend(failed);
    let c = compare(&base, &current);
    for (_, m, verdict, _) in verdicts(&c) {
        assert_eq!(verdict, Verdict::WithinNoise, "{m:?}");
    }
    assert_eq!(metric(&c, "a", Metric::TtftP50).samples, (40, 40));
}

#[test]
fn too_few_samples_give_no_verdict() {
    let few = |ttft, seed| Shape {
        requests: 7,
        ..shape(ttft, 10.0, seed)
    };
    let c = compare(
        &run("r", 1, &[("a", few(100.0, 1))]),
        &run("r", 2, &[("a", few(400.0, 2))]),
    );
    for (_, m, verdict, reason) in verdicts(&c) {
        assert_eq!(
            (verdict, reason),
            (Verdict::WithinNoise, Reason::TooFewSamples),
            "{m:?}"
        );
    }
    let ttft = metric(&c, "a", Metric::TtftP50);
    assert_eq!(ttft.samples, (7, 7));
    assert!(
        ttft.delta_pct.unwrap() > 200.0,
        "the values are still shown"
    );
    assert!(regressions(&c, 0.0).is_empty());
}

#[test]
fn endpoints_in_only_one_run_are_listed_as_added_or_removed() {
    let base = run(
        "r",
        1,
        &[
            ("old", shape(100.0, 10.0, 1)),
            ("both", shape(100.0, 10.0, 2)),
        ],
    );
    let current = run(
        "r",
        2,
        &[
            ("both", shape(100.0, 10.0, 2)),
            ("new", shape(100.0, 10.0, 3)),
        ],
    );
    let c = compare(&base, &current);
    let names: Vec<&str> = c.endpoints.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["both"]);
    assert_eq!(c.added, ["new"]);
    assert_eq!(c.removed, ["old"]);
    let text = render_text(&c);
    assert!(text.contains("only in current (added): new"), "{text}");
    assert!(text.contains("only in base (removed): old"), "{text}");
}

#[test]
fn more_errors_are_worse_and_regressions_respect_the_threshold() {
    let failing = Shape {
        failures: 8,
        ..shape(150.0, 10.0, 2)
    };
    let c = compare(
        &run("r", 1, &[("a", shape(100.0, 10.0, 1))]),
        &run("r", 2, &[("a", failing)]),
    );
    let errors = metric(&c, "a", Metric::ErrorRate);
    assert_eq!(errors.verdict, Verdict::Worse, "{errors:?}");
    assert_eq!(errors.base, Some(0.0));
    assert_eq!(errors.delta_pct, None, "no percentage of a zero base");
    assert_eq!(errors.samples, (40, 48));

    let keys = |fail_pct| -> Vec<Metric> {
        regressions(&c, fail_pct)
            .iter()
            .map(|r| {
                assert_eq!(r.endpoint, "a");
                r.metric.metric
            })
            .collect()
    };
    // TTFT rose by about 50 %: over a 20 % threshold, not over 80 %. A worse error rate from
    // zero always counts.
    let low = keys(20.0);
    assert!(
        low.contains(&Metric::TtftP50) && low.contains(&Metric::ErrorRate),
        "{low:?}"
    );
    assert_eq!(keys(80.0), [Metric::ErrorRate]);
    // 0/40 vs 8/48 failed: pooled 1/11, se = 0.06155, z = 2.708, p = 0.0068.
    let lines: Vec<String> = regressions(&c, 80.0)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        lines,
        ["a: error rate worse by 16.7 pp (0% → 16.7%, p 0.007)"]
    );
}

#[test]
fn the_verdict_rule() {
    use Better::{Higher, Lower};
    let v = |better, delta, p, practical, agrees| verdict(better, delta, p, practical, agrees);
    assert_eq!(
        v(Lower, 5.0, 0.01, true, true),
        (Verdict::Worse, Reason::Significant)
    );
    assert_eq!(
        v(Lower, -5.0, 0.01, true, true),
        (Verdict::Better, Reason::Significant)
    );
    assert_eq!(
        v(Higher, 5.0, 0.01, true, true),
        (Verdict::Better, Reason::Significant)
    );
    assert_eq!(v(Higher, -5.0, 0.01, true, true).0, Verdict::Worse);
    assert_eq!(
        v(Lower, 5.0, 0.05, true, true),
        (Verdict::WithinNoise, Reason::NotSignificant)
    );
    assert_eq!(
        v(Lower, 5.0, f64::NAN, true, true).1,
        Reason::NotSignificant
    );
    assert_eq!(
        v(Lower, 5.0, 0.01, false, true),
        (Verdict::WithinNoise, Reason::Small)
    );
    assert_eq!(
        v(Lower, 5.0, 0.01, true, false),
        (Verdict::WithinNoise, Reason::Disagrees)
    );
}

#[test]
fn medians() {
    assert_eq!(median(&[]), None);
    assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
    assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
}

fn sample_comparison() -> Comparison {
    let failing = Shape {
        failures: 6,
        ..shape(200.0, 6.0, 2)
    };
    compare(
        &run(
            "nightly",
            1,
            &[
                ("vllm", shape(100.0, 10.0, 1)),
                ("sglang", shape(120.0, 8.0, 3)),
                ("tgi", shape(90.0, 12.0, 5)),
            ],
        ),
        &run(
            "nightly",
            2,
            &[
                ("vllm", failing),
                ("sglang", shape(120.0, 8.0, 4)),
                ("llama.cpp", shape(150.0, 15.0, 6)),
            ],
        ),
    )
}

#[test]
fn markdown_report() {
    insta::assert_snapshot!(render_markdown(&sample_comparison()));
}

#[test]
fn text_report() {
    let text = render_text(&sample_comparison());
    insta::assert_snapshot!(text);
    // Every table line is as wide as the header, so the columns line up.
    let widths: Vec<usize> = text
        .lines()
        .skip(3)
        .take(1 + 2 * Metric::ALL.len())
        .map(|l| l.trim_end().chars().count())
        .collect();
    assert!(widths.iter().all(|&w| w <= widths[0] + 20), "{widths:?}");
}

#[test]
fn trend_across_runs() {
    let runs = [
        run("nightly", 1, &[("a", shape(100.0, 10.0, 1))]),
        run(
            "nightly",
            2,
            &[("a", shape(150.0, 10.0, 2)), ("b", shape(90.0, 9.0, 3))],
        ),
        run("nightly", 3, &[("a", shape(200.0, 10.0, 4))]),
    ];
    insta::assert_snapshot!(trend(&runs));
}

#[test]
fn sparklines() {
    assert_eq!(
        trend::sparkline(&[Some(1.0), Some(8.0), None, Some(4.5)]),
        "▁█ ▅"
    );
    assert_eq!(trend::sparkline(&[Some(2.0), Some(2.0)]), "▄▄");
    assert_eq!(trend::sparkline(&[None]), " ");
}
