//! AWS Bedrock Converse responses: the error bodies (`{"message": …}`, with `__type` when AWS
//! names the exception), usage and the server's latency as every Bedrock body reports them.
//! The streamed response, AWS event-stream frames, is decoded in `bedrock/stream.rs`; the whole
//! `/converse` body in `bedrock/body.rs`. The request is built in `request/bedrock.rs`.
//! Signing is not the protocol's: the engine signs each request as it sends it (`aws_auth`).

mod body;
mod stream;

use serde_json::{Value, json};

use super::decode::BodyDecoder;
use super::{Decoded, Decoder};

pub(super) fn decoder(stream: bool) -> Box<dyn Decoder> {
    if stream {
        Box::new(stream::EventStreamDecoder::default())
    } else {
        Box::new(WholeBody {
            body: BodyDecoder::new(body::decode_body),
            head: Vec::new(),
        })
    }
}

/// The `/converse` body, told apart from event-stream frames: a gateway that streams whatever
/// it is asked sends frames to a request that asked for one JSON body, and those are no
/// "invalid UTF-8" but the other operation's answer.
struct WholeBody {
    body: BodyDecoder,
    /// The first bytes, enough for a frame's prelude.
    head: Vec<u8>,
}

impl Decoder for WholeBody {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Decoded>) {
        let room = stream::PRELUDE.saturating_sub(self.head.len());
        self.head
            .extend_from_slice(bytes.get(..room).unwrap_or(bytes));
        self.body.feed(bytes, out);
    }

    fn finish(&mut self, out: &mut Vec<Decoded>) {
        if stream::starts_a_frame(&self.head) {
            out.push(Decoded::Malformed {
                message: "the body is an AWS event stream (application/vnd.amazon.eventstream \
                          frames, the answer of /converse-stream), but the request asked \
                          /converse for one JSON body; does a gateway stream every answer? Try \
                          the race without --no-stream"
                    .to_owned(),
            });
            return;
        }
        self.body.finish(out);
    }
}

/// The message of a Bedrock error body: `{"message": …}` (`Message` in some services), led by
/// the exception's name from `__type` when there is one (`ThrottlingException: Rate
/// exceeded`); other shapes as every protocol reads them.
pub(super) fn error_message(body: &[u8]) -> Option<String> {
    error_message_typed(body, None)
}

/// [`error_message`] for a response whose `x-amzn-ErrorType` header is `error_type`: AWS often
/// names the exception only there (`ThrottlingException:http://internal.amazon.com/…`) and
/// sends a body of just `{"message": …}`. The body's `__type` wins when it has one.
pub(super) fn error_message_typed(body: &[u8], error_type: Option<&str>) -> Option<String> {
    let header_kind = error_type
        .map(|t| exception_name(t.trim()))
        .filter(|k| !k.is_empty());
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return header_kind.map(str::to_owned);
    };
    let message = ["message", "Message"]
        .iter()
        .find_map(|k| map.get(*k).and_then(Value::as_str));
    let kind = map
        .get("__type")
        .and_then(Value::as_str)
        .map(exception_name)
        .filter(|k| !k.is_empty())
        .or(header_kind);
    match (kind, message) {
        (Some(kind), Some(message)) => Some(super::decode::error_text(&json!({
            "type": kind, "message": message
        }))),
        (None, Some(message)) => Some(super::decode::error_text(&json!(message))),
        (Some(kind), None) => Some(kind.to_owned()),
        (None, None) => super::decode::body_error(body),
    }
}

/// `ThrottlingException` of `ThrottlingException:http://internal.amazon.com/…` or
/// `com.amazon.coral.service#ThrottlingException`, as AWS writes the exception's name.
fn exception_name(kind: &str) -> &str {
    let kind = kind.split(':').next().unwrap_or(kind);
    kind.rsplit('#').next().unwrap_or(kind)
}

/// Pushes Bedrock's usage, normalised: its `inputTokens` leaves out the tokens read from and
/// written to the prompt cache (as Anthropic's does), so the input llmrace stores is the sum
/// of the three, and the same prompt counts the same whatever the protocol.
fn push_usage(usage: &Usage, out: &mut Vec<Decoded>) {
    let reported = super::decode::reported([
        ("inputTokens", usage.input_tokens),
        ("outputTokens", usage.output_tokens),
        ("cacheReadInputTokens", usage.cache_read_input_tokens),
        ("cacheWriteInputTokens", usage.cache_write_input_tokens),
    ]);
    if reported.is_empty() {
        return;
    }
    let input = usage.input_tokens.map(|uncached| {
        [
            usage.cache_read_input_tokens,
            usage.cache_write_input_tokens,
        ]
        .into_iter()
        .flatten()
        .fold(uncached, u32::saturating_add)
    });
    out.push(Decoded::Usage {
        input,
        output: usage.output_tokens,
        cached_input: usage.cache_read_input_tokens,
        cache_write: usage.cache_write_input_tokens,
        reasoning: None,
        reported,
    });
}

/// The server's own time for the whole response (`metrics.latencyMs`), kept beside the
/// client's timings as Ollama's are: as the server timings' total.
fn push_latency(metrics: Option<&Metrics>, out: &mut Vec<Decoded>) {
    if let Some(ms) = metrics.and_then(|m| m.latency_ms) {
        out.push(Decoded::ServerTimings(crate::event::ServerTimings {
            total_ns: Some(ms.saturating_mul(1_000_000)),
            ..crate::event::ServerTimings::default()
        }));
    }
}

/// `usage` of a `metadata` event or a whole response.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[expect(
    clippy::struct_field_names,
    reason = "the fields are Bedrock's JSON keys, read by serde"
)]
struct Usage {
    input_tokens: Option<u32>,
    output_tokens: Option<u32>,
    cache_read_input_tokens: Option<u32>,
    cache_write_input_tokens: Option<u32>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metrics {
    latency_ms: Option<u64>,
}

#[cfg(test)]
mod tests;
