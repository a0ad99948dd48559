//! AWS Bedrock Converse: event-stream frames (`messageStart`, `contentBlockDelta` with text or
//! `reasoningContent`, `contentBlockStop`, `messageStop`, `metadata` with usage and the
//! server's `latencyMs`), encoded with the same crate llmrace decodes them with; or one
//! `/converse` JSON body. A tool call is a `toolUse` block: its `contentBlockStart` names the
//! tool, its `contentBlockDelta`s stream the input's JSON as text.

use std::sync::LazyLock;

use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use bytes::{BufMut, Bytes, BytesMut};

use super::super::shape::{JSON_CLOSE, Shape};
use super::{Finish, Tally, Words, open_tool_arguments, put, put_num};

/// Whether a request carries AWS credentials as Bedrock takes them: a `SigV4` signature
/// (`Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`, with the
/// `x-amz-date` it was signed at) or a Bedrock API key (`Authorization: Bearer …`). The
/// mock checks the shape, not the signature: it has no secret to check it with.
pub(crate) fn authorized(headers: &http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    if let Some(token) = value.strip_prefix("Bearer ") {
        return !token.trim().is_empty();
    }
    value.starts_with("AWS4-HMAC-SHA256 Credential=")
        && value.contains("SignedHeaders=")
        && value.contains("Signature=")
        && headers.contains_key("x-amz-date")
}

/// The exception Bedrock names for an HTTP error status.
pub(super) fn exception(status: u16) -> &'static str {
    match status {
        400 | 413 => "ValidationException",
        401 | 403 => "AccessDeniedException",
        404 | 405 => "ResourceNotFoundException",
        429 => "ThrottlingException",
        503 => "ServiceUnavailableException",
        _ => "InternalServerException",
    }
}

/// Appends one frame of `payload` to `out`.
fn frame(out: &mut BytesMut, headers: Vec<Header>, payload: Bytes) {
    let message = Message::new_from_parts(headers, payload);
    // Writing to a growable buffer fails only for a frame over 16 MiB, which the mock never
    // writes.
    let _ = aws_smithy_eventstream::frame::write_message_to(&message, out);
}

fn string(name: &'static str, value: &'static str) -> Header {
    Header::new(name, HeaderValue::String(value.into()))
}

/// An `event` frame of `event_type` around `payload`.
fn event(out: &mut BytesMut, event_type: &'static str, payload: Bytes) {
    frame(
        out,
        vec![
            string(":event-type", event_type),
            string(":content-type", "application/json"),
            string(":message-type", "event"),
        ],
        payload,
    );
}

/// The in-stream error: a `modelStreamErrorException` frame, as Bedrock sends when the model
/// fails mid-answer.
pub(super) fn error_frame() -> &'static [u8] {
    static FRAME: LazyLock<Bytes> = LazyLock::new(|| {
        let mut out = BytesMut::new();
        frame(
            &mut out,
            vec![
                string(":exception-type", "modelStreamErrorException"),
                string(":content-type", "application/json"),
                string(":message-type", "exception"),
            ],
            Bytes::from_static(b"{\"message\":\"mock overloaded\"}"),
        );
        out.freeze()
    });
    &FRAME
}

/// Encoder for one Bedrock response; tracks the open content block.
pub(crate) struct Converse {
    /// The `<n>` of the tool use id, `tooluse_mock_<n>`.
    seq: u64,
    /// The open block's index and whether it holds reasoning.
    block: Option<(u32, bool)>,
    next_block: u32,
    pub(super) shape: Shape,
    /// The tool use block's index, once its `contentBlockStart` is written.
    tool: Option<u32>,
    /// The tool's input has begun (`{"<key>":"`).
    keyed: bool,
}

impl Converse {
    pub(super) fn new(seq: u64) -> Converse {
        Converse {
            seq,
            block: None,
            next_block: 0,
            shape: Shape::Text,
            tool: None,
            keyed: false,
        }
    }

    pub(super) fn start(out: &mut BytesMut) {
        event(
            out,
            "messageStart",
            Bytes::from_static(b"{\"role\":\"assistant\"}"),
        );
    }

