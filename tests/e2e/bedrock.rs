//! AWS Bedrock (`ConverseStream`) end to end against the built-in mock on 127.0.0.1: races
//! streamed and not, with the server's usage and `latencyMs` on every record; faults
//! classified (an exception frame mid-stream, a 429 body); the real binary signing with fake
//! credentials set in its own environment only, which never reach a file or its output; and
//! a setup error naming the variables when there are none.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use crate::common::race::{race_config, records, run};
use crate::common::running::{BIN, check_accounting, run_to_end};
use llmrace::event::{ErrorClass, TokenSource};
use llmrace::mock::{MockServer, Profile};
use llmrace::protocol::Protocol;
use llmrace::stats::Outcome;

const MODEL: &str = "anthropic.claude-3-5-haiku-20241022-v1:0";
const ACCESS_KEY: &str = "AKIDLLMRACETEST0001";
const SECRET_KEY: &str = "llmrace-fake-secret-key-7f3c9a1e55d2";
const SESSION_TOKEN: &str = "llmrace-fake-session-token-0b8e4d7c21";

const AWS_VARS: [&str; 7] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_BEARER_TOKEN_BEDROCK",
    "AWS_PROFILE",
];

async fn race_bedrock(stream: bool) {
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("b=bedrock:mock://instant,tokens=12,reasoning=4#{MODEL}");
    let mut config = race_config(&[&spec], 4, 2);
    config.workload.stream = stream;
    let outcome = run(config, dir.path()).await;
    let e = &outcome.summary.endpoints[0];
    assert_eq!(e.counts.succeeded, 4, "stream={stream}: {:?}", e.errors);
    for r in records(dir.path()) {
        assert_eq!(r.outcome, Outcome::Succeeded);
        // 12 answer tokens after 4 of reasoning, all counted as output, as the real APIs do.
        assert_eq!(r.output_tokens, Some(16), "{r:?}");
        assert_eq!(r.output_tokens_source, Some(TokenSource::Usage));
        assert_eq!(r.input_tokens_source, Some(TokenSource::Usage));
        assert!(r.input_tokens.unwrap_or(0) > 0, "{r:?}");
        assert!(r.usage_reported.contains_key("inputTokens"), "{r:?}");
        assert!(
            matches!(r.finish_reason.as_deref(), Some("max_tokens" | "end_turn")),
            "{r:?}"
        );
        // The server's own time for the response, beside the client's.
        assert!(
            r.server_timings.as_ref().and_then(|t| t.total_ns).is_some(),
            "{r:?}"
        );
        let ttft = r.ttft_ms.unwrap();
        assert!(ttft <= r.ttlt_ms.unwrap());
        if stream {
            assert!(r.chunks >= 4, "streamed in frames: {r:?}");
        }
    }
}

#[tokio::test]
async fn bedrock_races_streamed_and_not_with_the_servers_usage() {
    race_bedrock(true).await;
    race_bedrock(false).await;
}

async fn fault_gives(fault: &str, class: ErrorClass, message: &str) {
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("f=bedrock:mock://instant,tokens=12,fault={fault}#{MODEL}");
    let outcome = run(race_config(&[&spec], 3, 1), dir.path()).await;
    let e = &outcome.summary.endpoints[0];
    assert_eq!(e.errors.get(&class), Some(&3), "{fault}: {:?}", e.errors);
    for r in records(dir.path()) {
        assert_eq!(r.error_class, Some(class), "{fault}: {r:?}");
        let text = r.error_message.unwrap_or_default();
        assert!(text.contains(message), "{fault}: {text}");
    }
    let counts = check_accounting(dir.path());
    assert_eq!(counts[0].1.failed, 3, "{fault}: {counts:?}");
}

#[tokio::test]
async fn bedrock_faults_are_classified() {
    fault_gives(
        "error_mid_stream",
        ErrorClass::StreamError,
        "modelStreamErrorException: mock overloaded",
    )
    .await;
    fault_gives("http_429", ErrorClass::RateLimited, "ThrottlingException").await;
    fault_gives("http_401", ErrorClass::Auth, "AccessDeniedException").await;
    fault_gives("malformed_chunk", ErrorClass::Protocol, "not valid JSON").await;
    fault_gives("no_terminator", ErrorClass::StreamCut, "").await;
    fault_gives("wrong_protocol", ErrorClass::Protocol, "event-stream").await;
}

async fn mock_at() -> (MockServer, String) {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = MockServer::start(addr, Profile::parse("instant,tokens=6").unwrap())
        .await
        .unwrap();
    let base = server.base_url(Protocol::Bedrock);
    (server, base)
}

