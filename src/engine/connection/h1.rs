//! The engine's own HTTP/1.1 exchange (RFC 9112), run inside the task of the request that uses
//! it: no connection task, no body channel. It writes a request, reads the response head, and
//! hands the body's payload on as slices of the connection's one read buffer, its chunked
//! framing decoded in place (`h1/chunked.rs`). A segment that arrives wakes the request's
//! task once, and one read takes it.
//!
//! The read buffer is 8 KiB and stays so: a read takes at most 8 KiB, and everything read is
//! handed on before the next read, so a client behind its server leaves the bytes in the
//! kernel's socket buffer, not in ours. Only a response head larger than that grows it (up to
//! [`MAX_HEAD`]), for that head alone.

mod chunked;

use std::future::poll_fn;
use std::io;
use std::ops::Range;
use std::pin::Pin;
use std::task::Poll;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use chunked::Chunked;

/// What a connection reads and writes: a [`crate::rx_time::TimedStream`], or TLS over one.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Io for T {}

/// The read buffer, and the most one read takes: hyper's first read size, as before.
const READ_SIZE: usize = 8 * 1024;

/// The largest response head read; a server sending more (an endless header) is refused.
const MAX_HEAD: usize = 64 * 1024;

/// The most header fields a response head may have (hyper's limit too).
const MAX_HEADERS: usize = 100;

/// Why an exchange failed, in words for a user; `garbage` when what came was not HTTP.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub garbage: bool,
}

impl Failure {
    fn garbage(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            garbage: true,
        }
    }

    fn io(what: &str, err: &io::Error) -> Failure {
        Failure {
            message: format!("{what}: {err}"),
            garbage: false,
        }
    }

    fn closed(what: &str) -> Failure {
        Failure {
            message: what.to_string(),
            garbage: false,
        }
    }
}

/// How the body of the response being read ends.
#[derive(Clone, Debug)]
enum Framing {
    /// No body left to read: the response was read whole (or had none).
    Idle,
    /// `content-length`: this many bytes left.
    Length(u64),
    Chunked(Chunked),
    /// Neither: the body runs until the server closes the connection.
    ToClose,
}

/// One HTTP/1.1 connection: its stream, its read buffer and where the response being read is.
pub struct H1 {
    io: Box<dyn Io>,
    buf: Vec<u8>,
    /// The bytes read and not yet handed on: `buf[start..end]`.
    start: usize,
    end: usize,
    framing: Framing,
    /// The server keeps the connection open after the response being read, and nothing went
    /// wrong: once that response is read whole, the connection may take the next request.
    keep_alive: bool,
    /// Counts every byte read (above TLS) into the connection's count.
    read: super::BytesRead,
}

impl H1 {
    pub fn new(io: Box<dyn Io>, read: super::BytesRead) -> H1 {
        H1 {
            io,
            buf: vec![0; READ_SIZE],
            start: 0,
            end: 0,
            framing: Framing::Idle,
            // A fresh connection is idle: a request stopped before it was sent leaves it so.
            keep_alive: true,
            read,
        }
    }

    /// Whether the connection can take another request: the last response was read whole,
    /// the server keeps it open, and no byte came that nobody asked for.
    pub fn is_idle(&self) -> bool {
        self.keep_alive && matches!(self.framing, Framing::Idle) && self.start == self.end
    }

    /// Writes `request` (its head, then its body, then one flush: the connection's write
    /// signal marks the message) and reads its response's head, skipping interim (1xx) ones.
    /// The body is then read with [`H1::next_data`].
    ///
    /// # Errors
    /// The connection failed or closed, or the server's answer is no HTTP/1.x response.
    pub async fn exchange(
        &mut self,
        request: &http::Request<Bytes>,
    ) -> Result<http::Response<()>, Failure> {
        // Until its response is read whole, the connection takes no other request.
        self.keep_alive = false;
        self.framing = Framing::Idle;
        let message = serialize(request);
        let wrote = self.write_request(&message).await;
        let cut_short = wrote.is_err();
        match (wrote, self.read_head().await) {
            (_, Ok(response)) => {
                // The request was not sent whole: the server cannot be read past this answer.
                if cut_short {
                    self.keep_alive = false;
                }
                Ok(response)
            }
            // A server that answers before it reads the whole request (and then closes) may
            // break the write: its answer is what counts, if it came.
            (Err(e), Err(_)) => Err(Failure::io("writing the request failed", &e)),
            (Ok(()), Err(failure)) => Err(failure),
        }
    }

