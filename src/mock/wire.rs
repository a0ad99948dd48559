//! Encoding the mock's answers in each protocol's wire format: the streamed pieces (start,
//! deltas, finish, and the broken pieces faults need), whole non-streaming bodies, and error
//! bodies. Hot pieces are written straight into one buffer from prefixes built once per request.

mod anthropic;
mod bedrock;
mod gemini;
mod ollama;
mod openai;
mod responses;

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::json;

use super::corpus::Answer;
use super::shape::Shape;
use super::text::write_words;
use crate::protocol::Protocol;

pub(crate) use bedrock::authorized as bedrock_authorized;

/// Why generation stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Finish {
    Stop,
    Length,
}

/// Server-side timings of a response as scheduled (nanoseconds), for Ollama's final line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[expect(
    clippy::struct_field_names,
    reason = "the unit is part of each name, as in Ollama's `*_duration` fields it fills"
)]
pub(crate) struct Timings {
    pub prompt_eval_ns: u64,
    pub eval_ns: u64,
    pub total_ns: u64,
}

/// The totals of a response, reported in its finish and usage pieces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Every prompt token, cached ones included.
    pub input: u32,
    pub reasoning: u32,
    /// All output tokens, reasoning included (as the real APIs count them).
    pub output: u32,
    /// The output count the usage reports: `output`, but 0 under the `zero_usage` fault.
    pub usage_output: u32,
    /// Of `input`, the tokens the usage reports as read from the prompt cache.
    pub cache_read: u32,
    /// Of `input`, the tokens the usage reports as written to the prompt cache (Anthropic).
    pub cache_write: u32,
    /// The server has a prompt cache: the usage says how many tokens it read, 0 included (a
    /// server without one says nothing, as vLLM without prompt-token details does).
    pub caches: bool,
    pub finish: Finish,
    pub include_usage: bool,
    pub timings: Timings,
}

/// A run of generated tokens: `count` words from index `from` of the text seeded by `seed`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Words {
    pub seed: u64,
    pub from: u32,
    pub count: u32,
    /// The written answer of a built-in prompt, when the request carries one.
    pub answer: Option<Answer>,
}

impl Words {
    pub(crate) fn write_to(self, out: &mut BytesMut) {
        match self.answer {
            Some(answer) => answer.write(out, self.seed, self.from, self.count),
            None => write_words(out, self.seed, self.from, self.count),
        }
    }
}

/// Per-response facts every encoder stamps into its pieces.
pub(crate) struct Stamp<'a> {
    /// The request's sequence number, the `<n>` in response ids.
    pub seq: u64,
    /// Server start, Unix seconds (OpenAI `created`) and RFC 3339 (Ollama `created_at`).
    pub created: u64,
    pub created_at: &'a str,
    pub model_json: &'a str,
}

/// The encoder of one response.
pub(crate) enum Wire {
    OpenAi(openai::OpenAi),
    Anthropic(anthropic::Messages),
    Ollama(ollama::Chat),
    Responses(responses::Responses),
    Gemini(gemini::Generate),
    Bedrock(bedrock::Converse),
}

impl Wire {
    pub(crate) fn new(protocol: Protocol, stamp: &Stamp<'_>) -> Wire {
        match protocol {
            // Never asked for embeddings: `mock/embeddings.rs` writes their answers.
            Protocol::OpenAiChat | Protocol::OpenAiEmbeddings => {
                Wire::OpenAi(openai::OpenAi::new(false, stamp))
            }
            Protocol::OpenAiCompletions => Wire::OpenAi(openai::OpenAi::new(true, stamp)),
            Protocol::Anthropic => Wire::Anthropic(anthropic::Messages::new(stamp)),
            Protocol::Ollama => Wire::Ollama(ollama::Chat::new(stamp)),
            Protocol::Responses => Wire::Responses(responses::Responses::new(stamp)),
            Protocol::Gemini => Wire::Gemini(gemini::Generate::new(stamp)),
            Protocol::Bedrock => Wire::Bedrock(bedrock::Converse::new(stamp.seq)),
        }
    }

    /// The same encoder answering in `shape` (a JSON answer, a tool call) instead of text.
    #[must_use]
    pub(crate) fn shaped(mut self, shape: &Shape) -> Wire {
        match &mut self {
            Wire::OpenAi(w) => w.shape = shape.clone(),
            Wire::Anthropic(w) => w.shape = shape.clone(),
            Wire::Ollama(w) => w.shape = shape.clone(),
            Wire::Responses(w) => w.shape = shape.clone(),
            Wire::Gemini(w) => w.shape = shape.clone(),
            Wire::Bedrock(w) => w.shape = shape.clone(),
        }
        self
    }

