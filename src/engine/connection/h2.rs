//! HTTP/2: an endpoint's workers share its connections, as real clients do. Each request is a
//! stream on a warm connection; a connection carries at most as many workers as the server's
//! `SETTINGS_MAX_CONCURRENT_STREAMS` allows, and another is opened when they are all full.
//!
//! A worker's [`Connection`] holds a [`Lease`] on one shared connection (a clone of hyper's
//! `http2::SendRequest`) for as long as that connection lives: a worker sends one request at a
//! time, so a connection never has more streams open than workers attached. The worker whose
//! request opened the connection pays the connect (its `ready` returns the connect time); the
//! others attach to the warm connection (`None`), even when they waited for it to open.
//!
//! What the connection's shared stamps mean for one stream:
//! - `arrival`: the latest bytes read on the whole connection. hyper's connection task reads
//!   every stream's frames as they come, so when a stream is handed a DATA frame, that read is
//!   no earlier than the frame's arrival and no later than now: a bound, like HTTP/1.1's, that
//!   another stream's later read can make later. There is no floor under a frame's bytes (the
//!   read before it may hold another stream's frame, and this stream's may have been buffered
//!   before it): `is_multiplexed` tells the stream reader to take none.
//! - `written`: any flush on the connection, one of whichever streams wrote. The first after a
//!   request was issued is no earlier than that and no later than the request's own write.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::oneshot;

use super::{Body, ConnectFailure, Connection, Tls, Watched, chain};
use crate::clock::Stopwatch;
use crate::config::HttpVersion;
use crate::event::ErrorClass;

/// An endpoint's shared HTTP/2 connections, and what its workers learned of the server.
pub struct Pool {
    /// What TLS offers by ALPN: `h2` and `http/1.1` (auto) or `h2` alone.
    tls: Option<Tls>,
    /// Cleartext HTTP/2 without upgrade.
    prior_knowledge: bool,
    /// Held while a connection is chosen or opened: workers that come meanwhile wait and then
    /// share the one opened.
    open: tokio::sync::Mutex<Vec<Arc<Shared>>>,
    /// A TLS server chose `http/1.1`: every worker opens its own HTTP/1.1 connection.
    chose_http1: AtomicBool,
}

impl Pool {
    /// The pool for `version` to an `https` origin or not; `None` when it is HTTP/1.1 anyway.
    pub(super) fn new(version: HttpVersion, https: bool, tls: Option<&Tls>) -> Option<Pool> {
        let prior_knowledge = match (version, https) {
            (HttpVersion::Http1, _) | (HttpVersion::Auto, false) => return None,
            (HttpVersion::Http2, false) => true,
            (_, true) => false,
        };
        Some(Pool {
            tls: tls.map(|tls| tls.offering(version)),
            prior_knowledge,
            open: tokio::sync::Mutex::new(Vec::new()),
            chose_http1: AtomicBool::new(false),
        })
    }
}

/// One HTTP/2 connection shared by some of an endpoint's workers.
struct Shared {
    sender: SendRequest<Body>,
    watched: Watched,
    /// The server's `SETTINGS_MAX_CONCURRENT_STREAMS` when the connection opened.
    max_streams: u32,
    attached: AtomicU32,
    /// A stream was refused or the server sent GOAWAY: no new stream goes on it.
    retired: AtomicBool,
}

impl Shared {
    fn usable(&self) -> bool {
        !self.retired.load(Ordering::Relaxed) && !self.sender.is_closed()
    }
}

/// A worker's place on a shared connection; leaving it frees the place.
pub(super) struct Lease(Arc<Shared>);

impl Drop for Lease {
    fn drop(&mut self) {
        self.0.attached.fetch_sub(1, Ordering::Relaxed);
    }
}

fn attach(shared: &Arc<Shared>) -> Lease {
    shared.attached.fetch_add(1, Ordering::Relaxed);
    Lease(Arc::clone(shared))
}

/// What was opened: HTTP/1.1 (cleartext, or the server chose it by ALPN) or HTTP/2.
pub(super) enum Opened {
    Http1(super::h1::H1),
    Http2(SendRequest<Body>, oneshot::Receiver<FirstFrame>),
}

/// What the server's first frame said: its stream limit (`None`: unlimited), or that it was no
/// SETTINGS frame, with its first bytes.
pub(super) type FirstFrame = Result<Option<u32>, Vec<u8>>;

impl Connection {
    /// Whether this connection's requests are streams on a shared HTTP/2 connection.
    pub fn is_multiplexed(&self) -> bool {
        self.lease.is_some()
    }

