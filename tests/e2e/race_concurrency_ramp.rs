//! The closed-loop concurrency ramp, run for real against the built-in mock over 127.0.0.1:
//! every request is accounted for and requests in flight never exceed the ramp. In-flight
//! counts are derived from the recorded requests (sent and ended), not from timing.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use crate::common::race::{race_config, records, run};
use llmrace::config::RaceConfig;
use llmrace::stats::{Outcome, RequestRecord};

const MOCK: &str = "m=openai:mock://instant,tokens=4,ttft=20ms#m";

fn ramped(ramp: &str, requests: u64) -> RaceConfig {
    let mut config = race_config(&[MOCK], requests, 1);
    let ramp = ramp.parse().unwrap();
    config.load.concurrency_ramp = Some(ramp);
    // As the config layer does: each endpoint needs the ramp's peak of workers.
    config.load.concurrency = ramp.peak();
    config
}

/// (sent, ended) in seconds since the start, of every request.
fn spans(records: &[RequestRecord]) -> Vec<(f64, f64)> {
    records
        .iter()
        .map(|r| {
            assert_eq!(r.outcome, Outcome::Succeeded, "{r:?}");
            (r.sent_at_s, r.sent_at_s + r.ttlt_ms.unwrap() / 1000.0)
        })
        .collect()
}

/// The most requests in flight at once.
fn most_in_flight(spans: &[(f64, f64)]) -> usize {
    let mut edges: Vec<(f64, i32)> = spans
        .iter()
        .flat_map(|&(sent, ended)| [(sent, 1), (ended, -1)])
        .collect();
    // Ends before starts at the same instant: touching requests do not overlap.
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut now, mut most) = (0, 0);
    for (_, step) in edges {
        now += step;
        most = most.max(now);
    }
    usize::try_from(most).unwrap()
}

fn run_json(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap()
}

#[tokio::test]
async fn a_rising_ramp_adds_workers_and_never_exceeds_its_peak() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(ramped("1..4:300ms", 40), dir.path()).await;
    let c = outcome.summary.endpoints[0].counts;
    assert_eq!((c.sent, c.succeeded), (40, 40));
    assert_eq!(c.sent, c.succeeded + c.failed + c.cancelled);
    let records = records(dir.path());
    assert_eq!(records.len(), 40);
    let spans = spans(&records);
    let most = most_in_flight(&spans);
    assert!(most <= 4, "{most} in flight");
    // One worker alone could not have overlapped two requests: the ramp added some.
    assert!(most > 1, "{most} in flight");
    let ramp = &run_json(dir.path())["race"]["load"]["concurrency_ramp"];
    assert_eq!(
        (ramp["from"].as_u64(), ramp["to"].as_u64()),
        (Some(1), Some(4))
    );
    assert_eq!(ramp["over"], "300ms");
}

#[tokio::test]
async fn a_falling_ramp_retires_workers_after_their_requests_end() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(ramped("4..1:200ms", 30), dir.path()).await;
    let c = outcome.summary.endpoints[0].counts;
    assert_eq!((c.sent, c.succeeded, c.cancelled), (30, 30, 0));
    let spans = spans(&records(dir.path()));
    assert!(most_in_flight(&spans) <= 4);
    // From the ramp's end on one worker sends: requests sent after it never overlap. (The
    // ramp starts with the first request; workers start within microseconds of each other.)
    let start = spans.iter().map(|s| s.0).fold(f64::MAX, f64::min);
    let late: Vec<(f64, f64)> = spans
        .iter()
        .copied()
        .filter(|s| s.0 >= start + 0.2 + 0.02)
        .collect();
    assert!(!late.is_empty(), "the race outlived its ramp");
    assert_eq!(most_in_flight(&late), 1, "{late:?}");
}

#[tokio::test]
async fn equal_ends_are_a_steady_closed_loop() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(ramped("2..2:100ms", 12), dir.path()).await;
    let c = outcome.summary.endpoints[0].counts;
    assert_eq!((c.sent, c.succeeded), (12, 12));
    assert!(most_in_flight(&spans(&records(dir.path()))) <= 2);
}

#[test]
fn the_command_line_refuses_a_ramp_with_another_load_shape() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args([
            "race",
            "-e",
            MOCK,
            "--concurrency-ramp",
            "1..4:10s",
            "--rate",
            "5/s",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("llmrace runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--concurrency-ramp") && stderr.contains("--rate"),
        "{stderr}"
    );
}

#[test]
fn the_banner_tells_the_ramp() {
    let tmp = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args([
            "race",
            "-e",
            MOCK,
            "--concurrency-ramp",
            "1..2:50ms",
            "-n",
            "4",
        ])
        .args(["--headless", "--no-replay", "-o"])
        .arg(tmp.path().join("out"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("llmrace runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("closed loop ramping 1 to 2 in flight over 50ms"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_race_ends_with_its_last_request_not_with_its_ramp() {
    // Workers the hour-long ramp has not reached yet hold no prompt and do not keep the race
    // open once the request count is reached. (The timeout is a hang guard, not a measure.)
    let dir = tempfile::tempdir().unwrap();
    let race = run(ramped("1..8:1h", 4), dir.path());
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(60), race)
        .await
        .expect("the race ended");
    let c = outcome.summary.endpoints[0].counts;
    assert_eq!((c.sent, c.succeeded), (4, 4));
    // Only the first worker had its turn: the requests went one after another.
    assert_eq!(most_in_flight(&spans(&records(dir.path()))), 1);
}

#[tokio::test]
async fn warm_up_requests_come_before_the_ramp() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ramped("1..3:100ms", 9);
    config.load.warmup_requests = 2;
    let outcome = run(config, dir.path()).await;
    let c = outcome.summary.endpoints[0].counts;
    assert_eq!((c.sent, c.succeeded, c.warmup), (9, 9, 2));
    let records = records(dir.path());
    assert_eq!(records.iter().filter(|r| r.warmup).count(), 2);
}
