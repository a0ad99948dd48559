//! `openai-embeddings` end to end against the built-in mock on 127.0.0.1: the real binary
//! racing batches of inputs headless (inputs/s, usage, the final table of a mixed race, a
//! replay giving the same numbers), faults classified, and what an embedding cannot carry
//! refused before anything is sent.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::race::{attempt, race_config, records, run};
use llmrace::event::{ErrorClass, TokenSource};
use llmrace::record::run_info::Summary;
use llmrace::stats::Outcome;

fn llmrace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .args(args)
        .output()
        .expect("llmrace runs")
}

fn summary(dir: &Path) -> Summary {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn a_headless_race_of_batches_counts_inputs_and_usage() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let output = llmrace(&[
        "race",
        "-e",
        "e=openai-embeddings:mock://instant,ttft=5ms#mock-768",
        "--embed-batch",
        "16",
        "-n",
        "8",
        "--headless",
        "-o",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // The final table: the request's latency and inputs/s, no tokens/s or TTFT columns for a
    // race of embeddings only.
    let table: Vec<&str> = stdout.lines().collect();
    let header = table.iter().find(|l| l.starts_with("endpoint")).unwrap();
    assert!(
        header.contains("inputs/s") && !header.contains("TTFT"),
        "{stdout}"
    );
    assert!(
        stdout.contains("e: embeddings, 16 inputs a request, 768 dimensions: 128 inputs"),
        "{stdout}"
    );

    let e = &summary(&out).endpoints[0];
    assert_eq!(e.counts.succeeded, 8, "{:?}", e.errors);
    let m = e.embeddings.expect("an embeddings endpoint");
    assert_eq!((m.batch, m.inputs, m.dimension), (16, 128, Some(768)));
    // inputs/s is requests/s times the batch, over the same window.
    let expected = e.rates.requests_per_s * 16.0;
    assert!(
        (m.inputs_per_s - expected).abs() < 1e-6 * expected,
        "{m:?} {expected}"
    );
    assert!(e.tokens.input > 0 && e.tokens.output == 0, "{:?}", e.tokens);
    assert!(e.latency.ttft_ms.is_none() && e.latency.ttlt_ms.is_some());

    for r in records(&out) {
        assert_eq!(r.outcome, Outcome::Succeeded);
        assert_eq!((r.inputs, r.embedding_dimension), (Some(16), Some(768)));
        assert_eq!(r.input_tokens_source, Some(TokenSource::Usage), "{r:?}");
        assert_eq!(
            r.usage_reported.get("prompt_tokens").copied(),
            r.input_tokens
        );
        assert_eq!((r.output_tokens, r.ttft_ms), (None, None), "{r:?}");
        // The mock's 768 floats of 16 vectors are over 100 kB of JSON, read whole.
        assert!(r.bytes_received > 100_000, "{r:?}");
    }

    // The replay folds the same events into the same numbers.
    let replayed = llmrace(&["replay", out.to_str().unwrap(), "--headless"]);
    let again = String::from_utf8_lossy(&replayed.stdout);
    assert!(replayed.status.success(), "{again}");
    let row = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("e "))
            .map(str::to_owned)
            .unwrap()
    };
    assert_eq!(row(&again), row(&stdout));
}

