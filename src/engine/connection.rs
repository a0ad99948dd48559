//! One HTTP/1.1 connection per worker (HTTP/2: a stream per worker on connections its endpoint's
//! workers share, `connection/h2.rs`), opened, timed and kept by llmrace itself. Owning the
//! connection (instead of borrowing one from a client's pool) is what makes the numbers exact:
//! a worker knows whether a request opened a new connection and how long connecting took, and
//! it waits until its connection is idle again before the next request, so no request ever
//! opens a second connection just because the first was not back in a pool yet.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use crate::clock::Stopwatch;
use crate::event::ErrorClass;
use crate::rx_time::{LastArrival, LastWrite, Peer, TimedStream, Written};

mod h2;
mod local_port;
mod origin;
mod proxy;
mod tls;

pub use origin::Origin;
pub use tls::Tls;

pub type Body = Full<Bytes>;

/// A worker's connection to one origin; opened on first use and again whenever it closed.
pub struct Connection {
    origin: Arc<Origin>,
    tls: Option<Tls>,
    connect_timeout: Duration,
    sender: Option<SendRequest<Body>>,
    /// When the bytes the open connection read last reached this machine.
    arrival: LastArrival,
    /// When the open connection last handed a whole request to the kernel.
    written: LastWrite,
    /// Whether the server closed the open connection.
    peer: Peer,
    /// The bytes hyper read from the open connection, after TLS.
    read: BytesRead,
    /// How long opening the open connection took: about a round trip, or a few with TLS.
    connected_in: Duration,
    /// HTTP/2 (or TLS that may choose it): the endpoint's shared connections.
    pool: Option<Arc<h2::Pool>>,
    /// HTTP/2: this worker's place on one of them, when it has one.
    lease: Option<h2::Lease>,
    /// HTTP/2: the last request failed refused unprocessed.
    refused: bool,
}

/// Why no connection could be had: the class and the message of the request that needed it.
pub type ConnectFailure = (ErrorClass, String);

impl Connection {
    pub fn new(origin: Arc<Origin>, tls: Option<Tls>, connect_timeout: Duration) -> Self {
        Connection {
            origin,
            tls,
            connect_timeout,
            sender: None,
            arrival: LastArrival::default(),
            written: tokio::sync::watch::Sender::new(Written::default()).subscribe(),
            peer: Peer::default(),
            read: BytesRead::default(),
            connected_in: Duration::ZERO,
            pool: None,
            lease: None,
            refused: false,
        }
    }

    /// This connection (and its [`Connection::fresh`] copies, which share its HTTP/2
    /// connections) speaks `version`; without this it speaks HTTP/1.1.
    #[must_use]
    pub fn speaking(mut self, version: crate::config::HttpVersion) -> Connection {
        self.pool = h2::Pool::new(version, self.origin.https, self.tls.as_ref()).map(Arc::new);
        self
    }

    /// A new, not yet opened connection to the same origin.
    #[must_use]
    pub fn fresh(&self) -> Connection {
        Connection {
            pool: self.pool.clone(),
            ..Connection::new(
                Arc::clone(&self.origin),
                self.tls.clone(),
                self.connect_timeout,
            )
        }
    }

    /// Waits until the connection can take a request (the previous response is fully read),
    /// opening a new one if it closed. Returns how long connecting took when it had to.
    ///
    /// A server may close an idle connection (llama.cpp does after every stream, whatever its
    /// `Keep-Alive` says) a moment before hyper reads that end: the socket is asked too, so that
    /// no request is sent on a connection already known to be closed.
    pub async fn ready(&mut self) -> Result<Option<Duration>, ConnectFailure> {
        if let Some(ready) = self.ready_shared().await {
            return ready;
        }
        if let Some(sender) = &mut self.sender
            && sender.ready().await.is_ok()
            && !self.peer.has_closed()
        {
            return Ok(None);
        }
        self.sender = None;
        let watch = Stopwatch::start();
        let opened =
            tokio::time::timeout(self.connect_timeout, self.open(self.tls.as_ref(), false))
                .await
                .map_err(|_| self.connect_timed_out())??;
        match opened {
            (h2::Opened::Http1(sender), stream) => self.keep(sender, stream),
            // Only a TLS that offers `h2` (the shared path's) or prior knowledge opens one.
            (h2::Opened::Http2(..), _) => {
                return Err((
                    ErrorClass::Connect,
                    "the server chose HTTP/2 though llmrace offered HTTP/1.1 only".to_string(),
                ));
            }
        }
        self.connected_in = watch.elapsed();
        Ok(Some(self.connected_in))
    }

