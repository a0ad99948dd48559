//! One request's record: its events folded into timings, token counts and outcome. The metric
//! definitions (TTFT, TPOT, ITL, …) live here as pure functions of event timestamps, so a
//! definition can change and old event streams can be re-analysed.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::gaps::Gaps;
use super::read_timing::ReadTiming;
use crate::event::{
    EndpointId, ErrorClass, EventKind, Offset, PromptId, ReportedUsage, RequestId, Retry,
    ServerTimings, TokenSource,
};

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    Failed,
    Cancelled,
}

/// Everything recorded about one finished request: one line of `requests.jsonl`.
/// Times are milliseconds from the moment the request was sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub request: RequestId,
    pub endpoint: EndpointId,
    pub endpoint_name: String,
    pub prompt: PromptId,
    pub warmup: bool,
    /// When the request was sent (UTC).
    pub request_time: DateTime<Utc>,
    /// When the request was sent, as seconds since the race started.
    pub sent_at_s: f64,
    pub outcome: Outcome,
    pub http_status: Option<u16>,
    pub error_class: Option<ErrorClass>,
    pub error_message: Option<String>,
    pub finish_reason: Option<String>,
    pub ttfb_ms: Option<f64>,
    pub ttft_ms: Option<f64>,
    /// Time to the first non-reasoning token; equals TTFT for models that do not reason.
    pub ttfa_ms: Option<f64>,
    pub ttlt_ms: Option<f64>,
    pub tpot_ms: Option<f64>,
    /// Output tokens per second of this request over its whole duration (tokens / TTLT).
    pub output_tps: Option<f64>,
    /// Every gap between successive content arrivals.
    pub itl_ms: Vec<f64>,
    /// Protocol events that carried content (SSE events, NDJSON lines).
    pub chunks: u32,
    /// Every prompt token, cached ones included, whatever the protocol.
    pub input_tokens: Option<u32>,
    pub input_tokens_source: Option<TokenSource>,
    pub output_tokens: Option<u32>,
    pub output_tokens_source: Option<TokenSource>,
    /// Of `input_tokens`, those read from the prompt cache.
    pub cached_input_tokens: Option<u32>,
    /// Of `input_tokens`, those written to the prompt cache (Anthropic's
    /// `cache_creation_input_tokens`).
    #[serde(default)]
    pub cache_write_input_tokens: Option<u32>,
    pub reasoning_tokens: Option<u32>,
    /// The server's usage fields as it named and counted them (Anthropic's `input_tokens`
    /// leaves the cached tokens out, for one).
    #[serde(default, skip_serializing_if = "ReportedUsage::is_empty")]
    pub usage_reported: ReportedUsage,
    /// The server reported zero output tokens for a response that carried text:
    /// `output_tokens` is llmrace's estimate instead.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub usage_contradicted: bool,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub new_connection: bool,
    pub connect_ms: Option<f64>,
    pub server_request_id: Option<String>,
    pub response_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_timings: Option<ServerTimings>,
    /// Open loop only: how late the request left after its scheduled time; absent in a
    /// closed loop, where a request leaves when the last one ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_lag_ms: Option<f64>,
    /// 1 for a first attempt, 2 for its first retry, …
    #[serde(default = "first_attempt")]
    pub attempt: u32,
    /// For a retry, the request (attempt) it repeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_of: Option<RequestId>,
    /// Why the request was sent a second time, on a new connection: the reused one it first
    /// went out on closed before any byte of the response. Its times count from the second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resent_after: Option<String>,
    /// For a request sent again: from its first send to its write on the new connection (the
    /// wait on the lost connection and the reconnect). Left out of its times, not hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_ms: Option<f64>,
    /// A request that did not succeed: how long after it was sent it ended (a failure may end
    /// well after its headers, its error body read), so a race rebuilt from its records ends
    /// its requests when they ended. A success ends at `ttlt_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_ms: Option<f64>,
    /// The first token came in one network read with later content (the client read late, or
    /// the server wrote them together): `ttft_ms` is when that read's last segment arrived, an
    /// upper bound, and the first token arrived no earlier than `ttft_min_ms`.
    #[serde(default)]
    pub batched_first_token: bool,
    /// Content events (SSE events, NDJSON lines) in the read that carried the first token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_read_events: Option<u32>,
    /// With `batched_first_token`: the earliest the first token can have arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_min_ms: Option<f64>,
    /// The longest the client took to read content after it arrived, when 1 ms or more: a lower
    /// bound, measured from the last segment of each read (earlier ones share its stamp).
    /// Absent also when it was not measured: see `unstamped_reads`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_late_max_ms: Option<f64>,
    /// Content reads without a kernel receive stamp (not Linux, or the kernel gave none): their
    /// times are when they were read, and how late that was is not measured.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub unstamped_reads: u32,
    /// Tool calls the model made in its answer.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub tool_calls: u32,
    /// Only for a request that asked for a JSON answer: whether its answer was JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_valid: Option<bool>,
    /// Multi-turn sessions only: the session this request is a turn of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<u64>,
    /// Multi-turn sessions only: which turn of its session, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<u32>,
    /// Its prompt was sent to this endpoint before in the race (a retry is not a repeat): a
    /// server's prefix cache may have answered it. False in records written before repeats.
    #[serde(default)]
    pub repeat: bool,
    /// A merged race's record (`llmrace merge`): the shard (K of `--shard K/N`) that sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<u32>,
    /// Embeddings only: how many inputs the request carried (its batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<u32>,
    /// Embeddings only: the length of the vectors that came back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_dimension: Option<u32>,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's `skip_serializing_if` passes a reference"
)]
fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

