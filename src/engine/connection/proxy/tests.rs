use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::engine::connection::{Body, Connection};

fn origin_via(url: &str, proxy: &str) -> Origin {
    let (mut origin, _) = Origin::parse(url).unwrap();
    origin.proxy = Some(Arc::new(ProxyUrl::parse(proxy, "test").unwrap()));
    origin
}

/// Reads one request head (up to the blank line) from `stream`.
async fn read_head<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> String {
    let mut got = Vec::new();
    while !got.ends_with(b"\r\n\r\n") {
        let mut byte = [0; 1];
        if stream.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        got.push(byte[0]);
    }
    String::from_utf8(got).unwrap()
}

/// Runs a tunnel request against a proxy that answers `answer`, and what the proxy read.
async fn tunnel_answered(
    proxy: &str,
    answer: &'static [u8],
) -> (Result<(), ConnectFailure>, String) {
    let origin = origin_via("https://api.example.com/v1", proxy);
    let (mut client, mut server) = tokio::io::duplex(64 * 1024);
    let serving = async move {
        let head = read_head(&mut server).await;
        server.write_all(answer).await.unwrap();
        // Closes the proxy's side once the client is done with it.
        let _ = server.read(&mut [0; 1]).await;
        head
    };
    let via = origin.proxy.clone().unwrap();
    let asking = async move {
        let result = tunnel(&mut client, &origin, &via).await;
        drop(client);
        result
    };
    let (result, head) = tokio::join!(asking, serving);
    (result, head)
}

#[tokio::test]
async fn a_tunnel_is_asked_for_with_the_port_and_the_credentials() {
    let (result, head) = tunnel_answered(
        "http://alice:wonderland-pw@127.0.0.1:3128",
        b"HTTP/1.1 200 Connection established\r\n\r\n",
    )
    .await;
    result.unwrap();
    assert!(
        head.starts_with("CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n"),
        "{head}"
    );
    // base64("alice:wonderland-pw")
    assert!(
        head.contains("Proxy-Authorization: Basic YWxpY2U6d29uZGVybGFuZC1wdw==\r\n"),
        "{head}"
    );
    let (result, head) =
        tunnel_answered("127.0.0.1:3128", b"HTTP/1.0 200 OK\r\nVia: x\r\n\r\n").await;
    result.unwrap();
    assert!(!head.contains("Proxy-Authorization"), "{head}");
}

#[tokio::test]
async fn a_refused_tunnel_names_the_proxy_redacted_and_its_status_line() {
    for (answer, says) in [
        (
            &b"HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n"[..],
            "`HTTP/1.1 407 Proxy Authentication Required` (it refused the credentials",
        ),
        (
            b"HTTP/1.1 403 Forbidden\r\n\r\nno CONNECT to port 443",
            "`HTTP/1.1 403 Forbidden`",
        ),
        (
            b"HTTP/1.1 502 Bad Gateway\r\n\r\n",
            "`HTTP/1.1 502 Bad Gateway`",
        ),
        (b"SSH-2.0-OpenSSH\r\n\r\n", "not HTTP: `SSH-2.0-OpenSSH`"),
        (
            b"HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 200 OK",
            "then bytes nobody asked for",
        ),
    ] {
        let (result, _) = tunnel_answered("http://bob:hunter2-secret@127.0.0.1:3128", answer).await;
        let (class, message) = result.unwrap_err();
        assert_eq!(class, ErrorClass::Connect, "{message}");
        assert!(message.contains(says), "{message}");
        assert!(
            message.starts_with(
                "the proxy http://bob:REDACTED@127.0.0.1:3128 did not open a tunnel to \
                 api.example.com:443: "
            ),
            "{message}"
        );
        assert!(!message.contains("hunter2"), "{message}");
    }
}

#[tokio::test]
async fn a_proxy_that_closes_or_babbles_is_a_failure_not_a_hang() {
    let origin = origin_via("https://api.example.com/v1", "127.0.0.1:3128");
    let via = origin.proxy.clone().unwrap();
    let (mut client, mut server) = tokio::io::duplex(1024);
    let closing = async move {
        read_head(&mut server).await;
        drop(server);
    };
    let (result, ()) = tokio::join!(tunnel(&mut client, &origin, &via), closing);
    let (class, message) = result.unwrap_err();
    assert_eq!(class, ErrorClass::ConnectionLost);
    assert!(
        message.contains("closed the connection without answering"),
        "{message}"
    );

    let (mut client, mut server) = tokio::io::duplex(64 * 1024);
    let babbling = async move {
        read_head(&mut server).await;
        let _ = server.write_all(&vec![b'x'; MAX_ANSWER_BYTES + 10]).await;
        server
    };
    let (result, _server) = tokio::join!(tunnel(&mut client, &origin, &via), babbling);
    assert!(result.unwrap_err().1.contains("has no end"));
}

