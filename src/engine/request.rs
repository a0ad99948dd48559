//! One request's life: send it, stamp the response's bytes as they arrive, decode them into
//! events, enforce the timeouts, and end with exactly one of finished, failed or cancelled.

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::connection::{Connection, chain};
use super::deadlines::Deadlines;
use super::read_note::ReadNote;
use super::response_head::{
    describe_status, error_message, is_html, server_request_id, shown_headers,
};
use super::retry::{RetryHint, is_retryable, parse_retry_after};
use super::target::Target;
use crate::clock::RaceClock;
use crate::config::Timeouts;
use crate::event::{
    EndpointId, ErrorClass, EventKind, Offset, PromptId, RaceEvent, RequestId, Retry, TokenSource,
};
use crate::protocol::Decoded;
use crate::rx_time::{Read, Written};
use crate::tokenizer::count_tokens_aside;

/// Where a request's events go.
pub type EventSender = tokio::sync::mpsc::UnboundedSender<RaceEvent>;

/// A reused connection lost unanswered within this of the request's write (or within
/// [`RESEND_CONNECTS`] times the time its opening took, if longer) is taken for the idle-close
/// race, whose loss shows about a round trip after the write, and the request is sent again.
/// Lost later, the server may have read it and be working on it: sending it again could run it
/// twice, so it fails as `connection_lost`.
const RESEND_WINDOW: std::time::Duration = std::time::Duration::from_millis(250);

/// Opening a connection takes a round trip (a few with TLS): a slow network's race is this
/// many times that.
const RESEND_CONNECTS: u32 = 3;

/// How much of an error body is read for its message.
const ERROR_BODY_LIMIT: usize = 16 * 1024;

/// Text kept per request to estimate token counts when the server reports none.
const CAPTURE_LIMIT: usize = 4 * 1024 * 1024;

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
    /// Head-to-head laps: which lap it runs in.
    pub lap: Option<u32>,
    /// A retry: the attempt it repeats.
    pub retry: Option<Retry>,
}

/// Sends prompt `prompt` to `target` over `connection` and reports everything that happens
/// as events. Returns a hint when it failed with a status worth retrying.
///
/// A reused connection that dies before any byte of the response (its server closed it just
/// as the request went out: llama.cpp does after every stream) never had the request read: it
/// is sent once more on a new connection, as curl does, and counts from its write there (the
/// reconnect is its connect time, not its TTFT); its record says why. Only a loss soon
/// after the write is taken for that race ([`RESEND_WINDOW`]).
pub async fn run_request(
    ctx: &RequestContext<'_>,
    connection: &mut Connection,
    target: &Target,
    request: RequestId,
    prompt: PromptId,
    tag: SendTag,
) -> Option<RetryHint> {
    let mut lost = None;
    let hint = send_request(ctx, connection, target, request, prompt, tag, &mut lost).await;
    if lost.is_none() {
        return hint;
    }
    send_request(ctx, connection, target, request, prompt, tag, &mut lost).await
}

