//! When the bytes a TCP socket reads reached this machine: the kernel's receive timestamp of
//! each read, not the moment a busy program got round to reading them.
//!
//! A program slow to read (the mock on one core with many connections, or a client racing
//! hundreds of streams) would otherwise count its own read queue as the other side's latency.
//! On Linux the socket asks for software receive timestamps (`SO_TIMESTAMPNS`, delivered with
//! TCP reads since 4.13) and reads with `recvmsg`; the kernel stamps the last segment a read
//! returns. Elsewhere, or when the kernel gives no stamp, the read's own instant stands in:
//! late, never early.
//!
//! The stamp is of the last segment only, and reading less does not recover the others: bytes
//! left waiting in the receive queue are merged into its last buffer, which takes the newer
//! segment's stamp (`tcp_try_coalesce`), so a read of a few bytes after a late wake-up still
//! carries the latest segment's time. What a late read can tell is how late it was (its
//! instant against its stamp) and a floor under the arrival of everything it returned: the
//! previous read, which left the queue empty.

mod arrival;
pub mod gather;
#[cfg(target_os = "linux")]
mod kernel;
mod peer;

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use arrival::{Clocks, arrival_instant};
pub use arrival::{LastArrival, Read};
pub use peer::Peer;

#[cfg(target_os = "linux")]
use kernel::MAX_READ;

/// How many messages a connection has handed whole to the kernel, and when the write of the
/// last one's final bytes began.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub count: u64,
    pub at: Option<Instant>,
}

/// A handle on a connection's [`Written`], to wait for the next message to leave.
///
/// The HTTP/1.1 exchange (`engine/connection/h1.rs`) writes a whole message (head and body)
/// and only then flushes the IO, so a flush that follows written bytes marks the end of a
/// message (on HTTP/2, hyper's flush after the frames it wrote). Its instant is when the write of the message's last bytes
/// began: when it really left, not when it was issued nor when the flush got round to it.
pub type LastWrite = tokio::sync::watch::Receiver<Written>;

/// A TCP stream that notes when the bytes it reads arrived and when what it wrote was flushed.
#[derive(Debug)]
pub struct TimedStream {
    /// Shared only with [`Peer`]s, which hold it weakly: the socket closes when this drops.
    stream: Arc<TcpStream>,
    arrival: LastArrival,
    written: tokio::sync::watch::Sender<Written>,
    /// When the write that handed the kernel the last bytes since the last flush began; `None`
    /// when nothing was written since (an empty flush marks no message).
    unflushed: Option<Instant>,
    /// Room for the timestamp control message, kept so reads do not allocate.
    #[cfg(target_os = "linux")]
    control: Vec<u8>,
}

impl TimedStream {
    /// Wraps `stream`, asking the kernel to stamp what it receives; where it will not, reads
    /// are stamped when they happen.
    #[must_use]
    pub fn new(stream: TcpStream) -> TimedStream {
        #[cfg(target_os = "linux")]
        kernel::stamp_receives(&stream);
        TimedStream {
            stream: Arc::new(stream),
            arrival: LastArrival::default(),
            written: tokio::sync::watch::Sender::new(Written::default()),
            unflushed: None,
            #[cfg(target_os = "linux")]
            control: kernel::control_space(),
        }
    }

    /// Notes that a write which began at `began` handed bytes to the kernel, if `polled` says
    /// it did. A write is timed from its start, not its return or the flush after it: on a busy
    /// machine the receiver it wakes can preempt the writing thread inside the call, and on
    /// loopback the answer can then arrive before the write returns. Early by the call's own
    /// few microseconds, never late.
    fn note_written(&mut self, began: Instant, polled: &Poll<io::Result<usize>>) {
        if matches!(polled, Poll::Ready(Ok(n)) if *n > 0) {
            self.unflushed = Some(began);
        }
    }

    /// Notes that a read which began at `began` returned bytes, which the kernel stamped
    /// `stamp` if it did; `filled` when the read took all the room it had. A stamped read
    /// costs the two clock reads before it, no more (`arrival_instant`).
    fn note_arrival(&self, stamp: Option<SystemTime>, began: Clocks, filled: bool) {
        let emptied = (!filled).then_some(began.mono);
        let (arrived, now, stamped) = arrival_instant(stamp, began, Instant::now);
        self.arrival.set(arrived, now, emptied, stamped);
    }