/// An http origin through a proxy: the proxy gets the request in absolute form with the
/// credentials, on a connection to the proxy (the origin's name is never resolved here).
#[tokio::test]
async fn plain_http_goes_to_the_proxy_in_absolute_form() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = format!(
        "http://carol:pw-for-carol@{}",
        listener.local_addr().unwrap()
    );
    let origin = origin_via("http://origin.invalid:8000/v1", &proxy);
    let mut connection = Connection::new(Arc::new(origin), None, Duration::from_secs(5));
    connection.ready().await.unwrap();
    let (mut server, _) = listener.accept().await.unwrap();
    let request = http::Request::post("/v1/chat?x=1")
        .header("host", "origin.invalid:8000")
        .body(Body::from(""))
        .unwrap();
    let sending = connection.send(request);
    let serving = async {
        let head = read_head(&mut server).await;
        server
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .await
            .unwrap();
        head
    };
    let (response, head) = tokio::join!(sending, serving);
    assert_eq!(response.unwrap().status(), 200);
    assert!(
        head.starts_with("POST http://origin.invalid:8000/v1/chat?x=1 HTTP/1.1\r\n"),
        "{head}"
    );
    // base64("carol:pw-for-carol")
    assert!(
        head.contains("proxy-authorization: Basic Y2Fyb2w6cHctZm9yLWNhcm9s\r\n"),
        "{head}"
    );
    assert!(head.contains("host: origin.invalid:8000\r\n"), "{head}");

    // The proxy refusing to forward is a connect failure naming it, not the server's 4xx.
    let request = http::Request::get("/v1").body(Body::from("")).unwrap();
    let sending = connection.send(request);
    let serving = async {
        read_head(&mut server).await;
        server
            .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n")
            .await
            .unwrap();
    };
    let (response, ()) = tokio::join!(sending, serving);
    let (class, message) = response.unwrap_err();
    assert_eq!(class, ErrorClass::Connect);
    assert!(
        message.contains("refused to forward the request"),
        "{message}"
    );
    assert!(!message.contains("pw-for-carol"), "{message}");
}

/// A forwarding proxy that answers an http request with garbage, or closes: the failure names
/// the proxy (redacted), as a tunnel's does.
#[tokio::test]
async fn a_forwarding_proxy_that_babbles_or_closes_is_named() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let origin = origin_via(
        "http://origin.invalid:8000/v1",
        &format!("http://racer:pw-of-racer@{address}"),
    );
    let mut connection = Connection::new(Arc::new(origin), None, Duration::from_secs(5));
    connection.ready().await.unwrap();
    let (mut server, _) = listener.accept().await.unwrap();
    let request = http::Request::get("/v1").body(Body::from("")).unwrap();
    let sending = connection.send(request);
    let serving = async {
        read_head(&mut server).await;
        server
            .write_all(b"\x15HELLO garbage not http\r\n\r\n")
            .await
            .unwrap();
    };
    let (response, ()) = tokio::join!(sending, serving);
    let (class, message) = response.unwrap_err();
    assert_eq!(class, ErrorClass::Connect);
    assert!(
        message.starts_with(&format!(
            "the proxy http://racer:REDACTED@{address} did not forward the request to \
             origin.invalid:8000: its answer is not HTTP: "
        )),
        "{message}"
    );
    assert!(!message.contains("pw-of-racer"), "{message}");

    // A new connection to a proxy that closes without answering.
    connection.ready().await.unwrap();
    let (mut server, _) = listener.accept().await.unwrap();
    let request = http::Request::get("/v1").body(Body::from("")).unwrap();
    let sending = connection.send(request);
    let closing = async move {
        read_head(&mut server).await;
        drop(server);
    };
    let (response, ()) = tokio::join!(sending, closing);
    let (class, message) = response.unwrap_err();
    assert_eq!(class, ErrorClass::ConnectionLost);
    assert!(
        message.starts_with(&format!(
            "the connection to the proxy http://racer:REDACTED@{address} closed before the \
             response headers"
        )),
        "{message}"
    );
}

#[tokio::test]
async fn a_proxy_that_cannot_be_reached_is_named() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let origin = origin_via(
        "http://origin.invalid/v1",
        &format!("http://u:pass-word@{address}"),
    );
    let mut connection = Connection::new(Arc::new(origin), None, Duration::from_secs(5));
    let (class, message) = connection.ready().await.unwrap_err();
    assert_eq!(class, ErrorClass::Connect);
    assert!(
        message.starts_with(&format!(
            "could not connect to origin.invalid through the proxy http://u:REDACTED@{address}: "
        )),
        "{message}"
    );
}
