//! Cache hygiene against the built-in mock over 127.0.0.1: the mock's prefix cache as each
//! protocol reports it, cold races that never hit an earlier run's or another endpoint's
//! cache, `reuse` races that do, repeats, and the salt where it is recorded.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::net::SocketAddr;

use llmrace::mock::{MockServer, Profile};
use llmrace::protocol::Protocol;
use serde_json::{Value, json};

async fn start(spec: &str) -> MockServer {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    MockServer::start(addr, Profile::parse(spec).unwrap())
        .await
        .unwrap()
}

/// A prompt of several cache blocks.
const PROMPT: &str = "Summarise the causes of the industrial revolution in Britain, the role of \
    coal, iron and textiles, and why it began there rather than elsewhere in Europe.";

/// The usage object of a non-streamed answer to `PROMPT` through `protocol`.
async fn usage(server: &MockServer, protocol: Protocol, system: &str) -> Value {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (path, body) = match protocol {
        Protocol::Anthropic => (
            "/messages",
            json!({"model": "m", "max_tokens": 4, "system": system,
                   "messages": [{"role": "user", "content": PROMPT}]}),
        ),
        Protocol::Ollama => (
            "/api/chat",
            json!({"model": "m", "stream": false, "options": {"num_predict": 4},
                   "messages": [{"role": "system", "content": system},
                                {"role": "user", "content": PROMPT}]}),
        ),
        _ => (
            "/chat/completions",
            json!({"model": "m", "max_tokens": 4,
                   "messages": [{"role": "system", "content": system},
                                {"role": "user", "content": PROMPT}]}),
        ),
    };
    let url = format!("{}{path}", server.base_url(protocol));
    let text = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let answer: Value = serde_json::from_str(&text).unwrap();
    match protocol {
        Protocol::Ollama => answer,
        _ => answer["usage"].clone(),
    }
}

#[tokio::test]
async fn the_mock_reports_its_prefix_cache_hits_as_each_protocol_does() {
    let server = start("instant,tokens=4").await;
    let openai = usage(&server, Protocol::OpenAiChat, "be brief").await;
    assert_eq!(openai["prompt_tokens_details"], Value::Null, "{openai}");
    let openai = usage(&server, Protocol::OpenAiChat, "be brief").await;
    let cached = openai["prompt_tokens_details"]["cached_tokens"]
        .as_u64()
        .unwrap();
    let prompt = openai["prompt_tokens"].as_u64().unwrap();
    assert!(cached > 0 && cached < prompt, "{openai}");

    // Anthropic's `input_tokens` leaves the cached tokens out.
    let first = usage(&server, Protocol::Anthropic, "be terse").await;
    assert_eq!(first["cache_read_input_tokens"], 0, "{first}");
    let again = usage(&server, Protocol::Anthropic, "be terse").await;
    let read = again["cache_read_input_tokens"].as_u64().unwrap();
    assert!(read > 0, "{again}");
    assert_eq!(
        again["input_tokens"].as_u64().unwrap() + read,
        first["input_tokens"].as_u64().unwrap()
    );

    // Ollama counts them in `prompt_eval_count` and says how many apart.
    let first = usage(&server, Protocol::Ollama, "be kind").await;
    assert_eq!(first.get("prompt_eval_cached_count"), None, "{first}");
    let again = usage(&server, Protocol::Ollama, "be kind").await;
    assert!(
        again["prompt_eval_cached_count"].as_u64().unwrap() > 0,
        "{again}"
    );
    assert_eq!(again["prompt_eval_count"], first["prompt_eval_count"]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_mock_without_a_cache_or_with_a_fixed_count_reports_no_hits_of_its_own() {
    let server = start("instant,tokens=4,cache=0").await;
    for _ in 0..2 {
        let openai = usage(&server, Protocol::OpenAiChat, "be brief").await;
        assert_eq!(openai["prompt_tokens_details"], Value::Null, "{openai}");
    }
    server.shutdown().await;
    let server = start("instant,tokens=4,cache_read=5").await;
    for _ in 0..2 {
        let openai = usage(&server, Protocol::OpenAiChat, "be brief").await;
        assert_eq!(
            openai["prompt_tokens_details"]["cached_tokens"], 5,
            "{openai}"
        );
    }
    server.shutdown().await;
}