    /// HTTP/2 only: whether the last failed request was refused unprocessed (`REFUSED_STREAM`,
    /// or beyond the last stream a GOAWAY says was processed), so safe to send once more.
    /// `None` on HTTP/1.1.
    pub fn stream_refused(&self) -> Option<bool> {
        self.lease.as_ref().map(|_| self.refused)
    }

    /// "2" or "1.1": what the open connection speaks; `None` before it opened.
    pub fn http_version(&self) -> Option<&'static str> {
        if self.lease.is_some() {
            Some("2")
        } else {
            self.h1.as_ref().map(|_| "1.1")
        }
    }

    /// [`Connection::ready`] for a worker that shares HTTP/2 connections; `None` when it
    /// speaks HTTP/1.1 (the server chose it, or it was asked for).
    pub(super) async fn ready_shared(
        &mut self,
    ) -> Option<Result<Option<std::time::Duration>, ConnectFailure>> {
        let pool = Arc::clone(self.pool.as_ref()?);
        if pool.chose_http1.load(Ordering::Relaxed) {
            self.lease = None;
            return None;
        }
        self.refused = false;
        if self.lease.as_ref().is_some_and(|lease| lease.0.usable()) {
            return Some(Ok(None));
        }
        self.lease = None;
        let mut open = pool.open.lock().await;
        if pool.chose_http1.load(Ordering::Relaxed) {
            return None;
        }
        open.retain(|shared| shared.usable());
        if let Some(shared) = open
            .iter()
            .find(|s| s.attached.load(Ordering::Relaxed) < s.max_streams)
        {
            self.take(attach(shared));
            return Some(Ok(None));
        }
        let watch = Stopwatch::start();
        let opening = async {
            let (opened, watched) = self.open(pool.tls.as_ref(), pool.prior_knowledge).await?;
            match opened {
                Opened::Http1(sender) => Ok((Err(sender), watched)),
                Opened::Http2(sender, first) => {
                    let max_streams = settings(first.await, &self.origin.authority)?;
                    Ok((Ok((sender, max_streams)), watched))
                }
            }
        };
        let opened = match tokio::time::timeout(self.connect_timeout, opening).await {
            Ok(Ok(opened)) => opened,
            Ok(Err(failure)) => return Some(Err(failure)),
            Err(_) => return Some(Err(self.connect_timed_out())),
        };
        self.connected_in = watch.elapsed();
        match opened {
            (Err(http1), watched) => {
                // The server chose HTTP/1.1: this worker keeps it, the others open their own.
                pool.chose_http1.store(true, Ordering::Relaxed);
                self.keep(http1, watched);
            }
            (Ok((sender, max_streams)), watched) => {
                let shared = Arc::new(Shared {
                    sender,
                    watched,
                    max_streams,
                    attached: AtomicU32::new(0),
                    retired: AtomicBool::new(false),
                });
                self.take(attach(&shared));
                open.push(shared);
            }
        }
        Some(Ok(Some(self.connected_in)))
    }

    fn take(&mut self, lease: Lease) {
        let watched = &lease.0.watched;
        self.arrival = watched.arrival.clone();
        self.written = watched.written.clone();
        self.read = watched.read.clone();
        self.lease = Some(lease);
    }

    /// Sends `request` as a stream on the shared connection (the worker holds a lease).
    pub(super) async fn send_shared(
        &mut self,
        request: http::Request<Body>,
    ) -> Result<http::Response<hyper::body::Incoming>, ConnectFailure> {
        let Some(lease) = self.lease.as_ref() else {
            return Err((ErrorClass::ConnectionLost, "no open connection".to_string()));
        };
        let mut sender = lease.0.sender.clone();
        let request = for_h2(request, &self.origin.authority, self.origin.https);
        let answer = sender.send_request(request).await;
        answer.map_err(|e| {
            let refused = refused(&e);
            // Whatever went wrong, the next request takes another connection if this one is
            // going: a GOAWAY is not told until the connection closes.
            lease.0.retired.store(true, Ordering::Relaxed);
            self.refused = refused.is_some();
            let message = match refused {
                // h2's words for a graceful GOAWAY ("not a result of an error") say nothing more.
                Some(what) if graceful_go_away(&e) => what.to_owned(),
                Some(what) => format!("{what}: {}", chain(&e)),
                None => format!(
                    "the HTTP/2 stream failed before the response headers: {}",
                    chain(&e)
                ),
            };
            (ErrorClass::ConnectionLost, message)
        })
    }
}

/// A hint for an HTTP/1.1 answer hyper could not parse as one (`why`, its error chain): an
/// HTTP/2-only server answers HTTP/1.1 with an HTTP/2 frame. Empty when the error is another.
pub(super) fn speaks_h2_only(why: &str) -> &'static str {
    if why.contains("invalid HTTP version") {
        " (the server may speak HTTP/2 only: try --http2-prior-knowledge / http = \"2\")"
    } else {
        ""
    }
}

