//! The mock's llama.cpp-like connection ending: the connection is closed a while after a
//! streamed response, though its headers promised keep-alive. That while is the window in
//! which a client may already have sent its next request, which the server then never reads.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::stats::Counters;

/// A connection whose closing write waits `delay` first: hyper shuts the connection down
/// once the response in progress is written (the service asked it to), and the client sees
/// the end of the stream only that long after the response's last byte. How much later than
/// that the close came (a busy machine runs the timer late) goes to the counters.
pub(crate) struct Linger<S> {
    inner: S,
    delay: Duration,
    wait: Option<Pin<Box<Sleep>>>,
    counters: Arc<Counters>,
}

impl<S> Linger<S> {
    pub(crate) fn new(inner: S, delay: Duration, counters: Arc<Counters>) -> Linger<S> {
        Linger {
            inner,
            delay,
            wait: None,
            counters,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Linger<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Linger<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let delay = this.delay;
        let wait = this
            .wait
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(delay)));
        let due = wait.deadline();
        ready!(wait.as_mut().poll(cx));
        let closing = Pin::new(&mut this.inner).poll_shutdown(cx);
        if closing.is_ready() {
            this.counters
                .close_late(Instant::now().saturating_duration_since(due));
        }
        closing
    }
}
