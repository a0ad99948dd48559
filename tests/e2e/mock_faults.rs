//! Every mock fault over real HTTP on 127.0.0.1, for every protocol, streaming and not: forced
//! with `x-mock-fault` and drawn at rate 1.0. Hangs are told apart from answers by a short
//! silence guard; nothing asserts how long anything took.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use llmrace::mock::{Fault, MockServer, Profile};
use llmrace::protocol::Protocol;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;
use tokio::time::timeout;

/// The text protocols; Bedrock's binary frames are checked in `bedrock.rs`.
const PROTOCOLS: [Protocol; 6] = [
    Protocol::OpenAiChat,
    Protocol::OpenAiCompletions,
    Protocol::Anthropic,
    Protocol::Ollama,
    Protocol::Responses,
    Protocol::Gemini,
];
/// How long silence must last to count as a hang, for the faults that hang: long enough
/// that a busy machine does not pass for a hanging mock. It is waited only where the fault
/// promises silence (before the headers for `hang_before_headers`, once the mock holds the
/// requests; after the first bytes of the body for `hang_mid_stream`): everything the mock does promise is waited for up to
/// [`GUARD`], since on a loaded machine (some 200 requests at once, the huge bodies among
/// them) headers can take longer than this to come.
const SILENCE: Duration = Duration::from_secs(2);
/// Longer than anything a working mock takes, so a bug fails instead of hanging the suite.
const GUARD: Duration = Duration::from_secs(20);

async fn start(spec: &str) -> MockServer {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    MockServer::start(addr, Profile::parse(spec).unwrap())
        .await
        .unwrap()
}

/// One client for the whole test binary: building one loads the platform's TLS roots, which
/// is slow enough to look like a hang.
fn client() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
            reqwest::Client::new()
        })
        .clone()
}

fn request(server: &MockServer, protocol: Protocol, stream: bool) -> (String, Value) {
    let base = server.base_url(protocol);
    let messages = json!([{"role": "user", "content": "tell me something"}]);
    match protocol {
        Protocol::OpenAiChat => (
            format!("{base}/chat/completions"),
            json!({"model": "m", "messages": messages, "max_tokens": 5, "stream": stream,
                   "stream_options": {"include_usage": true}}),
        ),
        Protocol::OpenAiCompletions => (
            format!("{base}/completions"),
            json!({"model": "m", "prompt": "tell me", "max_tokens": 5, "stream": stream,
                   "stream_options": {"include_usage": true}}),
        ),
        Protocol::Anthropic => (
            format!("{base}/messages"),
            json!({"model": "m", "messages": messages, "max_tokens": 5, "stream": stream}),
        ),
        Protocol::Ollama => (
            format!("{base}/api/chat"),
            json!({"model": "m", "messages": messages, "stream": stream,
                   "options": {"num_predict": 5}}),
        ),
        Protocol::Responses => (
            format!("{base}/responses"),
            json!({"model": "m", "input": messages, "max_output_tokens": 5, "stream": stream}),
        ),
        Protocol::Gemini => (
            if stream {
                format!("{base}/v1beta/models/m:streamGenerateContent?alt=sse")
            } else {
                format!("{base}/v1beta/models/m:generateContent")
            },
            json!({"contents": [{"role": "user", "parts": [{"text": "tell me something"}]}],
                   "generationConfig": {"maxOutputTokens": 5}}),
        ),
        Protocol::Bedrock => {
            unreachable!("Bedrock is binary frames: its faults are checked in tests/e2e/bedrock.rs")
        }
        Protocol::OpenAiEmbeddings => {
            unreachable!(
                "embeddings are one JSON body: their faults are checked in tests/e2e/embeddings.rs"
            )
        }
    }
}

/// How long a client waits for the headers, and then, once the body's first bytes came,
/// between its bytes, before it takes the silence for a hang (the first bytes are waited for
/// up to [`GUARD`]).
#[derive(Clone, Copy, Debug)]
struct Patience {
    headers: Duration,
    body: Duration,
}

impl Patience {
    const PATIENT: Patience = Patience {
        headers: GUARD,
        body: GUARD,
    };
}

/// Silence is waited for in the body only where `fault` promises it there; the silence
/// before the headers that `hang_before_headers` promises is waited for in `run_matrix`,
/// once the mock holds the requests.
impl From<Fault> for Patience {
    fn from(fault: Fault) -> Patience {
        match fault {
            Fault::HangMidStream => Patience {
                headers: GUARD,
                body: SILENCE,
            },
            _ => Patience::PATIENT,
        }
    }
}