    fn close_block(&mut self, out: &mut BytesMut) {
        if let Some((index, _)) = self.block.take() {
            let mut payload = BytesMut::new();
            put(&mut payload, "{\"contentBlockIndex\":");
            put_num(&mut payload, u64::from(index));
            put(&mut payload, "}");
            event(out, "contentBlockStop", payload.freeze());
        }
    }

    /// The block index a delta of `reasoning` goes to, closing the open block of the other
    /// kind.
    fn block_for(&mut self, out: &mut BytesMut, reasoning: bool) -> u32 {
        match self.block {
            Some((index, r)) if r == reasoning => index,
            _ => {
                self.close_block(out);
                let index = self.next_block;
                self.next_block += 1;
                self.block = Some((index, reasoning));
                index
            }
        }
    }

    /// The tool use block's index, writing its `contentBlockStart` (which names the tool)
    /// the first time.
    fn tool_block(&mut self, out: &mut BytesMut) -> u32 {
        if let Some(index) = self.tool {
            return index;
        }
        self.close_block(out);
        let index = self.next_block;
        self.next_block += 1;
        self.tool = Some(index);
        let mut payload = BytesMut::with_capacity(128);
        put(&mut payload, "{\"contentBlockIndex\":");
        put_num(&mut payload, u64::from(index));
        put(
            &mut payload,
            ",\"start\":{\"toolUse\":{\"toolUseId\":\"tooluse_mock_",
        );
        put_num(&mut payload, self.seq);
        put(&mut payload, "\",\"name\":\"");
        if let Shape::Tool { name, .. } = &self.shape {
            put(&mut payload, name);
        }
        put(&mut payload, "\"}}}");
        event(out, "contentBlockStart", payload.freeze());
        index
    }

    /// The opening of the tool use block, alone: Bedrock starts a tool call with a frame that
    /// names the tool before any of its input.
    pub(super) fn open(&mut self, out: &mut BytesMut) -> bool {
        if self.tool.is_some() || !matches!(self.shape, Shape::Tool { .. }) {
            return false;
        }
        self.tool_block(out);
        true
    }

    /// A `contentBlockDelta` of the tool's input: `fragment` (JSON-safe, escaped once more
    /// to stand inside the `input` string).
    fn tool_delta(&mut self, out: &mut BytesMut, fragment: &[u8]) {
        let index = self.tool_block(out);
        let mut payload = BytesMut::with_capacity(fragment.len() + 80);
        put(&mut payload, "{\"contentBlockIndex\":");
        put_num(&mut payload, u64::from(index));
        put(&mut payload, ",\"delta\":{\"toolUse\":{\"input\":\"");
        open_tool_arguments(&mut self.keyed, &self.shape, &mut payload);
        payload.put_slice(fragment);
        put(&mut payload, "\"}}}");
        event(out, "contentBlockDelta", payload.freeze());
    }

    pub(super) fn delta(&mut self, out: &mut BytesMut, reasoning: bool, words: Words) {
        let mut text = BytesMut::new();
        words.write_to(&mut text);
        if !reasoning && matches!(self.shape, Shape::Tool { .. }) {
            self.tool_delta(out, &text);
            return;
        }
        self.raw_delta(out, reasoning, &text);
    }

    /// A delta whose text is `raw`, put between the JSON quotes as it is.
    pub(super) fn raw_delta(&mut self, out: &mut BytesMut, reasoning: bool, raw: &[u8]) {
        let index = self.block_for(out, reasoning);
        let mut payload = BytesMut::with_capacity(raw.len() + 80);
        put(&mut payload, "{\"contentBlockIndex\":");
        put_num(&mut payload, u64::from(index));
        put(
            &mut payload,
            if reasoning {
                ",\"delta\":{\"reasoningContent\":{\"text\":\""
            } else {
                ",\"delta\":{\"text\":\""
            },
        );
        payload.put_slice(raw);
        put(&mut payload, if reasoning { "\"}}}" } else { "\"}}" });
        event(out, "contentBlockDelta", payload.freeze());
    }

