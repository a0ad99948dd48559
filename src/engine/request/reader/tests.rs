//! The reader's state machine against servers on 127.0.0.1 that stream, stall, close and
//! answer again on the same connection: every way a body ends, for one body and for one among
//! many on the same reader.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::Readers;
use crate::clock::RaceClock;
use crate::config::Timeouts;
use crate::engine::connection::Connection;
use crate::engine::request::tests::target_at;
use crate::engine::request::{Payload, RequestContext, SendTag, run_request};
use crate::event::{ErrorClass, EventKind, PromptId, RaceEvent, RequestId};

/// What the server does after the response head, for each request on a connection.
#[derive(Clone, Copy)]
enum Answer {
    /// Streams this many tokens, `pause` apart, and ends the body.
    Tokens(usize, Duration),
    /// One token, then nothing: the connection stays open.
    StallAfterOne,
    /// Nothing after the head.
    StallBeforeAny,
    /// One token, then the connection closes.
    CloseAfterOne,
}

fn chunk(data: &str) -> String {
    format!("{:x}\r\n{data}\r\n", data.len())
}

fn token(text: &str) -> String {
    chunk(&format!(
        "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}}}}]}}\n\n"
    ))
}

/// Reads one request (its head and its `content-length` body); false at the connection's end.
async fn read_request(socket: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    loop {
        if let Some(head) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let text = String::from_utf8_lossy(&buf[..head]).to_ascii_lowercase();
            let length: usize = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map_or(0, |n| n.trim().parse().unwrap());
            if buf.len() >= head + 4 + length {
                buf.drain(..head + 4 + length);
                return true;
            }
        }
        let mut more = [0; 4096];
        match socket.read(&mut more).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&more[..n]),
        }
    }
}

