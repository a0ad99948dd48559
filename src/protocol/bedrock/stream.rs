//! Bedrock's streamed response: AWS event-stream frames (a prelude with its CRC, headers, a
//! JSON payload, the message CRC), decoded whole as they complete, so any split of the body
//! gives the same items. `:event-type` says what a frame is (`messageStart`,
//! `contentBlockStart`, `contentBlockDelta`, `contentBlockStop`, `messageStop`, `metadata`);
//! `:message-type` `exception` frames are the server's errors mid-stream.

use aws_smithy_types::event_stream::{HeaderValue, Message};
use serde::Deserialize;
use serde_json::Value;

use super::super::decode::{
    Str, body_error, invalid_utf8, not_json, push_content, push_tool_call, quote,
};
use super::{Decoded, Decoder, Metrics, Usage, push_latency, push_usage};

const WHAT: &str = "AWS event-stream frames (application/vnd.amazon.eventstream)";

/// The prelude: total length, headers length, their CRC32.
pub(super) const PRELUDE: usize = 12;
/// The smallest frame: a prelude and the message CRC.
const MIN_FRAME: usize = PRELUDE + 4;
/// AWS caps an event-stream message at 16 MiB of payload and 128 KiB of headers; a prelude
/// announcing more is damage, not a frame to wait for.
const MAX_FRAME: usize = 16 * 1024 * 1024 + 128 * 1024 + MIN_FRAME;
/// The start of a body kept until its first frame, to describe a body that never held one.
const HEAD_BYTES: usize = 64 * 1024;

#[derive(Default)]
pub(super) struct EventStreamDecoder {
    /// Bytes of the frame not yet complete.
    pending: Vec<u8>,
    /// Until the first frame: the start of the body.
    head: Vec<u8>,
    /// A whole frame has been read: the body is an event stream.
    framed: bool,
    /// The framing was lost (or the body is no event stream): nothing more is decoded.
    broken: bool,
    /// `messageStop` came: the response is complete once its `metadata` (usage) is read.
    stopped: bool,
    ended: bool,
    finished: bool,
    /// The content block index of each tool use block so far: a call's place among them is
    /// its tool call index.
    tool_blocks: Vec<u32>,
}

impl Decoder for EventStreamDecoder {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Decoded>) {
        if !self.framed {
            let room = HEAD_BYTES.saturating_sub(self.head.len());
            self.head
                .extend_from_slice(bytes.get(..room).unwrap_or(bytes));
        }
        if self.broken || self.finished {
            return;
        }
        self.pending.extend_from_slice(bytes);
        let mut at = 0;
        while let Some(frame) = self.pending.get(at..) {
            match frame_len(frame) {
                Ok(Some(len)) if frame.len() >= len => {
                    let message = aws_smithy_eventstream::frame::read_message_from(&frame[..len]);
                    at += len;
                    match message {
                        Ok(message) => {
                            self.framed = true;
                            self.head = Vec::new();
                            self.message(&message, out);
                        }
                        Err(err) => {
                            self.damaged(&err.to_string(), out);
                            break;
                        }
                    }
                }
                Ok(_) => break,
                Err(problem) => {
                    self.damaged(&problem, out);
                    break;
                }
            }
        }
        if self.broken {
            self.pending = Vec::new();
        } else {
            self.pending.drain(..at);
        }
    }

    fn finish(&mut self, out: &mut Vec<Decoded>) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        // A last frame cut short is a stream cut: the missing end says so, as a cut SSE event
        // does.
        self.pending = Vec::new();
        if self.stopped && !self.ended {
            self.ended = true;
            out.push(Decoded::End);
        }
        if !self.framed {
            let head = std::mem::take(&mut self.head);
            out.push(if head.is_empty() {
                Decoded::Malformed {
                    message: format!("the response body was empty; expected {WHAT}"),
                }
            } else if let Some(message) = super::error_message(&head).or_else(|| body_error(&head))
            {
                Decoded::ServerError { message }
            } else {
                Decoded::Malformed {
                    message: format!("expected {WHAT}, but the body starts with {}", quote(&head)),
                }
            });
        }
    }
}

