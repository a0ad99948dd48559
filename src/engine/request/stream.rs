//! Reading a response body: each piece stamped with when its bytes reached the machine and
//! handed to the decoder, until it ends, fails, times out or the race stops.
//!
//! Two paths share the decoding and what a piece, a deadline and a stop do ([`BodyRead`]): an
//! HTTP/1.1 body is handed to the race's readers (`reader.rs`), which read it without waking
//! the request's task per segment; an HTTP/2 stream (hyper's) is read here, in the task.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;

use super::Try;
use super::decode::{StreamEnd, StreamState};
use super::guard::Guards;
use super::reader::Body;
use super::send::Sent;
use crate::clock::RaceClock;
use crate::engine::connection::{Connection, ResponseBody};
use crate::engine::read_note::ReadNote;
use crate::event::ErrorClass;
use crate::rx_time::Read;

/// What reading one body needs besides its bytes: the request as it was sent, the race's
/// clock, and the decoding so far. Both paths read through it.
pub(super) struct BodyRead {
    pub(super) sent: Sent,
    pub(super) clock: RaceClock,
    pub(super) stream: StreamState,
    /// The connection's last read as the last piece found it (`sampled`): until the next
    /// piece is taken the connection reads nothing, so it is still the last read (HTTP/1.1).
    pub(super) last: Option<Read>,
    pub(super) sampled: bool,
}

impl BodyRead {
    /// When the body fails if nothing more comes: the first-token deadline until its first
    /// bytes, then the idle one (both capped by the total).
    pub(super) fn deadline(&self) -> tokio::time::Instant {
        match self.stream.idle_since() {
            Some(last_bytes) => self.sent.deadlines.between_chunks(&self.clock, last_bytes),
            None => self.sent.deadlines.before_first_token(),
        }
    }

    /// The read to take as the floor under the next frame, sampled before the frame is taken:
    /// the connection reads no further than the read that completes it until then (HTTP/1.1
    /// reads only in `next_data`, once all it read before was handed on), so this read is that
    /// one or an earlier one, and the socket it left empty before it is a floor under the
    /// frame's bytes. Sampled after, on HTTP/2 it could be a later read that emptied the socket
    /// after they arrived. HTTP/2: no floor (`connection/h2.rs`): this stream's frame may have
    /// been read before a later read of another stream's.
    pub(super) fn before_frame(&self) -> Option<Read> {
        self.sent
            .arrival
            .last_read()
            .filter(|_| !self.sent.multiplexed)
    }

    /// Decodes a piece of the body, which came in the connection's last read; how the body
    /// ended if it did.
    pub(super) fn on_piece(
        &mut self,
        bytes: &[u8],
        before_frame: Option<Read>,
    ) -> Option<StreamEnd> {
        let clock = &self.clock;
        let read = self.sent.arrival.last_read();
        self.last = read;
        self.sampled = true;
        let t = self.sent.received(clock, read);
        let at = self.sent.at;
        let note = ReadNote::of(read, before_frame, |i| clock.offset_of(i).clamp(at, t));
        self.stream.on_bytes(t, bytes, note)
    }

    /// How the body ended when its deadline passed with nothing more read.
    pub(super) fn expired(&self) -> StreamEnd {
        let deadlines = &self.sent.deadlines;
        let (class, message) = match self.stream.idle_since() {
            Some(last_bytes) => deadlines.expired_between_chunks(&self.clock, last_bytes),
            None => deadlines.expired_before_first_token(),
        };
        StreamEnd::Failed(class, message)
    }
}

/// How the body ended when the connection failed or closed mid-stream.
pub(super) fn cut(err: &str) -> StreamEnd {
    let message = format!("the connection failed mid-stream: {err}");
    StreamEnd::Failed(ErrorClass::StreamCut, message)
}

impl Try<'_> {
    /// Reads `body` to its end and sends its events, the final one last; returns the answer
    /// when it finished and its answer was collected (a session's turn).
    pub(super) async fn stream(
        &self,
        connection: &mut Connection,
        body: ResponseBody,
        sent: &Sent,
    ) -> Option<String> {
        let mut stream = StreamState::new(self.target, self.prompt, self.out.clone());
        if let Some(text) = self.text {
            stream = stream.for_turn(text.to_owned());
        } else if self.tag.turn.is_some() {
            stream = stream.collecting();
        }
        let read = BodyRead {
            sent: sent.clone(),
            clock: *self.ctx.clock,
            stream,
            last: None,
            sampled: false,
        };
        let (read, end) = match (&body, self.ctx.readers, connection.take_h1()) {
            (ResponseBody::Http1, Some(readers), Some(h1)) => {
                let body = Body {
                    h1,
                    read,
                    abort: self.ctx.abort.clone(),
                };
                match readers.read(body).await {
                    Some((h1, read, end)) => {
                        connection.restore_h1(h1);
                        (read, end)
                    }
                    // The readers are gone: the race is being torn down.
                    None => return None,
                }
            }
            (_, _, h1) => {
                if let Some(h1) = h1 {
                    connection.restore_h1(h1);
                }
                self.read_here(connection, body, read).await
            }
        };
        match end {
            Some(end) => read.stream.end(end).await,
            // Cancelled: its event is out.
            None => None,
        }
    }

    /// Reads `body` in this task: how it ended, `None` when the race stopped it (its
    /// `Cancelled` sent).
    async fn read_here(
        &self,
        connection: &mut Connection,
        mut body: ResponseBody,
        mut read: BodyRead,
    ) -> (BodyRead, Option<StreamEnd>) {
        // One timer for the whole body, moved only when the deadline it guards came nearer
        // (once, at the first bytes, when the idle timeout is the shorter) or when it fires
        // before the deadline, which later bytes pushed back: not a timer per chunk. It and the
        // race's stop are polled only when they woke the task (`guard.rs`), not per piece.
        let expiry = pin!(tokio::time::sleep_until(
            read.sent.deadlines.before_first_token()
        ));
        let stop = pin!(self.ctx.abort.cancelled());
        let mut guards = Guards::new(stop, expiry);
        let end = loop {
            let before_frame = read.before_frame();
            let deadline = read.deadline();
            if deadline < guards.deadline() {
                guards.reset(deadline);
            }
            // The stop first, then the bytes, then the timer: bytes there when it fires count.
            let chunk = {
                let mut next = pin!(connection.next_data(&mut body));
                poll_fn(|cx| {
                    let look = guards.look(cx);
                    if look.stopped {
                        return Poll::Ready(None);
                    }
                    if let Poll::Ready(r) = next.as_mut().poll(cx) {
                        return Poll::Ready(Some(Ok(r)));
                    }
                    if look.expired {
                        return Poll::Ready(Some(Err(())));
                    }
                    Poll::Pending
                })
                .await
            };
            let Some(chunk) = chunk else {
                read.stream.cancel(&read.clock);
                return (read, None);
            };
            if chunk.is_err() && deadline > guards.deadline() {
                guards.reset(deadline);
                continue;
            }
            match chunk {
                Ok(Some(Ok(bytes))) => {
                    if let Some(end) = read.on_piece(bytes, before_frame) {
                        break end;
                    }
                }
                Ok(None) => break read.stream.on_body_end(),
                Ok(Some(Err(err))) => break cut(&err),
                Err(()) => break read.expired(),
            }
        };
        (read, Some(end))
    }
}
