//! The open loop, run for real against the built-in mock over 127.0.0.1: requests leave on
//! schedule whatever is in flight, their lag is measured, and a cap on requests in flight makes
//! them wait (and the lag show it). No sleeps; timing checks are generous sanity bounds only.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use crate::common::race::{race_config, records, run};
use llmrace::config::RaceConfig;
use llmrace::mock::{MockServer, Profile};
use llmrace::pace::Rate;
use llmrace::protocol::Protocol;
use llmrace::stats::RequestRecord;

async fn mock_server(profile: &str) -> MockServer {
    let profile = Profile::parse(profile).expect("valid profile");
    MockServer::start(([127, 0, 0, 1], 0).into(), profile)
        .await
        .expect("mock starts")
}

fn open_loop(server: &MockServer, rate: &str, requests: u64) -> RaceConfig {
    let spec = format!("m=openai:{}#m", server.base_url(Protocol::OpenAiChat));
    let mut config = race_config(&[&spec], requests, 1);
    config.load.rate = Some(rate.parse::<Rate>().unwrap());
    config
}

/// The most requests that were in flight at once, from when each was sent and ended.
fn max_in_flight(records: &[RequestRecord]) -> usize {
    let mut edges: Vec<(f64, i32)> = Vec::new();
    for r in records {
        let end = r.sent_at_s + r.ttlt_ms.unwrap() / 1000.0;
        edges.push((r.sent_at_s, 1));
        edges.push((end, -1));
    }
    // Ends before starts at the same instant: touching requests do not overlap.
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut now = 0;
    let mut most = 0;
    for (_, step) in edges {
        now += step;
        most = most.max(now);
    }
    usize::try_from(most).unwrap()
}

fn send_span_s(records: &[RequestRecord]) -> f64 {
    let first = records.iter().map(|r| r.sent_at_s).fold(f64::MAX, f64::min);
    let last = records.iter().map(|r| r.sent_at_s).fold(0.0, f64::max);
    last - first
}

#[tokio::test]
async fn a_constant_rate_sends_every_request_on_schedule() {
    let server = mock_server("instant,tokens=8").await;
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(open_loop(&server, "50/s", 40), dir.path()).await;
    let endpoint = &outcome.summary.endpoints[0];
    assert_eq!(endpoint.counts.succeeded, 40);
    let lag = endpoint
        .latency
        .send_lag_ms
        .expect("open-loop requests have a lag");
    assert_eq!(lag.count, 40);
    assert!(lag.p50 < 100.0, "lag p50 {} ms", lag.p50);
    // 40 requests at 50/s: the last is scheduled 0.78 s after the first.
    let records = records(dir.path());
    let span = send_span_s(&records);
    assert!((0.7..10.0).contains(&span), "sent over {span} s");
    // Each request's own lag is in its record, and in requests.csv.
    assert!(
        records
            .iter()
            .all(|r| r.send_lag_ms.is_some_and(|l| l >= 0.0))
    );
    let csv = std::fs::read_to_string(dir.path().join("requests.csv")).unwrap();
    let lag_column = csv
        .lines()
        .next()
        .unwrap()
        .split(',')
        .position(|c| c == "send_lag_ms")
        .unwrap();
    for row in csv.lines().skip(1) {
        let lag = row.split(',').nth(lag_column).unwrap();
        assert!(lag.parse::<f64>().is_ok(), "{row}");
    }
}

#[tokio::test]
async fn slow_responses_do_not_hold_back_the_next_request() {
    let server = mock_server("instant,tokens=4,ttft=300ms").await;
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(open_loop(&server, "50/s", 20), dir.path()).await;
    let endpoint = &outcome.summary.endpoints[0];
    assert_eq!(endpoint.counts.succeeded, 20);
    let records = records(dir.path());
    assert!(max_in_flight(&records) > 1, "{records:?}");
    // One warm connection could not carry them all: the others were opened, and say so.
    assert!(server.stats().connections_accepted > 1);
    assert!(records.iter().any(|r| r.new_connection));
    assert_eq!(
        endpoint.counts.new_connections,
        records.iter().filter(|r| r.new_connection).count() as u64
    );
}

#[tokio::test]
async fn a_cap_on_requests_in_flight_makes_requests_wait_and_shows_the_lag() {
    let server = mock_server("instant,tokens=4,ttft=100ms").await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = open_loop(&server, "50/s", 6);
    config.load.max_in_flight = Some(1);
    let outcome = run(config, dir.path()).await;
    let endpoint = &outcome.summary.endpoints[0];
    assert_eq!(endpoint.counts.succeeded, 6);
    assert_eq!(max_in_flight(&records(dir.path())), 1);
    // Each request takes at least 100 ms but is due every 20 ms: the last waits ≥ 400 ms.
    let lag = endpoint.latency.send_lag_ms.unwrap();
    assert!(lag.max >= 300.0, "lag max {} ms", lag.max);
    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("run.json")).unwrap())
            .unwrap();
    let notices = run_json["notices"].as_array().unwrap();
    assert!(
        notices
            .iter()
            .any(|n| n.as_str().unwrap().contains("fell behind its schedule")),
        "{notices:?}"
    );
}

#[tokio::test]
async fn a_closed_loop_race_has_no_lag() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(
        race_config(&["c=openai:mock://instant,tokens=4#m"], 4, 1),
        dir.path(),
    )
    .await;
    assert!(outcome.summary.endpoints[0].latency.send_lag_ms.is_none());
    assert!(records(dir.path()).iter().all(|r| r.send_lag_ms.is_none()));
}

fn llmrace(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn open_loop_flags_without_a_rate_are_a_usage_error() {
    for (flag, argv) in [
        ("--poisson", &["--poisson"][..]),
        ("--max-in-flight", &["--max-in-flight", "4"]),
    ] {
        let mut full = vec!["race", "-e", "m=openai:mock://instant#m", "--headless"];
        full.extend_from_slice(argv);
        let output = llmrace(&full);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(flag), "{stderr}");
        assert!(stderr.contains("only to an open loop"), "{stderr}");
        assert!(stderr.contains("--rate"), "says what to do: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn open_loop_keys_in_a_file_without_a_rate_are_refused_at_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("race.toml");
    std::fs::write(
        &path,
        "[load]\narrivals = \"poisson\"\n[[endpoint]]\nname = \"m\"\nprotocol = \"openai\"\nbase_url = \"mock://instant\"\n",
    )
    .unwrap();
    let output = llmrace(&["race", path.to_str().unwrap(), "--headless"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("race.toml:2:12"), "{stderr}");
    // A rate on the command line completes the file's open loop.
    let out = dir.path().join("out");
    let output = llmrace(&[
        "race",
        path.to_str().unwrap(),
        "--rate",
        "50/s",
        "-n",
        "3",
        "--headless",
        "--no-replay",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
