//! The bodies the mock answers with: whole bodies, bodies cut short by a fault, and token
//! streams that write each chunk at its deadline, batching whatever is due at once.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};

use super::delivery::Delivery;
use super::faults::Fault;
use super::plan::Plan;
use super::stats::{Counters, FirstContent};
use super::wire::Wire;

/// A frame is handed over once it holds this much, even if more is due: the connection
/// writes while the rest is encoded, and memory stays bounded for `huge` answers.
const MAX_FRAME: usize = 64 * 1024;

/// The error that makes hyper abort a connection mid-body (`reset_mid_stream`).
#[derive(Debug, thiserror::Error)]
#[error("mock fault: connection reset mid-stream")]
pub(crate) struct Aborted;

/// Any body the mock sends.
pub(crate) enum MockBody {
    Whole(Option<Bytes>),
    /// Part of a body whose headers promised `promised` bytes; then the connection is aborted
    /// or left hanging.
    Cut {
        part: Option<Bytes>,
        promised: u64,
        then: Ending,
    },
    Stream(Box<TokenStream>),
}

/// What a body does once it has nothing more to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    Done,
    /// Abort the connection; `armed` once hyper had a chance to flush what came before.
    Abort {
        armed: bool,
    },
    Hang,
}

impl Ending {
    /// Polls an ending that has been reached.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Aborted>>> {
        match self {
            Ending::Done => Poll::Ready(None),
            // Hyper flushes buffered data while the body is pending, so the client sees the
            // tokens before the abort; waking at once keeps the abort prompt.
            Ending::Abort { armed: false } => {
                *self = Ending::Abort { armed: true };
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Ending::Abort { armed: true } => Poll::Ready(Some(Err(Aborted))),
            // Never woken: the connection stays open until the client or shutdown drops it.
            Ending::Hang => Poll::Pending,
        }
    }
}

impl MockBody {
    pub(crate) fn whole(bytes: impl Into<Bytes>) -> MockBody {
        MockBody::Whole(Some(bytes.into()))
    }

    /// A whole (not streamed) answer `full` of `protocol` as `fault` spoils it: an error body
    /// in its place, trailing garbage after it, or cut at half with the connection reset or left
    /// hanging; faults that mean nothing to a whole answer leave it whole.
    pub(crate) fn whole_faulted(
        full: Bytes,
        fault: Option<Fault>,
        protocol: Option<crate::protocol::Protocol>,
    ) -> MockBody {
        let cut = |then| MockBody::Cut {
            part: Some(full.slice(..full.len() / 2)),
            promised: full.len() as u64,
            then,
        };
        match fault {
            Some(Fault::ErrorMidStream) => {
                MockBody::whole(super::wire::error_body(protocol, 500, "mock overloaded"))
            }
            // Trailing garbage after a complete object: every byte of the answer, not valid JSON.
            Some(Fault::MalformedChunk) => MockBody::whole([&full[..], b",}"].concat()),
            Some(Fault::ResetMidStream) => cut(Ending::Abort { armed: false }),
            Some(Fault::HangMidStream) => cut(Ending::Hang),
            _ => MockBody::whole(full),
        }
    }

    pub(crate) fn is_stream(&self) -> bool {
        matches!(self, MockBody::Stream(_))
    }
}

/// A body that says when its last frame has been handed over, so that its connection can be
/// closed right after it (`close_after_stream`).
pub(crate) struct Announced {
    body: MockBody,
    done: Option<Arc<Notify>>,
}

impl Announced {
    /// `done` is told once, when the body has nothing more to send.
    pub(crate) fn new(body: MockBody, done: Option<Arc<Notify>>) -> Announced {
        Announced { body, done }
    }
}