    /// Keeps `sender` as this worker's own HTTP/1.1 connection.
    fn keep(&mut self, sender: SendRequest<Body>, stream: Watched) {
        self.sender = Some(sender);
        self.arrival = stream.arrival;
        self.written = stream.written;
        self.peer = stream.peer;
        self.read = stream.read;
    }

    fn connect_timed_out(&self) -> ConnectFailure {
        (
            ErrorClass::ConnectTimeout,
            format!(
                "connecting to {} took longer than the connect timeout ({})",
                proxy::hop_name(&self.origin),
                humantime::format_duration(self.connect_timeout)
            ),
        )
    }

    /// When the bytes this connection read last reached the machine (the kernel's receive
    /// stamp where there is one). Bytes are read in order before they are handed on, so for
    /// any response bytes a request has been given, this is no earlier than their arrival
    /// and no later than now: a client slow to read does not count its own queue.
    pub fn arrival(&self) -> &LastArrival {
        &self.arrival
    }

    /// How many bytes of HTTP (decrypted, for TLS) the open connection has read: unchanged
    /// across a request, no byte of its response arrived.
    pub fn bytes_read(&self) -> u64 {
        self.read.get()
    }

    /// How long opening the open connection took.
    pub fn connected_in(&self) -> Duration {
        self.connected_in
    }

    /// When the open connection last finished writing a request, to tell when the next one
    /// really left: mark the count before sending, then wait for a higher one.
    pub fn last_write(&self) -> LastWrite {
        self.written.clone()
    }

    /// Sends a request on the ready connection.
    pub async fn send(
        &mut self,
        request: http::Request<Body>,
    ) -> Result<http::Response<hyper::body::Incoming>, ConnectFailure> {
        if self.lease.is_some() {
            return self.send_shared(request).await;
        }
        let Some(sender) = &mut self.sender else {
            return Err((ErrorClass::ConnectionLost, "no open connection".to_string()));
        };
        let mut request = request;
        let forward = proxy::forward_proxy(&self.origin);
        if let Some(proxy) = forward {
            proxy::absolute_form(&mut request, &self.origin, proxy);
        }
        let response = sender.send_request(request).await.map_err(|e| {
            self.sender = None;
            proxy::lost(forward, &self.origin, &e)
        })?;
        proxy::refused(forward, response)
    }

    /// Opens a connection, over TLS offering what `tls` offers by ALPN; cleartext speaks HTTP/2
    /// with `prior_knowledge`, HTTP/1.1 without.
    ///
    /// Boxed: connecting (DNS, a proxy's tunnel, the TLS handshake) takes about 9 KB of state,
    /// which every worker's task would otherwise hold for the whole race although it connects
    /// rarely: 90 MB at 10 000 streams.
    async fn open(
        &self,
        tls: Option<&Tls>,
        prior_knowledge: bool,
    ) -> Result<(h2::Opened, Watched), ConnectFailure> {
        Box::pin(self.open_unboxed(tls, prior_knowledge)).await
    }

    async fn open_unboxed(
        &self,
        tls: Option<&Tls>,
        prior_knowledge: bool,
    ) -> Result<(h2::Opened, Watched), ConnectFailure> {
        let origin = &self.origin;
        let (host, port) = proxy::first_hop(origin);
        let addrs: Vec<_> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| {
                (
                    ErrorClass::Dns,
                    format!(
                        "the host name `{host}`{} did not resolve: {e}",
                        proxy::of_proxy(origin)
                    ),
                )
            })?
            .collect();
        let mut last_error = None;
        let mut stream = None;
        for addr in &addrs {
            match tokio::net::TcpStream::connect(addr).await {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last_error = Some(local_port::why(addr, &e)),
            }
        }
        let stream = stream.ok_or_else(|| {
            let why = last_error.unwrap_or_else(|| "no address".to_string());
            (
                ErrorClass::Connect,
                format!("could not connect to {}: {why}", proxy::hop_name(origin)),
            )
        })?;
        // Tokens are small writes the server must see at once; so are our requests.
        let _ = stream.set_nodelay(true);
        let mut stream = TimedStream::new(stream);
        if let Some(via) = origin.proxy.as_deref().filter(|_| origin.https) {
            proxy::tunnel(&mut stream, origin, via).await?;
        }
        let watched = Watched {
            arrival: stream.arrival(),
            written: stream.last_write(),
            peer: stream.peer(),
            read: BytesRead::default(),
        };
        match tls {
            Some(tls) if origin.https => {
                let stream = tls.connect(origin, stream).await?;
                // What the server chose by ALPN.
                if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                    h2::handshake(watched.read.counting(stream)).await
                } else {
                    handshake(TokioIo::new(watched.read.counting(stream))).await
                }
            }
            _ if prior_knowledge => h2::handshake(watched.read.counting(stream)).await,
            _ => handshake(TokioIo::new(watched.read.counting(stream))).await,
        }
        .map(|opened| (opened, watched))
    }
}