/// The stream limit the server's first frame set, or why the connection is not HTTP/2.
fn settings(
    first: Result<FirstFrame, oneshot::error::RecvError>,
    authority: &str,
) -> Result<u32, ConnectFailure> {
    match first {
        Ok(Ok(max)) => Ok(max.unwrap_or(u32::MAX).max(1)),
        Ok(Err(bytes)) => {
            let shown: String = String::from_utf8_lossy(&bytes)
                .chars()
                .take(24)
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            Err((
                ErrorClass::Connect,
                format!(
                    "{authority} did not answer in HTTP/2 (it began `{}`): it may speak \
                     HTTP/1.1 only; race it with http = \"auto\" or \"1.1\" (not \
                     --http2-prior-knowledge)",
                    shown.trim()
                ),
            ))
        }
        Err(_) => Err((
            ErrorClass::Connect,
            format!(
                "{authority} closed the connection before its HTTP/2 settings: it may not speak \
                 HTTP/2; race it with http = \"auto\" or \"1.1\" (not --http2-prior-knowledge)"
            ),
        )),
    }
}

/// The HTTP/2 handshake over `io` (after TLS), its connection driven by a task of its own,
/// and what the server's first frame will say.
pub(super) async fn handshake<I>(io: I) -> Result<Opened, ConnectFailure>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (tell, told) = oneshot::channel();
    let mut first = FirstFrameReader {
        seen: Vec::new(),
        tell: Some(tell),
    };
    let io = tokio_util::io::InspectReader::new(io, move |bytes: &[u8]| first.read(bytes));
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(io))
            .await
            .map_err(|e| {
                (
                    ErrorClass::Connect,
                    format!("the HTTP/2 handshake failed: {}", chain(&e)),
                )
            })?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Opened::Http2(sender, told))
}

/// HTTP/2 frame types and settings (RFC 9113, 6.5).
const SETTINGS: u8 = 0x4;
const ACK: u8 = 0x1;
const MAX_CONCURRENT_STREAMS: u16 = 0x3;
const FRAME_HEADER: usize = 9;
/// The largest frame a peer may send before settings say otherwise.
const DEFAULT_MAX_FRAME: usize = 16_384;

/// Reads the server's first frame as it goes by: its connection preface must be a SETTINGS
/// frame, whose `SETTINGS_MAX_CONCURRENT_STREAMS` hyper does not tell.
struct FirstFrameReader {
    seen: Vec<u8>,
    tell: Option<oneshot::Sender<FirstFrame>>,
}

impl FirstFrameReader {
    fn read(&mut self, bytes: &[u8]) {
        if self.tell.is_none() {
            return;
        }
        self.seen.extend_from_slice(bytes);
        if let Some(told) = first_frame(&self.seen)
            && let Some(tell) = self.tell.take()
        {
            let _ = tell.send(told);
            self.seen = Vec::new();
        }
    }
}

/// What `bytes`, the start of what the server sent, say; `None` until the first frame is whole.
fn first_frame(bytes: &[u8]) -> Option<FirstFrame> {
    let not_settings = || Some(Err(bytes.iter().copied().take(32).collect()));
    let header = bytes.get(..FRAME_HEADER)?;
    let length =
        usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
    let stream = u32::from_be_bytes([header[5], header[6], header[7], header[8]]) & 0x7fff_ffff;
    if header[3] != SETTINGS
        || header[4] & ACK != 0
        || stream != 0
        || length % 6 != 0
        || length > DEFAULT_MAX_FRAME
    {
        return not_settings();
    }
    let payload = bytes.get(FRAME_HEADER..FRAME_HEADER + length)?;
    let max = payload
        .chunks_exact(6)
        .filter(|s| u16::from_be_bytes([s[0], s[1]]) == MAX_CONCURRENT_STREAMS)
        .map(|s| u32::from_be_bytes([s[2], s[3], s[4], s[5]]))
        .next_back();
    Some(Ok(max))
}

/// How `err` says the server did not process the request, if it does: never sent (the
/// connection was closing, after a GOAWAY), a `REFUSED_STREAM` reset, or a GOAWAY whose last
/// stream is before it (RFC 9113, 8.7).
fn refused(err: &hyper::Error) -> Option<&'static str> {
    if err.is_canceled() {
        return Some("the request was never sent: its HTTP/2 connection was closing");
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(h2) = e.downcast_ref::<::h2::Error>() {
            if !h2.is_remote() {
                return None;
            }
            if h2.is_go_away() {
                return Some(if h2.reason() == Some(::h2::Reason::NO_ERROR) {
                    "the server closed the connection gracefully (GOAWAY) before taking the stream"
                } else {
                    "the server said GOAWAY before it took the stream"
                });
            }
            return (h2.reason() == Some(::h2::Reason::REFUSED_STREAM))
                .then_some("the server refused the stream (REFUSED_STREAM)");
        }
        source = e.source();
    }
    None
}

