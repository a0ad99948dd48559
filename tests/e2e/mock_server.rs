//! The built-in mock over real HTTP on 127.0.0.1: each protocol's streaming and non-streaming
//! shapes, token caps, determinism, keep-alive and lifecycle. Faults are in `mock_faults.rs`,
//! profile specs in `mock_profile.rs`.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::net::SocketAddr;

use llmrace::mock::{MockError, MockServer, Profile};
use llmrace::protocol::Protocol;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn start(spec: &str) -> MockServer {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    MockServer::start(addr, Profile::parse(spec).unwrap())
        .await
        .unwrap()
}

/// reqwest is built without a default TLS provider; plain http still needs one installed.
fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

fn endpoint(server: &MockServer, protocol: Protocol) -> String {
    let tail = match protocol {
        Protocol::OpenAiChat => "/chat/completions",
        Protocol::OpenAiCompletions => "/completions",
        Protocol::Anthropic => "/messages",
        Protocol::Ollama => "/api/chat",
        Protocol::Responses => "/responses",
        Protocol::Gemini => "/v1beta/models/mock-model:generateContent",
        Protocol::Bedrock => "/model/mock-model/converse-stream",
        Protocol::OpenAiEmbeddings => "/embeddings",
    };
    format!("{}{tail}", server.base_url(protocol))
}

fn chat_body(prompt: &str, stream: bool) -> Value {
    json!({
        "model": "mock-model",
        "messages": [{"role": "user", "content": prompt}],
        "stream": stream,
        "stream_options": {"include_usage": true},
    })
}

async fn post(client: &reqwest::Client, url: &str, body: &Value) -> (u16, String, String) {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (status, content_type, response.text().await.unwrap())
}

async fn json_body(response: reqwest::Response) -> Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

/// SSE events as (event name, data) pairs; the mock always ends events with a blank line.
fn sse(body: &str) -> Vec<(Option<String>, String)> {
    body.split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|event| {
            let mut name = None;
            let mut data = String::new();
            for line in event.lines() {
                if let Some(n) = line.strip_prefix("event: ") {
                    name = Some(n.to_owned());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push_str(d);
                }
            }
            (name, data)
        })
        .collect()
}

fn json_of(data: &str) -> Value {
    serde_json::from_str(data).unwrap_or_else(|e| panic!("{e}: {data}"))
}

/// Chunks of an OpenAI stream before `[DONE]`, asserting `[DONE]` is last.
fn openai_chunks(body: &str) -> Vec<Value> {
    let events = sse(body);
    assert_eq!(events.last().unwrap().1, "[DONE]", "{body}");
    events[..events.len() - 1]
        .iter()
        .map(|(_, d)| json_of(d))
        .collect()
}

#[tokio::test]
async fn openai_chat_streams_role_tokens_finish_usage_done() {
    let server = start("instant,tokens=5").await;
    let client = client();
    let url = endpoint(&server, Protocol::OpenAiChat);
    let (status, content_type, body) = post(&client, &url, &chat_body("hello there", true)).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/event-stream"));
    let chunks = openai_chunks(&body);
    assert_eq!(chunks.len(), 1 + 5 + 1 + 1);
    for chunk in &chunks {
        assert!(chunk["id"].as_str().unwrap().starts_with("chatcmpl-mock-"));
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert!(chunk["created"].is_u64());
        assert_eq!(chunk["model"], "mock-model");
    }
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    for chunk in &chunks[1..6] {
        let text = chunk["choices"][0]["delta"]["content"].as_str().unwrap();
        assert!(text.starts_with(' ') && text.len() > 1, "{text:?}");
        assert!(chunk["choices"][0]["finish_reason"].is_null());
    }
    assert_eq!(chunks[6]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[7]["choices"], json!([]));
    let usage = &chunks[7]["usage"];
    assert_eq!(usage["completion_tokens"], 5);
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["prompt_tokens"].as_u64().unwrap() + 5
    );
    assert!(usage.get("completion_tokens_details").is_none());
}