fn first_attempt() -> u32 {
    1
}

impl RequestRecord {
    /// Whether this request met every objective that is set.
    pub fn meets(&self, slo: &crate::config::Slo) -> bool {
        let within = |limit: Option<Duration>, value: Option<f64>| match (limit, value) {
            (None, _) => true,
            (Some(limit), Some(v)) => v <= limit.as_secs_f64() * 1000.0,
            (Some(_), None) => false,
        };
        self.outcome == Outcome::Succeeded
            && within(slo.ttft, self.ttft_ms)
            && within(slo.ttlt, self.ttlt_ms)
            && (slo.tpot.is_none() || self.tpot_ms.is_none() || within(slo.tpot, self.tpot_ms))
    }
}

/// A request in flight: the timestamps it has collected so far.
#[derive(Clone, Debug)]
pub struct RequestTrace {
    request: RequestId,
    endpoint: EndpointId,
    prompt: PromptId,
    warmup: bool,
    sent: Offset,
    bytes_sent: u64,
    headers: Option<Offset>,
    status: Option<u16>,
    new_connection: bool,
    connect_us: Option<u64>,
    server_request_id: Option<String>,
    first_content: Option<Offset>,
    first_answer: Option<Offset>,
    last_content: Option<Offset>,
    itl: Gaps,
    chunks: u32,
    usage: TokenCounts,
    server_timings: Option<ServerTimings>,
    lag_us: Option<u64>,
    retry: Option<Retry>,
    resent_after: Option<String>,
    /// From the first send to the second, for a request sent again.
    lost: Option<Duration>,
    reads: ReadTiming,
    /// Tool calls seen so far: one more than the highest call index.
    tool_calls: u32,
    /// Multi-turn sessions: the session and the turn.
    session: Option<(u64, u32)>,
    repeat: bool,
    /// Embeddings: the inputs it carries.
    inputs: Option<u32>,
}

#[derive(Clone, Debug, Default)]
struct TokenCounts {
    input: Option<(u32, TokenSource)>,
    output: Option<(u32, TokenSource)>,
    cached_input: Option<u32>,
    cache_write: Option<u32>,
    reasoning: Option<u32>,
    reported: ReportedUsage,
    /// The server's zero output tokens were replaced by an estimate that found some.
    contradicted: bool,
}

impl RequestTrace {
    pub fn new(
        request: RequestId,
        endpoint: EndpointId,
        prompt: PromptId,
        warmup: bool,
        sent: Offset,
        bytes_sent: u64,
    ) -> Self {
        RequestTrace {
            request,
            endpoint,
            prompt,
            warmup,
            sent,
            bytes_sent,
            headers: None,
            status: None,
            new_connection: false,
            connect_us: None,
            server_request_id: None,
            first_content: None,
            first_answer: None,
            last_content: None,
            itl: Gaps::default(),
            chunks: 0,
            usage: TokenCounts::default(),
            server_timings: None,
            lag_us: None,
            retry: None,
            resent_after: None,
            lost: None,
            reads: ReadTiming::default(),
            tool_calls: 0,
            session: None,
            repeat: false,
            inputs: None,
        }
    }