    pub(crate) fn content_type(&self, stream: bool) -> &'static str {
        match (self, stream) {
            (_, false) => "application/json",
            (Wire::Ollama(_), true) => "application/x-ndjson",
            (Wire::Bedrock(_), true) => "application/vnd.amazon.eventstream",
            (_, true) => "text/event-stream",
        }
    }

    /// What goes out before the first token (role chunk, `message_start`, …).
    pub(crate) fn start(&mut self, out: &mut BytesMut, tally: &Tally) {
        match self {
            Wire::OpenAi(w) => w.start(out),
            Wire::Anthropic(w) => w.start(out, tally),
            Wire::Ollama(_) | Wire::Gemini(_) => {}
            Wire::Responses(w) => w.start(out),
            Wire::Bedrock(_) => bedrock::Converse::start(out),
        }
    }

    /// The opening of a JSON answer or of Anthropic's `tool_use` block, when the shape has one
    /// not yet written: it goes out as its own event, as a real server writes it, before the
    /// first words. Whether it wrote one.
    pub(crate) fn open(&mut self, out: &mut BytesMut) -> bool {
        match self {
            Wire::OpenAi(w) => w.open(out),
            Wire::Anthropic(w) => w.open(out),
            Wire::Ollama(w) => w.open(out),
            Wire::Responses(w) => w.open(out),
            Wire::Bedrock(w) => w.open(out),
            // Gemini sends a call whole, at its end: nothing to open.
            Wire::Gemini(_) => false,
        }
    }

    pub(crate) fn delta(&mut self, out: &mut BytesMut, reasoning: bool, words: Words) {
        match self {
            Wire::OpenAi(w) => w.delta(out, reasoning, words),
            Wire::Anthropic(w) => w.delta(out, reasoning, words),
            Wire::Ollama(w) => w.delta(out, reasoning, words),
            Wire::Responses(w) => w.delta(out, reasoning, words),
            Wire::Gemini(w) => w.delta(out, reasoning, words),
            Wire::Bedrock(w) => w.delta(out, reasoning, words),
        }
    }

    /// Everything after the last token: finish reason, usage, end marker.
    pub(crate) fn finish(&mut self, out: &mut BytesMut, tally: &Tally) {
        match self {
            Wire::OpenAi(w) => w.finish(out, tally),
            Wire::Anthropic(w) => w.finish(out, tally),
            Wire::Ollama(w) => w.finish(out, tally),
            Wire::Responses(w) => w.finish(out, tally),
            Wire::Gemini(w) => w.finish(out, tally),
            Wire::Bedrock(w) => w.finish(out, tally),
        }
    }

    /// A piece whose JSON is cut off.
    pub(crate) fn broken(&self, out: &mut BytesMut) {
        match self {
            Wire::OpenAi(w) => w.broken(out),
            Wire::Anthropic(w) => w.broken(out),
            Wire::Ollama(w) => w.broken(out),
            Wire::Responses(w) => w.broken(out),
            Wire::Gemini(_) => gemini::Generate::broken(out),
            Wire::Bedrock(_) => bedrock::Converse::broken(out),
        }
    }

    /// A delta whose text is bytes that are not UTF-8.
    pub(crate) fn invalid_utf8(&mut self, out: &mut BytesMut, reasoning: bool) {
        match self {
            Wire::OpenAi(w) => w.raw_delta(out, reasoning, INVALID_UTF8),
            Wire::Anthropic(w) => w.raw_delta(out, reasoning, INVALID_UTF8),
            Wire::Ollama(w) => w.raw_delta(out, reasoning, INVALID_UTF8),
            Wire::Responses(w) => w.raw_delta(out, reasoning, INVALID_UTF8),
            Wire::Gemini(w) => w.raw_delta(out, reasoning, INVALID_UTF8),
            Wire::Bedrock(w) => w.raw_delta(out, reasoning, INVALID_UTF8),
        }
    }

    /// The protocol's in-stream error report.
    pub(crate) fn error(&self, out: &mut BytesMut) {
        out.put_slice(match self {
            Wire::OpenAi(_) => openai::ERROR_EVENT,
            Wire::Anthropic(_) => anthropic::ERROR_EVENT,
            Wire::Ollama(_) => ollama::ERROR_LINE,
            Wire::Responses(_) => responses::ERROR_EVENT,
            Wire::Gemini(_) => gemini::ERROR_EVENT,
            Wire::Bedrock(_) => bedrock::error_frame(),
        });
    }

    /// A whole non-streaming body around the given texts (already JSON-safe, or deliberately
    /// not UTF-8).
    pub(crate) fn full(&self, tally: &Tally, reasoning: &[u8], answer: &[u8]) -> BytesMut {
        match self {
            Wire::OpenAi(w) => w.full(tally, reasoning, answer),
            Wire::Anthropic(w) => w.full(tally, reasoning, answer),
            Wire::Ollama(w) => w.full(tally, reasoning, answer),
            Wire::Responses(w) => w.full(tally, reasoning, answer),
            Wire::Gemini(w) => w.full(tally, reasoning, answer),
            Wire::Bedrock(w) => w.full(tally, reasoning, answer),
        }
    }
}