#[test]
fn a_race_of_chat_and_embeddings_marks_what_does_not_apply() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let output = llmrace(&[
        "race",
        "-e",
        "chat=openai:mock://instant,tokens=8#m",
        "-e",
        "vec=openai-embeddings:mock://instant#m",
        "-n",
        "4",
        "--headless",
        "-o",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let line = |name: &str| -> Vec<char> {
        let found = stdout.lines().find(|l| l.starts_with(name)).unwrap();
        found.chars().collect()
    };
    let header = line("endpoint");
    // The cell under a header: cells are right-aligned, so it ends where its header does
    // (counted in characters: `µs` is two bytes).
    let cell = |row: &[char], title: &str| -> String {
        let text: String = header.iter().collect();
        let at = text.find(title).unwrap();
        let end = text[..at].chars().count() + title.chars().count();
        let before: String = row[..end].iter().collect();
        before.split_whitespace().last().unwrap().to_string()
    };
    let (chat_row, vec_row) = (line("chat"), line("vec"));
    let chat = |title: &str| cell(&chat_row, title);
    let vec = |title: &str| cell(&vec_row, title);
    let (ttft, inputs) = ("TTFT p50", "inputs/s");
    assert_eq!(vec(ttft), "n/a", "{stdout}");
    assert_ne!(chat(ttft), "n/a", "{stdout}");
    assert_eq!(chat(inputs), "n/a", "{stdout}");
    assert!(vec(inputs).parse::<f64>().unwrap() > 0.0, "{stdout}");
    // Every report says the same: the Markdown one too.
    let report = llmrace(&["report", out.to_str().unwrap(), "--format", "md"]);
    let md = String::from_utf8_lossy(&report.stdout);
    assert!(report.status.success(), "{md}");
    assert!(md.contains("inputs/s") && md.contains("n/a"), "{md}");
}

#[tokio::test]
async fn faults_are_classified() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "no_terminator",
            ErrorClass::Protocol,
            "15 embeddings for 16 inputs",
        ),
        ("http_429", ErrorClass::RateLimited, "429"),
        ("reset_mid_stream", ErrorClass::StreamCut, ""),
        ("malformed_chunk", ErrorClass::Protocol, "not valid JSON"),
        (
            "html",
            ErrorClass::Protocol,
            "HTML page, not openai-embeddings",
        ),
        (
            "wrong_protocol",
            ErrorClass::Protocol,
            "expected an embeddings object",
        ),
        // An error in a whole (never streamed) answer has no middle to stand in.
        (
            "error_mid_stream",
            ErrorClass::StreamError,
            "the server reported an error in its answer",
        ),
        (
            "huge",
            ErrorClass::Protocol,
            "lower embed_batch, or ask for base64",
        ),
    ];
    for (fault, class, words) in cases {
        let spec = format!("e=openai-embeddings:mock://instant,fault={fault}:1#m");
        let mut config = race_config(&[&spec], 2, 1);
        config.workload.embed_batch = 16;
        config.load.retries = 0;
        // The faults, not the clock, decide these: `huge` writes 16 MB that a debug build on a
        // busy machine can take longer than the tests' 2 s to make and read.
        config.timeouts.first_token = std::time::Duration::from_secs(60);
        config.timeouts.total = std::time::Duration::from_secs(60);
        let out = dir.path().join(fault);
        let outcome = run(config, &out).await;
        let e = &outcome.summary.endpoints[0];
        assert_eq!(e.counts.failed, 2, "{fault}: {e:?}");
        assert_eq!(e.errors.get(&class), Some(&2), "{fault}: {:?}", e.errors);
        assert_eq!(e.embeddings.map(|m| m.inputs), Some(0), "{fault}");
        // Inputs, inputs/s and input tokens/s count the same (succeeded) requests: none.
        assert_eq!(
            e.embeddings.map(|m| m.input_tokens_per_s),
            Some(0.0),
            "{fault}"
        );
        for r in records(&out) {
            let message = r.error_message.unwrap_or_default();
            assert!(message.contains(words), "{fault}: {message}");
        }
    }
}

#[tokio::test]
async fn a_server_without_usage_has_its_input_counted() {
    let dir = tempfile::tempdir().unwrap();
    let spec = "e=openai-embeddings:mock://instant,fault=zero_usage:1#m";
    let mut config = race_config(&[spec], 2, 1);
    config.workload.embed_batch = 4;
    let outcome = run(config, dir.path()).await;
    assert_eq!(outcome.summary.endpoints[0].counts.succeeded, 2);
    for r in records(dir.path()) {
        assert_eq!(r.input_tokens_source, Some(TokenSource::Estimate), "{r:?}");
        assert!(r.input_tokens.unwrap_or(0) > 0, "{r:?}");
        assert_eq!(r.output_tokens, None, "{r:?}");
    }
}

#[tokio::test]
async fn what_an_embedding_cannot_carry_is_refused_before_the_race() {
    let dir = tempfile::tempdir().unwrap();
    let spec = "e=openai-embeddings:mock://instant#m";
    let mut tools = race_config(&[spec], 1, 1);
    tools.workload.prompts = llmrace::config::PromptSource::Builtin("tools".into());
    let mut turns = race_config(&[spec], 2, 1);
    turns.workload.turns = 2;
    let mut json = race_config(&[spec], 1, 1);
    json.endpoints[0].body.insert(
        "response_format".into(),
        serde_json::json!({"type": "json_object"}),
    );
    for (config, what) in [
        (tools, "cannot carry tools"),
        (turns, "cannot carry sessions of turns"),
        (json, "cannot carry structured output"),
    ] {
        let Err(error) = attempt(config, dir.path()).await else {
            panic!("{what}: the race ran");
        };
        assert_eq!(error.exit_code(), 2, "{error}");
        assert!(error.to_string().contains(what), "{error}");
    }
}
