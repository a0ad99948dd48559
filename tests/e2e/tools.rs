//! Tool calls and structured output through the real engine against the built-in mock over
//! 127.0.0.1: an answer that only calls a tool has a TTFT and output tokens in every protocol,
//! streamed or not; the built-in `tools` workload runs; answers asked for as JSON are checked.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use crate::common::race::{race_config, records, run};
use llmrace::config::PromptSource;
use llmrace::event::TokenSource;
use llmrace::stats::Outcome;
use serde_json::json;

const PROTOCOLS: [(&str, &str); 5] = [
    ("openai", "tool_calls"),
    ("anthropic", "tool_use"),
    // Ollama says `stop` after a tool call, Gemini `STOP`.
    ("ollama", "stop"),
    ("gemini", "STOP"),
    ("bedrock", "tool_use"),
];

async fn tool_only_answers(protocol: &str, finish: &str, stream: bool, fault: &str) {
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("ep={protocol}:mock://ttft=20ms,itl=2ms,tokens=12,chunk=3{fault}#m");
    let mut config = race_config(&[&spec], 3, 1);
    config.workload.prompts = PromptSource::Builtin("tools".into());
    config.workload.stream = stream;
    let outcome = run(config, dir.path()).await;
    let e = &outcome.summary.endpoints[0];
    let what = format!("{protocol} stream={stream}{fault}");
    assert_eq!(e.counts.succeeded, 3, "{what}: {:?}", e.errors);
    assert_eq!(e.counts.tool_call_requests, 3, "{what}");
    for r in records(dir.path()) {
        assert_eq!(r.outcome, Outcome::Succeeded, "{what}: {r:?}");
        assert_eq!(r.finish_reason.as_deref(), Some(finish), "{what}");
        assert_eq!(r.tool_calls, 1, "{what}");
        let ttft = r
            .ttft_ms
            .expect("a tool call's first piece is the first token");
        assert!(ttft >= 20.0 && ttft <= r.ttlt_ms.unwrap(), "{what}: {r:?}");
        assert_eq!(
            r.ttfa_ms, r.ttft_ms,
            "{what}: a tool call is answer, not reasoning"
        );
        assert!(r.output_tokens.unwrap_or(0) > 0, "{what}: {r:?}");
        if fault.is_empty() {
            assert_eq!(r.output_tokens, Some(12), "{what}");
            assert_eq!(r.output_tokens_source, Some(TokenSource::Usage), "{what}");
        } else {
            // The server said 0: the arguments' text was counted instead.
            assert_eq!(
                r.output_tokens_source,
                Some(TokenSource::Estimate),
                "{what}"
            );
        }
        if stream && protocol != "ollama" && protocol != "gemini" {
            // The arguments streamed in pieces, timed like content (Ollama and Gemini send
            // a call whole), unless a loaded machine read them all at once, as it says.
            assert!(
                !r.itl_ms.is_empty() || r.batched_first_token,
                "{what}: {r:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_tool_call_only_answer_has_a_ttft_and_output_tokens() {
    for (protocol, finish) in PROTOCOLS {
        for stream in [true, false] {
            tool_only_answers(protocol, finish, stream, "").await;
        }
    }
}

#[tokio::test]
async fn without_usage_the_arguments_are_counted() {
    for (protocol, finish) in PROTOCOLS {
        tool_only_answers(protocol, finish, true, ",fault=zero_usage:1").await;
    }
}

#[tokio::test]
async fn the_tools_workload_runs_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let (code, output) = crate::common::running::run_to_end(
        std::process::Command::new(env!("CARGO_BIN_EXE_llmrace")).args([
            "race",
            "-e",
            "o=openai:mock://instant,tokens=8",
            "--workload",
            "tools",
            "-n",
            "4",
            "--headless",
            "-o",
            out.to_str().unwrap(),
        ]),
    );
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains("o: 4 of 4 answers called a tool"),
        "{output}"
    );
    let records = records(&out);
    assert_eq!(records.len(), 4);
    assert!(records.iter().all(|r| r.tool_calls == 1));
}

#[tokio::test]
async fn json_answers_are_checked_and_their_share_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = race_config(
        &[
            "o=openai:mock://instant,tokens=8#m",
            "a=anthropic:mock://instant,tokens=8#m",
            "l=ollama:mock://instant,tokens=8#m",
            "plain=openai:mock://instant,tokens=8#m",
            "bad=openai:mock://instant,tokens=8,fault=bad_json:1#m",
        ],
        4,
        2,
    );
    let asks = [
        json!({"response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object"}}}}),
        json!({"output_format": {"type": "json_schema", "schema": {"type": "object"}}}),
        json!({"format": "json"}),
    ];
    for (endpoint, ask) in config.endpoints.iter_mut().zip(asks) {
        endpoint.body = ask.as_object().unwrap().clone();
    }
    config.endpoints[4].body = config.endpoints[0].body.clone();
    let outcome = run(config, dir.path()).await;
    for e in &outcome.summary.endpoints[..3] {
        assert_eq!(
            (e.counts.json_checked, e.counts.json_valid),
            (4, 4),
            "{}",
            e.name
        );
        assert_eq!(e.counts.json_valid_share(), Some(1.0));
    }
    let plain = &outcome.summary.endpoints[3];
    assert_eq!(plain.counts.json_checked, 0);
    assert_eq!(plain.counts.json_valid_share(), None);
    let bad = &outcome.summary.endpoints[4];
    assert_eq!((bad.counts.json_checked, bad.counts.json_valid), (4, 0));
    assert_eq!(
        bad.counts.succeeded, 4,
        "an invalid answer is still a success"
    );
    for r in records(dir.path()) {
        let expected = match r.endpoint_name.as_str() {
            "plain" => None,
            "bad" => Some(false),
            _ => Some(true),
        };
        assert_eq!(r.json_valid, expected, "{r:?}");
    }
    let summary = std::fs::read_to_string(dir.path().join("summary.json")).unwrap();
    assert!(summary.contains("\"json_valid\": 4") || summary.contains("\"json_valid\":4"));
}

