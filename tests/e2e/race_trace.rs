//! Trace replay, run for real against the built-in mock over 127.0.0.1: every endpoint sends
//! each trace row at its time (at the trace's speed) with its output length. The times are
//! checked by arithmetic on recorded values, never by the wall clock: a request's scheduled
//! moment is its recorded send time less its recorded lag, and those moments, less the first
//! one's, must be the trace's times divided by the speed.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::path::{Path, PathBuf};

use crate::common::race::{race_config, records, run};
use llmrace::config::{PromptSource, RaceConfig};
use llmrace::stats::RequestRecord;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/traces")
        .join(name)
}

/// Two mock endpoints replaying `trace` at `speed`, each answer as long as its row allows.
fn replay(trace: &str, speed: f64) -> RaceConfig {
    let mut config = race_config(
        &[
            "a=openai:mock://instant,tokens=64#m",
            "b=anthropic:mock://instant,tokens=64#m",
        ],
        1,
        1,
    );
    config.load.requests = None;
    config.workload.max_tokens = None;
    config.workload.prompts = PromptSource::Trace(fixture(trace));
    config.load.trace_speed = Some(speed);
    config
}

/// Each endpoint's requests by prompt: (scheduled offset from the first, in ms; output tokens).
fn schedule_of(records: &[RequestRecord], endpoint: &str) -> Vec<(f64, u32)> {
    let mut mine: Vec<&RequestRecord> = records
        .iter()
        .filter(|r| r.endpoint_name == endpoint)
        .collect();
    mine.sort_by_key(|r| r.prompt.0);
    let scheduled = |r: &RequestRecord| r.sent_at_s * 1000.0 - r.send_lag_ms.unwrap();
    let first = scheduled(mine[0]);
    mine.iter()
        .map(|r| (scheduled(r) - first, r.output_tokens.unwrap()))
        .collect()
}

/// `expected` (ms, output tokens) against what each endpoint recorded, to recording precision.
fn assert_schedule(dir: &Path, expected: &[(f64, u32)]) {
    let records = records(dir);
    assert_eq!(records.len(), expected.len() * 2, "{records:?}");
    for endpoint in ["a", "b"] {
        let got = schedule_of(&records, endpoint);
        assert_eq!(got.len(), expected.len(), "{endpoint}: {got:?}");
        for ((at, tokens), (want_at, want_tokens)) in got.iter().zip(expected) {
            assert!(
                (at - want_at).abs() < 0.01,
                "{endpoint}: {got:?} vs {expected:?}"
            );
            assert_eq!(tokens, want_tokens, "{endpoint}: {got:?} vs {expected:?}");
        }
    }
}

#[tokio::test]
async fn a_mooncake_trace_is_sent_at_its_times_to_every_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(replay("mooncake.jsonl", 1.0), dir.path()).await;
    assert!(
        outcome
            .summary
            .endpoints
            .iter()
            .all(|e| e.counts.succeeded == 4)
    );
    assert_schedule(
        dir.path(),
        &[(0.0, 12), (250.0, 8), (250.0, 5), (1000.0, 16)],
    );
}

#[tokio::test]
async fn twice_the_speed_halves_the_times() {
    let dir = tempfile::tempdir().unwrap();
    run(replay("mooncake.jsonl", 2.0), dir.path()).await;
    assert_schedule(
        dir.path(),
        &[(0.0, 12), (125.0, 8), (125.0, 5), (500.0, 16)],
    );
}

#[tokio::test]
async fn an_azure_trace_is_sent_at_its_times() {
    let dir = tempfile::tempdir().unwrap();
    run(replay("azure.csv", 2.0), dir.path()).await;
    assert_schedule(
        dir.path(),
        &[(0.0, 44), (150.0, 10), (250.0, 16), (500.0, 8)],
    );
}

#[tokio::test]
async fn a_burstgpt_trace_is_sent_at_its_times_without_its_failed_rows() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(replay("burstgpt.csv", 2.0), dir.path()).await;
    assert_schedule(dir.path(), &[(0.0, 18), (200.0, 6), (500.0, 9)]);
    let run_json = std::fs::read_to_string(dir.path().join("run.json")).unwrap();
    assert!(run_json.contains("0 response tokens"), "{run_json}");
    assert!(
        outcome
            .summary
            .endpoints
            .iter()
            .all(|e| e.counts.succeeded == 3)
    );
}

#[tokio::test]
async fn requests_cut_the_trace() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = replay("mooncake.jsonl", 4.0);
    config.load.requests = Some(2);
    run(config, dir.path()).await;
    assert_schedule(dir.path(), &[(0.0, 12), (62.5, 8)]);
}

fn llmrace(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_bad_trace_stops_the_race_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("bad.jsonl");
    std::fs::write(
        &trace,
        "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 2}\n{\"timestamp\": 1}\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let output = llmrace(&[
        "race",
        "-e",
        "a=openai:mock://instant",
        "--trace",
        trace.to_str().unwrap(),
        "--headless",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.jsonl:2: not a Mooncake trace row"),
        "{stderr}"
    );
    assert!(stderr.contains("help: "), "{stderr}");
    let missing = llmrace(&[
        "race",
        "-e",
        "a=openai:mock://instant",
        "--trace",
        "/nonexistent/trace.csv",
        "--headless",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    let conflict = llmrace(&[
        "race",
        "-e",
        "a=openai:mock://instant",
        "--trace",
        trace.to_str().unwrap(),
        "--rate",
        "5/s",
    ]);
    assert_eq!(conflict.status.code(), Some(2), "{conflict:?}");
    assert!(
        String::from_utf8_lossy(&conflict.stderr).contains("a trace and --rate"),
        "{conflict:?}"
    );
}

#[test]
fn a_sweep_refuses_a_trace() {
    let output = llmrace(&[
        "sweep",
        "-e",
        "a=openai:mock://instant",
        "--trace",
        fixture("azure.csv").to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("a sweep cannot replay a trace"), "{stderr}");
}