#[tokio::test]
async fn openai_chat_without_include_usage_has_no_usage_chunk() {
    let server = start("instant,tokens=2").await;
    let body =
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": true});
    let (_, _, text) = post(&client(), &endpoint(&server, Protocol::OpenAiChat), &body).await;
    let chunks = openai_chunks(&text);
    assert_eq!(chunks.len(), 1 + 2 + 1);
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
}

#[tokio::test]
async fn openai_chat_reasoning_comes_first_and_is_counted() {
    let server = start("thinker,ttft=0,itl=0,tokens=4,reasoning=3").await;
    let url = endpoint(&server, Protocol::OpenAiChat);
    let (_, _, body) = post(&client(), &url, &chat_body("why", true)).await;
    let chunks = openai_chunks(&body);
    let deltas: Vec<&Value> = chunks[1..8]
        .iter()
        .map(|c| &c["choices"][0]["delta"])
        .collect();
    assert!(
        deltas[..3]
            .iter()
            .all(|d| d["reasoning_content"].is_string() && d.get("content").is_none())
    );
    assert!(deltas[3..].iter().all(|d| d["content"].is_string()));
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(usage["completion_tokens"], 7);
    assert_eq!(usage["completion_tokens_details"]["reasoning_tokens"], 3);
}

#[tokio::test]
async fn openai_chat_non_streaming_is_one_completion() {
    let server = start("thinker,ttft=0,itl=0,tokens=4,reasoning=2").await;
    let url = endpoint(&server, Protocol::OpenAiChat);
    let (status, content_type, body) = post(&client(), &url, &chat_body("hi", false)).await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let body = json_of(&body);
    assert_eq!(body["object"], "chat.completion");
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-mock-"));
    let message = &body["choices"][0]["message"];
    assert_eq!(message["role"], "assistant");
    assert_eq!(
        message["content"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .count(),
        4
    );
    assert_eq!(
        message["reasoning_content"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .count(),
        2
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["usage"]["completion_tokens"], 6);
}

#[tokio::test]
async fn legacy_completions_stream_and_whole() {
    let server = start("instant,tokens=3,chunk=2").await;
    let client = client();
    let url = endpoint(&server, Protocol::OpenAiCompletions);
    let ask =
        |stream| json!({"model": "m", "prompt": "Once upon", "max_tokens": 50, "stream": stream});
    let (_, _, body) = post(&client, &url, &ask(true)).await;
    let chunks = openai_chunks(&body);
    // Two chunks of text (2 + 1 tokens) then the finish; no role chunk, no usage asked.
    assert_eq!(chunks.len(), 3);
    assert!(chunks.iter().all(|c| c["object"] == "text_completion"));
    assert!(chunks[0]["id"].as_str().unwrap().starts_with("cmpl-mock-"));
    assert_eq!(
        chunks[0]["choices"][0]["text"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .count(),
        2
    );
    assert_eq!(chunks[2]["choices"][0]["finish_reason"], "stop");
    let (_, _, body) = post(&client, &url, &ask(false)).await;
    let body = json_of(&body);
    assert_eq!(
        body["choices"][0]["text"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .count(),
        3
    );
    assert_eq!(body["usage"]["completion_tokens"], 3);
}

#[tokio::test]
async fn anthropic_streams_named_events_with_thinking_first() {
    let server = start("thinker,ttft=0,itl=0,tokens=3,reasoning=2").await;
    let body = json!({"model": "claude-mock", "max_tokens": 100, "stream": true,
        "system": "be brief", "messages": [{"role": "user", "content": "hello"}]});
    let (status, content_type, text) =
        post(&client(), &endpoint(&server, Protocol::Anthropic), &body).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/event-stream"));
    let events = sse(&text);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_deref().unwrap()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    );
    let data: Vec<Value> = events.iter().map(|(_, d)| json_of(d)).collect();
    for (name, value) in names.iter().zip(&data) {
        assert_eq!(value["type"], *name);
    }
    let message = &data[0]["message"];
    assert!(message["id"].as_str().unwrap().starts_with("msg_mock_"));
    assert_eq!(message["model"], "claude-mock");
    assert!(message["usage"]["input_tokens"].as_u64().unwrap() >= 1);
    assert_eq!(data[1]["content_block"]["type"], "thinking");
    assert_eq!(data[3]["delta"]["type"], "thinking_delta");
    assert_eq!(data[5]["delta"]["type"], "signature_delta");
    assert_eq!(data[7]["content_block"]["type"], "text");
    assert_eq!(data[8]["delta"]["type"], "text_delta");
    assert_eq!(data[8]["index"], 1);
    assert_eq!(data[12]["delta"]["stop_reason"], "end_turn");
    assert_eq!(data[12]["usage"]["output_tokens"], 5);
}

#[tokio::test]
async fn anthropic_whole_message() {
    let server = start("instant,tokens=4").await;
    let body =
        json!({"model": "c", "max_tokens": 2, "messages": [{"role": "user", "content": "hi"}]});
    let (status, _, text) = post(&client(), &endpoint(&server, Protocol::Anthropic), &body).await;
    assert_eq!(status, 200);
    let message = json_of(&text);
    assert_eq!(message["type"], "message");
    assert_eq!(message["content"][0]["type"], "text");
    assert_eq!(
        message["content"][0]["text"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .count(),
        2
    );
    assert_eq!(message["stop_reason"], "max_tokens");
    assert_eq!(message["usage"]["output_tokens"], 2);
}

#[tokio::test]
async fn ollama_streams_ndjson_by_default_and_answers_whole_when_asked() {
    let server = start("thinker,ttft=0,itl=0,tokens=3,reasoning=1").await;
    let client = client();
    let url = endpoint(&server, Protocol::Ollama);
    let body = json!({"model": "llama3", "messages": [{"role": "user", "content": "hi"}]});
    let (status, content_type, text) = post(&client, &url, &body).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/x-ndjson")
    );
    let lines: Vec<Value> = text.lines().map(json_of).collect();
    assert_eq!(lines.len(), 1 + 3 + 1);
    assert!(lines[0]["message"]["thinking"].is_string());
    for line in &lines[..4] {
        assert_eq!(
            (line["model"].as_str(), line["done"].as_bool()),
            (Some("llama3"), Some(false))
        );
        assert!(line["created_at"].is_string());
    }
    assert!(
        lines[1]["message"]["content"]
            .as_str()
            .unwrap()
            .starts_with(' ')
    );
    let done = &lines[4];
    assert_eq!(
        (done["done"].as_bool(), done["done_reason"].as_str()),
        (Some(true), Some("stop"))
    );
    assert_eq!(done["eval_count"], 4);
    for field in [
        "prompt_eval_count",
        "prompt_eval_duration",
        "eval_duration",
        "load_duration",
        "total_duration",
    ] {
        assert!(done[field].is_u64(), "{field}");
    }

    let whole = json!({"model": "llama3", "stream": false, "options": {"num_predict": 2},
        "messages": [{"role": "user", "content": "hi"}]});
    let (_, content_type, text) = post(&client, &url, &whole).await;
    assert_eq!(content_type, "application/json");
    let body = json_of(&text);
    assert_eq!(
        (body["done"].as_bool(), body["done_reason"].as_str()),
        (Some(true), Some("length"))
    );
    assert_eq!(body["eval_count"], 2);
}

#[tokio::test]
async fn max_tokens_caps_every_protocol() {
    let server = start("instant,tokens=50").await;
    let client = client();
    let msgs = json!([{"role": "user", "content": "count"}]);
    let cases = [
        (
            Protocol::OpenAiChat,
            json!({"messages": msgs, "max_tokens": 7}),
        ),
        (
            Protocol::OpenAiChat,
            json!({"messages": msgs, "max_tokens": 40, "max_completion_tokens": 7}),
        ),
        (
            Protocol::OpenAiCompletions,
            json!({"prompt": "count", "max_tokens": 7}),
        ),
        (
            Protocol::Anthropic,
            json!({"messages": msgs, "max_tokens": 7}),
        ),
        (
            Protocol::Ollama,
            json!({"messages": msgs, "stream": false, "options": {"num_predict": 7}}),
        ),
        (
            Protocol::Responses,
            json!({"input": msgs, "max_output_tokens": 7}),
        ),
        (
            Protocol::Gemini,
            json!({"contents": [{"role": "user", "parts": [{"text": "count"}]}],
                   "generationConfig": {"maxOutputTokens": 7}}),
        ),
    ];
    for (protocol, body) in cases {
        let (_, _, text) = post(&client, &endpoint(&server, protocol), &body).await;
        let v = json_of(&text);
        let output = match protocol {
            Protocol::Anthropic | Protocol::Responses => &v["usage"]["output_tokens"],
            Protocol::Ollama => &v["eval_count"],
            Protocol::Gemini => &v["usageMetadata"]["candidatesTokenCount"],
            _ => &v["usage"]["completion_tokens"],
        };
        assert_eq!(output, 7, "{protocol:?}: {text}");
        let words = match protocol {
            Protocol::OpenAiChat => v["choices"][0]["message"]["content"].as_str(),
            Protocol::OpenAiCompletions => v["choices"][0]["text"].as_str(),
            Protocol::Anthropic => v["content"][0]["text"].as_str(),
            Protocol::Ollama => v["message"]["content"].as_str(),
            Protocol::Responses => v["output"][0]["content"][0]["text"].as_str(),
            Protocol::Gemini => v["candidates"][0]["content"]["parts"][0]["text"].as_str(),
            Protocol::Bedrock => unreachable!("Bedrock is checked in tests/e2e/bedrock.rs"),
            Protocol::OpenAiEmbeddings => {
                unreachable!("embeddings are checked in tests/e2e/embeddings.rs")
            }
        };
        assert_eq!(words.unwrap().split_whitespace().count(), 7, "{protocol:?}");
    }
}

#[tokio::test]
async fn same_request_same_answer_other_prompt_other_answer() {
    let server = start("turbo,ttft=0,itl=0").await;
    let client = client();
    let url = endpoint(&server, Protocol::OpenAiChat);
    let (_, _, a) = post(&client, &url, &chat_body("tell me a story", true)).await;
    let (_, _, b) = post(&client, &url, &chat_body("tell me a story", true)).await;
    let (_, _, c) = post(&client, &url, &chat_body("tell me a joke", true)).await;
    // Only the response id (the request's sequence number) differs.
    let normalise = |s: &str| {
        let id = json_of(&sse(s)[0].1)["id"].as_str().unwrap().to_owned();
        s.replace(&id, "ID")
    };
    assert_eq!(normalise(&a), normalise(&b));
    assert_ne!(normalise(&a), normalise(&c));
    // Another server with the same seed says the same.
    let again = start("turbo,ttft=0,itl=0").await;
    let (_, _, d) = post(
        &client,
        &endpoint(&again, Protocol::OpenAiChat),
        &chat_body("tell me a story", true),
    )
    .await;
    let content = |s: &str| {
        openai_chunks(s)
            .iter()
            .filter_map(|c| {
                c["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect::<String>()
    };
    assert_eq!(content(&a), content(&d));
}

#[tokio::test]
async fn keep_alive_reuses_one_connection() {
    let server = start("instant,tokens=3").await;
    let client = client();
    let url = endpoint(&server, Protocol::OpenAiChat);
    post(&client, &url, &chat_body("one", true)).await;
    post(&client, &url, &chat_body("two", false)).await;
    let stats = server.stats();
    assert_eq!(stats.connections_accepted, 1);
    assert_eq!(stats.connections_open, 1);
    assert_eq!(stats.requests, 2);
}

#[tokio::test]
async fn timed_streams_record_their_lateness() {
    // Small real delays exercise the timer path; nothing here asserts a duration.
    let server = start("steady,ttft=2ms,itl=1ms~0.2ms,tokens=6,chunk=2").await;
    let client = client();
    let (_, _, body) = post(
        &client,
        &endpoint(&server, Protocol::OpenAiChat),
        &chat_body("x", true),
    )
    .await;
    assert_eq!(openai_chunks(&body).len(), 1 + 3 + 2);
    let stats = server.stats();
    assert!(stats.write_lateness.samples >= 1);
    assert_eq!(stats.first_content_lateness.samples, 1);
    assert_eq!(stats.recent.len(), 1);
    let first = stats.recent[0];
    assert_eq!(first.request, 1);
    assert!(first.written >= first.due && first.due > first.arrived);
}

#[tokio::test]
async fn stats_route_reports_per_request_lateness_for_benchmarks() {
    let server = start("steady,ttft=2ms,itl=1ms,tokens=3").await;
    let client = client();
    let url = endpoint(&server, Protocol::OpenAiChat);
    post(&client, &url, &chat_body("one", true)).await;
    post(&client, &url, &chat_body("two", true)).await;
    let stats = json_body(
        client
            .get(format!("http://{}/mock/stats", server.addr()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(stats["requests"], 3, "two generations and this GET");
    assert_eq!(stats["first_content_lateness_us"]["samples"], 2);
    let recent = stats["recent"].as_array().unwrap();
    assert_eq!(recent.len(), 2);
    for (r, seq) in recent.iter().zip([1, 2]) {
        assert_eq!(r["request"], seq);
        let at = |k: &str| r[k].as_u64().unwrap();
        assert!(at("arrived_us") < at("due_us") && at("due_us") <= at("written_us"));
    }
    // The first request was the first generation: stamped one after the other.
    let first = stats["first_request_unix_us"].as_u64().unwrap();
    assert!(stats["first_generation_unix_us"].as_u64().unwrap() >= first);
}

#[tokio::test]
async fn side_endpoints_and_http_errors() {
    let server = start("instant").await;
    let client = client();
    let base = format!("http://{}", server.addr());
    let models = json_body(
        client
            .get(format!("{base}/v1/models"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(models["object"], "list");
    let tags = json_body(client.get(format!("{base}/api/tags")).send().await.unwrap()).await;
    assert!(tags["models"].is_array());

    let missing = client
        .get(format!("{base}/v2/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert!(json_body(missing).await["error"]["message"].is_string());
    let wrong_method = client
        .get(endpoint(&server, Protocol::OpenAiChat))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);

    for protocol in [
        Protocol::OpenAiChat,
        Protocol::OpenAiCompletions,
        Protocol::Anthropic,
        Protocol::Ollama,
        Protocol::Responses,
    ] {
        let response = client
            .post(endpoint(&server, protocol))
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{protocol:?}");
        let error = json_body(response).await;
        match protocol {
            Protocol::Anthropic => assert_eq!(error["error"]["type"], "invalid_request_error"),
            Protocol::Ollama => assert!(error["error"].is_string()),
            _ => assert!(error["error"]["message"].is_string()),
        }
    }
}

#[tokio::test]
async fn plain_http_request_on_a_raw_socket() {
    let server = start("instant,tokens=2").await;
    let mut socket = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let body = r#"{"messages":[{"role":"user","content":"hi"}]}"#;
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: mock\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.contains("x-request-id: mock-1\r\n"));
    assert!(response.contains("\"object\":\"chat.completion\""));
}

#[tokio::test]
async fn refuses_non_loopback_addresses() {
    let addr: SocketAddr = "0.0.0.0:0".parse().unwrap();
    let error = MockServer::start(addr, Profile::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(error, MockError::NotLoopback { .. }));
    let message = error.to_string();
    assert!(
        message.contains("0.0.0.0") && message.contains("allow_non_loopback"),
        "{message}"
    );
}

#[tokio::test]
async fn base_urls_follow_each_protocol() {
    let server = start("instant").await;
    let port = server.addr().port();
    assert_eq!(
        server.base_url(Protocol::OpenAiChat),
        format!("http://127.0.0.1:{port}/v1")
    );
    assert_eq!(
        server.base_url(Protocol::Anthropic),
        format!("http://127.0.0.1:{port}/v1")
    );
    assert_eq!(
        server.base_url(Protocol::Ollama),
        format!("http://127.0.0.1:{port}")
    );
    server.shutdown().await;
}