    /// A well-framed delta whose JSON is cut off.
    pub(super) fn broken(out: &mut BytesMut) {
        event(
            out,
            "contentBlockDelta",
            Bytes::from_static(b"{\"contentBlockIndex\":0,\"delta\":{\"text\":\" cut"),
        );
    }

    pub(super) fn finish(&mut self, out: &mut BytesMut, tally: &Tally) {
        let tool = self.tool.is_some();
        if tool {
            self.tool_delta(out, JSON_CLOSE);
            if let Some(index) = self.tool {
                self.block = Some((index, false));
            }
        }
        self.close_block(out);
        let mut stop = BytesMut::new();
        put(&mut stop, "{\"stopReason\":\"");
        put(&mut stop, stop_reason(tally, tool));
        put(&mut stop, "\"}");
        event(out, "messageStop", stop.freeze());
        let mut metadata = BytesMut::new();
        put(&mut metadata, "{");
        usage(&mut metadata, tally);
        put(&mut metadata, ",");
        metrics(&mut metadata, tally);
        put(&mut metadata, "}");
        event(out, "metadata", metadata.freeze());
    }

    pub(super) fn full(&self, tally: &Tally, reasoning: &[u8], answer: &[u8]) -> BytesMut {
        let mut out = BytesMut::with_capacity(reasoning.len() + answer.len() + 320);
        put(
            &mut out,
            "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[",
        );
        if !reasoning.is_empty() {
            put(
                &mut out,
                "{\"reasoningContent\":{\"reasoningText\":{\"text\":\"",
            );
            out.put_slice(reasoning);
            put(&mut out, "\",\"signature\":\"bW9jaw==\"}}},");
        }
        let tool = match &self.shape {
            Shape::Tool { name, key } if !answer.is_empty() => Some((name, key)),
            _ => None,
        };
        if let Some((name, key)) = tool {
            put(&mut out, "{\"toolUse\":{\"toolUseId\":\"tooluse_mock_");
            put_num(&mut out, self.seq);
            put(&mut out, "\",\"name\":\"");
            put(&mut out, name);
            put(&mut out, "\",\"input\":{\"");
            put(&mut out, key);
            put(&mut out, "\":\"");
            out.put_slice(answer);
            put(&mut out, "\"}}}");
        } else {
            put(&mut out, "{\"text\":\"");
            out.put_slice(answer);
            put(&mut out, "\"}");
        }
        put(&mut out, "]}},\"stopReason\":\"");
        put(&mut out, stop_reason(tally, tool.is_some()));
        put(&mut out, "\",");
        usage(&mut out, tally);
        put(&mut out, ",");
        metrics(&mut out, tally);
        put(&mut out, "}");
        out
    }
}

fn stop_reason(tally: &Tally, tool: bool) -> &'static str {
    match tally.finish {
        Finish::Stop if tool => "tool_use",
        Finish::Stop => "end_turn",
        Finish::Length => "max_tokens",
    }
}

/// `"usage":{…}` as Bedrock reports it: `inputTokens` without the cached ones, which come
/// apart (as Anthropic counts them).
fn usage(out: &mut BytesMut, tally: &Tally) {
    let cached = tally.cache_read.saturating_add(tally.cache_write);
    put(out, "\"usage\":{\"inputTokens\":");
    put_num(out, u64::from(tally.input.saturating_sub(cached)));
    put(out, ",\"outputTokens\":");
    put_num(out, u64::from(tally.usage_output));
    if tally.caches {
        put(out, ",\"cacheReadInputTokens\":");
        put_num(out, u64::from(tally.cache_read));
        put(out, ",\"cacheWriteInputTokens\":");
        put_num(out, u64::from(tally.cache_write));
    }
    put(out, ",\"totalTokens\":");
    put_num(out, u64::from(tally.input) + u64::from(tally.usage_output));
    put(out, "}");
}

/// `"metrics":{"latencyMs":…}`: the response's scheduled time on the mock.
fn metrics(out: &mut BytesMut, tally: &Tally) {
    put(out, "\"metrics\":{\"latencyMs\":");
    put_num(out, tally.timings.total_ns / 1_000_000);
    put(out, "}");
}
