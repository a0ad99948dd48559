//! Sending a request and waiting for its response head: when it left (its last byte handed to
//! the kernel, seen on the connection's write signal), its deadlines, and the resend-once rule
//! for a reused connection lost unanswered.

use std::time::Duration;

use http::Response;

use super::{Ready, Stop, Try};
use crate::engine::connection::{ConnectFailure, Connection, ResponseBody};
use crate::engine::deadlines::Deadlines;
use crate::event::{ErrorClass, Offset};
use crate::rx_time::{LastArrival, Read, Written};

/// A reused connection lost unanswered within this of the request's write (or within
/// [`RESEND_CONNECTS`] times the time its opening took, if longer) is taken for the idle-close
/// race, whose loss shows about a round trip after the write, and the request is sent again.
/// Lost later, the server may have read it and be working on it: sending it again could run it
/// twice, so it fails as `connection_lost`.
const RESEND_WINDOW: Duration = Duration::from_millis(250);

/// Opening a connection takes a round trip (a few with TLS): a slow network's race is this
/// many times that.
const RESEND_CONNECTS: u32 = 3;

/// How many times an HTTP/2 request the server provably never took (`REFUSED_STREAM`, or
/// beyond a GOAWAY's last stream; RFC 9113 §8.7) is sent again, each time on a connection that
/// is not going away: a server that closes after a few streams (nginx's `keepalive_requests`)
/// refuses the rest of a burst, and its next connection takes a few more.
pub(super) const MAX_REFUSED_RESENDS: u32 = 8;

/// A request that left and was answered with a response head.
pub(super) struct Sent {
    /// When it left: never before it was issued.
    pub(super) at: Offset,
    pub(super) deadlines: Deadlines,
    /// When the bytes its connection read last arrived.
    pub(super) arrival: LastArrival,
    /// It is a stream on a shared HTTP/2 connection: another stream's frames are read between
    /// its own, so the read before a frame is no floor under the frame's bytes.
    pub(super) multiplexed: bool,
}

impl Sent {
    /// When the bytes of `read` (the last read that returned some) reached the machine, not
    /// when this task got round to them (the kernel's stamp, where there is one): never before
    /// the request was sent, never after now.
    pub(super) fn received(&self, clock: &crate::clock::RaceClock, read: Option<Read>) -> Offset {
        read.map_or_else(|| clock.now(), |read| clock.offset_of(read.arrived))
            .max(self.at)
    }
}

impl Try<'_> {
    /// Writes the request on the ready connection and waits for its response head, telling
    /// when it left with its `Sent`.
    pub(super) async fn send(
        &self,
        connection: &mut Connection,
        ready: Ready,
    ) -> Result<(Response<ResponseBody>, Sent), Stop> {
        let clock = self.ctx.clock;
        // A request sent again counts from its write on the new connection: the reconnect is its
        // connect time, and the dead connection's wait is `lost_ms`, neither its TTFT.
        let counts_from_connect = ready.opened.is_some() && self.resending.is_none();
        let issued = if counts_from_connect {
            ready.before
        } else {
            clock.now()
        };
        let deadlines = Deadlines::new(clock, self.ctx.timeouts, issued);
        // On a warm connection the request counts from when its last byte went to the kernel:
        // with hundreds of streams issuing at once on one core, the workers' tasks write them
        // one after another, milliseconds apart, and that queue is ours, not the server's. The
        // connection is idle (the previous response was read whole), so the first write to end
        // after `seen` is this request's. Two rare writes could come first and time it early,
        // never before it was issued: the rest of the previous request's body when its server
        // answered before reading it, or a TLS alert or key update on the idle connection.
        let mut written = connection.last_write();
        let seen = written.borrow_and_update().count;
        let read_before = connection.bytes_read();
        let mut sent = counts_from_connect.then(|| {
            self.sent_event(issued);
            issued
        });
        // Never before it was issued, never after now.
        let write_time = |w: &Written| {
            w.at.filter(|_| w.count > seen)
                .map(|at| clock.offset_of(at).max(issued).min(clock.now()))
        };
        let response = {
            let sending = connection.send(self.target.request(self.body.clone()));
            tokio::pin!(sending);
            let expiry = tokio::time::sleep_until(deadlines.before_first_token());
            tokio::pin!(expiry);
            let mut watching = sent.is_none();
            loop {
                tokio::select! {
                    biased;
                    () = self.ctx.abort.cancelled() => {
                        if sent.is_none() {
                            self.sent_event(issued);
                        }
                        return Err(self.cancelled());
                    }
                    changed = written.changed(), if watching => {
                        watching = changed.is_ok();
                        if let Some(t) = write_time(&written.borrow_and_update()) {
                            self.sent_event(t);
                            sent = Some(t);
                            watching = false;
                        }
                    }
                    r = &mut sending => break Ok(r),
                    () = &mut expiry => break Err(()),
                }
            }
        };
        // The write may have ended unobserved just before the outcome; a request that failed
        // before it was written counts from when it was issued.
        let sent = sent.unwrap_or_else(|| {
            let t = write_time(&written.borrow()).unwrap_or(issued);
            self.sent_event(t);
            t
        });
        match response {
            Err(()) => {
                let (class, message) = deadlines.expired_before_first_token();
                Err(self.failed(class, message))
            }
            Ok(Err(failure)) => Err(self.lost(connection, read_before, ready, sent, failure)),
            Ok(Ok(response)) => Ok((
                response,
                Sent {
                    at: sent,
                    deadlines,
                    arrival: connection.arrival().clone(),
                    multiplexed: connection.is_multiplexed(),
                },
            )),
        }
    }

    /// The resend-once rule: a request sent at `sent` whose reused connection was lost with no
    /// byte of its answer read (the count still `read_before`), soon enough after the write to
    /// be the idle-close race, is to be sent again; otherwise it fails, saying why it was not.
    fn lost(
        &self,
        connection: &Connection,
        read_before: u64,
        ready: Ready,
        sent: Offset,
        (class, message): ConnectFailure,
    ) -> Stop {
        // HTTP/2 says whether the server processed a stream: one it refused (`REFUSED_STREAM`, or
        // beyond a GOAWAY's last stream) is sent again, whenever it was lost; bytes read on
        // the shared connection and the time since the write tell nothing of one stream.
        if let Some(refused) = connection.stream_refused() {
            if refused && self.resends < MAX_REFUSED_RESENDS {
                return Stop::Lost(format!("{class}: {message}"));
            }
            return self.failed(class, message);
        }
        let unanswered =
            class == ErrorClass::ConnectionLost && connection.bytes_read() == read_before;
        let after_write = self.ctx.clock.now().since(sent);
        let window = RESEND_WINDOW.max(connection.connected_in() * RESEND_CONNECTS);
        let reused = self.resending.is_none() && ready.opened.is_none();
        if reused && unanswered && after_write <= window {
            return Stop::Lost(format!("{class}: {message}"));
        }
        let message = if reused && unanswered {
            format!(
                "{message} ({} ms after the request was written: the server may have read it, \
                 so it was not sent again)",
                after_write.as_millis()
            )
        } else {
            message
        };
        self.failed(class, message)
    }
}