/// A server answering every request of a connection as `answer` says; counts connections.
async fn serve(answer: Answer) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&connections);
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            counted.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                while read_request(&mut socket, &mut buf).await {
                    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                                transfer-encoding: chunked\r\n\r\n";
                    socket.write_all(head.as_bytes()).await.unwrap();
                    match answer {
                        Answer::Tokens(n, pause) => {
                            for i in 0..n {
                                if !pause.is_zero() {
                                    tokio::time::sleep(pause).await;
                                }
                                let t = token(&format!("t{i} "));
                                if socket.write_all(t.as_bytes()).await.is_err() {
                                    return;
                                }
                            }
                            let done = chunk("data: [DONE]\n\n") + "0\r\n\r\n";
                            socket.write_all(done.as_bytes()).await.unwrap();
                        }
                        Answer::StallAfterOne => {
                            socket.write_all(token("only").as_bytes()).await.unwrap();
                            std::future::pending::<()>().await;
                        }
                        Answer::StallBeforeAny => std::future::pending::<()>().await,
                        Answer::CloseAfterOne => {
                            socket.write_all(token("only").as_bytes()).await.unwrap();
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, connections)
}

fn timeouts(first_token: u64, idle: u64) -> Timeouts {
    Timeouts {
        first_token: Duration::from_millis(first_token),
        idle: Duration::from_millis(idle),
        ..Timeouts::default()
    }
}

/// Runs one request on `connection` with the bodies read by `readers`; its events' kinds.
async fn request(
    readers: &Readers,
    url: &str,
    connection: &mut Connection,
    timeouts: &Timeouts,
    abort: &CancellationToken,
) -> Vec<EventKind> {
    let target = target_at(url);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<RaceEvent>();
    let clock = RaceClock::start();
    let ctx = RequestContext {
        clock: &clock,
        events: &tx,
        timeouts,
        abort,
        readers: Some(readers),
    };
    let payload = Payload::of(&target, PromptId(0));
    run_request(
        &ctx,
        connection,
        &target,
        RequestId(1),
        &payload,
        SendTag::default(),
    )
    .await;
    drop(tx);
    let mut kinds = Vec::new();
    while let Some(event) = rx.recv().await {
        kinds.push(event.kind);
    }
    kinds
}

fn connection_to(url: &str) -> Connection {
    Connection::new(
        Arc::clone(target_at(url).origin()),
        None,
        Duration::from_secs(5),
    )
}

fn text(kinds: &[EventKind]) -> String {
    kinds
        .iter()
        .filter_map(|k| match k {
            EventKind::Content { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn failure(kinds: &[EventKind]) -> Option<(ErrorClass, &str)> {
    match kinds.last()? {
        EventKind::Failed { class, message, .. } => Some((*class, message.as_str())),
        _ => None,
    }
}

#[tokio::test]
async fn a_body_is_read_whole_and_its_connection_taken_again() {
    let (url, connections) = serve(Answer::Tokens(5, Duration::ZERO)).await;
    let readers = Readers::start();
    let mut connection = connection_to(&url);
    let abort = CancellationToken::new();
    for _ in 0..2 {
        let kinds = request(
            &readers,
            &url,
            &mut connection,
            &timeouts(5_000, 5_000),
            &abort,
        )
        .await;
        assert_eq!(text(&kinds), "t0 t1 t2 t3 t4 ", "{kinds:?}");
        assert!(
            matches!(kinds.last(), Some(EventKind::Finished { .. })),
            "{kinds:?}"
        );
    }
    assert_eq!(connections.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn nothing_after_the_head_fails_at_the_first_token_deadline() {
    let (url, _) = serve(Answer::StallBeforeAny).await;
    let readers = Readers::start();
    let mut connection = connection_to(&url);
    let abort = CancellationToken::new();
    let kinds = request(
        &readers,
        &url,
        &mut connection,
        &timeouts(100, 5_000),
        &abort,
    )
    .await;
    assert_eq!(
        failure(&kinds),
        Some((
            ErrorClass::FirstTokenTimeout,
            "no token within the first-token timeout (100ms)"
        )),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn a_stall_mid_stream_fails_at_the_idle_deadline() {
    let (url, _) = serve(Answer::StallAfterOne).await;
    let readers = Readers::start();
    let mut connection = connection_to(&url);
    let abort = CancellationToken::new();
    // The idle deadline is nearer than the first-token one: the timer comes nearer.
    let kinds = request(
        &readers,
        &url,
        &mut connection,
        &timeouts(60_000, 100),
        &abort,
    )
    .await;
    assert_eq!(text(&kinds), "only");
    assert_eq!(
        failure(&kinds),
        Some((
            ErrorClass::IdleTimeout,
            "nothing arrived for 100ms mid-stream (idle timeout)"
        )),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn a_close_mid_stream_is_a_cut_and_the_connection_is_not_taken_again() {
    let (url, connections) = serve(Answer::CloseAfterOne).await;
    let readers = Readers::start();
    let mut connection = connection_to(&url);
    let abort = CancellationToken::new();
    for _ in 0..2 {
        let kinds = request(
            &readers,
            &url,
            &mut connection,
            &timeouts(5_000, 5_000),
            &abort,
        )
        .await;
        let (class, message) = failure(&kinds).unwrap();
        assert_eq!(class, ErrorClass::StreamCut, "{kinds:?}");
        assert!(
            message.contains("before the chunked body's last chunk"),
            "{message}"
        );
    }
    assert_eq!(connections.load(Ordering::Relaxed), 2);
}

#[tokio::test]
async fn a_stop_mid_body_cancels_it() {
    let (url, _) = serve(Answer::StallAfterOne).await;
    let readers = Readers::start();
    let mut connection = connection_to(&url);
    let abort = CancellationToken::new();
    let stopping = abort.clone();
    let target = target_at(&url);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<RaceEvent>();
    let clock = RaceClock::start();
    let timeouts = timeouts(60_000, 60_000);
    let ctx = RequestContext {
        clock: &clock,
        events: &tx,
        timeouts: &timeouts,
        abort: &abort,
        readers: Some(&readers),
    };
    let payload = Payload::of(&target, PromptId(0));
    let requesting = run_request(
        &ctx,
        &mut connection,
        &target,
        RequestId(1),
        &payload,
        SendTag::default(),
    );
    // Stopped once its first token was read, i.e. while the reader holds its body.
    let watching = async {
        let mut kinds = Vec::new();
        while let Some(event) = rx.recv().await {
            if matches!(event.kind, EventKind::Content { .. }) {
                stopping.cancel();
            }
            let last = matches!(event.kind, EventKind::Cancelled { .. });
            kinds.push(event.kind);
            if last {
                break;
            }
        }
        kinds
    };
    let (_, kinds) = tokio::join!(requesting, watching);
    assert_eq!(text(&kinds), "only");
    assert!(
        matches!(kinds.last(), Some(EventKind::Cancelled { bytes }) if *bytes > 0),
        "{kinds:?}"
    );
}

/// One reader holds every body: one stalls among busy ones and fails alone, at its deadline.
#[tokio::test]
async fn one_stalled_body_among_many_busy_ones_times_out_alone() {
    let (busy, _) = serve(Answer::Tokens(40, Duration::from_millis(10))).await;
    let (stalled, _) = serve(Answer::StallAfterOne).await;
    let readers = Readers::start();
    assert_eq!(readers.shards.len(), 1, "the test's runtime has one worker");
    let abort = CancellationToken::new();
    let timeouts = timeouts(5_000, 150);
    let urls: Vec<&str> = std::iter::repeat_n(busy.as_str(), 12)
        .chain([stalled.as_str()])
        .collect();
    let races = urls.iter().map(|url| {
        let (readers, abort, timeouts) = (&readers, &abort, &timeouts);
        async move {
            let mut connection = connection_to(url);
            request(readers, url, &mut connection, timeouts, abort).await
        }
    });
    let all = futures_util::future::join_all(races).await;
    for kinds in &all[..12] {
        assert!(
            matches!(kinds.last(), Some(EventKind::Finished { .. })),
            "{kinds:?}"
        );
        assert_eq!(
            text(kinds).len(),
            (0..40).map(|i| format!("t{i} ").len()).sum::<usize>()
        );
    }
    assert_eq!(
        failure(&all[12]).map(|(class, _)| class),
        Some(ErrorClass::IdleTimeout)
    );
}

/// The readers end once dropped and their bodies have ended.
#[tokio::test]
async fn dropped_readers_end() {
    let readers = Readers::start();
    let shared = Arc::clone(&readers.shards[0]);
    drop(readers);
    // The reader's task drops its handle on the shared state when it ends.
    for _ in 0..1000 {
        if Arc::strong_count(&shared) == 1 {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the reader did not end");
}
