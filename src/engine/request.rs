//! One request's life, told in steps: get a connection (`connect`, here), send the request and
//! wait for the response head (`send`: when it left, and the resend-once rule), read the head
//! (`head`: status and headers, error answers), read the body (`stream`: its bytes stamped as
//! they arrive, the timeouts, a stop) and decode it into events (`decode`, which also sends the
//! final ones). It ends with exactly one of finished, failed or cancelled.

mod answer;
mod decode;
mod guard;
mod head;
mod send;
mod stream;

use std::time::Duration;

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use super::connection::Connection;
use super::retry::RetryHint;
use super::target::Target;
use crate::clock::RaceClock;
use crate::config::Timeouts;
use crate::event::{
    EndpointId, ErrorClass, EventKind, Offset, PromptId, RaceEvent, RequestId, Retry,
};

/// Where a request's events go.
pub type EventSender = tokio::sync::mpsc::UnboundedSender<RaceEvent>;

pub struct RequestContext<'a> {
    pub clock: &'a RaceClock,
    pub events: &'a EventSender,
    pub timeouts: &'a Timeouts,
    pub abort: &'a CancellationToken,
}

struct Emitter<'a> {
    events: &'a EventSender,
    endpoint: EndpointId,
    request: RequestId,
}

impl Emitter<'_> {
    fn emit(&self, t: Offset, kind: EventKind) {
        // The receiver only goes away when the whole race is being torn down.
        let _ = self.events.send(RaceEvent {
            t,
            endpoint: self.endpoint,
            request: self.request,
            kind,
        });
    }
}

/// What a request's `Sent` event says besides the prompt: how the load shape sent it.
#[derive(Clone, Copy, Debug, Default)]
pub struct SendTag {
    /// Kept out of the statistics.
    pub warmup: bool,
    /// Open loop: when it was meant to leave, so its lag can be told.
    pub scheduled: Option<Offset>,
    /// Open loop: when the race's schedule has it leave, from the race's zero with warm-ups
    /// not counted (the closed loop's requests are due at the zero): a shard's start skew.
    pub due: Option<Offset>,
    /// Head-to-head laps: which lap it runs in.
    pub lap: Option<u32>,
    /// A retry: the attempt it repeats.
    pub retry: Option<Retry>,
    /// Multi-turn sessions: the session it is a turn of.
    pub session: Option<u64>,
    /// Multi-turn sessions: which turn, from 1. A request with a turn collects its answer.
    pub turn: Option<u32>,
}

/// What a request sends: its prompt and the body for it (built before the start, or at run
/// time for a session's later turn), and for a later turn the conversation's text, which the
/// input tokens are estimated from when the server reports none.
#[derive(Clone, Debug)]
pub struct Payload {
    pub prompt: PromptId,
    pub body: Bytes,
    pub text: Option<String>,
}

impl Payload {
    /// A prompt's own request, as built before the start.
    pub fn of(target: &Target, prompt: PromptId) -> Payload {
        Payload {
            prompt,
            body: target.body_for(prompt).clone(),
            text: None,
        }
    }
}

/// How a request ended, for whoever sent it.
#[derive(Debug, Default)]
pub struct Ended {
    /// It failed with a status worth retrying.
    pub hint: Option<RetryHint>,
    /// It finished, and its answer was collected (a session's turn): the decoded content, not
    /// the reasoning; its tool calls as text when it has no content (never empty).
    pub answer: Option<String>,
    /// It failed before it was sent: no connection could be opened (a closed port, a dead
    /// proxy). The closed loop backs off before its next (`reconnect.rs`).
    pub unreached: bool,
}

/// Sends prompt `prompt` to `target` over `connection` and reports everything that happens
/// as events. Returns a hint when it failed with a status worth retrying.
///
/// A reused connection that dies before any byte of the response (its server closed it just
/// as the request went out: llama.cpp does after every stream) never had the request read: it
/// is sent once more on a new connection, as curl does, and counts from its write there (the
/// reconnect is its connect time, not its TTFT); its record says why. Only a loss soon
/// after the write is taken for that race (`send::RESEND_WINDOW`).
pub async fn run_request(
    ctx: &RequestContext<'_>,
    connection: &mut Connection,
    target: &Target,
    request: RequestId,
    payload: &Payload,
    tag: SendTag,
) -> Ended {
    let mut resend = Resend::default();
    loop {
        let times = resend.times;
        let ended = send_request(ctx, connection, target, request, payload, tag, &mut resend).await;
        // A try sent again says so by counting; HTTP/1.1 sends again once, HTTP/2 a stream the
        // server provably never took up to `send::MAX_REFUSED_RESENDS` times.
        if resend.times == times {
            return ended;
        }
    }
}

/// How a request's earlier tries were lost unanswered, and how many were.
#[derive(Default)]
struct Resend {
    lost: Option<String>,
    times: u32,
}

