//! `run.json` and `summary.json` built from final numbers: the notices, the costs, the
//! constructors, and older files still read.

use super::*;
use crate::config::{Price, demo_race};
use crate::stats::snapshot::{Counts, Latency, Rates, Tokens};

fn endpoint(name: &str) -> EndpointSnapshot {
    EndpointSnapshot {
        server: None,
        buckets: std::sync::Arc::default(),
        embeddings: None,
        name: name.to_string(),
        counts: Counts {
            sent: 2,
            succeeded: 2,
            ..Counts::default()
        },
        errors: std::collections::BTreeMap::default(),
        latency: Latency::default(),
        tokens: Tokens {
            input: 2_000_000,
            output: 1_000_000,
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

#[test]
fn only_endpoints_that_fell_behind_their_schedule_get_a_notice() {
    let lag = |p99: f64| crate::stats::distribution::Summary {
        count: 10,
        min: 0.1,
        mean: p99 / 2.0,
        p50: 0.5,
        p90: p99,
        p95: p99,
        p99,
        max: p99,
    };
    let closed = endpoint("closed");
    let mut on_time = endpoint("on_time");
    on_time.latency.send_lag_ms = Some(lag(2.0));
    let mut late = endpoint("late");
    late.latency.send_lag_ms = Some(lag(45.0));
    let notices = lag_notices(&[closed, on_time, late]);
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].starts_with("late: the client fell behind its schedule"));
    assert!(notices[0].contains("p99 45.0 ms"));
}

fn summary(count: u64, max: f64) -> crate::stats::distribution::Summary {
    crate::stats::distribution::Summary {
        count,
        min: 0.0,
        mean: max,
        p50: max,
        p90: max,
        p95: max,
        p99: max,
        max,
    }
}

#[test]
fn a_late_client_and_batched_first_tokens_are_told() {
    let mut prompt = endpoint("prompt");
    prompt.latency.ttft_ms = Some(summary(40, 100.0));
    prompt.latency.read_late_ms = Some(summary(3, LATE_READ_NOTICE_MS));
    prompt.latency.read_late_max_ms = Some(LATE_READ_NOTICE_MS);
    assert_eq!(
        read_notices(std::slice::from_ref(&prompt), Some(1.0)),
        Vec::<String>::new()
    );
    assert_eq!(
        read_late_max_ms(&[prompt.clone()]),
        Some(LATE_READ_NOTICE_MS)
    );

    let mut behind = endpoint("behind");
    behind.latency.ttft_ms = Some(summary(40, 300.0));
    behind.latency.read_late_ms = Some(summary(30, 160.0));
    behind.latency.read_late_max_ms = Some(160.3);
    behind.counts.batched_first_token = 10;
    let notices = read_notices(&[prompt, behind], None);
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(notices[0].starts_with("the client fell behind reading responses"));
    assert!(notices[0].contains("at least 160.3 ms"), "{}", notices[0]);
    assert!(
        notices[1].starts_with("behind: 10 of 40 first tokens (25.0%) came in one read"),
        "{}",
        notices[1]
    );
    assert!(
        notices[1].contains("or llmrace read late: see read_late_max_ms"),
        "{}",
        notices[1]
    );
    assert_eq!(read_late_max_ms(&[endpoint("none")]), None);
}

/// Reads a fast stream's client makes just after each latest token look prompt; the
/// runtime's own lateness still tells that it stalled.
#[test]
fn a_late_runtime_is_told_though_reads_look_prompt() {
    let mut fast = endpoint("fast");
    fast.latency.ttft_ms = Some(summary(40, 100.0));
    fast.latency.read_late_max_ms = Some(2.0);
    let notices = read_notices(std::slice::from_ref(&fast), Some(80.0));
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].contains("its tasks ran up to 80.0 ms late ("),
        "{}",
        notices[0]
    );
    assert!(read_notices(&[fast], Some(LATE_READ_NOTICE_MS)).is_empty());
}

/// Lateness that was never measured is not told as keeping up.
#[test]
fn reads_without_a_stamp_are_told_unmeasured() {
    let mut blind = endpoint("blind");
    blind.latency.ttft_ms = Some(summary(40, 100.0));
    blind.counts.unstamped_reads = 40;
    let notices = read_notices(&[blind], None);
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].starts_with("blind: 40 requests read content the kernel did not stamp"),
        "{}",
        notices[0]
    );
}

