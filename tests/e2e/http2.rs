//! HTTP/2 with prior knowledge (h2c) against the mock on 127.0.0.1: an endpoint's workers share
//! its connections, one stream per request, as many connections as the server's stream limit
//! needs; a server that says GOAWAY mid-race; the protocols over HTTP/2.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::path::Path;

use crate::common::race::{attempt, race_config, records, run};
use llmrace::config::{HttpVersion, RaceConfig, ServerMetricsSource};
use llmrace::event::ErrorClass;
use llmrace::mock::{MockServer, Profile};
use llmrace::protocol::Protocol;
use llmrace::stats::Outcome;

async fn mock(profile: &str) -> MockServer {
    let profile = Profile::parse(profile).expect("valid profile");
    MockServer::start(([127, 0, 0, 1], 0).into(), profile)
        .await
        .expect("mock starts")
}

/// A race of `requests` at `concurrency` against `server` speaking `protocol` over HTTP/2,
/// scraping no metrics (the server's connections are counted).
fn h2_race(server: &MockServer, protocol: &str, requests: u64, concurrency: u32) -> RaceConfig {
    let kind = match protocol {
        "anthropic" => Protocol::Anthropic,
        "ollama" => Protocol::Ollama,
        "responses" => Protocol::Responses,
        _ => Protocol::OpenAiChat,
    };
    let spec = format!("m={protocol}:{}#m", server.base_url(kind));
    let mut config = race_config(&[&spec], requests, concurrency);
    for endpoint in &mut config.endpoints {
        endpoint.server_metrics = ServerMetricsSource::Off;
        endpoint.http = HttpVersion::Http2;
    }
    config
}

fn http_version(dir: &Path) -> serde_json::Value {
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    run["endpoints"][0]["http_version"].clone()
}

#[tokio::test]
async fn eight_workers_share_one_connection_when_the_server_allows_eight_streams() {
    let server = mock("instant,tokens=8,itl=2ms").await;
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(h2_race(&server, "openai", 32, 8), dir.path()).await;
    let counts = outcome.summary.endpoints[0].counts;
    assert_eq!((counts.sent, counts.succeeded), (32, 32), "{counts:?}");
    assert_eq!(server.stats().connections_accepted, 1);
    let records = records(dir.path());
    assert_eq!(records.len(), 32);
    for r in &records {
        assert!(r.ttft_ms.is_some() && r.ttlt_ms.is_some(), "{r:?}");
        assert!(r.ttft_ms <= r.ttlt_ms, "{r:?}");
        assert_eq!(r.output_tokens, Some(8), "{r:?}");
        // Warmed before the start: every measured request is a stream on a warm connection.
        assert!(!r.new_connection, "{r:?}");
    }
    assert_eq!(http_version(dir.path()), "2");
}

#[tokio::test]
async fn a_lower_stream_limit_opens_more_connections() {
    let server = mock("instant,tokens=8,itl=2ms,h2_streams=3").await;
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(h2_race(&server, "openai", 24, 8), dir.path()).await;
    let counts = outcome.summary.endpoints[0].counts;
    assert_eq!(counts.succeeded, 24, "{counts:?}");
    // Eight workers, three streams a connection: 3 + 3 + 2.
    assert_eq!(server.stats().connections_accepted, 3);
}

#[tokio::test]
async fn without_warming_only_the_request_that_opened_the_connection_paid_for_it() {
    let server = mock("instant,tokens=4").await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = h2_race(&server, "anthropic", 8, 4);
    config.load.warm_connections = false;
    run(config, dir.path()).await;
    assert_eq!(server.stats().connections_accepted, 1);
    let connected: Vec<_> = records(dir.path())
        .into_iter()
        .filter(|r| r.new_connection)
        .collect();
    assert_eq!(connected.len(), 1, "{connected:?}");
    assert!(connected[0].connect_ms.is_some());
}