impl Body for Announced {
    type Data = Bytes;
    type Error = Aborted;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Aborted>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        // Hyper stops polling once a body says it has ended: either way, this is the end.
        let ended = matches!(polled, Poll::Ready(None)) || this.body.is_end_stream();
        if ended && let Some(done) = this.done.take() {
            done.notify_one();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = Aborted;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Aborted>>> {
        match self.get_mut() {
            MockBody::Whole(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            MockBody::Cut { part, then, .. } => match part.take() {
                Some(part) => Poll::Ready(Some(Ok(Frame::data(part)))),
                None => then.poll(cx),
            },
            MockBody::Stream(stream) => stream.poll_next(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            MockBody::Whole(bytes) => bytes.is_none(),
            MockBody::Cut { .. } => false,
            MockBody::Stream(stream) => stream.stage == Stage::End(Ending::Done),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            MockBody::Whole(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            MockBody::Cut { promised, .. } => SizeHint::with_exact(*promised),
            MockBody::Stream(_) => SizeHint::default(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Start,
    Tokens,
    Finish,
    End(Ending),
}

/// A streamed response: each chunk is written at its own deadline on the plan's clock.
pub(crate) struct TokenStream {
    wire: Wire,
    plan: Plan,
    stage: Stage,
    /// Tokens written so far.
    sent: u32,
    /// Deadline of the next piece.
    due: Instant,
    sleep: Pin<Box<Sleep>>,
    /// Reused across frames: once hyper has written a frame, its space is reclaimed.
    buf: BytesMut,
    counters: Arc<Counters>,
    seq: u64,
    arrived: Instant,
    first_written: bool,
    delivery: Delivery,
    /// Per-event delivery: a frame was just handed over, and hyper must flush it (it does while
    /// the body is pending) before the next one is made.
    flush_owed: bool,
}

impl TokenStream {
    pub(crate) fn new(
        wire: Wire,
        plan: Plan,
        counters: Arc<Counters>,
        seq: u64,
        arrived: Instant,
    ) -> TokenStream {
        let due = plan.clock.origin;
        TokenStream {
            wire,
            plan,
            stage: Stage::Start,
            sent: 0,
            due,
            sleep: Box::pin(tokio::time::sleep_until(due)),
            buf: BytesMut::new(),
            counters,
            seq,
            arrived,
            first_written: false,
            delivery: Delivery::Coalesced,
            flush_owed: false,
        }
    }

    /// Hands pieces to the socket as `delivery` says (coalesced unless told).
    pub(crate) fn delivered(mut self, delivery: Delivery) -> TokenStream {
        self.delivery = delivery;
        self
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Aborted>>> {
        loop {
            if let Stage::End(ending) = &mut self.stage {
                return ending.poll(cx);
            }
            if self.flush_owed {
                // Pending with an immediate wake-up: hyper's dispatcher flushes what it has
                // queued whenever the body is pending, so the last frame leaves in a write of
                // its own. (The end of the body is not held back: hyper's closing chunk rides
                // with the last piece.)
                self.flush_owed = false;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let now = Instant::now();
            if self.due > now {
                if self.sleep.deadline() != self.due {
                    self.sleep.as_mut().reset(self.due);
                }
                ready!(self.sleep.as_mut().poll(cx));
                continue;
            }
            self.counters.write_late(now - self.due);
            self.buf.reserve(4096);
            let per_event = self.delivery == Delivery::PerEvent;
            while self.buf.len() < MAX_FRAME && self.due <= now {
                if !self.step(now) || (per_event && !self.buf.is_empty()) {
                    break;
                }
            }
            if !self.buf.is_empty() {
                self.flush_owed = per_event;
                return Poll::Ready(Some(Ok(Frame::data(self.buf.split().freeze()))));
            }
        }
    }

    /// Writes the next piece into `buf`; false once the stream has reached its end.
    fn step(&mut self, now: Instant) -> bool {
        match self.stage {
            Stage::Start => {
                self.wire.start(&mut self.buf, &self.plan.tally);
                self.stage = Stage::Tokens;
                self.schedule_next();
            }
            Stage::Tokens => {
                let striking = self.plan.fault.filter(|f| *f != Fault::NoTerminator);
                if let Some(fault) = striking.filter(|_| self.sent >= self.plan.fault_at) {
                    return self.strike(fault);
                }
                if self.sent < self.plan.tally.output {
                    if self.sent >= self.plan.tally.reasoning && self.wire.open(&mut self.buf) {
                        // The opening is a token of its own: the first words follow it one
                        // inter-token delay later, in a write of their own.
                        self.note_first(now);
                        self.due = self.plan.clock.advance(1);
                        return true;
                    }
                    self.write_chunk(now);
                } else if self.plan.fault == Some(Fault::NoTerminator) {
                    // The end marker is the one thing left out: the body just stops.
                    self.stage = Stage::End(Ending::Done);
                    return false;
                } else {
                    self.stage = Stage::Finish;
                }
            }
            Stage::Finish => {
                self.plan.settle_timings();
                self.wire.finish(&mut self.buf, &self.plan.tally);
                self.stage = Stage::End(Ending::Done);
            }
            Stage::End(_) => return false,
        }
        true
    }

    /// Draws the deadline of the next chunk, if there is one; the finish shares the last
    /// chunk's deadline.
    fn schedule_next(&mut self) {
        if self.sent < self.plan.tally.output {
            let n = self.plan.chunk_len(self.sent);
            self.due = self.plan.clock.advance(n);
        }
    }

    fn write_chunk(&mut self, now: Instant) {
        let (words, reasoning) = self.plan.words(self.sent);
        self.wire.delta(&mut self.buf, reasoning, words);
        self.sent += words.count;
        self.note_first(now);
        self.schedule_next();
    }

    /// Counts the first content's write, once.
    fn note_first(&mut self, now: Instant) {
        if !self.first_written {
            self.first_written = true;
            self.counters.first_content(FirstContent {
                request: self.seq,
                arrived: self.arrived.into_std(),
                due: self.due.into_std(),
                written: now.into_std(),
            });
        }
    }

    /// Injects the plan's mid-stream fault; false if the stream goes no further.
    fn strike(&mut self, fault: Fault) -> bool {
        self.plan.fault = None;
        let ending = match fault {
            Fault::MalformedChunk => {
                self.wire.broken(&mut self.buf);
                return true;
            }
            Fault::InvalidUtf8 => {
                let reasoning = self.sent < self.plan.tally.reasoning;
                self.wire.invalid_utf8(&mut self.buf, reasoning);
                return true;
            }
            Fault::ErrorMidStream => {
                self.wire.error(&mut self.buf);
                Ending::Done
            }
            Fault::ResetMidStream => Ending::Abort { armed: false },
            Fault::HangMidStream => Ending::Hang,
            _ => Ending::Done,
        };
        self.stage = Stage::End(ending);
        false
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use std::task::Waker;

    use super::*;
    use crate::mock::profile::Profile;
    use crate::mock::request::Ask;
    use crate::mock::wire::Stamp;
    use crate::protocol::{Message, Protocol, RequestSpec};

    /// A zero-delay streamed answer of `protocol` under `spec`, and whether the body asked to be
    /// polled again, for each poll until its end: `Some(frame)` for a frame, `None` for pending.
    fn polls(protocol: Protocol, spec: &str) -> Vec<Option<Bytes>> {
        let profile = Profile::parse(spec).unwrap();
        let messages = [Message::user("hello")];
        let extra = serde_json::Map::new();
        let request = protocol.build_request(
            "http://127.0.0.1/v1",
            &RequestSpec {
                model: "mock",
                messages: &messages,
                max_tokens: None,
                temperature: None,
                stream: true,
                tools: &[],
                extra_body: &extra,
            },
        );
        let ask = Ask::parse(protocol, &request.body).unwrap();
        let stamp = Stamp {
            seq: 1,
            created: 1_767_225_600,
            created_at: "2026-01-01T00:00:00Z",
            model_json: &ask.model_json,
        };
        let now = Instant::now();
        let plan = Plan::new(&profile, protocol, &ask, 1, None, now);
        let wire = Wire::new(protocol, &stamp).shaped(&plan.shape);
        let counters = Arc::new(Counters::new());
        let mut body = MockBody::Stream(Box::new(
            TokenStream::new(wire, plan, counters, 1, now).delivered(profile.delivery),
        ));
        let woken = Arc::new(WakeCount::default());
        let waker = Waker::from(Arc::clone(&woken));
        let mut cx = Context::from_waker(&waker);
        let mut out = Vec::new();
        for _ in 0..10_000 {
            match Pin::new(&mut body).poll_frame(&mut cx) {
                Poll::Ready(None) => return out,
                Poll::Ready(Some(frame)) => {
                    out.push(Some(frame.unwrap().into_data().unwrap()));
                }
                Poll::Pending => {
                    // No delays: a pending body must have asked to be polled again at once.
                    assert_eq!(woken.take(), 1, "pending without a wake-up after {out:?}");
                    out.push(None);
                }
            }
        }
        panic!("the body did not end");
    }

    #[derive(Default)]
    struct WakeCount(std::sync::atomic::AtomicUsize);

    impl WakeCount {
        fn take(&self) -> usize {
            self.0.swap(0, std::sync::atomic::Ordering::Relaxed)
        }
    }

    impl std::task::Wake for WakeCount {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn events(frame: &[u8], protocol: Protocol) -> usize {
        let text = String::from_utf8_lossy(frame);
        match protocol {
            Protocol::Ollama => text.matches('\n').count(),
            _ => text.matches("data:").count(),
        }
    }

    #[tokio::test]
    async fn per_event_delivery_hands_over_each_event_alone_and_waits_for_a_flush() {
        for protocol in [Protocol::OpenAiChat, Protocol::Anthropic, Protocol::Ollama] {
            let polled = polls(protocol, "instant,tokens=20,delivery=per-event");
            let frames: Vec<&Bytes> = polled.iter().flatten().collect();
            // Every frame but the last is followed by a pending poll (hyper flushes then); the
            // last one ends the body, so hyper's closing chunk leaves in the same write.
            for (i, pair) in polled.windows(2).enumerate() {
                if pair[0].is_some() {
                    assert!(
                        pair[1].is_none(),
                        "{protocol:?}: frame {i} not followed by a flush"
                    );
                }
            }
            assert!(polled.last().unwrap().is_some());
            // The 20 token events are one frame each, between the opening and the closing.
            let single = frames.iter().filter(|f| events(f, protocol) == 1).count();
            assert!(
                single >= 20,
                "{protocol:?}: {single} one-event frames of {}",
                frames.len()
            );
            let whole: Vec<u8> = frames.iter().flat_map(|f| f.iter().copied()).collect();
            let coalesced = polls(protocol, "instant,tokens=20");
            assert_eq!(coalesced.len(), 1, "{protocol:?}: coalesced is one frame");
            assert_eq!(
                coalesced[0].as_deref(),
                Some(&whole[..]),
                "{protocol:?}: same bytes"
            );
        }
    }
}