#[tokio::test]
async fn answers_that_only_call_a_tool_are_not_checked_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = race_config(&["o=openai:mock://instant,tokens=8#m"], 3, 1);
    config.workload.prompts = PromptSource::Builtin("tools".into());
    config.endpoints[0].body = json!({"response_format": {"type": "json_object"}})
        .as_object()
        .unwrap()
        .clone();
    let outcome = run(config, dir.path()).await;
    let e = &outcome.summary.endpoints[0];
    assert_eq!(e.counts.tool_call_requests, 3);
    assert_eq!(e.counts.json_checked, 0, "no text, nothing to check");
    assert_eq!(e.counts.json_valid_share(), None);
    assert!(records(dir.path()).iter().all(|r| r.json_valid.is_none()));
}

/// A JSON answer's opening and Anthropic's `tool_use` block start are events of their own: the
/// mock writes them alone, so no first token shares its read with later content.
#[tokio::test]
async fn the_mock_writes_a_tool_or_json_answers_opening_alone() {
    // Two chunks: the closing of the arguments or JSON goes out with the last.
    let mock = "mock://ttft=20ms,itl=40ms,tokens=6,chunk=3#m";
    let specs = ["openai", "anthropic", "ollama"].map(|p| format!("{p}={p}:{mock}"));
    let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
    let dir = tempfile::tempdir().unwrap();
    let mut config = race_config(&specs, 2, 3);
    config.workload.prompts = PromptSource::Builtin("tools".into());
    let tools = run(config, dir.path()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = race_config(&specs, 2, 3);
    let asks = [
        json!({"response_format": {"type": "json_object"}}),
        json!({"output_format": {"type": "json_schema", "schema": {"type": "object"}}}),
        json!({"format": "json"}),
    ];
    for (endpoint, ask) in config.endpoints.iter_mut().zip(asks) {
        endpoint.body = ask.as_object().unwrap().clone();
    }
    let json = run(config, dir.path()).await;
    for e in &tools.summary.endpoints {
        assert_eq!(e.counts.tool_call_requests, 2, "{}: {:?}", e.name, e.errors);
        assert_eq!(e.counts.batched_first_token, 0, "{} tools", e.name);
    }
    for e in &json.summary.endpoints {
        assert_eq!(
            (e.counts.json_checked, e.counts.json_valid),
            (2, 2),
            "{}: {:?}",
            e.name,
            e.errors
        );
        assert_eq!(e.counts.batched_first_token, 0, "{} JSON", e.name);
    }
}

#[tokio::test]
async fn a_legacy_completions_endpoint_is_refused_tools_before_the_race() {
    let mut config = race_config(&["legacy=openai-completions:mock://instant#m"], 1, 1);
    config.workload.prompts = PromptSource::Builtin("tools".into());
    let dir = tempfile::tempdir().unwrap();
    let error = crate::common::race::attempt(config, dir.path())
        .await
        .err()
        .unwrap();
    assert_eq!(error.exit_code(), 2);
    let message = error.to_string();
    assert!(message.contains("endpoint `legacy`"), "{message}");
    assert!(message.contains("cannot offer tools"), "{message}");
    assert!(message.contains("protocol \"openai\""), "{message}");
}