/// Runs `command` off the runtime, which serves the mock meanwhile.
async fn run_off_runtime(mut command: Command) -> (i32, String) {
    tokio::task::spawn_blocking(move || run_to_end(&mut command))
        .await
        .unwrap()
}

fn llmrace(out: &Path, endpoint: &str) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["-e", endpoint, "-n", "3", "--headless", "--out"])
        .arg(out);
    for var in AWS_VARS {
        command.env_remove(var);
    }
    command
}

/// Every file under `dir`, read as bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all.extend(files(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            let bytes = if path.extension().is_some_and(|e| e == "gz") {
                let mut text = Vec::new();
                std::io::Read::read_to_end(
                    &mut flate2::read::MultiGzDecoder::new(&bytes[..]),
                    &mut text,
                )
                .unwrap();
                text
            } else {
                bytes
            };
            all.push((path.display().to_string(), bytes));
        }
    }
    all
}

#[tokio::test]
async fn the_binary_signs_with_the_environments_credentials_and_never_shows_them() {
    let (_server, base) = mock_at().await;
    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("b=bedrock:{base}#{MODEL}");
    let mut command = llmrace(dir.path(), &endpoint);
    command
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .env("AWS_REGION", "us-east-1");
    let (code, output) = run_off_runtime(command).await;
    // The mock refuses (403) a request without a SigV4 Authorization header.
    assert_eq!(code, 0, "{output}");
    let counts = check_accounting(dir.path());
    assert_eq!(counts[0].1.succeeded, 3, "{counts:?}\n{output}");
    for secret in [SECRET_KEY, SESSION_TOKEN] {
        assert!(!output.contains(secret), "{output}");
        for (path, bytes) in files(dir.path()) {
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(secret), "{path} holds a secret");
        }
    }
}

#[tokio::test]
async fn a_bedrock_api_key_is_sent_as_a_bearer_token() {
    let (_server, base) = mock_at().await;
    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("b=bedrock:{base}#{MODEL}");
    let mut command = llmrace(dir.path(), &endpoint);
    command.env("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-test-93f1");
    let (code, output) = run_off_runtime(command).await;
    assert_eq!(code, 0, "{output}");
    let counts = check_accounting(dir.path());
    assert_eq!(counts[0].1.succeeded, 3, "{counts:?}\n{output}");
    assert!(!output.contains("bedrock-api-key-test-93f1"), "{output}");
}

#[test]
fn no_credentials_is_a_setup_error_naming_the_variables() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens here, and nothing is sent: the race stops before its start.
    let (code, output) = run_to_end(&mut llmrace(
        dir.path(),
        &format!("b=bedrock:http://127.0.0.1:9#{MODEL}"),
    ));
    assert_eq!(code, 2, "{output}");
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_BEARER_TOKEN_BEDROCK",
    ] {
        assert!(output.contains(var), "{output}");
    }
    assert!(!output.contains("panicked"), "{output}");
    // Credentials but no region for a host that names none.
    let (code, output) = run_to_end(
        llmrace(dir.path(), &format!("b=bedrock:http://127.0.0.1:9#{MODEL}"))
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
    );
    assert_eq!(code, 2, "{output}");
    assert!(output.contains("AWS_REGION"), "{output}");
    assert!(!output.contains(SECRET_KEY), "{output}");
}

#[tokio::test]
async fn the_mock_refuses_an_unsigned_bedrock_request() {
    let (_server, base) = mock_at().await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let url = format!("{base}/model/m/converse-stream");
    let body = r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#;
    let response = client.post(&url).body(body).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 403);
    // As AWS answers: the exception named in the header, the body only the message.
    let error_type = response
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert!(
        error_type
            .as_deref()
            .is_some_and(|t| t.starts_with("AccessDeniedException:http://")),
        "{error_type:?}"
    );
    let text = response.text().await.unwrap();
    assert!(!text.contains("__type"), "{text}");
    assert_eq!(
        Protocol::Bedrock
            .error_message_typed(text.as_bytes(), error_type.as_deref())
            .as_deref()
            .map(|m| m.starts_with("AccessDeniedException: Missing Authentication Token")),
        Some(true),
        "{text}"
    );
    let signed = client
        .post(&url)
        .header("authorization", "AWS4-HMAC-SHA256 Credential=AKID/20240102/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
        .header("x-amz-date", "20240102T030405Z")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status().as_u16(), 200);
    assert_eq!(
        signed.headers()["content-type"],
        "application/vnd.amazon.eventstream"
    );
}