#[tokio::test]
async fn the_protocols_run_over_http2() {
    for protocol in ["openai", "anthropic", "ollama", "responses"] {
        let server = mock("instant,tokens=6").await;
        let dir = tempfile::tempdir().unwrap();
        let outcome = run(h2_race(&server, protocol, 6, 3), dir.path()).await;
        let counts = outcome.summary.endpoints[0].counts;
        assert_eq!(counts.succeeded, 6, "{protocol}: {counts:?}");
        assert_eq!(server.stats().connections_accepted, 1, "{protocol}");
        for r in records(dir.path()) {
            assert_eq!(r.output_tokens, Some(6), "{protocol}: {r:?}");
        }
    }
}

/// Each connection says GOAWAY at its fifth request and closes a moment later: streams still
/// running are cut and classified, streams the server did not take are sent again, and later
/// requests go on a new connection.
#[tokio::test]
async fn a_server_that_goes_away_mid_race_cuts_streams_and_is_reconnected() {
    let server = mock("instant,tokens=30,itl=10ms,goaway_after=5").await;
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(h2_race(&server, "openai", 20, 4), dir.path()).await;
    let counts = outcome.summary.endpoints[0].counts;
    assert_eq!(counts.sent, 20, "{counts:?}");
    assert_eq!(counts.succeeded + counts.failed, 20, "{counts:?}");
    assert!(
        counts.failed >= 1,
        "streams in flight at the close: {counts:?}"
    );
    assert!(counts.succeeded >= 4, "{counts:?}");
    assert!(server.stats().connections_accepted >= 3);
    for r in records(dir.path()) {
        // Sent again only when the server never took it, and then on a new connection.
        if let Some(why) = &r.resent_after {
            assert!(
                why.contains("never sent") || why.contains("GOAWAY") || why.contains("refused"),
                "{r:?}"
            );
            assert!(
                r.outcome == Outcome::Succeeded || r.error_class.is_some(),
                "{r:?}"
            );
        }
        if r.outcome == Outcome::Failed {
            assert!(
                matches!(
                    r.error_class,
                    Some(ErrorClass::StreamCut | ErrorClass::ConnectionLost)
                ),
                "{r:?}"
            );
        }
    }
}