/// What a client saw.
#[derive(Debug)]
enum Seen {
    /// The connection closed before any response.
    NoResponse,
    /// No response headers within the silence guard.
    NoHeaders,
    Response {
        status: u16,
        content_type: String,
        retry_after: Option<String>,
        body: Vec<u8>,
        end: End,
    },
}

#[derive(Debug, PartialEq)]
enum End {
    Clean,
    Failed,
    Silent,
}

async fn observe(
    server: &MockServer,
    protocol: Protocol,
    stream: bool,
    fault: Option<Fault>,
    patience: Patience,
) -> Seen {
    let (url, body) = request(server, protocol, stream);
    let mut builder = client()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(fault) = fault {
        builder = builder.header("x-mock-fault", fault.name());
    }
    let mut response = match timeout(patience.headers, builder.send()).await {
        Err(_) => return Seen::NoHeaders,
        Ok(Err(_)) => return Seen::NoResponse,
        Ok(Ok(response)) => response,
    };
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (content_type, retry_after) = (
        header("content-type").unwrap_or_default(),
        header("retry-after"),
    );
    let status = response.status().as_u16();
    let mut body = Vec::new();
    let end = loop {
        let wait = if body.is_empty() {
            GUARD
        } else {
            patience.body
        };
        match timeout(wait, response.chunk()).await {
            Err(_) => break End::Silent,
            Ok(Err(_)) => break End::Failed,
            Ok(Ok(None)) => break End::Clean,
            Ok(Ok(Some(bytes))) => body.extend_from_slice(&bytes),
        }
    };
    Seen::Response {
        status,
        content_type,
        retry_after,
        body,
        end,
    }
}

/// The body's protocol events (SSE data or NDJSON lines), each parsed if it is JSON;
/// OpenAI's `[DONE]` is left out.
fn events(protocol: Protocol, text: &str) -> Vec<Result<Value, String>> {
    // Gemini separates its events with CRLFs, as Google's servers do.
    let text = &text.replace("\r\n", "\n");
    let pieces: Vec<String> = match protocol {
        Protocol::Ollama => text.lines().map(str::to_owned).collect(),
        _ => text
            .split("\n\n")
            .filter(|e| !e.is_empty())
            .map(|e| {
                e.lines()
                    .filter_map(|l| l.strip_prefix("data: "))
                    .collect::<String>()
            })
            .filter(|d| d != "[DONE]")
            .collect(),
    };
    pieces
        .iter()
        .map(|p| serde_json::from_str(p).map_err(|_| p.clone()))
        .collect()
}

/// The last few events of a long body, starting on an event boundary.
fn tail(text: &str) -> &str {
    let from = text.len().saturating_sub(4096);
    let boundary = text[from..].find('\n').map_or(0, |i| from + i + 1);
    let rest = &text[boundary..];
    // For SSE, also skip the remainder of the event the cut landed in.
    match rest.find("\n\n") {
        Some(i) if text.starts_with("data: ") || text.starts_with("event: ") => &rest[i + 2..],
        _ => rest,
    }
}

fn has_end_marker(protocol: Protocol, text: &str) -> bool {
    match protocol {
        Protocol::OpenAiChat | Protocol::OpenAiCompletions => text.ends_with("data: [DONE]\n\n"),
        Protocol::Anthropic => text.contains("event: message_stop\n"),
        Protocol::Ollama => text
            .lines()
            .last()
            .is_some_and(|l| l.contains("\"done\":true")),
        Protocol::Responses => {
            text.contains("event: response.completed\n")
                || text.contains("event: response.incomplete\n")
        }
        // Gemini has no end marker: the finishing chunk is the end.
        Protocol::Gemini => text.contains("\"finishReason\":\""),
        Protocol::Bedrock => {
            unreachable!("Bedrock is binary frames: its faults are checked in tests/e2e/bedrock.rs")
        }
        Protocol::OpenAiEmbeddings => {
            unreachable!(
                "embeddings are one JSON body: their faults are checked in tests/e2e/embeddings.rs"
            )
        }
    }
}

fn content_pieces(protocol: Protocol, events: &[Result<Value, String>]) -> usize {
    events
        .iter()
        .filter_map(|e| e.as_ref().ok())
        .filter(|e| match protocol {
            Protocol::OpenAiChat => e["choices"][0]["delta"]["content"]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            Protocol::OpenAiCompletions => e["choices"][0]["text"]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            Protocol::Anthropic => {
                e["type"] == "content_block_delta" && e["delta"]["type"] == "text_delta"
            }
            Protocol::Ollama => e["message"]["content"]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            Protocol::Responses => e["type"] == "response.output_text.delta",
            Protocol::Gemini => {
                let part = &e["candidates"][0]["content"]["parts"][0];
                part["thought"] != true && part["text"].as_str().is_some_and(|s| !s.is_empty())
            }
            Protocol::Bedrock | Protocol::OpenAiEmbeddings => unreachable!(
                "checked elsewhere: Bedrock in tests/e2e/bedrock.rs, embeddings in tests/e2e/embeddings.rs"
            ),
        })
        .count()
}

