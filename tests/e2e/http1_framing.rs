//! The engine's own HTTP/1.1 exchange against scripted servers on 127.0.0.1 that frame their
//! answers oddly or wrongly: interim responses, chunk extensions and trailers, events split
//! across chunks, a chunk size that is not hex, an endless head, two lengths. What is valid
//! races; what is not fails the request with a message that says what was wrong.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use crate::common::race::{race_config, records, run};
use llmrace::event::ErrorClass;
use llmrace::stats::Outcome;

/// An OpenAI stream of `words`, as SSE events.
fn events(words: &[&str]) -> String {
    let mut out = String::new();
    for w in words {
        out.push_str("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"");
        out.push_str(w);
        out.push_str("\"}}]}\n\n");
    }
    out.push_str("data: [DONE]\n\n");
    out
}

/// Reads one request (head and `content-length` body); false at the connection's end.
fn read_request(stream: &mut TcpStream) -> bool {
    let mut got = Vec::new();
    let mut byte = [0; 1];
    while !got.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => got.push(byte[0]),
            _ => return false,
        }
    }
    let head = String::from_utf8_lossy(&got).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse::<usize>().unwrap());
    let mut body = vec![0; length];
    stream.read_exact(&mut body).is_ok()
}

/// A server on 127.0.0.1 answering every POST with `answer` (and a warm-up's GET with an
/// empty 404), each connection on a thread of its own; its base URL.
fn scripted(answer: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let answer = answer.clone();
            std::thread::spawn(move || {
                let mut peek = [0; 1];
                while stream.peek(&mut peek).is_ok_and(|n| n > 0) {
                    let post = peek[0] == b'P';
                    if !read_request(&mut stream) {
                        return;
                    }
                    let reply: &[u8] = if post {
                        &answer
                    } else {
                        b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"
                    };
                    if stream.write_all(reply).is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

/// Races `requests` requests one at a time against a server answering `answer`; their
/// records.
async fn race_against(answer: Vec<u8>, requests: u64) -> Vec<llmrace::stats::RequestRecord> {
    let url = scripted(answer);
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("s=openai:{url}#m");
    run(race_config(&[&spec], requests, 1), dir.path()).await;
    records(dir.path())
}

/// The stream, chunked as a careful reader must take it: interim responses first, an event
/// split across chunks, several events in one chunk, extensions, trailers. The connection is
/// kept and reused.
#[tokio::test]
async fn odd_but_valid_framing_races() {
    let body = events(&["Hello", " there", ", friend"]);
    let (a, rest) = body.split_at(10);
    let (b, c) = rest.split_at(40);
    let mut answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </s>\r\n\r\n\
        HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        .to_vec();
    for (i, part) in [a, b, c].iter().enumerate() {
        answer.extend_from_slice(format!("{:X};n={i}\r\n{part}\r\n", part.len()).as_bytes());
    }
    answer.extend_from_slice(b"0\r\nx-checksum: none\r\n\r\n");
    let records = race_against(answer, 3).await;
    assert_eq!(records.len(), 3);
    for r in &records {
        assert_eq!(r.outcome, Outcome::Succeeded, "{r:?}");
        assert!(r.chunks >= 1, "{r:?}");
    }
    assert!(
        records.iter().skip(1).all(|r| !r.new_connection),
        "the connection was reused: {records:?}"
    );
}

/// A body whose framing is broken after the first events: the request fails saying what was
/// wrong, with the content that came before kept.
#[tokio::test]
async fn a_chunk_size_that_is_not_hex_fails_the_stream_saying_so() {
    let first = events(&["Hello"]);
    let first = &first[..first.len() - "data: [DONE]\n\n".len()];
    let answer = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n\
         {:x}\r\n{first}\r\n-5\r\nhello\r\n",
        first.len()
    );
    let records = race_against(answer.into_bytes(), 2).await;
    assert_eq!(records.len(), 2);
    for r in &records {
        assert_eq!(r.outcome, Outcome::Failed, "{r:?}");
        assert_eq!(r.error_class, Some(ErrorClass::StreamCut), "{r:?}");
        let message = r.error_message.as_deref().unwrap_or_default();
        assert!(
            message.contains("the server's chunk size line was not hex: `-`"),
            "{message}"
        );
        assert_eq!(r.chunks, 1, "{r:?}");
    }
}

/// Heads no careful client takes: an endless header, two different lengths. Each request
/// fails with what was wrong; none hangs, none is sent twice.
#[tokio::test]
async fn hostile_heads_fail_with_what_was_wrong() {
    let endless = format!("HTTP/1.1 200 OK\r\nx-pad: {}", "y".repeat(200 * 1024)).into_bytes();
    let lengths = b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd".to_vec();
    for (answer, says) in [
        (endless, "the response head is larger than 64 KiB"),
        (lengths, "different content-length values"),
    ] {
        let records = race_against(answer, 2).await;
        assert_eq!(records.len(), 2);
        for r in &records {
            assert_eq!(r.outcome, Outcome::Failed, "{r:?}");
            assert_eq!(r.error_class, Some(ErrorClass::ConnectionLost), "{r:?}");
            let message = r.error_message.as_deref().unwrap_or_default();
            assert!(message.contains(says), "{message}");
            assert!(r.resent_after.is_none(), "{r:?}");
        }
    }
}

/// A server that answers 413 as soon as it has read a large request's head, and then reads no
/// more of it: the request fails at once with the server's 413, not with a timeout while the
/// request's write waits for room.
#[tokio::test]
async fn an_answer_before_a_large_request_is_read_is_reported() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut got = Vec::new();
                let mut byte = [0; 1];
                while !got.ends_with(b"\r\n\r\n") {
                    if stream.read(&mut byte).unwrap_or(0) == 0 {
                        return;
                    }
                    got.push(byte[0]);
                }
                let reply: &[u8] = if got.starts_with(b"POST") {
                    b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 9\r\n\r\ntoo large"
                } else {
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                };
                let _ = stream.write_all(reply);
                // Holds the connection open, reading nothing more.
                std::thread::sleep(std::time::Duration::from_secs(30));
                drop(stream);
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let mut config = race_config(&[&format!("s=openai:{url}#m")], 1, 1);
    config.workload.prompts =
        llmrace::config::PromptSource::Inline(vec!["word ".repeat(2_000_000)]);
    run(config, dir.path()).await;
    let records = records(dir.path());
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r.outcome, Outcome::Failed, "{r:?}");
    assert_eq!(r.http_status, Some(413), "{r:?}");
}
