//! Races of the `gemini` protocol over real HTTP on 127.0.0.1: against the built-in mock
//! (usage, reasoning, faults classified), and against a scripted server that answers with a
//! recorded safety block, which fails as `blocked`, while the key goes in `x-goog-api-key`
//! and nowhere else.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::common::race::{race_config, records, run};
use crate::common::running::{self, BIN, check_accounting};
use llmrace::event::{ErrorClass, TokenSource};
use llmrace::stats::Outcome;

#[tokio::test]
async fn a_gemini_race_reads_usage_streaming_and_not() {
    for stream in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = race_config(
            &["g=gemini:mock://instant,tokens=12#gemini-2.5-flash"],
            4,
            2,
        );
        config.workload.stream = stream;
        let outcome = run(config, dir.path()).await;
        let e = &outcome.summary.endpoints[0];
        assert_eq!(e.counts.succeeded, 4, "stream={stream}: {:?}", e.errors);
        for r in records(dir.path()) {
            assert_eq!(r.outcome, Outcome::Succeeded);
            assert_eq!(r.output_tokens, Some(12), "{r:?}");
            assert_eq!(r.output_tokens_source, Some(TokenSource::Usage));
            assert_eq!(r.input_tokens_source, Some(TokenSource::Usage));
            assert!(r.input_tokens.unwrap_or(0) > 0, "{r:?}");
            assert_eq!(r.finish_reason.as_deref(), Some("STOP"));
            assert_eq!(r.usage_reported.get("candidatesTokenCount"), Some(&12));
            assert!(r.ttft_ms.unwrap() <= r.ttlt_ms.unwrap());
        }
    }
}

#[tokio::test]
async fn thoughts_are_reasoning_and_counted_in_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let config = race_config(
        &["t=gemini:mock://instant,tokens=8,reasoning=5#gemini-2.5-pro"],
        2,
        1,
    );
    run(config, dir.path()).await;
    for r in records(dir.path()) {
        assert_eq!(r.outcome, Outcome::Succeeded, "{r:?}");
        let thoughts = r.reasoning_tokens.unwrap();
        assert!(thoughts > 0, "{r:?}");
        // Gemini's candidates count leaves the thoughts out; the output has both.
        let candidates = r.usage_reported["candidatesTokenCount"];
        assert_eq!(r.usage_reported.get("thoughtsTokenCount"), Some(&thoughts));
        assert_eq!(r.output_tokens, Some(candidates + thoughts), "{r:?}");
        assert!(r.ttfa_ms.unwrap() >= r.ttft_ms.unwrap(), "{r:?}");
    }
}

#[tokio::test]
async fn the_same_prompt_counts_the_same_input_as_over_openai() {
    let dir = tempfile::tempdir().unwrap();
    let profile = "mock://instant,tokens=6,cache_read=8#m";
    let config = race_config(
        &[
            &format!("o=openai:{profile}"),
            &format!("g=gemini:{profile}"),
        ],
        3,
        1,
    );
    run(config, dir.path()).await;
    let records = records(dir.path());
    let of = |name: &str| {
        let mut v: Vec<_> = records.iter().filter(|r| r.endpoint_name == name).collect();
        v.sort_by_key(|r| r.prompt);
        v
    };
    for (o, g) in of("o").into_iter().zip(of("g")) {
        assert_eq!(o.prompt, g.prompt);
        assert_eq!(g.outcome, Outcome::Succeeded, "{g:?}");
        assert_eq!(g.input_tokens, o.input_tokens, "{g:?}");
        assert_eq!(g.cached_input_tokens, Some(8), "{g:?}");
    }
}

async fn fault_gives(fault: &str, class: ErrorClass, says: &str) {
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("g=gemini:mock://instant,tokens=12,fault={fault}#m");
    let outcome = run(race_config(&[&spec], 2, 1), dir.path()).await;
    let e = &outcome.summary.endpoints[0];
    assert_eq!(e.counts.failed, 2, "{fault}: {:?}", e.errors);
    assert_eq!(e.errors.get(&class), Some(&2), "{fault}: {:?}", e.errors);
    for r in records(dir.path()) {
        let message = r.error_message.unwrap_or_default();
        assert!(message.contains(says), "{fault}: {message}");
    }
    assert_eq!(check_accounting(dir.path())[0].1.failed, 2, "{fault}");
}

#[tokio::test]
async fn faults_are_classified() {
    fault_gives(
        "http_429",
        ErrorClass::RateLimited,
        "RESOURCE_EXHAUSTED: mock fault",
    )
    .await;
    fault_gives("http_503", ErrorClass::ServerError, "UNAVAILABLE").await;
    fault_gives("http_401", ErrorClass::Auth, "UNAUTHENTICATED").await;
    fault_gives(
        "error_mid_stream",
        ErrorClass::StreamError,
        "UNAVAILABLE: mock overloaded",
    )
    .await;
    fault_gives(
        "no_terminator",
        ErrorClass::StreamCut,
        "the stream ended before a finish reason",
    )
    .await;
    fault_gives("wrong_protocol", ErrorClass::Protocol, "Gemini").await;
    fault_gives("malformed_chunk", ErrorClass::Protocol, "not valid JSON").await;
}

