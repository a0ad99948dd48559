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
use futures_util::FutureExt;
use http_body_util::{BodyExt, Full};

use crate::clock::Stopwatch;
use crate::event::ErrorClass;
use crate::rx_time::{LastArrival, LastWrite, Peer, TimedStream, Written};

mod h1;
mod h2;
mod local_port;
mod origin;
mod proxy;
mod tls;

pub use origin::Origin;
pub use tls::Tls;

pub type Body = Full<Bytes>;

/// A response's body, read with [`Connection::next_data`]: HTTP/1.1's is read by the
/// connection itself, in place; HTTP/2's comes from hyper's stream, a frame at a time.
#[derive(Debug)]
pub enum ResponseBody {
    Http1,
    Http2 {
        incoming: hyper::body::Incoming,
        /// The frame being handed on.
        held: Bytes,
    },
}

/// A worker's connection to one origin; opened on first use and again whenever it closed.
pub struct Connection {
    origin: Arc<Origin>,
    tls: Option<Tls>,
    connect_timeout: Duration,
    /// The open HTTP/1.1 connection, read and written by the request that uses it.
    h1: Option<h1::H1>,
    /// When the bytes the open connection read last reached this machine.
    arrival: LastArrival,
    /// When the open connection last handed a whole request to the kernel.
    written: LastWrite,
    /// Whether the server closed the open connection.
    peer: Peer,
    /// The bytes read from the open connection, after TLS.
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
            h1: None,
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
    /// `Keep-Alive` says) while nobody reads it: the socket is asked, so that no request is sent
    /// on a connection already known to be closed. One whose response was abandoned midway (a
    /// stop, a timeout) is closed, never reused.
    pub async fn ready(&mut self) -> Result<Option<Duration>, ConnectFailure> {
        if let Some(ready) = self.ready_shared().await {
            return ready;
        }
        if self.h1.as_ref().is_some_and(h1::H1::is_idle) && !self.peer.has_closed() {
            return Ok(None);
        }
        self.h1 = None;
        let watch = Stopwatch::start();
        let opened =
            tokio::time::timeout(self.connect_timeout, self.open(self.tls.as_ref(), false))
                .await
                .map_err(|_| self.connect_timed_out())??;
        match opened {
            (h2::Opened::Http1(h1), stream) => self.keep(h1, stream),
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

    /// Keeps `h1` as this worker's own HTTP/1.1 connection.
    fn keep(&mut self, h1: h1::H1, stream: Watched) {
        self.h1 = Some(h1);
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

    /// Sends a request on the ready connection and reads its response head; the body is read
    /// with [`Connection::next_data`]. HTTP/1.1 writes and reads in the caller's task.
    pub async fn send(
        &mut self,
        request: http::Request<Body>,
    ) -> Result<http::Response<ResponseBody>, ConnectFailure> {
        if self.lease.is_some() {
            let response = self.send_shared(request).await?;
            return Ok(response.map(|incoming| ResponseBody::Http2 {
                incoming,
                held: Bytes::new(),
            }));
        }
        let Some(h1) = &mut self.h1 else {
            return Err((ErrorClass::ConnectionLost, "no open connection".to_string()));
        };
        // A `Full` body is its one frame, there at once.
        let mut request = request.map(|mut body| {
            body.frame()
                .now_or_never()
                .flatten()
                .and_then(|frame| frame.ok()?.into_data().ok())
                .unwrap_or_default()
        });
        let forward = proxy::forward_proxy(&self.origin);
        if let Some(proxy) = forward {
            proxy::absolute_form(&mut request, &self.origin, proxy);
        }
        match h1.exchange(&request).await {
            Ok(response) => proxy::refused(forward, response.map(|()| ResponseBody::Http1)),
            Err(failure) => {
                self.h1 = None;
                Err(proxy::lost(
                    forward,
                    &self.origin,
                    &failure.message,
                    failure.garbage,
                ))
            }
        }
    }

    /// The next piece of `body` (a response of this connection's), `None` at its end; an
    /// error in words for a user. Cancel-safe; a body left unread closes an HTTP/1.1
    /// connection at the next [`Connection::ready`].
    pub async fn next_data<'a>(
        &'a mut self,
        body: &'a mut ResponseBody,
    ) -> Option<Result<&'a [u8], String>> {
        match body {
            ResponseBody::Http1 => match &mut self.h1 {
                Some(h1) => h1.next_data().await,
                None => Some(Err("the connection is closed".to_string())),
            },
            ResponseBody::Http2 { incoming, held } => loop {
                match incoming.frame().await? {
                    Ok(frame) => {
                        if let Ok(data) = frame.into_data() {
                            *held = data;
                            return Some(Ok(&held[..]));
                        }
                    }
                    Err(e) => return Some(Err(chain(&e))),
                }
            },
        }
    }

    /// Reads `body` to its end, leaving the connection idle; false when that failed.
    pub async fn read_to_end(&mut self, body: &mut ResponseBody) -> bool {
        loop {
            match self.next_data(body).await {
                Some(Ok(_)) => {}
                Some(Err(_)) => return false,
                None => return true,
            }
        }
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
        let http1 =
            |io: Box<dyn h1::Io>| Ok(h2::Opened::Http1(h1::H1::new(io, watched.read.clone())));
        match tls {
            Some(tls) if origin.https => {
                let stream = tls.connect(origin, stream).await?;
                // What the server chose by ALPN.
                if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                    h2::handshake(watched.read.counting(stream)).await
                } else {
                    http1(Box::new(stream))
                }
            }
            _ if prior_knowledge => h2::handshake(watched.read.counting(stream)).await,
            _ => http1(Box::new(stream)),
        }
        .map(|opened| (opened, watched))
    }
}

/// What a connection's owner keeps watching of the socket it (HTTP/1.1) or hyper (HTTP/2)
/// reads and writes.
struct Watched {
    arrival: LastArrival,
    written: LastWrite,
    peer: Peer,
    read: BytesRead,
}

/// How many bytes have been read from a connection, counted above TLS: the response's own
/// bytes, not TLS records (a `close_notify` before the end carries none of the response).
#[derive(Clone, Debug, Default)]
struct BytesRead(Arc<AtomicU64>);

impl BytesRead {
    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn add(&self, n: usize) {
        self.0.fetch_add(n as u64, Ordering::Relaxed);
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
mod tests;