/// The length of the frame `bytes` start with, once its prelude is there and checked.
/// `bytes` begin with a frame's prelude, its checksum right: no JSON body can.
pub(super) fn starts_a_frame(bytes: &[u8]) -> bool {
    matches!(frame_len(bytes), Ok(Some(_)))
}

fn frame_len(bytes: &[u8]) -> Result<Option<usize>, String> {
    let Some(prelude) = bytes.get(..PRELUDE) else {
        return Ok(None);
    };
    let word = |i: usize| {
        prelude
            .get(i..i + 4)
            .and_then(|w| <[u8; 4]>::try_from(w).ok())
            .map_or(0, u32::from_be_bytes)
    };
    let (total, headers, crc) = (word(0), word(4), word(8));
    if crc32fast::hash(&prelude[..8]) != crc {
        return Err(format!(
            "a frame's prelude checksum is wrong (the bytes are {})",
            quote(prelude)
        ));
    }
    let total = usize::try_from(total).unwrap_or(usize::MAX);
    if !(MIN_FRAME..=MAX_FRAME).contains(&total) {
        return Err(format!(
            "a frame announces {total} bytes, outside the {MIN_FRAME} to {MAX_FRAME} an event \
             stream allows"
        ));
    }
    if usize::try_from(headers).unwrap_or(usize::MAX) > total - MIN_FRAME {
        return Err(format!(
            "a frame's headers ({headers} bytes) overrun its length ({total} bytes)"
        ));
    }
    Ok(Some(total))
}

/// Every event's payload in one flat shape: each event type fills the fields it has.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    content_block_index: Option<u32>,
    #[serde(borrow)]
    start: Option<Start<'a>>,
    #[serde(borrow)]
    delta: Option<Delta<'a>>,
    #[serde(borrow)]
    stop_reason: Option<Str<'a>>,
    usage: Option<Usage>,
    metrics: Option<Metrics>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Start<'a> {
    #[serde(borrow)]
    tool_use: Option<ToolUse<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delta<'a> {
    #[serde(borrow)]
    text: Option<Str<'a>>,
    #[serde(borrow)]
    reasoning_content: Option<Reasoning<'a>>,
    #[serde(borrow)]
    tool_use: Option<ToolUse<'a>>,
}

/// A reasoning delta: `text`, or a `signature` / `redactedContent` that carries no tokens
/// one can read.
#[derive(Deserialize)]
struct Reasoning<'a> {
    #[serde(borrow)]
    text: Option<Str<'a>>,
}

/// A tool use block's start (`toolUseId`, `name`) or a delta's fragment of its `input`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolUse<'a> {
    #[serde(borrow, rename = "toolUseId")]
    id: Option<Str<'a>>,
    #[serde(borrow)]
    name: Option<Str<'a>>,
    #[serde(borrow)]
    input: Option<Str<'a>>,
}

/// The HTTP status AWS gives an exception that a frame can carry mid-stream, for those whose
/// status says more than "an error in the stream": a throttle is a 429, the service
/// unavailable a 503, an internal error a 500. The model's own failure
/// (`modelStreamErrorException`) and a validation error stay errors of the stream.
fn exception_status(kind: &str) -> Option<u16> {
    [
        ("throttlingException", 429),
        ("serviceUnavailableException", 503),
        ("internalServerException", 500),
    ]
    .iter()
    .find(|(name, _)| name.eq_ignore_ascii_case(kind))
    .map(|&(_, status)| status)
}

/// The string value of header `name`, if the frame has it as a string.
fn header<'m>(message: &'m Message, name: &str) -> Option<&'m str> {
    message
        .headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .and_then(|h| match h.value() {
            HeaderValue::String(s) => Some(s.as_str()),
            _ => None,
        })
}

