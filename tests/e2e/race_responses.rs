//! The OpenAI Responses API (`protocol = "responses"`) raced against the built-in mock over
//! 127.0.0.1: streamed and whole answers with the server's usage, reasoning timed apart, an
//! answer cut by `max_output_tokens`, tool calls, images, the faults a server throws
//! classified, and the real binary racing it headless with a key that never reaches disk.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::process::Command;

use crate::common::race::{race_config, records, run};
use crate::common::running::BIN;
use llmrace::config::{ImageSpec, PromptSource};
use llmrace::event::{ErrorClass, TokenSource};
use llmrace::stats::{Outcome, RequestRecord};

async fn race(spec: &str, requests: u64, stream: bool) -> Vec<RequestRecord> {
    let dir = tempfile::tempdir().unwrap();
    let mut config = race_config(&[spec], requests, 1);
    config.workload.stream = stream;
    run(config, dir.path()).await;
    records(dir.path())
}

#[tokio::test]
async fn streamed_and_whole_answers_carry_the_servers_usage() {
    for stream in [true, false] {
        let records = race("r=responses:mock://instant,tokens=12#m", 3, stream).await;
        assert_eq!(records.len(), 3);
        for r in records {
            assert_eq!(r.outcome, Outcome::Succeeded, "stream={stream}: {r:?}");
            assert_eq!(r.http_status, Some(200));
            assert_eq!(r.finish_reason.as_deref(), Some("completed"));
            assert_eq!(r.output_tokens, Some(12), "{r:?}");
            assert_eq!(r.output_tokens_source, Some(TokenSource::Usage));
            assert!(r.input_tokens.unwrap_or(0) > 0, "{r:?}");
            assert_eq!(r.input_tokens_source, Some(TokenSource::Usage));
            assert!(r.ttft_ms.unwrap() <= r.ttlt_ms.unwrap());
            if stream {
                assert!(r.chunks >= 4, "streamed in several chunks: {r:?}");
            }
        }
    }
}

#[tokio::test]
async fn the_first_token_is_the_first_delta_not_the_created_event() {
    // The mock writes `response.created` at once and its first delta 150 ms later: a TTFT
    // stamped at the created event would be near 0.
    let records = race("r=responses:mock://ttft=150ms,itl=1ms,tokens=4#m", 2, true).await;
    for r in records {
        assert_eq!(r.outcome, Outcome::Succeeded, "{r:?}");
        assert!(r.ttfb_ms.unwrap() <= r.ttft_ms.unwrap(), "{r:?}");
        assert!(r.ttft_ms.unwrap() >= 150.0, "{r:?}");
    }
}

#[tokio::test]
async fn reasoning_is_timed_apart_and_counted() {
    let records = race("t=responses:mock://instant,tokens=8,reasoning=5#m", 2, true).await;
    for r in records {
        assert_eq!(r.outcome, Outcome::Succeeded, "{r:?}");
        assert_eq!(r.reasoning_tokens, Some(5), "{r:?}");
        assert!(r.ttfa_ms.unwrap() >= r.ttft_ms.unwrap(), "{r:?}");
    }
}

#[tokio::test]
async fn an_answer_cut_by_the_token_cap_is_incomplete_but_succeeds() {
    // race_config asks for at most 16 tokens.
    for stream in [true, false] {
        let records = race("cap=responses:mock://instant,tokens=40#m", 2, stream).await;
        for r in records {
            assert_eq!(r.outcome, Outcome::Succeeded, "{r:?}");
            assert_eq!(r.finish_reason.as_deref(), Some("max_output_tokens"));
            assert_eq!(r.output_tokens, Some(16), "{r:?}");
        }
    }
}

async fn fault_gives(fault: &str, class: ErrorClass, says: &str) {
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("f=responses:mock://instant,tokens=12,fault={fault}#m");
    let outcome = run(race_config(&[&spec], 2, 1), dir.path()).await;
    let e = &outcome.summary.endpoints[0];
    assert_eq!(e.counts.failed, 2, "{fault}: {:?}", e.errors);
    assert_eq!(e.errors.get(&class), Some(&2), "{fault}: {:?}", e.errors);
    for r in records(dir.path()) {
        assert_eq!(r.error_class, Some(class), "{fault}");
        let message = r.error_message.unwrap_or_default();
        assert!(message.contains(says), "{fault}: {message}");
    }
}