/// One try of [`run_request`]. The first gives up without a final event when its reused
/// connection was lost unanswered, saying how in `lost`; the second, given that, sends again.
async fn send_request(
    ctx: &RequestContext<'_>,
    connection: &mut Connection,
    target: &Target,
    request: RequestId,
    prompt: PromptId,
    tag: SendTag,
    lost: &mut Option<String>,
) -> Option<RetryHint> {
    let SendTag {
        warmup,
        scheduled,
        lap,
        retry,
    } = tag;
    let out = Emitter {
        events: ctx.events,
        endpoint: target.id,
        request,
    };
    let body = target.body_for(prompt).clone();
    let resending = lost.clone();
    let sent_event = |t: Offset| {
        if let Some(lost) = &resending {
            out.emit(t, EventKind::Resent { lost: lost.clone() });
            return;
        }
        out.emit(
            t,
            EventKind::Sent {
                prompt,
                bytes: body.len() as u64,
                warmup,
                lag_us: scheduled
                    .map(|at| u64::try_from(t.since(at).as_micros()).unwrap_or(u64::MAX)),
                lap,
                retry,
            },
        );
    };
    // A warm connection is ready at once and the request counts from when it is written. A
    // request that must connect counts from before connecting: that wait is part of what it
    // experienced, and its record says so.
    let before = ctx.clock.now();
    let ready = tokio::select! {
        biased;
        () = ctx.abort.cancelled() => {
            // A request to send again that was not is cancelled as first sent.
            if resending.is_none() {
                sent_event(before);
            }
            out.emit(ctx.clock.now(), EventKind::Cancelled { bytes: 0 });
            return None;
        }
        r = connection.ready() => r,
    };
    let connect = match ready {
        Ok(connect) => connect,
        Err((class, message)) => {
            sent_event(before);
            out.emit(ctx.clock.now(), failed(class, message, None, 0));
            return None;
        }
    };
    // A request sent again counts from its write on the new connection: the reconnect is its
    // connect time, and the dead connection's wait is `lost_ms`, neither its TTFT.
    let counts_from_connect = connect.is_some() && resending.is_none();
    let issued = if counts_from_connect {
        before
    } else {
        ctx.clock.now()
    };
    let deadlines = Deadlines::new(ctx.clock, ctx.timeouts, issued);
    // On a warm connection the request counts from when its last byte went to the kernel:
    // with hundreds of streams issuing at once on one core, the connection tasks write them
    // one after another, milliseconds apart, and that queue is ours, not the server's. The
    // connection is idle (the previous response was read whole), so the first write to end
    // after `seen` is this request's. Two rare writes could come first and time it early, never
    // before it was issued: the rest of the previous request's body when its server answered
    // before reading it, or a TLS alert or key update on the idle connection.
    let mut written = connection.last_write();
    let seen = written.borrow_and_update().count;
    let read_before = connection.bytes_read();
    let mut sent = counts_from_connect.then(|| {
        sent_event(issued);
        issued
    });
    // Never before it was issued, never after now.
    let write_time = |w: &Written| {
        w.at.filter(|_| w.count > seen)
            .map(|at| ctx.clock.offset_of(at).max(issued).min(ctx.clock.now()))
    };
    let response = {
        let sending = connection.send(target.request(body.clone()));
        tokio::pin!(sending);
        let expiry = tokio::time::sleep_until(deadlines.before_first_token());
        tokio::pin!(expiry);
        let mut watching = sent.is_none();
        loop {
            tokio::select! {
                biased;
                () = ctx.abort.cancelled() => {
                    if sent.is_none() {
                        sent_event(issued);
                    }
                    out.emit(ctx.clock.now(), EventKind::Cancelled { bytes: 0 });
                    return None;
                }
                changed = written.changed(), if watching => {
                    watching = changed.is_ok();
                    if let Some(t) = write_time(&written.borrow_and_update()) {
                        sent_event(t);
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
        sent_event(t);
        t
    });
    let response = match response {
        Err(()) => {
            let (class, message) = deadlines.expired_before_first_token();
            out.emit(ctx.clock.now(), failed(class, message, None, 0));
            return None;
        }
        Ok(Err((class, message))) => {
            let unanswered =
                class == ErrorClass::ConnectionLost && connection.bytes_read() == read_before;
            let after_write = ctx.clock.now().since(sent);
            let window = RESEND_WINDOW.max(connection.connected_in() * RESEND_CONNECTS);
            let reused = resending.is_none() && connect.is_none();
            if reused && unanswered && after_write <= window {
                *lost = Some(format!("{class}: {message}"));
                return None;
            }
            let message = if reused && unanswered {
                format!(
                    "{message} ({} ms after the request was written: the server may have read \
                     it, so it was not sent again)",
                    after_write.as_millis()
                )
            } else {
                message
            };
            out.emit(ctx.clock.now(), failed(class, message, None, 0));
            return None;
        }
        Ok(Ok(response)) => response,
    };
    // Response bytes count from when they reached the machine, not from when this task got
    // round to them (the kernel's stamp, where there is one): never before the request was
    // sent, never after now.
    let arrival = connection.arrival().clone();
    let received = |read: Option<Read>| {
        read.map_or_else(|| ctx.clock.now(), |read| ctx.clock.offset_of(read.arrived))
            .max(sent)
    };
    let t_headers = received(arrival.last_read());
    let status = response.status().as_u16();
    out.emit(
        t_headers,
        EventKind::Headers {
            status,
            new_connection: connect.is_some(),
            connect_us: connect.map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
            server_request_id: server_request_id(response.headers()),
            headers: shown_headers(response.headers()),
        },
    );
    let (parts, mut response) = response.into_parts();

    if !parts.status.is_success() {
        let (message, bytes) = error_body(&mut response, &deadlines, ctx, target.protocol).await;
        let class = ErrorClass::from_status(status);
        let mut message = describe_status(status, &parts.headers, &message);
        if status == 404 {
            message.push_str(&super::response_head::not_found_hint(
                target.protocol,
                target.path(),
            ));
        }
        out.emit(ctx.clock.now(), failed(class, message, Some(status), bytes));
        return is_retryable(status).then(|| RetryHint {
            retry_after: parts
                .headers
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, chrono::Utc::now())),
        });
    }
    if is_html(&parts.headers) {
        let (message, bytes) = error_body(&mut response, &deadlines, ctx, target.protocol).await;
        let message = format!(
            "the server answered with an HTML page, not {}: {message}",
            target.protocol.name()
        );
        out.emit(
            ctx.clock.now(),
            failed(ErrorClass::Protocol, message, Some(status), bytes),
        );
        return None;
    }

    let mut stream = StreamState::new(target, prompt, &out);
    loop {
        // Sampled before the next frame is taken: the connection reads no further than the
        // read that completes it until then, so this read is that one or an earlier one, and
        // the socket it left empty before it is a floor under the frame's bytes. Sampled after,
        // it could be a later read that emptied the socket after they arrived.
        let before_frame = arrival.last_read();
        let deadline = if stream.seen_content {
            deadlines.between_chunks(ctx.clock, stream.last_bytes)
        } else {
            deadlines.before_first_token()
        };
        let chunk = tokio::select! {
            biased;
            () = ctx.abort.cancelled() => {
                stream.flush(ctx.clock.now());
                out.emit(ctx.clock.now(), EventKind::Cancelled { bytes: stream.bytes });
                return None;
            }
            r = tokio::time::timeout_at(deadline, next_data(&mut response)) => r,
        };
        match chunk {
            Ok(Some(Ok(bytes))) => {
                let read = arrival.last_read();
                let t = received(read);
                stream.read = ReadNote::of(read, before_frame, |at| {
                    ctx.clock.offset_of(at).clamp(sent, t)
                });
                if let Some(end) = stream.on_bytes(t, &bytes) {
                    {
                        stream.end(end).await;
                        return None;
                    }
                }
            }
            Ok(None) => {
                let end = stream.on_body_end();
                {
                    stream.end(end).await;
                    return None;
                }
            }
            Ok(Some(Err(err))) => {
                let message = format!("the connection failed mid-stream: {}", chain(&err));
                stream
                    .end(StreamEnd::Failed(ErrorClass::StreamCut, message))
                    .await;
                return None;
            }
            Err(_) => {
                let (class, message) = if stream.seen_content {
                    deadlines.expired_between_chunks(ctx.clock, stream.last_bytes)
                } else {
                    deadlines.expired_before_first_token()
                };
                stream.end(StreamEnd::Failed(class, message)).await;
                return None;
            }
        }
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

/// How a response body ended.
enum StreamEnd {
    Finished,
    Failed(ErrorClass, String),
}

/// The decoding side of one response: bytes in, events out.
struct StreamState<'a> {
    out: &'a Emitter<'a>,
    decoder: Box<dyn crate::protocol::Decoder>,
    items: Vec<Decoded>,
    /// Content decoded from the current read, merged: it arrived together.
    pending: Option<(String, bool, u32)>,
    seen_content: bool,
    /// The read the bytes being decoded came in.
    read: ReadNote,
    ended: bool,
    /// The output count the server reported last, if any.
    usage_output: Option<u32>,
    usage_input: bool,
    /// The server's raw usage fields as last sent on: a provider that repeats the same usage
    /// in every chunk has them recorded once.
    usage_reported: Vec<(&'static str, u32)>,
    finish_reason: Option<String>,
    response_id: Option<String>,
    captured: String,
    prompt_text: &'a str,
    bytes: u64,
    last_bytes: Offset,
}

impl<'a> StreamState<'a> {
    fn new(target: &'a Target, prompt: PromptId, out: &'a Emitter<'a>) -> Self {
        StreamState {
            out,
            decoder: target.protocol.decoder(target.stream),
            items: Vec::new(),
            pending: None,
            seen_content: false,
            read: ReadNote::default(),
            ended: false,
            usage_output: None,
            usage_input: false,
            usage_reported: Vec::new(),
            finish_reason: None,
            response_id: None,
            captured: String::new(),
            prompt_text: target.prompt_text(prompt),
            bytes: 0,
            last_bytes: Offset::ZERO,
        }
    }

    /// Decodes one network read stamped `t`; returns how the stream ended if it did.
    fn on_bytes(&mut self, t: Offset, bytes: &Bytes) -> Option<StreamEnd> {
        self.bytes += bytes.len() as u64;
        self.last_bytes = t;
        self.decoder.feed(bytes, &mut self.items);
        self.drain(t)
    }

    fn on_body_end(&mut self) -> StreamEnd {
        let t = self.last_bytes;
        self.decoder.finish(&mut self.items);
        if let Some(end) = self.drain(t) {
            return end;
        }
        if self.ended {
            StreamEnd::Finished
        } else {
            StreamEnd::Failed(
                ErrorClass::StreamCut,
                "the stream ended without the protocol's end-of-response marker".to_string(),
            )
        }
    }

    fn drain(&mut self, t: Offset) -> Option<StreamEnd> {
        let mut items = std::mem::take(&mut self.items);
        let mut result = None;
        for item in items.drain(..) {
            match item {
                Decoded::Content { text, reasoning } => {
                    if self.captured.len() < CAPTURE_LIMIT {
                        self.captured.push_str(&text);
                    }
                    match &mut self.pending {
                        Some((buf, r, n)) if *r == reasoning => {
                            buf.push_str(&text);
                            *n += 1;
                        }
                        _ => {
                            self.flush(t);
                            self.pending = Some((text, reasoning, 1));
                        }
                    }
                }
                other => {
                    self.flush(t);
                    if let Some(end) = self.on_item(t, other) {
                        result = Some(end);
                        break;
                    }
                }
            }
        }
        self.flush(t);
        items.clear();
        self.items = items;
        result
    }

    fn flush(&mut self, t: Offset) {
        if let Some((text, reasoning, chunks)) = self.pending.take() {
            // Only the first token's floor is kept: a later one's is the content before it.
            let after = self.read.after.filter(|_| !self.seen_content);
            self.seen_content = true;
            self.out.emit(
                t,
                EventKind::Content {
                    text,
                    reasoning,
                    chunks,
                    after,
                    late_us: self.read.late_us,
                    unstamped: self.read.unstamped,
                },
            );
        }
    }

    fn on_item(&mut self, t: Offset, item: Decoded) -> Option<StreamEnd> {
        match item {
            Decoded::Content { .. } => None,
            Decoded::Usage {
                input,
                output,
                cached_input,
                cache_write,
                reasoning,
                reported,
            } => {
                self.usage_input |= input.is_some();
                self.usage_output = output.or(self.usage_output);
                // Unchanged fields are left out: an empty map leaves the earlier ones standing.
                let reported = if reported == self.usage_reported {
                    crate::event::ReportedUsage::new()
                } else {
                    let map = reported.iter().map(|&(name, n)| (name.into(), n)).collect();
                    self.usage_reported = reported;
                    map
                };
                self.out.emit(
                    t,
                    EventKind::Usage {
                        input,
                        output,
                        cached_input,
                        cache_write,
                        reasoning,
                        reported,
                        source: TokenSource::Usage,
                    },
                );
                None
            }
            Decoded::ServerTimings(timings) => {
                self.out.emit(t, EventKind::ServerTimings(timings));
                None
            }
            Decoded::ResponseId(id) => {
                self.response_id.get_or_insert(id);
                None
            }
            Decoded::FinishReason(reason) => {
                self.finish_reason = Some(reason);
                None
            }
            Decoded::End => {
                self.ended = true;
                None
            }
            Decoded::ServerError { message } => Some(StreamEnd::Failed(
                ErrorClass::StreamError,
                format!("the server reported an error mid-stream: {message}"),
            )),
            Decoded::Malformed { message } => {
                Some(StreamEnd::Failed(ErrorClass::Protocol, message))
            }
        }
    }

    /// Emits the terminal event (and estimated token counts for a success without usage).
    async fn end(mut self, end: StreamEnd) {
        let t = self.last_bytes;
        self.flush(t);
        match end {
            StreamEnd::Finished => {
                // Zero output tokens for a response that carried text is a count the server
                // got wrong (some servers report 0 after streaming a whole answer): the
                // tokenizer counts it instead, and the record says the count is an estimate.
                let count_output = match self.usage_output {
                    None => true,
                    Some(n) => n == 0 && !self.captured.is_empty(),
                };
                if count_output || !self.usage_input {
                    let output = if count_output {
                        count_tokens_aside(&self.captured).await
                    } else {
                        None
                    };
                    let input = if self.usage_input {
                        None
                    } else {
                        count_tokens_aside(self.prompt_text).await
                    };
                    self.out.emit(
                        t,
                        EventKind::Usage {
                            input: input.filter(|_| !self.prompt_text.is_empty()),
                            output,
                            cached_input: None,
                            cache_write: None,
                            reasoning: None,
                            reported: crate::event::ReportedUsage::new(),
                            source: TokenSource::Estimate,
                        },
                    );
                }
                self.out.emit(
                    t,
                    EventKind::Finished {
                        finish_reason: self.finish_reason.take(),
                        response_id: self.response_id.take(),
                        bytes: self.bytes,
                    },
                );
            }
            StreamEnd::Failed(class, message) => {
                // The text that arrived before the failure is in the replay; its record
                // counts it too.
                if self.usage_output.is_none_or(|n| n == 0)
                    && !self.captured.is_empty()
                    && let Some(output) = count_tokens_aside(&self.captured).await
                {
                    self.out.emit(
                        t,
                        EventKind::Usage {
                            input: None,
                            output: Some(output),
                            cached_input: None,
                            cache_write: None,
                            reasoning: None,
                            reported: crate::event::ReportedUsage::new(),
                            source: TokenSource::Estimate,
                        },
                    );
                }
                self.out.emit(t, failed(class, message, None, self.bytes));
            }
        }
    }
}

/// The next piece of the body's data (trailers are skipped), `None` at its end.
async fn next_data(body: &mut Incoming) -> Option<Result<Bytes, hyper::Error>> {
    loop {
        match body.frame().await? {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    return Some(Ok(data));
                }
            }
            Err(e) => return Some(Err(e)),
        }
    }
}

/// Reads up to [`ERROR_BODY_LIMIT`] bytes of an error response and pulls out its message.
async fn error_body(
    response: &mut Incoming,
    deadlines: &Deadlines,
    ctx: &RequestContext<'_>,
    protocol: crate::protocol::Protocol,
) -> (String, u64) {
    let mut body = Vec::new();
    let mut total = 0u64;
    let deadline = deadlines.before_first_token();
    loop {
        let chunk = tokio::select! {
            biased;
            () = ctx.abort.cancelled() => break,
            r = tokio::time::timeout_at(deadline, next_data(response)) => r,
        };
        match chunk {
            Ok(Some(Ok(bytes))) => {
                total += bytes.len() as u64;
                let room = ERROR_BODY_LIMIT.saturating_sub(body.len());
                body.extend_from_slice(&bytes[..bytes.len().min(room)]);
                if body.len() >= ERROR_BODY_LIMIT {
                    break;
                }
            }
            _ => break,
        }
    }
    (error_message(protocol, &body), total)
}

#[cfg(test)]
mod tests;