/// The output token count the body reports, wherever its protocol puts it.
fn reported_output(protocol: Protocol, events: &[Result<Value, String>]) -> Option<u64> {
    events
        .iter()
        .filter_map(|e| e.as_ref().ok())
        .rev()
        .find_map(|e| match protocol {
            Protocol::OpenAiChat | Protocol::OpenAiCompletions => {
                e["usage"]["completion_tokens"].as_u64()
            }
            Protocol::Anthropic => e["usage"]["output_tokens"]
                .as_u64()
                .filter(|_| e["type"] != "message_start"),
            Protocol::Ollama => e["eval_count"].as_u64(),
            Protocol::Responses => e["response"]["usage"]["output_tokens"]
                .as_u64()
                .or_else(|| e["usage"]["output_tokens"].as_u64()),
            Protocol::Gemini => {
                let usage = &e["usageMetadata"];
                let thoughts = usage["thoughtsTokenCount"].as_u64().unwrap_or(0);
                usage["candidatesTokenCount"].as_u64().map(|c| c + thoughts)
            }
            Protocol::Bedrock | Protocol::OpenAiEmbeddings => unreachable!(
                "checked elsewhere: Bedrock in tests/e2e/bedrock.rs, embeddings in tests/e2e/embeddings.rs"
            ),
        })
}

fn is_error_shape(protocol: Protocol, v: &Value) -> bool {
    match protocol {
        Protocol::Anthropic => v["type"] == "error" && v["error"]["message"].is_string(),
        Protocol::Ollama => v["error"].is_string(),
        // An in-stream `error` event; its HTTP error bodies are OpenAI's.
        Protocol::Responses if v["type"] == "error" => v["message"].is_string(),
        _ => v["error"]["message"].is_string(),
    }
}