    /// The session and turn its `Sent` event names, if it is a turn of one.
    #[must_use]
    pub fn in_session(mut self, session: Option<u64>, turn: Option<u32>) -> Self {
        self.session = session.zip(turn);
        self
    }

    /// How the load shape sent it, from its `Sent` event: its send lag (open loop) and
    /// which attempt it is (retries).
    #[must_use]
    pub fn sent_as(mut self, lag_us: Option<u64>, retry: Option<Retry>) -> Self {
        self.lag_us = lag_us;
        self.retry = retry;
        self
    }

    /// An embeddings request: the inputs its `Sent` event says it carries.
    #[must_use]
    pub fn carrying(mut self, inputs: Option<u32>) -> Self {
        self.inputs = inputs;
        self
    }

    /// Whether it sends a prompt sent to its endpoint before (`stats::repeats`).
    #[must_use]
    pub fn repeated(mut self, repeat: bool) -> Self {
        self.repeat = repeat;
        self
    }

    pub fn is_warmup(&self) -> bool {
        self.warmup
    }

    /// Time to first token so far, if one has arrived.
    pub fn ttft(&self) -> Option<Duration> {
        self.first_content.map(|t| t.since(self.sent))
    }

    /// Time to first byte (the response head) so far, if it has arrived.
    pub fn ttfb(&self) -> Option<Duration> {
        self.headers.map(|t| t.since(self.sent))
    }

    /// Folds a non-terminal event in. Terminal events go to [`RequestTrace::finish`].
    pub fn apply(&mut self, t: Offset, kind: &EventKind) {
        match kind {
            EventKind::Resent { lost } => {
                // Sent again more than once (HTTP/2 streams refused): every wait is lost.
                self.lost = Some(self.lost.unwrap_or_default() + t.since(self.sent));
                self.sent = t;
                self.resent_after = Some(lost.clone());
            }
            EventKind::Headers {
                status,
                new_connection,
                connect_us,
                server_request_id,
                ..
            } => {
                self.headers = Some(t);
                self.status = Some(*status);
                self.new_connection = *new_connection;
                self.connect_us = *connect_us;
                self.server_request_id.clone_from(server_request_id);
            }
            EventKind::Content {
                text,
                reasoning,
                chunks,
                after,
                late_us,
                unstamped,
                tool,
            } => {
                // A tool call's first piece counts even without arguments: its name was
                // generated output, the call's first token.
                if text.is_empty() && tool.is_none() {
                    return;
                }
                if let Some(call) = tool {
                    self.tool_calls = self.tool_calls.max(call.index.saturating_add(1));
                }
                self.reads.content(t, *chunks, *after, *late_us, *unstamped);
                // No protocol event of its own (a later part of a non-streamed body): no new
                // arrival, so no gap between tokens.
                if let Some(last) = self.last_content.filter(|_| *chunks > 0) {
                    self.itl.push(t.since(last));
                }
                self.first_content.get_or_insert(t);
                if !reasoning {
                    self.first_answer.get_or_insert(t);
                }
                self.last_content = Some(t);
                self.chunks += chunks;
            }
            EventKind::Usage {
                input,
                output,
                cached_input,
                cache_write,
                reasoning,
                reported,
                source,
            } => {
                // A later report replaces an earlier one field by field (providers that repeat
                // usage in every chunk must not be summed). A server's count is never replaced
                // by an estimate, except a zero output where the tokenizer found tokens: that
                // zero contradicts the text that arrived. Input has no such text to check it by.
                // Says whether the value replaced a server's zero.
                let keep = |slot: &mut Option<(u32, TokenSource)>, value: Option<u32>, output| {
                    let Some(v) = value else { return false };
                    let estimate = *source == TokenSource::Estimate;
                    let contradicts =
                        estimate && output && v > 0 && *slot == Some((0, TokenSource::Usage));
                    if estimate && matches!(slot, Some((_, TokenSource::Usage))) && !contradicts {
                        return false;
                    }
                    *slot = Some((v, *source));
                    contradicts
                };
                keep(&mut self.usage.input, *input, false);
                self.usage.contradicted |= keep(&mut self.usage.output, *output, true);
                for (slot, value) in [
                    (&mut self.usage.cached_input, cached_input),
                    (&mut self.usage.cache_write, cache_write),
                    (&mut self.usage.reasoning, reasoning),
                ] {
                    if value.is_some() {
                        *slot = *value;
                    }
                }
                // A live name is borrowed: cloning it allocates nothing.
                for (name, n) in reported {
                    self.usage.reported.insert(name.clone(), *n);
                }
            }
            EventKind::ServerTimings(timings) => self.server_timings = Some(timings.clone()),
            EventKind::Sent { .. }
            | EventKind::Finished { .. }
            | EventKind::Failed { .. }
            | EventKind::Cancelled { .. }
            // A scrape belongs to no request: the aggregator folds it apart.
            | EventKind::ServerMetrics(_) => {}
        }
    }