    /// A handle on the arrival of the bytes read last.
    #[must_use]
    pub fn arrival(&self) -> LastArrival {
        self.arrival.clone()
    }

    /// A handle on when the messages written last left.
    #[must_use]
    pub fn last_write(&self) -> LastWrite {
        self.written.subscribe()
    }

    #[must_use]
    #[cfg(test)]
    pub fn get_ref(&self) -> &TcpStream {
        &self.stream
    }

    /// A look at the socket from outside whoever reads it: whether the other side closed it.
    #[must_use]
    pub fn peer(&self) -> Peer {
        Peer(Arc::downgrade(&self.stream))
    }
}

/// Asks the kernel to stamp what `listener` receives: the connections it accepts then carry
/// stamps on bytes that arrived before they were accepted, too (best effort).
pub fn stamp_arrivals(listener: &TcpListener) {
    #[cfg(target_os = "linux")]
    kernel::stamp_receives(listener);
    #[cfg(not(target_os = "linux"))]
    let _ = listener;
}

/// Waits until the kernel stamps what loopback sockets receive, and keeps it so while the
/// returned sockets live. Turning stamping on is deferred in the kernel, so the first bytes
/// after the first stamping socket opens can arrive unstamped (and be timed at their read:
/// late, not wrong); tests that compare against a kernel stamp must not race that.
///
/// # Panics
/// When no stamp comes within about two seconds: this kernel does not stamp TCP receives.
#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test helper: a failure is a failed test"
)]
pub(crate) fn kernel_stamps_on() -> impl Sized {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        kernel::stamp_receives(&server);
        let mut control = kernel::control_space();
        for _ in 0..2000 {
            client.write_all(b"?").unwrap();
            let (_, stamp) =
                kernel::receive(server.as_raw_fd(), &mut [0; 16], &mut control).unwrap();
            if stamp.is_some() {
                return (client, server);
            }
            // Polling a condition the kernel sets from its own worker: nothing to wait on.
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        panic!("this kernel gives no receive timestamps on TCP sockets (Linux 4.13 or later does)");
    }
    #[cfg(not(target_os = "linux"))]
    {
        client.write_all(b"?").unwrap();
        (client, server)
    }
}

