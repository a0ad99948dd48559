//! Answers with reasoning over real HTTP on 127.0.0.1: a non-streamed body is one arrival,
//! whatever parts (reasoning and answer) it holds, so it has no token timing and no batched
//! first token; a reasoning count no server reported is unknown, not zero.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use crate::common::race::{race_config, records, run};
use llmrace::stats::Outcome;

/// A new user's trial: `--no-stream` against the thinker profile gave `chunks 2`,
/// `itl_ms [0.0]`, `batched_first_token true`, ITL "1 µs" in the table and the batched notice.
#[tokio::test]
async fn a_non_streamed_answer_with_reasoning_is_one_timing_point() {
    for protocol in [
        "openai",
        "anthropic",
        "ollama",
        "responses",
        "gemini",
        "bedrock",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let spec = format!("t={protocol}:mock://instant,tokens=8,reasoning=5#m");
        let mut config = race_config(&[&spec], 3, 1);
        config.workload.stream = false;
        let outcome = run(config, dir.path()).await;
        let e = &outcome.summary.endpoints[0];
        assert_eq!(e.counts.succeeded, 3, "{protocol}: {:?}", e.errors);
        assert_eq!(e.counts.batched_first_token, 0, "{protocol}");
        assert_eq!(e.latency.itl_ms, None, "{protocol}");
        assert_eq!(e.latency.tpot_ms, None, "{protocol}");
        for r in records(dir.path()) {
            assert_eq!(r.outcome, Outcome::Succeeded);
            assert_eq!(r.chunks, 1, "{protocol}: {r:?}");
            assert!(r.itl_ms.is_empty(), "{protocol}: {r:?}");
            assert!(!r.batched_first_token, "{protocol}: {r:?}");
            assert_eq!(r.first_read_events, Some(1), "{protocol}: {r:?}");
            assert_eq!(r.ttft_ms, r.ttlt_ms, "{protocol}: {r:?}");
        }
    }
}

/// Anthropic's API streams thinking but reports no reasoning count: the summary must not say 0.
#[tokio::test]
async fn a_reasoning_count_no_server_reported_is_unknown() {
    for (protocol, reported) in [("anthropic", false), ("openai", true)] {
        let dir = tempfile::tempdir().unwrap();
        let spec = format!("t={protocol}:mock://instant,tokens=8,reasoning=5#m");
        let outcome = run(race_config(&[&spec], 2, 1), dir.path()).await;
        let e = &outcome.summary.endpoints[0];
        assert_eq!(e.counts.succeeded, 2, "{protocol}: {:?}", e.errors);
        let per_request: Vec<_> = records(dir.path())
            .iter()
            .map(|r| r.reasoning_tokens)
            .collect();
        if reported {
            assert_eq!(e.tokens.reasoning, Some(10), "{protocol}");
            assert_eq!(per_request, [Some(5), Some(5)]);
        } else {
            assert_eq!(e.tokens.reasoning, None, "{protocol}");
            assert_eq!(per_request, [None, None]);
        }
        let summary = std::fs::read_to_string(dir.path().join("summary.json")).unwrap();
        let json: serde_json::Value = serde_json::from_str(&summary).unwrap();
        let written = &json["endpoints"][0]["tokens"]["reasoning"];
        assert_eq!(written.is_null(), !reported, "{protocol}: {written}");
    }
}
