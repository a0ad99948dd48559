use super::*;

/// Runs `test` on a runtime of one thread: nothing else runs until it yields.
fn on_one_thread(test: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(test);
}

/// A ready connection to a bare listener on 127.0.0.1, and the server side of it.
async fn connected() -> (Connection, tokio::net::TcpStream) {
    let (connection, server, _) = accepted().await;
    (connection, server)
}

/// [`connected`], and the listener, to see whether another connection is opened.
async fn accepted() -> (Connection, tokio::net::TcpStream, tokio::net::TcpListener) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let (origin, _) = Origin::parse(&url).unwrap();
    let mut connection = Connection::new(Arc::new(origin), None, Duration::from_secs(5));
    connection.ready().await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (connection, server, listener)
}

fn post_hi() -> http::Request<Body> {
    http::Request::post("/v1/x")
        .header("host", "mock")
        .body(Body::from("hi"))
        .unwrap()
}

/// Answers the request waiting on `server` with `head` (status line and headers, no
/// body), and reads the response whole on `connection`.
async fn exchange(connection: &mut Connection, server: &mut tokio::net::TcpStream, head: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sending = connection.send(post_hi());
    let answering = async {
        let mut got = Vec::new();
        while !got.ends_with(b"hi") {
            let mut buf = [0; 1024];
            let n = server.read(&mut buf).await.unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        let response = format!("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n{head}\r\nok");
        server.write_all(response.as_bytes()).await.unwrap();
    };
    let (response, ()) = tokio::join!(sending, answering);
    let mut body = response.unwrap().into_body();
    let mut got = Vec::new();
    while let Some(piece) = connection.next_data(&mut body).await {
        got.extend_from_slice(piece.unwrap());
    }
    assert_eq!(got, b"ok");
}

/// A kept-alive connection, idle, whose server then does `then` (giving back the socket
/// if it keeps it open): once what it did reached this machine, though nobody read it (an
/// idle connection is read by no one), it is not reused.
fn not_reused_after<F>(then: impl FnOnce(tokio::net::TcpStream) -> F)
where
    F: std::future::Future<Output = Option<tokio::net::TcpStream>>,
{
    on_one_thread(async {
        let (mut connection, mut server, listener) = accepted().await;
        exchange(&mut connection, &mut server, "keep-alive: timeout=5\r\n").await;
        assert_eq!(connection.ready().await.unwrap(), None, "kept alive");
        let _open = then(server).await;
        // Wait for it to arrive.
        let waiting = std::time::Instant::now();
        while connection.peer.peek().is_err() {
            assert!(
                waiting.elapsed() < Duration::from_secs(5),
                "nothing arrived"
            );
            std::thread::yield_now();
        }
        assert!(
            connection.ready().await.unwrap().is_some(),
            "a new connection"
        );
        listener.accept().await.unwrap();
    });
}

/// The server closes the idle connection: a request sent on it would never be read.
#[test]
fn a_connection_its_server_closed_is_not_reused() {
    not_reused_after(|server| async move {
        drop(server);
        None
    });
}

/// An idle connection holding bytes nobody asked for (a 408 a server sends before it
/// closes; over TLS, the `close_notify` before the FIN) is not reused: a request sent on it
/// would get that answer or die unanswered.
#[test]
fn a_connection_with_unsolicited_bytes_waiting_is_not_reused() {
    use tokio::io::AsyncWriteExt;
    not_reused_after(|mut server| async move {
        server
            .write_all(b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n")
            .await
            .unwrap();
        Some(server)
    });
}

/// `Connection: close` is honoured even when the server leaves the connection open.
#[tokio::test]
async fn connection_close_is_honoured() {
    let (mut connection, mut server, listener) = accepted().await;
    exchange(&mut connection, &mut server, "connection: close\r\n").await;
    assert!(
        connection.ready().await.unwrap().is_some(),
        "a new connection"
    );
    listener.accept().await.unwrap();
    drop(server);
}

/// On one thread, the client cannot read the response before this test yields after
/// writing it; a stamp taken at that read would be later than `written`. (The kernel
/// stamps loopback bytes as the writer sends them.)
#[test]
fn response_bytes_are_timed_from_their_arrival_not_their_read() {
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let _stamping = crate::rx_time::kernel_stamps_on();
    on_one_thread(async {
        let (mut connection, mut server) = connected().await;
        let mut sending = Box::pin(connection.send(post_hi()));
        let mut got = [0; 1024];
        tokio::select! {
            biased;
            _ = &mut sending => panic!("a response before the server wrote one"),
            n = server.read(&mut got) => assert!(n.unwrap() > 0),
        }
        let before = Instant::now();
        server
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            .await
            .unwrap();
        let written = Instant::now();
        let response = sending.await.unwrap();
        assert_eq!(response.status(), 200);
        let arrived = connection.arrival().get().unwrap();
        assert!(before <= arrived, "{before:?} {arrived:?}");
        #[cfg(target_os = "linux")]
        assert!(arrived <= written, "{arrived:?} {written:?}");
        #[cfg(not(target_os = "linux"))]
        let _ = written;
    });
}

/// The request is written in the task that sends it, at its first poll: timed from the write,
/// which is no earlier than the request was issued, and no later than the poll's end; the
/// server reads only what was written, after it.
#[test]
fn a_request_is_timed_from_when_it_was_written_not_issued() {
    use std::future::Future;
    use std::time::Instant;
    use tokio::io::AsyncReadExt;

    on_one_thread(async {
        let (mut connection, mut server) = connected().await;
        let mut written = connection.last_write();
        let seen = written.borrow_and_update().count;
        let issued = Instant::now();
        let mut sending = Box::pin(connection.send(post_hi()));
        std::future::poll_fn(|cx| {
            assert!(sending.as_mut().poll(cx).is_pending());
            std::task::Poll::Ready(())
        })
        .await;
        let polled = Instant::now();
        let last = *written.borrow();
        assert_eq!(last.count, seen + 1, "one message, one signal");
        let at = last.at.unwrap();
        assert!(issued <= at, "{issued:?} {at:?}");
        assert!(at <= polled, "{at:?} {polled:?}");
        let mut got = Vec::new();
        while !got.ends_with(b"hi") {
            let mut buf = [0; 1024];
            tokio::select! {
                biased;
                _ = &mut sending => panic!("a response before the server wrote one"),
                n = server.read(&mut buf) => got.extend_from_slice(&buf[..n.unwrap()]),
            }
        }
        assert!(got.starts_with(b"POST /v1/x HTTP/1.1\r\n"), "{got:?}");
        assert!(got.ends_with(b"content-length: 2\r\n\r\nhi"), "{got:?}");
    });
}