    /// Writes `message` and flushes it, reading what the server sends meanwhile: a server that
    /// answers (413, 401…) before it reads a large request stops the writing, so that its answer
    /// is read rather than the write waiting for room until a timeout. Its error is then
    /// "answered before the whole request was sent"; a server that closes or fails meanwhile
    /// also stops it.
    async fn write_request(&mut self, message: &[u8]) -> io::Result<()> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        let mut written = 0;
        poll_fn(|cx| {
            loop {
                if written < message.len() {
                    match Pin::new(&mut self.io).poll_write(cx, &message[written..]) {
                        Poll::Ready(Ok(0)) => {
                            return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                        }
                        Poll::Ready(Ok(n)) => {
                            written += n;
                            continue;
                        }
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => {}
                    }
                } else if let Poll::Ready(done) = Pin::new(&mut self.io).poll_flush(cx) {
                    return Poll::Ready(done);
                }
                // The writing waits: read whatever the server sends meanwhile.
                let to = (self.end + READ_SIZE).min(self.buf.len());
                if self.end == to {
                    return Poll::Pending;
                }
                let mut room = ReadBuf::new(&mut self.buf[self.end..to]);
                match Pin::new(&mut self.io).poll_read(cx, &mut room) {
                    Poll::Ready(Ok(())) => {
                        let n = room.filled().len();
                        if n == 0 {
                            return Poll::Ready(Err(io::Error::other(
                                "the server closed the connection before the whole request \
                                 was sent",
                            )));
                        }
                        self.end += n;
                        self.read.add(n);
                        if final_head_read(&self.buf[self.start..self.end]) {
                            return Poll::Ready(Err(io::Error::other(
                                "the server answered before the whole request was sent",
                            )));
                        }
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                }
            }
        })
        .await
    }

    async fn read_head(&mut self) -> Result<http::Response<()>, Failure> {
        loop {
            if let Some((response, len)) = parse_head(&self.buf[self.start..self.end])? {
                self.start += len;
                let status = response.status();
                if status.is_informational() {
                    if status == http::StatusCode::SWITCHING_PROTOCOLS {
                        return Err(Failure::garbage(
                            "the server switched protocols (101), which llmrace did not ask for",
                        ));
                    }
                    continue;
                }
                let (framing, keep_alive) = framing(&response)?;
                self.framing = framing;
                self.keep_alive = keep_alive;
                return Ok(response);
            }
            if self.end == self.buf.len() {
                self.make_room_for_head()?;
            }
            let n = self
                .read_more()
                .await
                .map_err(|e| Failure::io("reading the response failed", &e))?;
            if n == 0 {
                return Err(Failure::closed(if self.start == self.end {
                    "connection closed before message completed"
                } else {
                    "connection closed in the middle of the response head"
                }));
            }
        }
    }