    /// Closes the trace with its terminal event into a record. Returns `None` for a
    /// non-terminal event.
    pub fn finish(
        self,
        t: Offset,
        kind: &EventKind,
        endpoint_name: &str,
        wall_start: DateTime<Utc>,
    ) -> Option<RequestRecord> {
        let Ending {
            outcome,
            error_class,
            error_message,
            status_override,
            finish_reason,
            response_id,
            bytes,
            json_valid,
            dimension,
        } = Ending::of(kind)?;
        let ms = duration_ms;
        let ttlt = t.since(self.sent);
        let ttft = self.ttft();
        let output_tokens = self.usage.output.map(|(n, _)| n);
        let succeeded = outcome == Outcome::Succeeded;
        Some(RequestRecord {
            request: self.request,
            endpoint: self.endpoint,
            endpoint_name: endpoint_name.to_string(),
            prompt: self.prompt,
            warmup: self.warmup,
            request_time: crate::clock::wall_time(wall_start, self.sent),
            sent_at_s: self.sent.as_secs_f64(),
            outcome,
            http_status: status_override.or(self.status),
            error_class,
            error_message,
            finish_reason,
            ttfb_ms: self.headers.map(|h| ms(h.since(self.sent))),
            ttft_ms: ttft.map(ms),
            ttfa_ms: self.first_answer.map(|a| ms(a.since(self.sent))),
            ttlt_ms: succeeded.then(|| ms(ttlt)),
            tpot_ms: if succeeded {
                let last = self.last_content.map(|l| l.since(self.sent));
                tpot(ttft, last, ttlt, output_tokens).map(ms)
            } else {
                None
            },
            output_tps: if succeeded {
                output_tps(ttlt, output_tokens)
            } else {
                None
            },
            itl_ms: self.itl.iter().map(ms).collect(),
            chunks: self.chunks,
            input_tokens: self.usage.input.map(|(n, _)| n),
            input_tokens_source: self.usage.input.map(|(_, s)| s),
            output_tokens,
            output_tokens_source: self.usage.output.map(|(_, s)| s),
            cached_input_tokens: self.usage.cached_input,
            cache_write_input_tokens: self.usage.cache_write,
            reasoning_tokens: self.usage.reasoning,
            usage_reported: self.usage.reported,
            usage_contradicted: self.usage.contradicted,
            bytes_sent: self.bytes_sent,
            bytes_received: bytes,
            new_connection: self.new_connection,
            connect_ms: self
                .connect_us
                .map(|us| duration_ms(Duration::from_micros(us))),
            server_request_id: self.server_request_id,
            response_id,
            server_timings: self.server_timings,
            send_lag_ms: self.lag_us.map(|us| duration_ms(Duration::from_micros(us))),
            attempt: self.retry.map_or(1, |r| r.attempt),
            retry_of: self.retry.map(|r| r.of),
            resent_after: self.resent_after,
            lost_ms: self.lost.map(duration_ms),
            ended_ms: (!succeeded).then(|| ms(ttlt)),
            batched_first_token: self.reads.batched_first_token(),
            first_read_events: self.reads.first_read_events(),
            ttft_min_ms: self
                .reads
                .first_token_floor(self.sent, self.headers)
                .map(|floor| ms(floor.since(self.sent))),
            read_late_max_ms: self
                .reads
                .late_max_us()
                .map(|us| duration_ms(Duration::from_micros(us))),
            unstamped_reads: self.reads.unstamped(),
            tool_calls: self.tool_calls,
            json_valid,
            session: self.session.map(|(session, _)| session),
            turn: self.session.map(|(_, turn)| turn),
            repeat: self.repeat,
            shard: None,
            inputs: self.inputs,
            embedding_dimension: dimension,
        })
    }
}