/// Two bytes that can never appear in UTF-8.
pub(crate) const INVALID_UTF8: &[u8] = b"\xff\xfe";

/// The body of an HTTP error in the shape of the protocol the path belongs to (OpenAI's when
/// the path is unknown).
pub(crate) fn error_body(protocol: Option<Protocol>, status: u16, message: &str) -> Bytes {
    let value = match protocol {
        Some(Protocol::Anthropic) => {
            let kind = match status {
                400 | 413 => "invalid_request_error",
                401 => "authentication_error",
                404 | 405 => "not_found_error",
                429 => "rate_limit_error",
                503 | 529 => "overloaded_error",
                _ => "api_error",
            };
            json!({"type": "error", "error": {"type": kind, "message": message}})
        }
        Some(Protocol::Ollama) => json!({ "error": message }),
        Some(Protocol::Gemini) => {
            let kind = match status {
                400 | 413 => "INVALID_ARGUMENT",
                401 => "UNAUTHENTICATED",
                403 => "PERMISSION_DENIED",
                404 | 405 => "NOT_FOUND",
                429 => "RESOURCE_EXHAUSTED",
                503 => "UNAVAILABLE",
                500..=599 => "INTERNAL",
                _ => "UNKNOWN",
            };
            json!({"error": {"code": status, "message": message, "status": kind}})
        }
        // As AWS answers: the exception named in the `x-amzn-ErrorType` header only
        // (`bedrock_error_type`), the body just the message.
        Some(Protocol::Bedrock) => json!({ "message": message }),
        _ => {
            let (kind, code) = match status {
                401 => ("invalid_request_error", json!("invalid_api_key")),
                404 | 405 => ("invalid_request_error", json!("unknown_url")),
                429 => ("requests", json!("rate_limit_exceeded")),
                500..=599 => ("server_error", json!(null)),
                _ => ("invalid_request_error", json!(null)),
            };
            json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
        }
    };
    Bytes::from(value.to_string())
}

/// The `x-amzn-ErrorType` header of a Bedrock error: the exception and where AWS defines it.
pub(crate) fn bedrock_error_type(status: u16) -> String {
    format!(
        "{}:http://internal.amazon.com/coral/com.amazon.bedrock/",
        bedrock::exception(status)
    )
}

/// A successful-looking body of some other protocol, for the `wrong_protocol` fault: a JSON
/// object where SSE was expected, or SSE where NDJSON was.
pub(crate) fn foreign_body(
    protocol: Protocol,
    stamp: &Stamp<'_>,
    tally: &Tally,
    words: Words,
) -> (&'static str, Bytes) {
    let mut answer = BytesMut::new();
    words.write_to(&mut answer);
    match protocol {
        Protocol::OpenAiChat
        | Protocol::OpenAiCompletions
        | Protocol::Responses
        | Protocol::Gemini
        | Protocol::OpenAiEmbeddings => {
            let wire = Wire::new(Protocol::Anthropic, stamp);
            ("application/json", wire.full(tally, b"", &answer).freeze())
        }
        Protocol::Anthropic | Protocol::Bedrock => {
            let wire = Wire::new(Protocol::OpenAiChat, stamp);
            ("application/json", wire.full(tally, b"", &answer).freeze())
        }
        Protocol::Ollama => {
            let mut wire = Wire::new(Protocol::OpenAiChat, stamp);
            let mut out = BytesMut::new();
            wire.start(&mut out, tally);
            wire.delta(&mut out, false, words);
            wire.finish(&mut out, tally);
            ("text/event-stream", out.freeze())
        }
    }
}

/// Writes a number without going through `format!`'s allocation.
/// The start of a tool call's arguments, `{"KEY":"` escaped inside a JSON string, written once
/// per answer (in the first argument delta) by the wires whose arguments stream as text.
fn open_tool_arguments(keyed: &mut bool, shape: &Shape, out: &mut BytesMut) {
    if !*keyed && let Shape::Tool { key, .. } = shape {
        *keyed = true;
        put(out, "{\\\"");
        put(out, key);
        put(out, "\\\":\\\"");
    }
}

fn put_num(out: &mut BytesMut, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        // `n % 10` is a single digit.
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&digits[i..]);
}

fn put(out: &mut BytesMut, s: &str) {
    out.put_slice(s.as_bytes());
}