impl EventStreamDecoder {
    fn damaged(&mut self, problem: &str, out: &mut Vec<Decoded>) {
        self.broken = true;
        // Before any frame, the body is described whole at the end (a JSON error, a page).
        if self.framed {
            out.push(Decoded::Malformed {
                message: format!("the event stream is damaged: {problem}"),
            });
        }
    }

    /// The index of the tool call of content block `block`, counting it as a new call if
    /// unseen.
    fn tool_index(&mut self, block: u32) -> u32 {
        let position = if let Some(p) = self.tool_blocks.iter().position(|&b| b == block) {
            p
        } else {
            self.tool_blocks.push(block);
            self.tool_blocks.len() - 1
        };
        u32::try_from(position).unwrap_or(u32::MAX)
    }

    fn message(&mut self, message: &Message, out: &mut Vec<Decoded>) {
        if self.ended {
            return;
        }
        let payload = message.payload();
        match header(message, ":message-type").unwrap_or("event") {
            "exception" => {
                let kind = header(message, ":exception-type").unwrap_or("exception");
                let text = serde_json::from_slice::<Value>(payload)
                    .ok()
                    .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_else(|| String::from_utf8_lossy(payload).into_owned());
                let message = super::super::decode::error_text(
                    &serde_json::json!({ "type": kind, "message": text }),
                );
                out.push(match exception_status(kind) {
                    Some(status) => Decoded::StatusError { status, message },
                    None => Decoded::ServerError { message },
                });
                self.ended = true;
            }
            "error" => {
                let code = header(message, ":error-code").unwrap_or("error");
                let text = header(message, ":error-message").unwrap_or_default();
                out.push(Decoded::ServerError {
                    message: super::super::decode::error_text(
                        &serde_json::json!({ "type": code, "message": text }),
                    ),
                });
                self.ended = true;
            }
            _ => {
                let Some(kind) = header(message, ":event-type") else {
                    out.push(Decoded::Malformed {
                        message: format!(
                            "an event frame has no :event-type header: {}",
                            quote(payload)
                        ),
                    });
                    return;
                };
                let Ok(text) = std::str::from_utf8(payload) else {
                    out.push(invalid_utf8("a Bedrock event's payload", payload));
                    return;
                };
                match serde_json::from_str::<Event<'_>>(text) {
                    Ok(event) => self.event(kind, event, out),
                    Err(err) => out.push(not_json("a Bedrock event's payload", text, &err)),
                }
            }
        }
    }

    fn event(&mut self, kind: &str, event: Event<'_>, out: &mut Vec<Decoded>) {
        let block = event.content_block_index.unwrap_or(0);
        match kind {
            "contentBlockStart" => {
                if let Some(tool) = event.start.and_then(|s| s.tool_use) {
                    let index = self.tool_index(block);
                    push_tool_call(index, tool.id, tool.name, None, out);
                }
            }
            "contentBlockDelta" => {
                let Some(delta) = event.delta else { return };
                push_content(delta.reasoning_content.and_then(|r| r.text), true, out);
                push_content(delta.text, false, out);
                if let Some(tool) = delta.tool_use {
                    let index = self.tool_index(block);
                    push_tool_call(index, tool.id, tool.name, tool.input, out);
                }
            }
            "messageStop" => {
                if let Some(reason) = event.stop_reason.filter(|r| !r.as_str().is_empty()) {
                    out.push(Decoded::FinishReason(reason.0.into_owned()));
                }
                self.stopped = true;
            }
            "metadata" => {
                if let Some(usage) = &event.usage {
                    push_usage(usage, out);
                }
                push_latency(event.metrics.as_ref(), out);
                // The usage comes after the stop: with it, the response is complete.
                if self.stopped {
                    self.ended = true;
                    out.push(Decoded::End);
                }
            }
            // `messageStart`, `contentBlockStop` and event types added later carry nothing we
            // measure.
            _ => {}
        }
    }
}