    /// A head that fills the buffer: the bytes before it go, or the buffer grows up to
    /// [`MAX_HEAD`].
    fn make_room_for_head(&mut self) -> Result<(), Failure> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        } else if self.buf.len() < MAX_HEAD {
            self.buf.resize((self.buf.len() * 2).min(MAX_HEAD), 0);
        } else {
            return Err(Failure::garbage(format!(
                "the response head is larger than {} KiB",
                MAX_HEAD / 1024
            )));
        }
        Ok(())
    }

    /// One read of at most [`READ_SIZE`] bytes after the unread ones; 0 at the end.
    async fn read_more(&mut self) -> io::Result<usize> {
        let to = (self.end + READ_SIZE).min(self.buf.len());
        let n = poll_fn(|cx| {
            let mut room = ReadBuf::new(&mut self.buf[self.end..to]);
            match Pin::new(&mut self.io).poll_read(cx, &mut room) {
                Poll::Ready(Ok(())) => Poll::Ready(Ok(room.filled().len())),
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
        if let Ok(n) = n {
            self.end += n;
            self.read.add(n);
        }
        n
    }

    /// The next piece of the response body: a slice of the read buffer, in place; `None` at
    /// the body's end. A read happens only when every byte read before was handed on, so the
    /// last read is the one that carried the piece.
    ///
    /// Cancel-safe: dropped while waiting, nothing read is lost (but the connection is not
    /// reused, its response unread).
    ///
    /// # Errors
    /// The connection failed, or closed before the body's end, or its framing is malformed:
    /// in words for a user.
    pub async fn next_data(&mut self) -> Option<Result<&[u8], String>> {
        let range = loop {
            match self.piece() {
                Ok(Some(range)) => break range,
                Ok(None) if matches!(self.framing, Framing::Idle) => return None,
                Ok(None) => {}
                Err(e) => {
                    self.keep_alive = false;
                    return Some(Err(e));
                }
            }
            // Everything read was handed on: read afresh at the buffer's start.
            self.start = 0;
            self.end = 0;
            if self.buf.len() > READ_SIZE {
                self.buf.truncate(READ_SIZE);
                self.buf.shrink_to_fit();
            }
            match self.read_more().await {
                Ok(0) => {
                    if let Err(e) = self.closed() {
                        return Some(Err(e));
                    }
                    return None;
                }
                Ok(_) => {}
                Err(e) => {
                    self.keep_alive = false;
                    self.framing = Framing::Idle;
                    return Some(Err(format!("reading the body failed: {e}")));
                }
            }
        };
        Some(Ok(&self.buf[range]))
    }

    /// Takes the next piece of body out of the unread bytes: its range, or `None` when they
    /// hold none (or the body ended: then the framing is idle).
    fn piece(&mut self) -> Result<Option<Range<usize>>, String> {
        let unread = self.end - self.start;
        let from = self.start;
        match &mut self.framing {
            Framing::Idle => Ok(None),
            Framing::Length(0) => {
                self.framing = Framing::Idle;
                Ok(None)
            }
            Framing::Length(left) => {
                let take = usize::try_from(*left).unwrap_or(usize::MAX).min(unread);
                *left -= take as u64;
                self.start += take;
                if *left == 0 {
                    self.framing = Framing::Idle;
                }
                Ok((take > 0).then_some(from..from + take))
            }
            Framing::ToClose => {
                self.start = self.end;
                Ok((unread > 0).then_some(from..self.end))
            }
            Framing::Chunked(chunked) => {
                let step = chunked
                    .step(&self.buf[from..self.end])
                    .map_err(|e| e.to_string())?;
                self.start += step.consumed;
                if chunked.is_done() {
                    self.framing = Framing::Idle;
                }
                Ok(step.data.map(|r| from + r.start..from + r.end))
            }
        }
    }

    /// The server closed the connection while the body was being read: its end if it runs to
    /// the close, else a body cut short.
    fn closed(&mut self) -> Result<(), String> {
        self.keep_alive = false;
        let framing = std::mem::replace(&mut self.framing, Framing::Idle);
        match framing {
            Framing::Idle | Framing::ToClose => Ok(()),
            Framing::Length(left) => Err(format!(
                "end of file before message completed: the connection closed with {left} \
                 bytes of the body (content-length) still to come"
            )),
            Framing::Chunked(_) => Err(
                "end of file before message completed: the connection closed before the \
                 chunked body's last chunk"
                    .to_string(),
            ),
        }
    }
}

/// The request's bytes: its line (origin-form, or absolute-form when its URI is absolute: a
/// forward proxy's), its headers, a `content-length`, and its body.
fn serialize(request: &http::Request<Bytes>) -> Vec<u8> {
    let body = request.body();
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(request.method().as_str().as_bytes());
    out.push(b' ');
    match request.uri().path_and_query() {
        Some(path) if request.uri().scheme().is_none() => {
            out.extend_from_slice(path.as_str().as_bytes());
        }
        Some(_) => out.extend_from_slice(request.uri().to_string().as_bytes()),
        None => out.push(b'/'),
    }
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in request.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let bodiless = matches!(
        *request.method(),
        http::Method::GET | http::Method::HEAD | http::Method::CONNECT
    );
    if !request.headers().contains_key(http::header::CONTENT_LENGTH)
        && (!body.is_empty() || !bodiless)
    {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// Whether `bytes` hold a whole final (not 1xx) response head after any interim ones, or
/// something that is no response head at all: either way the server said its word.
fn final_head_read(mut bytes: &[u8]) -> bool {
    loop {
        match parse_head(bytes) {
            Ok(None) => return false,
            Ok(Some((response, len)))
                if response.status().is_informational()
                    && response.status() != http::StatusCode::SWITCHING_PROTOCOLS =>
            {
                bytes = &bytes[len..];
            }
            Ok(Some(_)) | Err(_) => return true,
        }
    }
}

/// A whole response head at the start of `bytes`, and its length; `None` when more must come.
fn parse_head(bytes: &[u8]) -> Result<Option<(http::Response<()>, usize)>, Failure> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut head = httparse::Response::new(&mut headers);
    let len = match head.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Failure::garbage(format!(
                "the response head has more than {MAX_HEADERS} header fields"
            )));
        }
        Err(e) => return Err(Failure::garbage(format!("invalid response head: {e}"))),
    };
    let mut response = http::Response::new(());
    *response.status_mut() = head
        .code
        .and_then(|code| http::StatusCode::from_u16(code).ok())
        .ok_or_else(|| Failure::garbage("invalid response head: invalid status code"))?;
    *response.version_mut() = if head.version == Some(0) {
        http::Version::HTTP_10
    } else {
        http::Version::HTTP_11
    };
    let map = response.headers_mut();
    map.reserve(head.headers.len());
    for header in &*head.headers {
        let name = http::HeaderName::from_bytes(header.name.as_bytes());
        let value = http::HeaderValue::from_bytes(header.value);
        match (name, value) {
            (Ok(name), Ok(value)) => {
                map.append(name, value);
            }
            _ => {
                return Err(Failure::garbage(format!(
                    "invalid response head: the header `{}` is malformed",
                    header.name.escape_default()
                )));
            }
        }
    }
    Ok(Some((response, len)))
}

