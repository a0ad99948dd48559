//! A server on 127.0.0.1 that answers with a runaway response (one line that never ends, or a
//! non-streaming body far larger than any answer): the client must fail the request as a
//! protocol error, say why, and stop reading instead of buffering the response.
//!
//! The built-in mock's `huge` fault sends many well-formed events, which must succeed (see
//! `race_faults`); a single endless line is not something a real protocol produces, so the test
//! serves it from a raw socket.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use llmrace::event::ErrorClass;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::common::race::{race_config, records, run};

const MIB: u64 = 1024 * 1024;
/// Far past every cap: a client that buffered it all would be obvious.
const OFFERED: u64 = 512 * MIB;

/// Serves every connection `head` (status line and headers) and then `OFFERED` bytes of `fill`
/// after `start`, until the client hangs up. Returns the port and the body bytes written.
async fn runaway_server(
    head: &'static str,
    start: &'static [u8],
    fill: u8,
) -> (u16, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let written = Arc::new(AtomicU64::new(0));
    let counter = written.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                // The request's headers and (small) body arrive in the first reads; the answer
                // does not depend on them.
                let mut request = vec![0u8; 64 * 1024];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut request).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&request[..n]),
                    }
                }
                if socket.write_all(head.as_bytes()).await.is_err()
                    || socket.write_all(start).await.is_err()
                {
                    return;
                }
                let block = vec![fill; 64 * 1024];
                while counter.load(Ordering::Relaxed) < OFFERED {
                    if socket.write_all(&block).await.is_err() {
                        return;
                    }
                    counter.fetch_add(block.len() as u64, Ordering::Relaxed);
                }
            });
        }
    });
    (port, written)
}

/// Races one request against the server and returns its record and the bytes the server wrote.
async fn race_once(
    endpoint: &str,
    stream: bool,
    written: &AtomicU64,
) -> (llmrace::stats::RequestRecord, u64) {
    let mut config = race_config(&[endpoint], 1, 1);
    config.load.warm_connections = false;
    config.workload.stream = stream;
    config.timeouts.first_token = std::time::Duration::from_secs(30);
    config.timeouts.idle = std::time::Duration::from_secs(30);
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(config, dir.path()).await;
    let counts = &outcome.summary.endpoints[0].counts;
    assert_eq!((counts.sent, counts.failed), (1, 1), "{counts:?}");
    let mut records = records(dir.path());
    assert_eq!(records.len(), 1);
    (records.remove(0), written.load(Ordering::Relaxed))
}

fn assert_bounded(record: &llmrace::stats::RequestRecord, written: u64, limit_mib: u64) {
    assert_eq!(record.error_class, Some(ErrorClass::Protocol), "{record:?}");
    let message = record.error_message.as_deref().unwrap_or_default();
    assert!(
        message.contains(&format!("longer than {limit_mib} MiB")),
        "the message says what overflowed and its limit: {message}"
    );
    // The client stopped at the cap (plus what one read brings), and the server saw it hang up
    // long before the end of what it offered.
    assert!(
        record.bytes_received <= (limit_mib + 1) * MIB,
        "read {} bytes past a {limit_mib} MiB cap",
        record.bytes_received
    );
    assert!(written < OFFERED, "the client never hung up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sse_line_without_end_fails_as_protocol_error_at_the_cap() {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
    let (port, written) = runaway_server(
        head,
        b"data: {\"choices\":[{\"delta\":{\"content\":\"",
        b'x',
    )
    .await;
    let endpoint = format!("big=openai:http://127.0.0.1:{port}/v1#m");
    let (record, written) = race_once(&endpoint, true, &written).await;
    assert_bounded(&record, written, 4);
    assert!(
        record.error_message.unwrap().contains("event stream"),
        "names the event stream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ndjson_line_without_end_fails_as_protocol_error_at_the_cap() {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\nconnection: close\r\n\r\n";
    let (port, written) = runaway_server(head, b"{\"message\":{\"content\":\"", b'y').await;
    let endpoint = format!("big=ollama:http://127.0.0.1:{port}#m");
    let (record, written) = race_once(&endpoint, true, &written).await;
    assert_bounded(&record, written, 4);
    assert!(
        record.error_message.unwrap().contains("NDJSON line"),
        "names the NDJSON line"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runaway_non_streaming_body_fails_as_protocol_error_at_the_cap() {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n";
    let (port, written) =
        runaway_server(head, b"{\"choices\":[{\"message\":{\"content\":\"", b'z').await;
    let endpoint = format!("big=openai:http://127.0.0.1:{port}/v1#m");
    let (record, written) = race_once(&endpoint, false, &written).await;
    assert_bounded(&record, written, 16);
    assert!(
        record.error_message.unwrap().contains("response body"),
        "names the response body"
    );
}