/// What a connection's owner keeps watching of the socket that hyper reads and writes.
struct Watched {
    arrival: LastArrival,
    written: LastWrite,
    peer: Peer,
    read: BytesRead,
}

/// How many bytes hyper has read from a connection, counted above TLS: the response's own
/// bytes, not TLS records (a `close_notify` before the end carries none of the response).
#[derive(Clone, Debug, Default)]
struct BytesRead(Arc<AtomicU64>);

impl BytesRead {
    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// `stream`, counting into this what is read from it.
    fn counting<S: tokio::io::AsyncRead>(
        &self,
        stream: S,
    ) -> tokio_util::io::InspectReader<S, impl FnMut(&[u8]) + use<S>> {
        let count = Arc::clone(&self.0);
        tokio_util::io::InspectReader::new(stream, move |bytes: &[u8]| {
            count.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        })
    }
}

async fn handshake<I>(io: I) -> Result<h2::Opened, ConnectFailure>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| {
            (
                ErrorClass::Connect,
                format!("the HTTP handshake failed: {}", chain(&e)),
            )
        })?;
    // The connection's own task drives reads and writes; it ends when the connection closes.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(h2::Opened::Http1(sender))
}

/// An error and its causes on one line.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let more = e.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
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
        let body = http_body_util::BodyExt::collect(response.unwrap().into_body());
        assert_eq!(&body.await.unwrap().to_bytes()[..], b"ok");
    }

    /// A kept-alive connection, idle, whose server then does `then` (giving back the socket
    /// if it keeps it open): once what it did reached this machine, and on one thread hyper's
    /// task has not read it yet, so hyper still offers the connection, it is not reused.
    fn not_reused_after<F>(then: impl FnOnce(tokio::net::TcpStream) -> F)
    where
        F: std::future::Future<Output = Option<tokio::net::TcpStream>>,
    {
        on_one_thread(async {
            let (mut connection, mut server, listener) = accepted().await;
            exchange(&mut connection, &mut server, "keep-alive: timeout=5\r\n").await;
            assert_eq!(connection.ready().await.unwrap(), None, "kept alive");
            let _open = then(server).await;
            // Wait for it to arrive, without yielding to hyper's task.
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

    /// On one thread, the connection's task cannot write the request before this test yields,
    /// so `issued` is before the write; the server reads only what was written, after it.
    #[test]
    fn a_request_is_timed_from_when_it_was_written_not_issued() {
        use std::future::Future;
        use std::time::Instant;
        use tokio::io::AsyncReadExt;

        on_one_thread(async {
            let (mut connection, mut server) = connected().await;
            let mut written = connection.last_write();
            let seen = written.borrow_and_update().count;
            let mut sending = Box::pin(connection.send(post_hi()));
            // Issue the request without yielding to the runtime.
            std::future::poll_fn(|cx| {
                assert!(sending.as_mut().poll(cx).is_pending());
                std::task::Poll::Ready(())
            })
            .await;
            let issued = Instant::now();
            assert_eq!(written.borrow().count, seen, "written before the task ran");
            let mut got = Vec::new();
            while !got.ends_with(b"hi") {
                let mut buf = [0; 1024];
                tokio::select! {
                    biased;
                    _ = &mut sending => panic!("a response before the server wrote one"),
                    n = server.read(&mut buf) => got.extend_from_slice(&buf[..n.unwrap()]),
                }
            }
            let read = Instant::now();
            let last = *written.borrow();
            assert_eq!(last.count, seen + 1, "one message, one signal");
            let at = last.at.unwrap();
            assert!(issued <= at, "{issued:?} {at:?}");
            assert!(at <= read, "{at:?} {read:?}");
        });
    }
}