const KEY: &str = "AIza-llmrace-fake-gemini-key-5d1c";

/// A server on 127.0.0.1 that answers every generation with `body` (SSE), a GET with an empty
/// model list, and keeps the request heads it read.
fn scripted(body: &'static str) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&heads);
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { break };
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || answer(client, body, &seen));
        }
    });
    (addr, heads)
}

fn answer(mut client: TcpStream, body: &str, seen: &Arc<Mutex<Vec<String>>>) {
    let mut read = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = read.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match client.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => read.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&read[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while read.len() < head_end + length {
        match client.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => read.extend_from_slice(&buf[..n]),
        }
    }
    let (content_type, body) = if head.starts_with("GET") {
        ("application/json", r#"{"models":[]}"#)
    } else {
        ("text/event-stream", body)
    };
    seen.lock().unwrap().push(head);
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = client.write_all(response.as_bytes());
}

#[test]
fn a_blocked_prompt_fails_as_blocked_and_the_key_goes_only_in_its_header() {
    let blocked = include_str!("../fixtures/streams/gemini/prompt-blocked.stream");
    let (addr, heads) = scripted(blocked);
    let out = tempfile::tempdir().unwrap();
    let spec = format!("g=gemini:http://{addr}#gemini-2.5-flash");
    let (code, output) = running::run_to_end(
        Command::new(BIN)
            .args(["race", "--headless", "-n", "2", "-c", "1", "-e", &spec])
            .args(["--api-key-env", "g=LLMRACE_TEST_GEMINI_KEY", "--out"])
            .arg(out.path())
            .env("LLMRACE_TEST_GEMINI_KEY", KEY)
            .env("NO_COLOR", "1"),
    );
    assert_eq!(code, 0, "{output}");
    let heads = heads.lock().unwrap().clone();
    let posts: Vec<&String> = heads.iter().filter(|h| h.starts_with("POST")).collect();
    assert_eq!(posts.len(), 2, "{heads:?}");
    for head in posts {
        assert!(
            head.starts_with(
                "POST /v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse HTTP/1.1\r\n"
            ),
            "{head}"
        );
        assert!(
            head.to_ascii_lowercase()
                .contains(&format!("x-goog-api-key: {}", KEY.to_ascii_lowercase())),
            "{head}"
        );
        assert!(!head.contains("key="), "{head}");
    }
    let records = records(out.path());
    assert_eq!(records.len(), 2);
    for r in &records {
        assert_eq!(r.outcome, Outcome::Failed, "{r:?}");
        assert_eq!(r.error_class, Some(ErrorClass::Blocked), "{r:?}");
        let message = r.error_message.as_deref().unwrap_or_default();
        assert!(message.contains("PROHIBITED_CONTENT"), "{message}");
        // The server counted the prompt: its count is kept.
        assert_eq!(r.input_tokens, Some(9), "{r:?}");
    }
    assert!(output.contains("blocked"), "{output}");
    assert!(!output.contains(KEY), "{output}");
    for entry in std::fs::read_dir(out.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let text = if path.extension().is_some_and(|e| e == "gz") {
            let mut text = Vec::new();
            let _ = flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_end(&mut text);
            text
        } else {
            bytes
        };
        assert!(
            !String::from_utf8_lossy(&text).contains(KEY),
            "{} holds the key",
            path.display()
        );
    }
}

#[tokio::test]
async fn a_sessions_later_turn_resends_the_answer_as_the_model_s_turn() {
    let profile = llmrace::mock::Profile::parse("instant,tokens=8").unwrap();
    let server = llmrace::mock::MockServer::start(([127, 0, 0, 1], 0).into(), profile)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spec = format!(
        "g=gemini:{}#gemini-2.5-flash",
        server.base_url(llmrace::protocol::Protocol::Gemini)
    );
    let mut config = race_config(&[&spec], 2, 1);
    config.workload.turns = 2;
    let outcome = run(config, dir.path()).await;
    let e = &outcome.summary.endpoints[0];
    assert_eq!(e.counts.succeeded, 2, "{:?}", e.errors);
    let bodies = server.received_bodies();
    let second: serde_json::Value = serde_json::from_slice(&bodies[1]).unwrap();
    let contents = second["contents"].as_array().unwrap();
    let roles: Vec<&str> = contents
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "model", "user"], "{second}");
    let answer = contents[1]["parts"][0]["text"].as_str().unwrap();
    assert!(!answer.is_empty(), "{second}");
    // The body carries nothing Gemini would refuse: the model and streaming are in the URL.
    assert!(second.get("model").is_none() && second.get("stream").is_none());
}
