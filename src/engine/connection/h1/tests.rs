//! The exchange against a scripted server over an in-memory pipe: heads, framings, reuse and
//! the errors a hostile server earns.

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::*;

/// A connection over a pipe, and the server's end of it.
fn pipe() -> (H1, DuplexStream) {
    let (client, server) = tokio::io::duplex(64 * 1024);
    (
        H1::new(Box::new(client), super::super::BytesRead::default()),
        server,
    )
}

fn post(body: &'static str) -> http::Request<Bytes> {
    http::Request::post("/v1/chat")
        .header("host", "mock")
        .body(Bytes::from_static(body.as_bytes()))
        .unwrap()
}

/// Sends a request, has the server answer `answer` (then close when `close`), and reads the
/// response: its head and its body, or the first error.
async fn answered(
    h1: &mut H1,
    server: &mut DuplexStream,
    answer: &[u8],
) -> Result<(http::Response<()>, Vec<u8>), String> {
    server.write_all(answer).await.unwrap();
    let response = h1.exchange(&post("hi")).await.map_err(|f| f.message)?;
    let mut body = Vec::new();
    while let Some(piece) = h1.next_data().await {
        body.extend_from_slice(piece?);
    }
    let mut request = vec![0; 4096];
    let n = server.read(&mut request).await.unwrap();
    assert!(request[..n].ends_with(b"\r\n\r\nhi"));
    Ok((response, body))
}

#[test]
fn a_fresh_connection_is_idle() {
    assert!(pipe().0.is_idle());
}

#[tokio::test]
async fn a_chunked_stream_is_handed_on_in_pieces_and_the_connection_kept() {
    let (mut h1, mut server) = pipe();
    let answer = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
        6\r\ndata: \r\n3;ext=1\r\nhi\n\r\n0\r\ntrailer: x\r\n\r\n";
    let (response, body) = answered(&mut h1, &mut server, answer).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(body, b"data: hi\n");
    assert!(h1.is_idle());
    assert_eq!(h1.read.get(), answer.len() as u64);
}

#[tokio::test]
async fn interim_responses_are_skipped() {
    let (mut h1, mut server) = pipe();
    let answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n\
        HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
    let (response, body) = answered(&mut h1, &mut server, answer).await.unwrap();
    assert_eq!(
        (response.status().as_u16(), body.as_slice()),
        (200, &b"ok"[..])
    );
    assert!(h1.is_idle());
}

#[tokio::test]
async fn reuse_follows_the_version_and_connection_header() {
    for (answer, kept) in [
        (&b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"[..], true),
        (
            b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
            false,
        ),
        (
            b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\ncontent-length: 0\r\n\r\n",
            false,
        ),
        (b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n", false),
        (
            b"HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n",
            true,
        ),
        (b"HTTP/1.1 204 No Content\r\n\r\n", true),
        // Both framings: possibly smuggled, read by the coding and not reused.
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
            false,
        ),
    ] {
        let (mut h1, mut server) = pipe();
        answered(&mut h1, &mut server, answer).await.unwrap();
        assert_eq!(h1.is_idle(), kept, "{}", String::from_utf8_lossy(answer));
    }
}

#[tokio::test]
async fn a_body_without_length_runs_to_the_close() {
    let (mut h1, mut server) = pipe();
    server
        .write_all(b"HTTP/1.1 200 OK\r\n\r\nsome")
        .await
        .unwrap();
    h1.exchange(&post("hi")).await.unwrap();
    assert_eq!(h1.next_data().await.unwrap().unwrap(), b"some");
    server.write_all(b" more").await.unwrap();
    drop(server);
    assert_eq!(h1.next_data().await.unwrap().unwrap(), b" more");
    assert!(h1.next_data().await.is_none());
    assert!(!h1.is_idle());
}

#[tokio::test]
async fn bytes_after_the_response_make_the_connection_unusable() {
    let (mut h1, mut server) = pipe();
    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 408 Timeout\r\n\r\n";
    answered(&mut h1, &mut server, answer).await.unwrap();
    assert!(!h1.is_idle());
}

#[tokio::test]
async fn a_body_cut_short_says_so() {
    for (answer, says) in [
        (
            &b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort"[..],
            "5 bytes",
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel",
            "last chunk",
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n-5\r\n",
            "not hex: `-`",
        ),
    ] {
        let (mut h1, mut server) = pipe();
        server.write_all(answer).await.unwrap();
        h1.exchange(&post("hi")).await.unwrap();
        drop(server);
        let error = loop {
            match h1.next_data().await {
                Some(Ok(_)) => {}
                Some(Err(e)) => break e,
                None => panic!("no error for {}", String::from_utf8_lossy(answer)),
            }
        };
        assert!(error.contains(says), "{error}");
        assert!(!h1.is_idle());
    }
}

/// What a hostile or broken server's head earns: an error saying what was wrong.
#[tokio::test]
async fn bad_heads_are_clear_errors() {
    let many = "x: y\r\n".repeat(MAX_HEADERS + 1);
    let many = format!("HTTP/1.1 200 OK\r\n{many}\r\n");
    let endless = format!("HTTP/1.1 200 OK\r\nx: {}", "y".repeat(MAX_HEAD + 10));
    for (answer, says, garbage) in [
        (
            &b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n"[..],
            "different content-length",
            true,
        ),
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
            "not a number",
            true,
        ),
        (
            b"\x00\x00\x12\x04\x00\x00\x00\x00\x00",
            "invalid HTTP version",
            true,
        ),
        (b"SSH-2.0-OpenSSH\r\n\r\n", "invalid response head", true),
        (
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
            "switched protocols",
            true,
        ),
        (many.as_bytes(), "more than 100 header fields", true),
        (endless.as_bytes(), "larger than 64 KiB", true),
        (
            b"HTTP/1.1 200 O",
            "closed in the middle of the response head",
            false,
        ),
        (b"", "closed before message completed", false),
    ] {
        let (mut h1, mut server) = pipe();
        let writing = async {
            server.write_all(answer).await.unwrap();
            drop(server);
        };
        let request = post("hi");
        let (failure, ()) = tokio::join!(h1.exchange(&request), writing);
        let failure = failure.unwrap_err();
        assert!(failure.message.contains(says), "{}", failure.message);
        assert_eq!(failure.garbage, garbage, "{}", failure.message);
    }
}