/// Milliseconds with microsecond precision: finer digits would be noise, and fewer make the
/// result files shorter.
pub(crate) fn duration_ms(d: Duration) -> f64 {
    (d.as_nanos() as f64 / 1000.0).round() / 1000.0
}

/// Time per output token after the first: (TTLT − TTFT) / (output tokens − 1). Undefined for
/// fewer than two tokens, and when the output arrived all at once (`last_content`, the time
/// of its last arrival, is its first): a non-streamed response, or a stream read in one go,
/// shows no time between its tokens to divide.
pub fn tpot(
    ttft: Option<Duration>,
    last_content: Option<Duration>,
    ttlt: Duration,
    output_tokens: Option<u32>,
) -> Option<Duration> {
    let ttft = ttft?;
    let tokens = output_tokens?;
    if tokens < 2 || last_content? <= ttft {
        return None;
    }
    Some(ttlt.saturating_sub(ttft) / (tokens - 1))
}

/// Output tokens per second over the request's whole duration.
pub fn output_tps(ttlt: Duration, output_tokens: Option<u32>) -> Option<f64> {
    let secs = ttlt.as_secs_f64();
    let tokens = output_tokens?;
    (secs > 0.0).then(|| f64::from(tokens) / secs)
}

/// How a request ended, as its terminal event says.
struct Ending {
    outcome: Outcome,
    error_class: Option<ErrorClass>,
    error_message: Option<String>,
    /// The status the failure carries, over the one the headers had.
    status_override: Option<u16>,
    finish_reason: Option<String>,
    response_id: Option<String>,
    bytes: u64,
    json_valid: Option<bool>,
    dimension: Option<u32>,
}