/// Whether `err` is the server's GOAWAY without an error (`NO_ERROR`: it is closing, not
/// failing).
fn graceful_go_away(err: &hyper::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(h2) = e.downcast_ref::<::h2::Error>() {
            return h2.is_go_away() && h2.reason() == Some(::h2::Reason::NO_ERROR);
        }
        source = e.source();
    }
    false
}

/// An HTTP/1.1 request made fit for HTTP/2: the absolute URI that hyper turns into `:scheme`,
/// `:authority` and `:path`, and none of the headers HTTP/2 forbids (`Host` becomes the
/// authority; `Connection` and its kin mean nothing there).
fn for_h2(mut request: http::Request<Body>, authority: &str, https: bool) -> http::Request<Body> {
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    let scheme = if https { "https" } else { "http" };
    if let Ok(uri) = format!("{scheme}://{authority}{path}").parse() {
        *request.uri_mut() = uri;
    }
    let headers = request.headers_mut();
    for name in [
        http::header::HOST,
        http::header::CONNECTION,
        http::header::TRANSFER_ENCODING,
        http::header::UPGRADE,
        http::HeaderName::from_static("keep-alive"),
        http::HeaderName::from_static("proxy-connection"),
    ] {
        headers.remove(name);
    }
    if headers
        .get(http::header::TE)
        .is_some_and(|te| te != "trailers")
    {
        headers.remove(http::header::TE);
    }
    *request.version_mut() = http::Version::HTTP_2;
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http1_answer_that_is_not_http1_hints_at_http2_only() {
        assert!(speaks_h2_only("invalid HTTP version parsed").contains("HTTP/2 only"));
        assert_eq!(speaks_h2_only("connection reset by peer"), "");
    }

    fn frame(kind: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
        let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
        let mut f = vec![len[1], len[2], len[3], kind, flags, 0, 0, 0, 0];
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn the_stream_limit_is_read_from_the_first_settings_frame() {
        let settings = frame(SETTINGS, 0, &[0, 4, 0, 1, 0, 0, 0, 3, 0, 0, 0, 5]);
        for cut in 0..settings.len() {
            assert_eq!(first_frame(&settings[..cut]), None, "cut at {cut}");
        }
        assert_eq!(first_frame(&settings), Some(Ok(Some(5))));
        assert_eq!(first_frame(&frame(SETTINGS, 0, &[])), Some(Ok(None)));
        let answer = b"HTTP/1.1 400 Bad Request\r\n\r\n";
        assert!(matches!(first_frame(answer), Some(Err(b)) if b.starts_with(b"HTTP/1.1")));
        assert!(first_frame(&frame(SETTINGS, ACK, &[])).unwrap().is_err());
        assert!(first_frame(&frame(0x0, 0, b"data..")).unwrap().is_err());
        let too_long = [0xff, 0xff, 0xff, SETTINGS, 0, 0, 0, 0, 0];
        assert!(first_frame(&too_long).unwrap().is_err());
    }

    #[test]
    fn a_reader_tells_once_whatever_the_reads() {
        let (tell, mut told) = oneshot::channel();
        let mut reader = FirstFrameReader {
            seen: Vec::new(),
            tell: Some(tell),
        };
        let settings = frame(SETTINGS, 0, &[0, 3, 0, 0, 0, 100]);
        for byte in &settings {
            reader.read(std::slice::from_ref(byte));
        }
        reader.read(b"more frames after");
        assert_eq!(told.try_recv().unwrap(), Ok(Some(100)));
    }

    #[test]
    fn requests_lose_what_http2_forbids_and_carry_the_authority() {
        let request = http::Request::post("/v1/chat/completions?x=1")
            .header("host", "api.example.com:8443")
            .header("connection", "keep-alive")
            .header("keep-alive", "timeout=5")
            .header("te", "gzip")
            .header("authorization", "Bearer k")
            .body(Body::from("{}"))
            .unwrap();
        let request = for_h2(request, "api.example.com:8443", true);
        assert_eq!(
            request.uri().to_string(),
            "https://api.example.com:8443/v1/chat/completions?x=1"
        );
        let names: Vec<_> = request
            .headers()
            .keys()
            .map(http::HeaderName::as_str)
            .collect();
        assert_eq!(names, ["authorization"]);
        assert_eq!(request.version(), http::Version::HTTP_2);
    }
}
