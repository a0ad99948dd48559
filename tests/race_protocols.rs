//! Whole races over real HTTP on 127.0.0.1 against the built-in mock, one per protocol and
//! mode: every request succeeds, with the timings and token counts the protocol provides.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

mod common;

use common::{race_config, records, run};
use llmrace::event::TokenSource;
use llmrace::stats::Outcome;

async fn check_protocol(protocol: &str, stream: bool) {
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("ep={protocol}:mock://instant,tokens=12#m");
    let mut config = race_config(&[&spec], 4, 2);
    config.workload.stream = stream;
    let outcome = run(config, dir.path()).await;
    let e = &outcome.summary.endpoints[0];
    assert_eq!(e.counts.sent, 4, "{protocol} stream={stream}");
    assert_eq!(
        e.counts.succeeded, 4,
        "{protocol} stream={stream}: {:?}",
        e.errors
    );
    let records = records(dir.path());
    assert_eq!(records.len(), 4);
    for r in &records {
        assert_eq!(r.outcome, Outcome::Succeeded);
        assert_eq!(r.http_status, Some(200));
        assert_eq!(r.output_tokens, Some(12), "{protocol}: {r:?}");
        assert_eq!(r.output_tokens_source, Some(TokenSource::Usage));
        assert!(r.input_tokens.unwrap_or(0) > 0);
        let ttft = r.ttft_ms.expect("ttft");
        let ttlt = r.ttlt_ms.expect("ttlt");
        assert!(ttft <= ttlt);
        assert!(r.ttfb_ms.unwrap() <= ttft);
        assert!(r.chunks >= 1);
        if stream {
            assert!(r.chunks >= 4, "streamed in several chunks: {r:?}");
            assert!(r.tpot_ms.is_some());
        }
    }
}

#[tokio::test]
async fn openai_chat_streaming_and_not() {
    check_protocol("openai", true).await;
    check_protocol("openai", false).await;
}

#[tokio::test]
async fn openai_completions_streaming_and_not() {
    check_protocol("openai-completions", true).await;
    check_protocol("openai-completions", false).await;
}

#[tokio::test]
async fn anthropic_streaming_and_not() {
    check_protocol("anthropic", true).await;
    check_protocol("anthropic", false).await;
}

#[tokio::test]
async fn ollama_streaming_and_not() {
    check_protocol("ollama", true).await;
    check_protocol("ollama", false).await;
}

#[tokio::test]
async fn reasoning_tokens_are_timed_apart_from_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let config = race_config(&["t=openai:mock://instant,tokens=8,reasoning=5#m"], 2, 1);
    run(config, dir.path()).await;
    for r in records(dir.path()) {
        assert_eq!(r.outcome, Outcome::Succeeded);
        assert!(r.ttfa_ms.unwrap() >= r.ttft_ms.unwrap(), "{r:?}");
        assert!(r.reasoning_tokens.unwrap_or(0) > 0, "{r:?}");
    }
}

#[tokio::test]
async fn every_endpoint_gets_the_same_prompts_in_the_same_order() {
    let dir = tempfile::tempdir().unwrap();
    let config = race_config(
        &["a=openai:mock://instant#m", "b=anthropic:mock://instant#m"],
        5,
        1,
    );
    run(config, dir.path()).await;
    let records = records(dir.path());
    let prompts = |name: &str| {
        let mut v: Vec<(f64, u32)> = records
            .iter()
            .filter(|r| r.endpoint_name == name)
            .map(|r| (r.sent_at_s, r.prompt.0))
            .collect();
        v.sort_by(|x, y| x.0.total_cmp(&y.0));
        v.into_iter().map(|(_, p)| p).collect::<Vec<_>>()
    };
    assert_eq!(prompts("a"), vec![0, 1, 2, 3, 4]);
    assert_eq!(prompts("a"), prompts("b"));
}
