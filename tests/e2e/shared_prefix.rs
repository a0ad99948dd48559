//! Shared-prefix prompts against the built-in mock's prefix cache over 127.0.0.1: the hit rate
//! each server reports comes within a stated tolerance of the one the workload expects, in
//! OpenAI's and Anthropic's usage, and the expectation reaches `run.json`, `summary.json`, the console and the
//! reports.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::process::{Command, Stdio};

use crate::common::race::{race_config, run};
use llmrace::config::{PromptSource, SharedPrefixSpec};
use llmrace::record::RunInfo;

/// How far the mock's reported rate may lie from the expected one, in percentage points. The
/// workload counts o200k tokens; the mock counts four bytes a token and caches whole blocks of
/// 16 of them, so a prefix's cached share is its share of the prompt's bytes, less up to a block:
/// random words make that a point or two off the share of tokens, rarely more.
const TOLERANCE: f64 = 0.04;

fn shared(groups: u32, prefix_tokens: u32, suffix_tokens: u32) -> PromptSource {
    PromptSource::SharedPrefix(SharedPrefixSpec {
        groups,
        prefix_tokens,
        suffix_tokens,
        count: 100,
        seed: 3,
    })
}

#[tokio::test]
async fn each_protocol_reports_the_hit_rate_the_groups_should_produce() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = race_config(
        &[
            "o=openai:mock://instant,tokens=4#m",
            "a=anthropic:mock://instant,tokens=4#m",
        ],
        24,
        1,
    );
    config.workload.prompts = shared(4, 1024, 128);
    let outcome = run(config, dir.path()).await;
    let expected = outcome.summary.expected_cache.clone().expect("expected");
    assert_eq!(expected.remark, None, "one request at a time");
    // 24 requests in 4 groups: the first of each finds nothing, the 20 others 1024 of 1152.
    let should = 20.0 * 1024.0 / (24.0 * 1152.0);
    assert_eq!(expected.endpoints.len(), 2);
    for e in &expected.endpoints {
        assert_eq!(e.requests, 24, "{e:?}");
        assert!((e.expected - should).abs() < 1e-9, "{e:?}");
        let reported = e.reported.unwrap();
        assert!((reported - should).abs() < TOLERANCE, "{e:?}");
    }
    // The summary's figure is the snapshot's own: cached input over input tokens.
    for (e, numbers) in expected.endpoints.iter().zip(&outcome.summary.endpoints) {
        let t = numbers.tokens;
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        let share = t.cached_input as f64 / t.input as f64;
        assert!((e.reported.unwrap() - share).abs() < 1e-12);
    }
    let info = RunInfo::read(dir.path()).unwrap();
    assert_eq!(info.expected_cache.as_ref(), Some(&expected));
    let told: Vec<&String> = (info.notices.iter())
        .filter(|n| n.contains("prompt cache hit rate"))
        .collect();
    assert_eq!(told.len(), 2, "{:?}", info.notices);
    assert!(told[0].starts_with("o: prompt cache hit rate"), "{told:?}");
    assert!(
        told[0].contains("74.1% expected of 24 requests"),
        "{told:?}"
    );
}

#[tokio::test]
async fn warm_ups_warm_every_group_and_a_second_group_shares_nothing_with_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = race_config(&["o=openai:mock://instant,tokens=4#m"], 12, 1);
    config.workload.prompts = shared(3, 768, 64);
    config.load.warmup_requests = 3;
    let outcome = run(config, dir.path()).await;
    let e = &outcome.summary.expected_cache.unwrap().endpoints[0];
    // Every measured request finds its group's prefix.
    let should = 768.0 / 832.0;
    assert!((e.expected - should).abs() < 1e-9, "{e:?}");
    assert!((e.reported.unwrap() - should).abs() < TOLERANCE, "{e:?}");

    // Fewer requests than groups: no prompt finds another's prefix.
    let dir = tempfile::tempdir().unwrap();
    let mut config = race_config(&["o=openai:mock://instant,tokens=4#m"], 3, 1);
    config.workload.prompts = shared(3, 768, 64);
    let outcome = run(config, dir.path()).await;
    let e = &outcome.summary.expected_cache.unwrap().endpoints[0];
    assert!(e.expected.abs() < 1e-12, "{e:?}");
    assert!(e.reported.unwrap() < TOLERANCE, "{e:?}");
}

#[test]
fn the_console_and_the_reports_show_expected_beside_reported() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let llmrace = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_llmrace"));
        cmd.env_remove("RUST_BACKTRACE").stdin(Stdio::null());
        cmd
    };
    let output = llmrace()
        .args([
            "race",
            "-e",
            "m=openai:mock://instant,tokens=4#m",
            "--shared-prefix",
            "2x256+32",
            "-n",
            "6",
            "-c",
            "4",
            "--headless",
            "-o",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("shared prefix: 2 groups of 256-token prefixes + 32 tokens each"),
        "{stdout}"
    );
    // 6 requests in 2 groups: 4 of them find 256 of 288 tokens cached.
    assert!(stdout.contains("59.3% expected (6 requests)"), "{stdout}");
    // Four at a time: the first requests of a group run together, and a remark says so.
    assert!(
        stderr.contains("up to 4 requests were in flight"),
        "{stderr}"
    );
    // A replay ends as the race did, the expected rate included.
    let replayed = llmrace()
        .args(["replay", out.to_str().unwrap(), "--headless"])
        .output()
        .unwrap();
    let replayed = String::from_utf8_lossy(&replayed.stdout);
    assert!(
        replayed.contains("59.3% expected (6 requests)"),
        "{replayed}"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["expected_cache"]["groups"], 2, "{summary}");
    for (format, says) in [
        ("md", "## Prompt cache (shared prefix: 2 groups"),
        ("html", "Prompt cache (shared prefix: 2 groups"),
        ("text", "59.3% expected (6 requests)"),
        ("json", "\"expected_cache\""),
    ] {
        let output = llmrace()
            .args(["report", out.to_str().unwrap(), "--format", format])
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{format}");
        assert!(report.contains(says), "{format}: {report}");
    }
}