/// Checks what a client saw against what `fault` promises.
#[expect(
    clippy::too_many_lines,
    reason = "one arm per fault: every fault's promise is read in one place, beside the others"
)]
fn check(protocol: Protocol, stream: bool, fault: Fault, seen: &Seen) {
    let case = format!("{protocol:?} stream={stream} {fault}: {seen:?}");
    let expected_status = match fault {
        Fault::Http429 => Some(429),
        Fault::Http500 => Some(500),
        Fault::Http503 => Some(503),
        Fault::Http401 => Some(401),
        Fault::Http400 => Some(400),
        _ => None,
    };
    match fault {
        Fault::ResetBeforeHeaders => return assert!(matches!(seen, Seen::NoResponse), "{case}"),
        Fault::HangBeforeHeaders => return assert!(matches!(seen, Seen::NoHeaders), "{case}"),
        _ => {}
    }
    let Seen::Response {
        status,
        content_type,
        retry_after,
        body,
        end,
    } = seen
    else {
        panic!("no response: {case}");
    };
    if let Some(expected) = expected_status {
        assert_eq!(*status, expected, "{case}");
        assert_eq!(*end, End::Clean, "{case}");
        let error: Value = serde_json::from_slice(body).unwrap();
        assert!(is_error_shape(protocol, &error), "{case}");
        assert_eq!(retry_after.is_some(), fault == Fault::Http429, "{case}");
        return;
    }
    assert_eq!(*status, 200, "{case}");
    let text = String::from_utf8_lossy(body);
    // A huge body is only read at its end: parsing 100k events would dominate the suite.
    let events = if fault == Fault::Huge {
        events(protocol, tail(&text))
    } else {
        events(protocol, &text)
    };
    let whole: Option<Value> = serde_json::from_slice(body).ok();
    match fault {
        Fault::Html => {
            assert!(
                content_type.starts_with("text/html") && text.contains("<html>"),
                "{case}"
            );
        }
        Fault::WrongProtocol => match protocol {
            Protocol::Bedrock | Protocol::OpenAiEmbeddings => unreachable!(
                "checked elsewhere: Bedrock in tests/e2e/bedrock.rs, embeddings in tests/e2e/embeddings.rs"
            ),
            Protocol::OpenAiChat
            | Protocol::OpenAiCompletions
            | Protocol::Responses
            | Protocol::Gemini => {
                assert_eq!(whole.unwrap()["type"], "message", "{case}");
            }
            Protocol::Anthropic => {
                assert_eq!(whole.unwrap()["object"], "chat.completion", "{case}");
            }
            Protocol::Ollama => {
                assert!(
                    content_type.starts_with("text/event-stream") && text.starts_with("data: "),
                    "{case}"
                );
            }
        },
        Fault::MalformedChunk => {
            assert_eq!(*end, End::Clean, "{case}");
            if stream {
                assert_eq!(events.iter().filter(|e| e.is_err()).count(), 1, "{case}");
                assert!(has_end_marker(protocol, &text), "{case}");
            } else {
                assert!(whole.is_none(), "{case}");
            }
        }
        Fault::InvalidUtf8 => {
            assert_eq!(*end, End::Clean, "{case}");
            assert!(std::str::from_utf8(body).is_err(), "{case}");
            assert!(!stream || has_end_marker(protocol, &text), "{case}");
        }
        Fault::NoTerminator => {
            assert_eq!(*end, End::Clean, "{case}");
            if stream {
                assert!(!has_end_marker(protocol, &text), "{case}");
                assert!(events.iter().all(Result::is_ok), "{case}");
                assert_eq!(content_pieces(protocol, &events), 5, "{case}");
                assert_eq!(reported_output(protocol, &events), None, "{case}");
                assert!(
                    !text.contains("\"finish_reason\":\"") && !text.contains("done_reason"),
                    "{case}"
                );
            } else {
                assert!(whole.is_none(), "{case}");
            }
        }
        Fault::ErrorMidStream => {
            assert_eq!(*end, End::Clean, "{case}");
            let last = if stream {
                events.last().unwrap().clone().unwrap()
            } else {
                whole.unwrap()
            };
            assert!(is_error_shape(protocol, &last), "{case}");
            if stream {
                assert!(!has_end_marker(protocol, &text), "{case}");
                assert_eq!(content_pieces(protocol, &events), 3, "{case}");
                assert_eq!(
                    matches!(protocol, Protocol::Anthropic | Protocol::Responses),
                    text.contains("event: error\n"),
                    "{case}"
                );
            }
        }
        Fault::ResetMidStream | Fault::HangMidStream => {
            let expected_end = if fault == Fault::ResetMidStream {
                End::Failed
            } else {
                End::Silent
            };
            assert_eq!(*end, expected_end, "{case}");
            assert!(!body.is_empty(), "{case}");
            if stream {
                assert_eq!(content_pieces(protocol, &events), 3, "{case}");
            }
        }
        // A request that asks for no JSON gets a plain answer.
        Fault::SlowHeaders | Fault::Huge | Fault::ZeroUsage | Fault::BadJson => {
            assert_eq!(*end, End::Clean, "{case}");
            let output = match fault {
                Fault::Huge => 100_000,
                Fault::ZeroUsage => 0,
                _ => 5,
            };
            if stream && fault == Fault::ZeroUsage {
                // The whole answer arrives; only its count is wrong.
                assert_eq!(content_pieces(protocol, &events), 5, "{case}");
            }
            let events = if stream {
                events
            } else {
                vec![Ok(whole.unwrap())]
            };
            assert_eq!(reported_output(protocol, &events), Some(output), "{case}");
            assert!(!stream || has_end_marker(protocol, &text), "{case}");
        }
        _ => unreachable!("{case}"),
    }
}

/// Each fault's cases: every protocol, streaming and not.
const CASES_PER_FAULT: u64 = (PROTOCOLS.len() * 2) as u64;

/// How many requests the mock struck with `fault`.
fn counted(stats: &llmrace::mock::MockStats, fault: Fault) -> u64 {
    stats
        .faults_by_kind
        .iter()
        .find(|(f, _)| *f == fault)
        .map_or(0, |(_, n)| *n)
}