impl Ending {
    /// `None` for an event that ends no request.
    fn of(kind: &EventKind) -> Option<Ending> {
        Some(match kind {
            EventKind::Finished {
                finish_reason,
                response_id,
                bytes,
                json_valid,
                dimension,
            } => Ending {
                outcome: Outcome::Succeeded,
                error_class: None,
                error_message: None,
                status_override: None,
                finish_reason: finish_reason.clone(),
                response_id: response_id.clone(),
                bytes: *bytes,
                json_valid: *json_valid,
                dimension: *dimension,
            },
            EventKind::Failed {
                class,
                message,
                status,
                bytes,
            } => Ending {
                outcome: Outcome::Failed,
                error_class: Some(*class),
                error_message: Some(message.clone()),
                status_override: *status,
                finish_reason: None,
                response_id: None,
                bytes: *bytes,
                json_valid: None,
                dimension: None,
            },
            EventKind::Cancelled { bytes } => Ending {
                outcome: Outcome::Cancelled,
                error_class: None,
                error_message: None,
                status_override: None,
                finish_reason: None,
                response_id: None,
                bytes: *bytes,
                json_valid: None,
                dimension: None,
            },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Offset {
        Offset(n * 1_000_000)
    }

    fn content(text: &str, reasoning: bool) -> EventKind {
        EventKind::Content {
            text: text.into(),
            reasoning,
            chunks: 1,
            after: None,
            late_us: None,
            unstamped: false,
            tool: None,
        }
    }

    fn usage(output: u32, source: TokenSource) -> EventKind {
        EventKind::Usage {
            input: Some(10),
            output: Some(output),
            cached_input: None,
            cache_write: None,
            reasoning: None,
            reported: ReportedUsage::new(),
            source,
        }
    }

    fn trace() -> RequestTrace {
        RequestTrace::new(RequestId(1), EndpointId(0), PromptId(0), false, ms(100), 42)
    }

    fn finish(trace: RequestTrace, at: Offset) -> RequestRecord {
        let kind = EventKind::Finished {
            finish_reason: Some("stop".into()),
            response_id: None,
            bytes: 10,
            json_valid: None,
            dimension: None,
        };
        trace
            .finish(at, &kind, "e", DateTime::<Utc>::UNIX_EPOCH)
            .unwrap()
    }

    fn tool_piece(index: u32, name: Option<&str>, arguments: &str) -> EventKind {
        let EventKind::Content {
            text,
            reasoning,
            chunks,
            after,
            late_us,
            unstamped,
            ..
        } = content(arguments, false)
        else {
            unreachable!("content() makes content")
        };
        EventKind::Content {
            text,
            reasoning,
            chunks,
            after,
            late_us,
            unstamped,
            tool: Some(crate::event::ToolCall {
                index,
                id: None,
                name: name.map(Into::into),
            }),
        }
    }

    /// A tool call's first piece is the first token even when only its name came; its
    /// arguments are timed like content; the calls are counted.
    #[test]
    fn tool_calls_count_for_ttft_and_itl() {
        let mut t = trace();
        t.apply(ms(130), &tool_piece(0, Some("get_weather"), ""));
        t.apply(ms(140), &tool_piece(0, None, "{\"city\":"));
        t.apply(ms(155), &tool_piece(1, Some("get_time"), "{}"));
        t.apply(ms(160), &usage(9, TokenSource::Usage));
        let r = finish(t, ms(170));
        assert_eq!(r.ttft_ms, Some(30.0));
        assert_eq!(r.ttfa_ms, Some(30.0));
        assert_eq!(r.itl_ms, [10.0, 15.0]);
        assert_eq!(r.chunks, 3);
        assert_eq!(r.tool_calls, 2);
        assert_eq!(r.output_tokens, Some(9));
    }

    /// A request sent again on a new connection counts from the second send, like any
    /// request that had to connect, and its record says why it was sent again.
    #[expect(
        clippy::float_cmp,
        reason = "exact values: parsed from literals or computed from whole numbers"
    )]
    #[test]
    fn a_resent_request_counts_from_its_second_send() {
        let mut t = trace();
        t.apply(
            ms(1100),
            &EventKind::Resent {
                lost: "connection_lost: closed".into(),
            },
        );
        t.apply(
            ms(1102),
            &EventKind::Headers {
                status: 200,
                new_connection: true,
                connect_us: Some(1500),
                server_request_id: None,
                headers: Vec::new(),
            },
        );
        t.apply(ms(1110), &content("Hi", false));
        let r = finish(t, ms(1120));
        assert_eq!(r.sent_at_s, 1.1);
        assert_eq!(
            (r.ttfb_ms, r.ttft_ms, r.ttlt_ms),
            (Some(2.0), Some(10.0), Some(20.0))
        );
        assert_eq!(r.resent_after.as_deref(), Some("connection_lost: closed"));
        assert_eq!(
            r.lost_ms,
            Some(1000.0),
            "the wait on the lost connection is told"
        );
        assert_eq!((r.new_connection, r.connect_ms), (true, Some(1.5)));
        assert_eq!(r.outcome, Outcome::Succeeded);
    }

    #[expect(
        clippy::float_cmp,
        reason = "exact values: parsed from literals or computed from whole numbers"
    )]
    #[test]
    fn metrics_follow_their_definitions() {
        let mut t = trace();
        t.apply(
            ms(120),
            &EventKind::Headers {
                status: 200,
                new_connection: false,
                connect_us: None,
                server_request_id: None,
                headers: Vec::new(),
            },
        );
        // A role-only chunk is not a token: empty content does not set TTFT.
        t.apply(ms(130), &content("", false));
        t.apply(ms(150), &content("think", true));
        t.apply(ms(200), &content("Hello", false));
        t.apply(ms(210), &content(" world", false));
        t.apply(ms(240), &usage(5, TokenSource::Usage));
        let r = finish(t, ms(250));
        assert_eq!(r.ttfb_ms, Some(20.0));
        assert_eq!(
            r.ttft_ms,
            Some(50.0),
            "first reasoning token counts for TTFT"
        );
        assert_eq!(r.ttfa_ms, Some(100.0), "first answer token");
        assert_eq!(r.ttlt_ms, Some(150.0));
        // (150 - 50) / (5 - 1)
        assert_eq!(r.tpot_ms, Some(25.0));
        assert_eq!(r.itl_ms, vec![50.0, 10.0]);
        assert_eq!(r.chunks, 3);
        assert_eq!(r.output_tokens, Some(5));
        assert_eq!(r.output_tokens_source, Some(TokenSource::Usage));
        let tps = r.output_tps.unwrap();
        assert_eq!(duration_ms(Duration::from_nanos(1_234_567)), 1.235);
        assert!((tps - 5.0 / 0.150).abs() < 1e-9);
        assert_eq!(
            r.request_time,
            DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::milliseconds(100)
        );
    }

    #[test]
    fn repeated_usage_is_replaced_not_summed_and_estimates_never_override_the_server() {
        let mut t = trace();
        t.apply(ms(110), &content("a", false));
        t.apply(ms(111), &usage(1, TokenSource::Usage));
        t.apply(ms(112), &usage(2, TokenSource::Usage));
        t.apply(ms(113), &usage(99, TokenSource::Estimate));
        let r = finish(t, ms(120));
        assert_eq!(r.output_tokens, Some(2));
        assert_eq!(r.output_tokens_source, Some(TokenSource::Usage));
        assert!(!r.usage_contradicted);
    }

    #[test]
    fn a_reported_zero_for_a_response_with_text_gives_way_to_the_estimate() {
        let mut t = trace();
        t.apply(ms(110), &content("Hello", false));
        t.apply(ms(120), &content(" world", false));
        let mut zero = usage(0, TokenSource::Usage);
        if let EventKind::Usage { reported, .. } = &mut zero {
            reported.insert("output_tokens".into(), 0);
        }
        t.apply(ms(121), &zero);
        t.apply(ms(121), &usage(2, TokenSource::Estimate));
        let r = finish(t, ms(130));
        assert_eq!(r.output_tokens, Some(2));
        assert_eq!(r.output_tokens_source, Some(TokenSource::Estimate));
        assert!(r.usage_contradicted);
        assert_eq!(r.input_tokens_source, Some(TokenSource::Usage));
        assert_eq!(r.input_tokens, Some(10));
        // What the server said stays in the record.
        assert_eq!(r.usage_reported.get("output_tokens"), Some(&0));
        assert!(r.tpot_ms.is_some() && r.output_tps.is_some());
    }

    #[test]
    fn a_reported_zero_input_stands_against_an_estimate() {
        let mut t = trace();
        t.apply(ms(110), &content("Hello", false));
        let mut zero_input = usage(1, TokenSource::Usage);
        if let EventKind::Usage { input, .. } = &mut zero_input {
            *input = Some(0);
        }
        t.apply(ms(111), &zero_input);
        t.apply(ms(111), &usage(1, TokenSource::Estimate));
        let r = finish(t, ms(120));
        assert_eq!(r.input_tokens, Some(0));
        assert_eq!(r.input_tokens_source, Some(TokenSource::Usage));
        assert!(!r.usage_contradicted);
    }

    #[test]
    fn tpot_needs_two_tokens_arriving_apart() {
        let at = Duration::from_millis;
        assert_eq!(tpot(Some(at(10)), Some(at(40)), at(50), Some(1)), None);
        assert_eq!(tpot(None, None, at(50), Some(5)), None);
        assert_eq!(
            tpot(Some(at(10)), Some(at(40)), at(50), Some(5)),
            Some(at(10))
        );
        // Everything arrived at once: no time between tokens to divide.
        assert_eq!(tpot(Some(at(50)), Some(at(50)), at(50), Some(5)), None);
    }

    #[test]
    fn a_non_streamed_response_has_no_tpot() {
        // A whole body decodes into its reasoning and its answer at the moment it ends.
        let mut t = trace();
        t.apply(ms(300), &content("think", true));
        t.apply(ms(300), &content("Hello world", false));
        t.apply(ms(300), &usage(40, TokenSource::Usage));
        let r = finish(t, ms(300));
        assert_eq!(r.ttft_ms, Some(200.0));
        assert_eq!(r.ttlt_ms, Some(200.0));
        assert_eq!(r.tpot_ms, None);
        assert_eq!(r.output_tokens, Some(40));
    }

    /// The engine sends a non-streamed body's later parts with no chunk of their own: one
    /// arrival, so no gap between tokens and no first token batched with later ones.
    #[test]
    fn the_parts_of_one_non_streamed_body_are_one_arrival() {
        let mut t = trace();
        t.apply(ms(300), &content("think", true));
        let mut answer = content("Hello world", false);
        if let EventKind::Content { chunks, .. } = &mut answer {
            *chunks = 0;
        }
        t.apply(ms(300), &answer);
        let r = finish(t, ms(300));
        assert_eq!(r.chunks, 1);
        assert!(r.itl_ms.is_empty(), "{:?}", r.itl_ms);
        assert!(!r.batched_first_token);
        assert_eq!(r.first_read_events, Some(1));
        assert_eq!(r.ttfa_ms, Some(200.0));
    }

    #[test]
    fn failures_keep_partial_output_but_no_completion_metrics() {
        let mut t = trace();
        t.apply(ms(150), &content("partial", false));
        let kind = EventKind::Failed {
            class: ErrorClass::StreamCut,
            message: "cut".into(),
            status: None,
            bytes: 3,
        };
        let r = t
            .finish(ms(300), &kind, "e", DateTime::<Utc>::UNIX_EPOCH)
            .unwrap();
        assert_eq!(r.outcome, Outcome::Failed);
        assert_eq!(r.error_class, Some(ErrorClass::StreamCut));
        assert_eq!(r.ttft_ms, Some(50.0));
        assert_eq!(r.ttlt_ms, None);
        assert_eq!(r.tpot_ms, None);
    }

    #[test]
    fn non_terminal_events_do_not_finish() {
        let t = trace();
        assert!(
            t.finish(
                ms(1),
                &content("x", false),
                "e",
                DateTime::<Utc>::UNIX_EPOCH
            )
            .is_none()
        );
    }

    #[test]
    fn slo_goodput() {
        let mut t = trace();
        t.apply(ms(200), &content("a", false));
        t.apply(ms(201), &usage(3, TokenSource::Usage));
        let r = finish(t, ms(300));
        let slo = |ttft: u64| crate::config::Slo {
            ttft: Some(Duration::from_millis(ttft)),
            tpot: None,
            ttlt: None,
        };
        assert!(r.meets(&slo(100)));
        assert!(!r.meets(&slo(99)));
        assert!(r.meets(&crate::config::Slo::default()));
    }

    /// Content lines of a replay recorded before reads were noted: the shared stamp alone
    /// marks the first token, and the headers' earlier arrival is its floor.
    #[test]
    fn a_replay_from_before_reads_were_noted_is_labelled_from_its_stamps() {
        use crate::event::{EndpointId, EventKind, PromptId, RaceEvent, RequestId};

        let lines = [
            r#"{"t":30000000,"endpoint":0,"request":1,"kind":{"kind":"headers","status":200,"new_connection":false}}"#,
            r#"{"t":160000000,"endpoint":0,"request":1,"kind":{"kind":"content","text":"a","reasoning":false,"chunks":1}}"#,
            r#"{"t":160000000,"endpoint":0,"request":1,"kind":{"kind":"content","text":"b","reasoning":false,"chunks":1}}"#,
            r#"{"t":180000000,"endpoint":0,"request":1,"kind":{"kind":"content","text":"c","reasoning":false,"chunks":1}}"#,
        ];
        let mut trace =
            RequestTrace::new(RequestId(1), EndpointId(0), PromptId(0), false, ms(10), 1);
        for line in lines {
            let event: RaceEvent = serde_json::from_str(line).unwrap();
            trace.apply(event.t, &event.kind);
        }
        let end = EventKind::Finished {
            finish_reason: None,
            response_id: None,
            bytes: 1,
            json_valid: None,
            dimension: None,
        };
        let record = trace
            .finish(
                ms(200),
                &end,
                "e",
                chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
            )
            .unwrap();
        assert!(record.batched_first_token);
        assert_eq!(record.first_read_events, Some(2));
        assert_eq!(
            (record.ttft_min_ms, record.ttft_ms),
            (Some(20.0), Some(150.0))
        );
        assert_eq!(record.read_late_max_ms, None);
    }
}