impl AsyncRead for TimedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        #[cfg(target_os = "linux")]
        {
            let fd = kernel::raw(&this.stream);
            loop {
                std::task::ready!(this.stream.poll_read_ready(cx))?;
                // recvmsg needs initialized memory: an initialized buffer (the HTTP/1.1
                // exchange's) is read into directly; hyper's spare capacity never is, so that
                // read goes through the thread's own zeroed buffer and copies what came (a
                // token's few hundred bytes) rather than zeroing 8 KiB of hyper's every time.
                let room = buf.remaining().min(MAX_READ);
                let control = &mut this.control;
                let began = Clocks::now();
                let mut got = None;
                let read = this.stream.try_io(tokio::io::Interest::READABLE, || {
                    let (n, stamp) = kernel::receive_into(fd, room, control, buf)?;
                    got = Some((n, stamp));
                    if n > 0 && n < room {
                        // A short read left the socket empty: the readiness is cleared as it
                        // was before this read (a segment that came since set it again), so
                        // the next poll waits for the next segment instead of asking the
                        // kernel once more for an EAGAIN. What tokio's own reads do.
                        return Err(io::ErrorKind::WouldBlock.into());
                    }
                    Ok(())
                });
                match (got, read) {
                    (Some((n, stamp)), _) => {
                        if n > 0 {
                            this.note_arrival(stamp, began, n == room);
                        }
                        return Poll::Ready(Ok(()));
                    }
                    // Readiness was stale and has been cleared: wait for the next.
                    (None, Err(e)) if e.kind() == io::ErrorKind::WouldBlock => {}
                    (None, Err(e)) => return Poll::Ready(Err(e)),
                    (None, Ok(())) => {}
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        loop {
            std::task::ready!(this.stream.poll_read_ready(cx))?;
            let began = Clocks::now();
            let room = buf.remaining();
            match this.stream.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    if n > 0 {
                        this.note_arrival(None, began, n == room);
                    }
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for TimedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .write_with(cx, |stream| stream.try_write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .write_with(cx, |stream| stream.try_write_vectored(bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A TCP socket has no buffer of its own to flush: what was written is the kernel's.
        let this = self.get_mut();
        if let Some(at) = this.unflushed.take() {
            this.written.send_modify(|w| {
                w.count += 1;
                w.at = Some(at);
            });
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(socket2::SockRef::from(&*self.stream).shutdown(std::net::Shutdown::Write))
    }
}

impl TimedStream {
    /// One write as tokio's own stream does it, through the shared socket: wait until it is
    /// writable, try, and wait again if that readiness was stale.
    fn write_with(
        &mut self,
        cx: &mut Context<'_>,
        write: impl Fn(&TcpStream) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            std::task::ready!(self.stream.poll_write_ready(cx))?;
            let before = Instant::now();
            match write(&self.stream) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                written => {
                    let polled = Poll::Ready(written);
                    self.note_written(before, &polled);
                    return polled;
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    async fn pair() -> (TcpStream, TimedStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        stamp_arrivals(&listener);
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, TimedStream::new(server))
    }

    /// Writes `bytes`, waits until they are queued at the server, reads them through the
    /// wrapper, and returns (before the write, once queued, the arrival the wrapper noted).
    async fn send_and_read(
        client: &mut TcpStream,
        server: &mut TimedStream,
        bytes: &[u8],
    ) -> (Instant, Instant, Instant) {
        let before = Instant::now();
        client.write_all(bytes).await.unwrap();
        server.get_ref().readable().await.unwrap();
        let queued = Instant::now();
        let mut got = vec![0; bytes.len()];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(got, bytes);
        (before, queued, server.arrival().get().unwrap())
    }

    #[tokio::test]
    async fn unstamped_reads_say_so() {
        let (mut client, mut server) = pair().await;
        let _ = send_and_read(&mut client, &mut server, b"x").await;
        #[cfg(not(target_os = "linux"))]
        assert!(!server.arrival().last_read().unwrap().stamped);
        server.note_arrival(None, Clocks::now(), false);
        let noted = server.arrival().last_read().unwrap();
        assert!(!noted.stamped, "{noted:?}");
        assert_eq!(noted.late, Duration::ZERO);
    }

    #[tokio::test]
    async fn notes_when_bytes_arrived_not_when_they_were_read() {
        let _stamping = kernel_stamps_on();
        let (mut client, mut server) = pair().await;
        assert_eq!(server.arrival().get(), None);
        let (before, queued, arrived) = send_and_read(&mut client, &mut server, b"hello").await;
        assert!(before <= arrived, "{before:?} {arrived:?}");
        #[cfg(target_os = "linux")]
        assert!(server.arrival().last_read().unwrap().stamped);
        // A stamp taken at the read would come after `queued`.
        #[cfg(target_os = "linux")]
        assert!(arrived <= queued, "{arrived:?} {queued:?}");
        #[cfg(not(target_os = "linux"))]
        let _ = queued;
    }

    /// Reads go through the thread's own buffer: bodies larger than one read arrive whole and
    /// in order, and a short read that left the socket empty still wakes for the next bytes.
    #[tokio::test]
    async fn bytes_arrive_whole_through_short_and_full_reads() {
        let (mut client, mut server) = pair().await;
        let body: Vec<u8> = (0..3 * 8 * 1024 + 17)
            .map(|i| u8::try_from(i % 251).unwrap())
            .collect();
        let writing = async {
            client.write_all(&body).await.unwrap();
            client.flush().await.unwrap();
        };
        let mut got = vec![0; body.len()];
        let ((), read) = tokio::join!(writing, server.read_exact(&mut got));
        read.unwrap();
        assert_eq!(got, body);
        // A short read, then nothing: the next read waits, and wakes when bytes come.
        let (_, _, _) = send_and_read(&mut client, &mut server, b"short").await;
        let mut room = [0; 64];
        let mut next = std::pin::pin!(server.read(&mut room));
        let waits = std::future::poll_fn(|cx| {
            Poll::Ready(std::future::Future::poll(next.as_mut(), cx).is_pending())
        });
        assert!(waits.await, "nothing came yet");
        client.write_all(b"later").await.unwrap();
        assert_eq!(next.await.unwrap(), 5);
        assert_eq!(&room[..5], b"later");
    }

    #[tokio::test]
    async fn later_bytes_replace_the_arrival() {
        let (mut client, mut server) = pair().await;
        let handle = server.arrival();
        let (_, _, first) = send_and_read(&mut client, &mut server, b"one").await;
        let (before, _, second) = send_and_read(&mut client, &mut server, b"two").await;
        assert!(
            first <= before && before <= second,
            "{first:?} {before:?} {second:?}"
        );
        assert_eq!(handle.get(), Some(second));
    }

    #[tokio::test]
    async fn a_read_notes_how_late_it_came_and_the_read_that_emptied_the_socket() {
        let _stamping = kernel_stamps_on();
        let (mut client, mut server) = pair().await;
        // Reads with room to spare: each empties the socket.
        let mut room = [0; 64];
        let mut send_and_read = async |bytes: &[u8]| {
            client.write_all(bytes).await.unwrap();
            server.get_ref().readable().await.unwrap();
            let queued = Instant::now();
            assert_eq!(server.read(&mut room).await.unwrap(), bytes.len());
            (queued, server.arrival().last_read().unwrap())
        };
        let (_, first) = send_and_read(b"one").await;
        assert_eq!(first.after, None);
        let emptied = Instant::now();
        let (queued, read) = send_and_read(b"two").await;
        let (first, second) = (first.arrived, read.arrived);
        let after = read.after.unwrap();
        assert!(
            first <= after && after <= emptied,
            "{first:?} {after:?} {emptied:?}"
        );
        // It was read once the bytes were queued, so at least that long after they arrived.
        assert!(
            read.late >= queued.saturating_duration_since(second),
            "{read:?}"
        );

        // A read that fills its buffer may leave bytes behind: it is no floor for the next.
        client.write_all(b"abc").await.unwrap();
        server.get_ref().readable().await.unwrap();
        let mut two = [0; 2];
        server.read_exact(&mut two).await.unwrap();
        let filled = server.arrival().last_read().unwrap();
        assert!(
            filled.after.unwrap() > after,
            "the read of `two` emptied the socket"
        );
        let mut rest = [0; 1];
        server.read_exact(&mut rest).await.unwrap();
        assert_eq!(server.arrival().last_read().unwrap().after, filled.after);
    }

    #[tokio::test]
    async fn writes_pass_through_and_end_of_stream_keeps_the_arrival() {
        let (mut client, mut server) = pair().await;
        let (_, _, arrived) = send_and_read(&mut client, &mut server, b"ping").await;
        server.write_all(b"pong").await.unwrap();
        server.shutdown().await.unwrap();
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.unwrap();
        assert_eq!(answer, b"pong");
        drop(client);
        let mut rest = Vec::new();
        server.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        assert_eq!(server.arrival().get(), Some(arrived));
    }

    #[tokio::test]
    async fn a_message_is_timed_from_its_write_not_from_its_flush() {
        let (mut client, mut server) = pair().await;
        let mut written = server.last_write();
        server.write_all(b"one message").await.unwrap();
        let wrote = Instant::now();
        assert_eq!(
            *written.borrow_and_update(),
            Written::default(),
            "not before the flush"
        );
        server.flush().await.unwrap();
        let flushed = Instant::now();
        let last = *written.borrow_and_update();
        assert_eq!(last.count, 1);
        let at = last.at.unwrap();
        assert!(at <= wrote && wrote <= flushed, "{at:?} {wrote:?}");
        server.flush().await.unwrap();
        assert!(
            !written.has_changed().unwrap(),
            "a flush of nothing is no message"
        );
        let mut got = [0; 11];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"one message");
    }
}
