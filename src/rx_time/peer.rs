//! Whether the other side of a connection has closed it, asked of the socket without reading
//! it: looked at before an idle connection is reused.

use std::io;
use std::sync::Weak;

use tokio::net::TcpStream;

/// Whether the other side of a connection has closed it, asked without reading it: an idle
/// HTTP/1.1 connection whose server closed it holds a readable end of stream that its reader
/// may not have got round to yet. Curl and Go's `net/http` look before reusing one too.
#[derive(Clone, Debug, Default)]
pub struct Peer(pub(super) Weak<TcpStream>);

impl Peer {
    /// True when the socket is gone, reset, has nothing left to read but its end, or holds
    /// bytes nobody asked for: an idle HTTP/1.1 connection (the previous response read whole)
    /// has nothing to say, so bytes waiting are its end coming (TLS's `close_notify` goes
    /// before the FIN) or an unsolicited answer (a 408 before closing). Curl and Go's
    /// `net/http` do not reuse such a connection either.
    #[must_use]
    pub fn has_closed(&self) -> bool {
        !matches!(self.peek(), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    /// How many bytes are waiting (at most 1), 0 at the end or when the socket is gone, or
    /// `WouldBlock` when nothing is.
    pub(crate) fn peek(&self) -> io::Result<usize> {
        let Some(stream) = self.0.upgrade() else {
            return Ok(0);
        };
        let mut byte = [std::mem::MaybeUninit::uninit()];
        // The socket is non-blocking (tokio's): this never waits, and peeking leaves the byte
        // and the runtime's readiness as they were.
        socket2::SockRef::from(&*stream).peek(&mut byte)
    }
}