/// One try of [`run_request`]. A try gives up without a final event when it was lost
/// unanswered and may be sent again, saying how in `resend`; the next, given that, sends again.
async fn send_request(
    ctx: &RequestContext<'_>,
    connection: &mut Connection,
    target: &Target,
    request: RequestId,
    payload: &Payload,
    tag: SendTag,
    resend: &mut Resend,
) -> Ended {
    let one = Try {
        ctx,
        target,
        out: Emitter {
            events: ctx.events,
            endpoint: target.id,
            request,
        },
        prompt: payload.prompt,
        tag,
        body: payload.body.clone(),
        text: payload.text.as_deref(),
        resending: resend.lost.clone(),
        resends: resend.times,
    };
    match one.run(connection).await {
        Ok(answer) => Ended {
            answer,
            ..Ended::default()
        },
        Err(Stop::Ended(hint)) => Ended {
            hint,
            ..Ended::default()
        },
        Err(Stop::Unreached) => Ended {
            unreached: true,
            ..Ended::default()
        },
        Err(Stop::Lost(why)) => {
            resend.times += 1;
            resend.lost = Some(if resend.times > 1 {
                format!("{why} (sent again {} times)", resend.times)
            } else {
                why
            });
            Ended::default()
        }
    }
}

/// Why a try stopped before it read its response whole.
enum Stop {
    /// Its final event is out; a hint when it failed with a status worth retrying.
    Ended(Option<RetryHint>),
    /// Its reused connection was lost unanswered just after the write, how: no final event,
    /// the request is to be sent again.
    Lost(String),
    /// No connection could be opened for it: its final event (failed) is out, nothing was
    /// sent.
    Unreached,
}

/// One try of a request: what it sends, and where its events go.
struct Try<'a> {
    ctx: &'a RequestContext<'a>,
    target: &'a Target,
    out: Emitter<'a>,
    prompt: PromptId,
    tag: SendTag,
    body: Bytes,
    /// A session's later turn: the conversation's text.
    text: Option<&'a str>,
    /// How the last try was lost, when this one sends again.
    resending: Option<String>,
    /// The tries before this one lost unanswered.
    resends: u32,
}

/// A connection ready to take the request.
#[derive(Clone, Copy)]
struct Ready {
    /// When the request began waiting for it.
    before: Offset,
    /// How long opening a new connection took; `None` on a warm one.
    opened: Option<Duration>,
}

impl Try<'_> {
    /// The story of one try; each step sends its events, and one that ends the try says how.
    /// It returns the answer when it finished and collected one (a session's turn).
    async fn run(&self, connection: &mut Connection) -> Result<Option<String>, Stop> {
        let ready = self.connect(connection).await?;
        let (response, sent) = self.send(connection, ready).await?;
        let body = self.head(connection, response, ready.opened, &sent).await?;
        Ok(self.stream(connection, body, &sent).await)
    }

    /// Waits for the connection to be ready, opening a new one if it has to.
    async fn connect(&self, connection: &mut Connection) -> Result<Ready, Stop> {
        // A warm connection is ready at once and the request counts from when it is written. A
        // request that must connect counts from before connecting: that wait is part of what it
        // experienced, and its record says so.
        let before = self.ctx.clock.now();
        let ready = tokio::select! {
            biased;
            () = self.ctx.abort.cancelled() => {
                // A request to send again that was not is cancelled as first sent.
                if self.resending.is_none() {
                    self.sent_event(before);
                }
                return Err(self.cancelled());
            }
            r = connection.ready() => r,
        };
        match ready {
            Ok(opened) => Ok(Ready { before, opened }),
            Err((class, message)) => {
                self.sent_event(before);
                self.failed(class, message);
                Err(Stop::Unreached)
            }
        }
    }

    /// Says the request left at `t`: `Sent`, or `Resent` when it is sent again.
    fn sent_event(&self, t: Offset) {
        if let Some(lost) = &self.resending {
            self.out.emit(t, EventKind::Resent { lost: lost.clone() });
            return;
        }
        let SendTag {
            warmup,
            scheduled,
            due: _,
            lap,
            retry,
            session,
            turn,
        } = self.tag;
        self.out.emit(
            t,
            EventKind::Sent {
                prompt: self.prompt,
                bytes: self.body.len() as u64,
                warmup,
                lag_us: scheduled
                    .map(|at| u64::try_from(t.since(at).as_micros()).unwrap_or(u64::MAX)),
                lap,
                retry,
                session,
                turn,
                inputs: self.target.batch(),
            },
        );
    }

    /// Ends the try, stopped before any byte of the response came.
    fn cancelled(&self) -> Stop {
        self.out
            .emit(self.ctx.clock.now(), EventKind::Cancelled { bytes: 0 });
        Stop::Ended(None)
    }

    /// Ends the try, failed before any byte of the response came.
    fn failed(&self, class: ErrorClass, message: String) -> Stop {
        self.out
            .emit(self.ctx.clock.now(), failed(class, message, None, 0));
        Stop::Ended(None)
    }
}

fn failed(class: ErrorClass, message: String, status: Option<u16>, bytes: u64) -> EventKind {
    EventKind::Failed {
        class,
        message,
        status,
        bytes,
    }
}

#[cfg(test)]
mod tests;