#[test]
fn requests_are_written_in_origin_or_absolute_form_with_their_length() {
    let written = serialize(&post("hello"));
    assert_eq!(
        String::from_utf8(written).unwrap(),
        "POST /v1/chat HTTP/1.1\r\nhost: mock\r\ncontent-length: 5\r\n\r\nhello"
    );
    let get = http::Request::get("http://origin:8000/metrics?x=1")
        .body(Bytes::new())
        .unwrap();
    assert_eq!(
        String::from_utf8(serialize(&get)).unwrap(),
        "GET http://origin:8000/metrics?x=1 HTTP/1.1\r\n\r\n"
    );
}

/// A body far larger than the buffer is handed on in reads of at most 8 KiB, and the buffer
/// never grows.
#[tokio::test]
async fn the_buffer_stays_its_size_whatever_the_body() {
    let (mut h1, mut server) = pipe();
    let body = vec![b'x'; 200 * 1024];
    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
    let length = body.len();
    let writing = tokio::spawn(async move {
        server.write_all(head.as_bytes()).await.unwrap();
        server.write_all(&body).await.unwrap();
        server
    });
    h1.exchange(&post("hi")).await.unwrap();
    let mut total = 0;
    while let Some(piece) = h1.next_data().await {
        let piece = piece.unwrap();
        assert!(piece.len() <= READ_SIZE);
        total += piece.len();
        assert_eq!(h1.buf.len(), READ_SIZE);
    }
    assert_eq!(total, length);
    assert!(h1.is_idle());
    drop(writing.await.unwrap());
}

/// A server that answers (413) before it reads a request larger than the pipe holds: its answer
/// is read, not a write left waiting for room, and the connection is not reused.
#[tokio::test]
async fn an_answer_before_the_whole_request_is_read_stops_the_writing() {
    let (client, mut server) = tokio::io::duplex(4 * 1024);
    let mut h1 = H1::new(Box::new(client), super::super::BytesRead::default());
    server
        .write_all(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 413 Payload Too Large\r\ncontent-length: 3\r\n\r\nbig")
        .await
        .unwrap();
    let large = http::Request::post("/v1/chat")
        .body(Bytes::from(vec![b'x'; 1024 * 1024]))
        .unwrap();
    let response = h1.exchange(&large).await.map_err(|f| f.message).unwrap();
    assert_eq!(response.status(), 413);
    let mut body = Vec::new();
    while let Some(piece) = h1.next_data().await {
        body.extend_from_slice(piece.unwrap());
    }
    assert_eq!(body, b"big");
    assert!(!h1.is_idle());
}

/// A server that closes without answering while the request is being written: the exchange
/// fails saying so, it does not wait.
#[tokio::test]
async fn a_close_while_the_request_is_written_fails_the_exchange() {
    let (client, server) = tokio::io::duplex(4 * 1024);
    let mut h1 = H1::new(Box::new(client), super::super::BytesRead::default());
    drop(server);
    let large = http::Request::post("/v1/chat")
        .body(Bytes::from(vec![b'x'; 1024 * 1024]))
        .unwrap();
    let failure = h1.exchange(&large).await.unwrap_err();
    assert!(
        failure.message.starts_with("writing the request failed"),
        "{}",
        failure.message
    );
}