/// How the body of `response` ends, and whether the connection stays open after it.
fn framing(response: &http::Response<()>) -> Result<(Framing, bool), Failure> {
    let headers = response.headers();
    let tokens = |name: http::header::HeaderName| {
        headers
            .get_all(name)
            .iter()
            .flat_map(|v| v.as_bytes().split(|b| *b == b','))
            .map(|t| String::from_utf8_lossy(t.trim_ascii()).to_ascii_lowercase())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
    };
    let connection = tokens(http::header::CONNECTION);
    let mut keep_alive = if response.version() == http::Version::HTTP_10 {
        connection.iter().any(|t| t == "keep-alive")
    } else {
        !connection.iter().any(|t| t == "close")
    };
    let status = response.status();
    if status == http::StatusCode::NO_CONTENT || status == http::StatusCode::NOT_MODIFIED {
        return Ok((Framing::Idle, keep_alive));
    }
    let codings = tokens(http::header::TRANSFER_ENCODING);
    if !codings.is_empty() {
        // With a content-length too, the message may be a smuggling attempt: read it by its
        // transfer coding, as RFC 9112 §6.3 says, and close after it.
        if headers.contains_key(http::header::CONTENT_LENGTH) {
            keep_alive = false;
        }
        return Ok(if codings.last().is_some_and(|c| c == "chunked") {
            (Framing::Chunked(Chunked::default()), keep_alive)
        } else {
            (Framing::ToClose, false)
        });
    }
    let lengths = tokens(http::header::CONTENT_LENGTH);
    let Some(first) = lengths.first() else {
        return Ok((Framing::ToClose, false));
    };
    if let Some(other) = lengths.iter().find(|l| *l != first) {
        return Err(Failure::garbage(format!(
            "invalid response head: it has different content-length values (`{first}` and \
             `{other}`)"
        )));
    }
    let length = Some(first)
        .filter(|l| l.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|l| l.parse::<u64>().ok())
        .ok_or_else(|| {
            Failure::garbage(format!(
                "invalid response head: its content-length is not a number: `{}`",
                first.escape_default()
            ))
        })?;
    Ok((Framing::Length(length), keep_alive))
}

#[cfg(test)]
mod tests;