#[tokio::test]
async fn faults_are_classified() {
    fault_gives(
        "error_mid_stream",
        ErrorClass::StreamError,
        "server_error: mock overloaded",
    )
    .await;
    fault_gives("http_429", ErrorClass::RateLimited, "429").await;
    fault_gives("http_401", ErrorClass::Auth, "401").await;
    fault_gives("malformed_chunk", ErrorClass::Protocol, "not valid JSON").await;
    fault_gives("wrong_protocol", ErrorClass::Protocol, "Responses API").await;
    fault_gives("no_terminator", ErrorClass::StreamCut, "").await;
}

#[tokio::test]
async fn a_tool_call_streams_as_the_answer() {
    for stream in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let spec = "tools=responses:mock://ttft=20ms,itl=2ms,tokens=12,chunk=3#m";
        let mut config = race_config(&[spec], 3, 1);
        config.workload.prompts = PromptSource::Builtin("tools".into());
        config.workload.stream = stream;
        let outcome = run(config, dir.path()).await;
        assert_eq!(outcome.summary.endpoints[0].counts.tool_call_requests, 3);
        for r in records(dir.path()) {
            assert_eq!(r.outcome, Outcome::Succeeded, "stream={stream}: {r:?}");
            assert_eq!(r.tool_calls, 1, "{r:?}");
            assert_eq!(r.finish_reason.as_deref(), Some("completed"), "{r:?}");
            assert!(r.ttft_ms.unwrap() >= 20.0, "{r:?}");
            assert_eq!(r.output_tokens, Some(12), "{r:?}");
        }
    }
}

#[tokio::test]
async fn images_reach_the_server_as_input_image_parts() {
    let mut counts = Vec::new();
    let image = ImageSpec {
        count: 1,
        width: 256,
        height: 128,
    };
    for images in [None, Some(image)] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = race_config(&["pic=responses:mock://instant,tokens=4#m"], 2, 1);
        config.workload.prompts = PromptSource::Inline(vec!["What is in this picture?".into()]);
        config.workload.images = images;
        run(config, dir.path()).await;
        let records = records(dir.path());
        assert!(records.iter().all(|r| r.outcome == Outcome::Succeeded));
        counts.push(records[0].input_tokens.unwrap());
    }
    // The mock counts a 256 × 128 image as 44 input tokens.
    assert_eq!(counts[1], counts[0] + 44, "{counts:?}");
}

#[test]
fn the_binary_races_it_headless_and_the_key_stays_off_disk() {
    const KEY: &str = "sk-responses-e2e-secret-4321";
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = Command::new(BIN)
        .args([
            "race",
            "-e",
            "r=responses:mock://instant,tokens=6#m",
            "--api-key-env",
            "r=LLMRACE_RESPONSES_KEY",
            "-n",
            "3",
            "--headless",
            "-o",
        ])
        .arg(&out)
        .env("LLMRACE_RESPONSES_KEY", KEY)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stdout.contains(KEY) && !stderr.contains(KEY));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let endpoint = &summary["endpoints"][0];
    assert_eq!(endpoint["counts"]["succeeded"], 3, "{endpoint}");
    assert_eq!(endpoint["tokens"]["output"], 18, "{endpoint}");
    for r in records(&out) {
        assert_eq!(r.output_tokens_source, Some(TokenSource::Usage), "{r:?}");
    }
    for file in std::fs::read_dir(&out).unwrap() {
        let path = file.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let text = if path.extension().is_some_and(|e| e == "gz") {
            let mut text = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
                .unwrap();
            String::from_utf8_lossy(&text).into_owned()
        } else {
            String::from_utf8_lossy(&bytes).into_owned()
        };
        assert!(!text.contains(KEY), "the key is in {}", path.display());
    }
}