/// Runs every fault for every protocol, streaming and not, all at once (hangs overlap).
async fn run_matrix(forced: bool) {
    let mut cases = JoinSet::new();
    let header_server = Arc::new(start("instant,tokens=8,header_delay=1ms").await);
    let mut servers = Vec::new();
    for fault in Fault::ALL {
        let server = if forced {
            Arc::clone(&header_server)
        } else {
            let spec = format!("instant,tokens=8,header_delay=1ms,fault={fault}:1.0");
            Arc::new(start(&spec).await)
        };
        servers.push((fault, Arc::clone(&server)));
        for protocol in PROTOCOLS {
            for stream in [true, false] {
                let server = Arc::clone(&server);
                cases.spawn(async move {
                    let forced = forced.then_some(fault);
                    let observing = observe(&server, protocol, stream, forced, fault.into());
                    let seen = if fault == Fault::HangBeforeHeaders {
                        // The silence counts once the mock holds every request of this fault:
                        // on a loaded machine a request can take longer than it to arrive.
                        let silent = async {
                            server
                                .counted(|s| counted(s, fault) == CASES_PER_FAULT)
                                .await;
                            tokio::time::sleep(SILENCE).await;
                        };
                        tokio::select! {
                            seen = observing => seen,
                            () = silent => Seen::NoHeaders,
                        }
                    } else {
                        observing.await
                    };
                    check(protocol, stream, fault, &seen);
                });
            }
        }
    }
    while let Some(done) = timeout(GUARD, cases.join_next()).await.unwrap() {
        done.unwrap();
    }
    // Every request is counted, with its fault, before any response leaves.
    let cases_per_fault = CASES_PER_FAULT;
    if forced {
        let stats = header_server.stats();
        assert_eq!(stats.faults_by_kind.len(), Fault::ALL.len());
        assert!(
            stats
                .faults_by_kind
                .iter()
                .all(|(_, n)| *n == cases_per_fault),
            "{stats:?}"
        );
    } else {
        for (fault, server) in servers {
            let stats = server.stats();
            assert_eq!(
                stats.faults_by_kind,
                vec![(fault, cases_per_fault)],
                "{fault}"
            );
            assert_eq!(stats.requests, cases_per_fault, "{fault}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_forced_by_header() {
    run_matrix(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_at_rate_one() {
    run_matrix(false).await;
}

async fn raw_exchange(server: &MockServer, fault: &str) -> Vec<u8> {
    let mut socket = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let body = r#"{"messages":[{"role":"user","content":"hi"}],"stream":true}"#;
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: mock\r\nx-mock-fault: {fault}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let _ = timeout(GUARD, socket.read_to_end(&mut response))
        .await
        .unwrap();
    response
}

#[tokio::test]
async fn resets_close_the_socket_at_the_wire() {
    let server = start("instant,tokens=8").await;
    assert!(
        raw_exchange(&server, "reset_before_headers")
            .await
            .is_empty()
    );
    let cut = String::from_utf8(raw_exchange(&server, "reset_mid_stream").await).unwrap();
    assert!(cut.starts_with("HTTP/1.1 200 OK\r\n") && cut.contains("transfer-encoding: chunked"));
    // A chunked body that ended properly finishes with a zero-size chunk; this one did not.
    assert!(!cut.ends_with("\r\n0\r\n\r\n"), "{cut}");
    assert_eq!(cut.matches("\"content\":\" ").count(), 3, "{cut}");
}

#[tokio::test]
async fn unknown_fault_header_is_a_clear_400() {
    let server = start("instant").await;
    let (url, body) = request(&server, Protocol::OpenAiChat, true);
    let response = client()
        .post(url)
        .header("x-mock-fault", "gremlins")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("gremlins") && text.contains("hang_mid_stream"),
        "{text}"
    );
}

#[tokio::test]
async fn shutdown_closes_hanging_connections() {
    let server = start("instant,tokens=8").await;
    let (url, body) = request(&server, Protocol::OpenAiChat, true);
    let mut response = client()
        .post(url)
        .header("x-mock-fault", "hang_mid_stream")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    // The first bytes prove the request is being served before the server goes.
    assert!(response.chunk().await.unwrap().is_some());
    timeout(GUARD, server.shutdown()).await.unwrap();
    let rest = timeout(GUARD, async {
        loop {
            match response.chunk().await {
                Ok(Some(_)) => {}
                Ok(None) => break true,
                Err(_) => break false,
            }
        }
    })
    .await
    .unwrap();
    // A chunked body cut off by the server's close is an error, never a clean end.
    assert!(!rest);
}

#[tokio::test]
async fn flaky_profile_mixes_faults_reproducibly() {
    let run = || async {
        let server = start("flaky,ttft=0,itl=0,tokens=4").await;
        let mut statuses = Vec::new();
        for _ in 0..60 {
            let seen = observe(
                &server,
                Protocol::OpenAiChat,
                false,
                None,
                Patience::PATIENT,
            )
            .await;
            statuses.push(match seen {
                Seen::Response { status, end, .. } => format!("{status}/{end:?}"),
                other => format!("{other:?}"),
            });
        }
        (statuses, server.stats().faults_by_kind)
    };
    let (first, faults) = run().await;
    let (second, again) = run().await;
    assert_eq!(first, second);
    assert_eq!(faults, again);
    assert!(first.iter().any(|s| s != "200/Clean"), "{first:?}");
}
