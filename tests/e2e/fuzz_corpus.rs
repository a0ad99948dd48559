//! Replays the saved fuzz corpora (`fuzz/corpus/<target>/`) and the inputs of past fuzz crashes
//! (`fuzz/regressions/<target>/`) through the same functions the fuzz targets call, so CI checks
//! on stable Rust that every input the fuzzer found interesting still passes.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

use std::path::{Path, PathBuf};

use llmrace::fuzzing;

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    for folder in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(folder).join(target)) else {
            continue;
        };
        files.extend(entries.map(|e| e.unwrap().path()));
    }
    files.sort();
    files
}

fn replay(target: &str, run: fn(&[u8])) {
    let files = inputs(target);
    assert!(
        !files.is_empty(),
        "no saved inputs for fuzz target `{target}`"
    );
    for file in &files {
        let data = std::fs::read(file).unwrap();
        // A failure names the input, so it can be fed to `cargo fuzz run TARGET FILE`.
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "fuzz input {} fails", file.display());
    }
}

#[test]
fn sse() {
    replay("sse", fuzzing::sse);
}

#[test]
fn ndjson() {
    replay("ndjson", fuzzing::ndjson);
}

#[test]
fn openai_chat() {
    replay("openai_chat", fuzzing::openai_chat);
}

#[test]
fn openai_completions() {
    replay("openai_completions", fuzzing::openai_completions);
}

#[test]
fn responses() {
    replay("responses", fuzzing::responses);
}

#[test]
fn anthropic() {
    replay("anthropic", fuzzing::anthropic);
}

#[test]
fn ollama() {
    replay("ollama", fuzzing::ollama);
}

#[test]
fn gemini() {
    replay("gemini", fuzzing::gemini);
}

#[test]
fn bedrock() {
    replay("bedrock", fuzzing::bedrock);
}

#[test]
fn openai_embeddings() {
    replay("openai_embeddings", fuzzing::openai_embeddings);
}

#[test]
fn replay_reader() {
    replay("replay", fuzzing::replay);
}

#[test]
fn race_file() {
    replay("race_file", fuzzing::race_file);
}

#[test]
fn threshold() {
    replay("threshold", fuzzing::threshold);
}

#[test]
fn trace() {
    replay("trace", fuzzing::trace);
}

#[test]
fn server_metrics() {
    replay("server_metrics", fuzzing::server_metrics);
}
