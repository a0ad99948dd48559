//! Reading a response body: each piece stamped with when its bytes reached the machine and
//! handed to the decoder, until it ends, fails, times out or the race stops.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;

use super::Try;
use super::decode::{StreamEnd, StreamState};
use super::guard::Guards;
use super::send::Sent;
use crate::engine::connection::{Connection, ResponseBody};
use crate::engine::read_note::ReadNote;
use crate::event::ErrorClass;

impl Try<'_> {
    /// Reads `body` to its end and sends its events, the final one last; returns the answer
    /// when it finished and its answer was collected (a session's turn).
    pub(super) async fn stream(
        &self,
        connection: &mut Connection,
        mut body: ResponseBody,
        sent: &Sent,
    ) -> Option<String> {
        let clock = self.ctx.clock;
        let deadlines = &sent.deadlines;
        let mut stream = StreamState::new(self.target, self.prompt, &self.out);
        if let Some(text) = self.text {
            stream = stream.for_turn(text);
        } else if self.tag.turn.is_some() {
            stream = stream.collecting();
        }
        // One timer for the whole body, moved only when the deadline it guards came nearer
        // (once, at the first bytes, when the idle timeout is the shorter) or when it fires
        // before the deadline, which later bytes pushed back: not a timer per chunk. It and the
        // race's stop are polled only when they woke the task (`guard.rs`), not per piece.
        let expiry = pin!(tokio::time::sleep_until(deadlines.before_first_token()));
        let stop = pin!(self.ctx.abort.cancelled());
        let mut guards = Guards::new(stop, expiry);
        let end = loop {
            // Sampled before the next frame is taken: the connection reads no further than the
            // read that completes it until then (HTTP/1.1 reads only in `next_data`, once all
            // it read before was handed on), so this read is that one or an earlier one, and
            // the socket it left empty before it is a floor under the frame's bytes. Sampled
            // after, on HTTP/2 it could be a later read that emptied the socket after they
            // arrived.
            // HTTP/2: no floor (`connection/h2.rs`): this stream's frame may have been read before
            // a later read of another stream's.
            let before_frame = sent.arrival.last_read().filter(|_| !sent.multiplexed);
            let deadline = match stream.idle_since() {
                Some(last_bytes) => deadlines.between_chunks(clock, last_bytes),
                None => deadlines.before_first_token(),
            };
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
                stream.cancel(clock);
                return None;
            };
            if chunk.is_err() && deadline > guards.deadline() {
                guards.reset(deadline);
                continue;
            }
            match chunk {
                Ok(Some(Ok(bytes))) => {
                    let read = sent.arrival.last_read();
                    let t = sent.received(clock, read);
                    let note = ReadNote::of(read, before_frame, |at| {
                        clock.offset_of(at).clamp(sent.at, t)
                    });
                    if let Some(end) = stream.on_bytes(t, bytes, note) {
                        break end;
                    }
                }
                Ok(None) => break stream.on_body_end(),
                Ok(Some(Err(err))) => {
                    let message = format!("the connection failed mid-stream: {err}");
                    break StreamEnd::Failed(ErrorClass::StreamCut, message);
                }
                Err(()) => {
                    let (class, message) = match stream.idle_since() {
                        Some(last_bytes) => deadlines.expired_between_chunks(clock, last_bytes),
                        None => deadlines.expired_before_first_token(),
                    };
                    break StreamEnd::Failed(class, message);
                }
            }
        };
        stream.end(end).await
    }
}