/// Prior knowledge against a server that speaks only HTTP/1.1 (the mock imitating llama.cpp
/// serves HTTP/1.1 alone) says so at start-up, and every request fails `connect`.
#[tokio::test]
async fn prior_knowledge_to_an_http1_server_says_what_to_do() {
    let server = mock("instant,tokens=4,close_after_stream=1s").await;
    let dir = tempfile::tempdir().unwrap();
    let outcome = attempt(h2_race(&server, "openai", 2, 1), dir.path())
        .await
        .unwrap();
    let counts = outcome.summary.endpoints[0].counts;
    assert_eq!(counts.failed, 2, "{counts:?}");
    for r in records(dir.path()) {
        assert_eq!(r.error_class, Some(ErrorClass::Connect), "{r:?}");
        let message = r.error_message.unwrap_or_default();
        assert!(message.contains("HTTP/2"), "{message}");
        assert!(message.contains(r#"http = "auto""#), "{message}");
    }
    // No connection was made, so nothing was negotiated: run.json says no version.
    assert_eq!(http_version(dir.path()), serde_json::Value::Null);
}

/// A server that speaks only HTTP/2 (h2c), raced with `http = "auto"` over http:// (HTTP/1.1):
/// it answers with an HTTP/2 SETTINGS frame, which is no HTTP/1.1 status line, and the error
/// says what to try.
#[tokio::test]
async fn an_http2_only_server_raced_in_http1_says_to_try_prior_knowledge() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = [0u8; 4096];
            let _ = socket.read(&mut buffer).await;
            // An empty SETTINGS frame, then a GOAWAY (PROTOCOL_ERROR), as an h2c server sends.
            let frames = [
                0, 0, 0, 4, 0, 0, 0, 0, 0, //
                0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
            ];
            let _ = socket.write_all(&frames).await;
            let _ = socket.shutdown().await;
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("m=openai:http://{address}/v1#m");
    let mut config = race_config(&[&spec], 1, 1);
    config.load.retries = 0;
    for endpoint in &mut config.endpoints {
        endpoint.server_metrics = ServerMetricsSource::Off;
    }
    let outcome = attempt(config, dir.path()).await.unwrap();
    server.abort();
    assert_eq!(outcome.summary.endpoints[0].counts.failed, 1);
    for r in records(dir.path()) {
        let message = r.error_message.unwrap_or_default();
        assert!(
            message.contains("the server may speak HTTP/2 only: try --http2-prior-knowledge"),
            "{message}"
        );
    }
    assert_eq!(http_version(dir.path()), serde_json::Value::Null);
}

/// An h2c server on 127.0.0.1 that, like nginx with `keepalive_requests` = `per_connection`,
/// answers that many streams on each connection, then says GOAWAY and refuses every stream
/// after them (`REFUSED_STREAM`): streams it provably never processed. Returns its address and
/// how many streams it answered.
async fn refusing_h2_server(
    per_connection: u32,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicU32>,
) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let answered = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&answered);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let answered = Arc::clone(&counted);
            tokio::spawn(async move {
                let Ok(mut connection) = h2::server::handshake(socket).await else {
                    return;
                };
                let mut taken = 0;
                while let Some(Ok((_request, mut respond))) = connection.accept().await {
                    taken += 1;
                    if taken > per_connection {
                        respond.send_reset(h2::Reason::REFUSED_STREAM);
                        continue;
                    }
                    if taken == per_connection {
                        connection.graceful_shutdown();
                    }
                    answered.fetch_add(1, Ordering::Relaxed);
                    let head = http::Response::builder()
                        .status(200)
                        .header("content-type", "text/event-stream")
                        .body(())
                        .unwrap();
                    let Ok(mut body) = respond.send_response(head, false) else {
                        continue;
                    };
                    let sse = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n\
                               data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
                               data: [DONE]\n\n";
                    let _ = body.send_data(bytes::Bytes::from_static(sse.as_bytes()), true);
                }
            });
        }
    });
    (address, answered)
}

/// A server that says GOAWAY after a few streams on each connection and refuses the rest
/// (nginx's `keepalive_requests`), raced with more requests in flight than that: the streams
/// it never took are sent again, on a connection that is not going away, until one takes
/// them, and no request fails for a stream the server never processed.
#[tokio::test]
async fn streams_a_server_never_took_are_sent_again_until_taken() {
    let (address, answered) = refusing_h2_server(5).await;
    let spec = format!("m=openai:http://{address}/v1#m");
    let mut config = race_config(&[&spec], 32, 16);
    config.load.retries = 0;
    for endpoint in &mut config.endpoints {
        endpoint.server_metrics = ServerMetricsSource::Off;
        endpoint.http = HttpVersion::Http2;
    }
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(config, dir.path()).await;
    let e = &outcome.summary.endpoints[0];
    assert_eq!(e.counts.failed, 0, "{:?} {:?}", e.counts, e.errors);
    assert_eq!(e.counts.succeeded, 32, "{:?}", e.counts);
    // Each answered once: nothing the server took was sent again.
    assert!(answered.load(std::sync::atomic::Ordering::Relaxed) >= 32);
    let mut resent = 0;
    for r in records(dir.path()) {
        assert_eq!(r.outcome, Outcome::Succeeded, "{r:?}");
        if let Some(why) = &r.resent_after {
            resent += 1;
            assert!(
                why.contains("REFUSED_STREAM") || why.contains("GOAWAY"),
                "{r:?}"
            );
            assert!(!why.contains("not a result of an error"), "{r:?}");
        }
    }
    assert!(
        resent > 0,
        "the server refused streams: some were sent again"
    );
}