/// A rebuilt run gets the race's figure and notices once, whatever it already held.
/// A run of [`demo_race`] that measured nothing of the client's reading.
fn demo_info() -> RunInfo {
    RunInfo {
        format_version: RESULTS_FORMAT_VERSION,
        llmrace_version: "0".to_string(),
        name: "demo".to_string(),
        started_at: DateTime::<Utc>::UNIX_EPOCH,
        ended_at: DateTime::<Utc>::UNIX_EPOCH,
        duration_s: 1.0,
        interrupted: false,
        host: "here".to_string(),
        endpoints: Vec::new(),
        notices: Vec::new(),
        race: demo_race(),
        read_late_max_ms: None,
        runtime_late_max_ms: None,
        event_backlog_max: None,
        event_backlog_age_max_ms: None,
        expected_cache: None,
        shard: None,
        shards: Vec::new(),
        missing_shards: Vec::new(),
    }
}

#[test]
fn noting_reads_twice_adds_nothing() {
    let mut behind = endpoint("behind");
    behind.latency.ttft_ms = Some(summary(40, 300.0));
    behind.latency.read_late_max_ms = Some(50.0);
    behind.counts.batched_first_token = 4;
    let endpoints = [behind];
    let mut info = RunInfo {
        interrupted: true,
        host: "unknown".to_string(),
        notices: vec!["cut".to_string()],
        read_late_max_ms: Some(20.0),
        ..demo_info()
    };
    info.runtime_late_max_ms = Some(70.0);
    note_reads(&mut info, &endpoints);
    let once = info.clone();
    note_reads(&mut info, &endpoints);
    assert_eq!(info, once);
    assert_eq!(info.read_late_max_ms, Some(50.0));
    assert_eq!(info.notices.len(), 3, "{:?}", info.notices);
    assert!(info.notices[1].contains("its tasks ran up to 70.0 ms late"));
}

/// A run.json from before the backlog was kept reads as one that does not know it, and a
/// run that does not know it writes nothing about it, as older versions wrote.
#[test]
fn the_backlog_is_absent_unless_measured() {
    let mut info = demo_info();
    let unknown = serde_json::to_string(&info).expect("JSON");
    assert!(!unknown.contains("event_backlog"), "{unknown}");
    let read: RunInfo = serde_json::from_str(&unknown).expect("an older run.json reads");
    assert_eq!(read, info);

    info.event_backlog_max = Some(1200);
    info.event_backlog_age_max_ms = Some(3.5);
    let measured = serde_json::to_string(&info).expect("JSON");
    assert!(
        measured.contains(r#""event_backlog_max":1200"#),
        "{measured}"
    );
    let read: RunInfo = serde_json::from_str(&measured).expect("reads back");
    assert_eq!(read, info);
}

#[test]
fn summaries_from_before_costs_still_read() {
    // A summary.json from before costs existed.
    let old = r#"{"format_version":1,"name":"x","started_at":"2026-11-23T08:00:00Z",
        "duration_s":1.0,"interrupted":false,"endpoints":[]}"#;
    let summary: Summary = serde_json::from_str(old).expect("an old summary reads");
    assert!(summary.costs.is_empty());
}

#[test]
fn wrong_zero_counts_and_unpriced_cache_tokens_are_told() {
    let mut race = demo_race();
    let price = Price {
        input: 3.0,
        cached_input: Some(0.3),
        cache_write: None,
        output: 15.0,
    };
    race.endpoints[0].price = Some(price);
    race.endpoints[1].price = Some(Price {
        cache_write: Some(3.75),
        ..price
    });
    let mut endpoints: Vec<_> = race.endpoints.iter().map(|e| endpoint(&e.name)).collect();
    for e in &mut endpoints {
        e.tokens.cached_input = 500;
        e.tokens.cache_write_input = 200;
    }
    endpoints[1].tokens.contradicted_output_requests = 2;
    let mut lost = endpoint("lost");
    lost.counts.sent = 40;
    lost.counts.succeeded = 0;
    lost.counts.failed = 40;
    lost.errors.insert(crate::event::ErrorClass::NotFound, 40);
    endpoints.push(lost);
    let first = endpoints[0].name.clone();
    let second = endpoints[1].name.clone();
    assert_eq!(
        endpoint_notices(&race, &endpoints),
        [
            "lost: all 40 requests failed: not_found — check the URL".to_string(),
            format!(
                "{second}: the server reported 0 output tokens for 2 responses that carried \
                 text; llmrace counted them with its tokenizer (estimate)"
            ),
            format!(
                "{first}: input tokens priced as ordinary input: 200 written to the prompt \
                 cache (set price.cache_write)"
            ),
        ]
    );
}
