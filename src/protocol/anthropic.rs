//! Anthropic Messages responses: the streamed events (`message_start`, `content_block_delta`,
//! `message_delta`, `message_stop`, `ping`, `error`) and the whole message body.

use serde::Deserialize;
use serde_json::Value;

use super::decode::{
    BodyDecoder, SseDecoder, SseHandler, Str, error_text, event_json, not_json, push_content,
    push_tool_call, reported, unexpected_body,
};
use super::sse::SseEvent;
use super::{Decoded, Decoder};

/// Every event's data in one flat shape: each event type fills the fields it has.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<Str<'a>>,
    /// The content block a `content_block_*` event is about.
    index: Option<u32>,
    #[serde(borrow)]
    message: Option<Message<'a>>,
    #[serde(borrow)]
    content_block: Option<Block<'a>>,
    #[serde(borrow)]
    delta: Option<Block<'a>>,
    usage: Option<Usage>,
    error: Option<Value>,
}

/// `message_start`'s message, and the whole non-streaming body.
#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<Str<'a>>,
    #[serde(borrow)]
    id: Option<Str<'a>>,
    #[serde(borrow, default)]
    content: Vec<Block<'a>>,
    #[serde(borrow)]
    stop_reason: Option<Str<'a>>,
    usage: Option<Usage>,
    error: Option<Value>,
}

/// A content block, a `content_block_delta`'s delta or a `message_delta`'s delta.
#[derive(Deserialize)]
struct Block<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<Str<'a>>,
    /// A `tool_use` block's id and tool name.
    #[serde(borrow)]
    id: Option<Str<'a>>,
    #[serde(borrow)]
    name: Option<Str<'a>>,
    /// A whole `tool_use` block's arguments (non-streaming; `{}` in a streamed block's start).
    input: Option<Value>,
    /// An `input_json_delta`'s fragment of a tool call's arguments.
    #[serde(borrow)]
    partial_json: Option<Str<'a>>,
    #[serde(borrow)]
    text: Option<Str<'a>>,
    #[serde(borrow)]
    thinking: Option<Str<'a>>,
    #[serde(borrow)]
    stop_reason: Option<Str<'a>>,
}

#[derive(Deserialize)]
#[expect(
    clippy::struct_field_names,
    reason = "the fields are Anthropic's JSON keys, read by serde"
)]
struct Usage {
    input_tokens: Option<u32>,
    output_tokens: Option<u32>,
    cache_read_input_tokens: Option<u32>,
    cache_creation_input_tokens: Option<u32>,
}

pub(super) fn decoder(stream: bool) -> Box<dyn Decoder> {
    if stream {
        Box::new(SseDecoder::new(AnthropicStream::default()))
    } else {
        Box::new(BodyDecoder::new(decode_body))
    }
}

#[derive(Default)]
struct AnthropicStream {
    ended: bool,
    input: InputParts,
    /// The content block index of each `tool_use` block so far: a call's place among them is
    /// its tool call index.
    tool_blocks: Vec<u32>,
}

impl AnthropicStream {
    /// The tool call index of the block at `block`, counting it as a new call if unseen.
    fn tool_index(&mut self, block: u32) -> u32 {
        let position = if let Some(position) = self.tool_blocks.iter().position(|&b| b == block) {
            position
        } else {
            self.tool_blocks.push(block);
            self.tool_blocks.len() - 1
        };
        u32::try_from(position).unwrap_or(u32::MAX)
    }
}

/// The parts Anthropic splits the prompt's tokens into, as last reported. Its `input_tokens`
/// leaves out the tokens read from or written to the prompt cache, where OpenAI's
/// `prompt_tokens` counts them: the total llmrace stores is the sum of the three, so the same
/// prompt counts the same whatever the protocol. `message_start` and `message_delta` may each
/// carry some of the parts, so they are kept across events.
#[derive(Default)]
struct InputParts {
    uncached: Option<u32>,
    cache_read: Option<u32>,
    cache_write: Option<u32>,
}

impl InputParts {
    /// The item for one `usage` object. `with_output`: its `output_tokens` is a real count
    /// (in `message_start` it is a placeholder; the real one comes in `message_delta`).
    fn usage(&mut self, usage: Option<Usage>, with_output: bool, out: &mut Vec<Decoded>) {
        let Some(usage) = usage else { return };
        // A proxy's `message_start` may carry zeros in place of counts it does not know yet
        // (LiteLLM's Messages adapter does, the real ones following in `message_delta`): no
        // prompt has zero tokens, so they are not the server's count. Left unknown, a stream cut
        // before `message_delta` gets the estimate any stream without usage does.
        let placeholder = !with_output
            && [
                usage.input_tokens,
                usage.cache_read_input_tokens,
                usage.cache_creation_input_tokens,
            ]
            .into_iter()
            .all(|n| n.is_none_or(|n| n == 0));
        if placeholder {
            return;
        }
        let output = usage.output_tokens.filter(|_| with_output);
        let reported = reported([
            ("input_tokens", usage.input_tokens),
            ("cache_read_input_tokens", usage.cache_read_input_tokens),
            (
                "cache_creation_input_tokens",
                usage.cache_creation_input_tokens,
            ),
            ("output_tokens", output),
        ]);
        if reported.is_empty() {
            return;
        }
        let input_changed = usage.input_tokens.is_some()
            || usage.cache_read_input_tokens.is_some()
            || usage.cache_creation_input_tokens.is_some();
        self.uncached = usage.input_tokens.or(self.uncached);
        self.cache_read = usage.cache_read_input_tokens.or(self.cache_read);
        self.cache_write = usage.cache_creation_input_tokens.or(self.cache_write);
        let total = self.uncached.filter(|_| input_changed).map(|uncached| {
            [self.cache_read, self.cache_write]
                .into_iter()
                .flatten()
                .fold(uncached, u32::saturating_add)
        });
        out.push(Decoded::Usage {
            input: total,
            output,
            cached_input: usage.cache_read_input_tokens,
            cache_write: usage.cache_creation_input_tokens,
            reasoning: None,
            reported,
        });
    }
}

impl SseHandler for AnthropicStream {
    const WHAT: &'static str = "an Anthropic event stream";

    fn event(&mut self, event: SseEvent<'_>, at_end: bool, out: &mut Vec<Decoded>) {
        if self.ended {
            return;
        }
        let data = event.data.trim();
        if data.is_empty() {
            return;
        }
        let Some(parsed) = event_json::<Event<'_>>(&event, data, at_end, "an Anthropic event", out)
        else {
            return;
        };
        // The data's `type` is authoritative; the SSE event name stands in when a proxy drops it.
        let kind = parsed.kind.as_ref().map_or(event.event, Str::as_str);
        match kind {
            "message_start" => {
                if let Some(message) = parsed.message {
                    if let Some(id) = message.id.filter(|id| !id.as_str().is_empty()) {
                        out.push(Decoded::ResponseId(id.0.into_owned()));
                    }
                    // The output count here is a placeholder; the real one comes in `message_delta`.
                    self.input.usage(message.usage, false, out);
                }
            }
            "content_block_start" | "content_block_delta" => {
                if let Some(block) = parsed.content_block.or(parsed.delta) {
                    push_content(block.thinking, true, out);
                    push_content(block.text, false, out);
                    let is_tool = block
                        .kind
                        .as_ref()
                        .is_some_and(|k| k.as_str() == "tool_use");
                    if is_tool || block.partial_json.is_some() {
                        let index = self.tool_index(parsed.index.unwrap_or(0));
                        push_tool_call(index, block.id, block.name, block.partial_json, out);
                    }
                }
            }
            "message_delta" => {
                if let Some(reason) = parsed
                    .delta
                    .and_then(|d| d.stop_reason)
                    .filter(|r| !r.as_str().is_empty())
                {
                    out.push(Decoded::FinishReason(reason.0.into_owned()));
                }
                self.input.usage(parsed.usage, true, out);
            }
            "message_stop" => {
                self.ended = true;
                out.push(Decoded::End);
            }
            "error" => out.push(Decoded::ServerError {
                message: parsed
                    .error
                    .as_ref()
                    .map_or_else(|| error_text(&Value::String(data.to_owned())), error_text),
            }),
            // `ping`, `content_block_stop` and event types added later carry nothing we measure.
            _ => {}
        }
    }

    fn finish(&mut self, _out: &mut Vec<Decoded>) {}
}

fn decode_body(body: &str, out: &mut Vec<Decoded>) {
    const WHAT: &str = "an Anthropic message object";
    let message: Message<'_> = match serde_json::from_str(body) {
        Ok(message) => message,
        Err(err) => {
            out.push(match serde_json::from_str::<Value>(body) {
                Ok(_) => unexpected_body(WHAT, body),
                Err(_) => not_json("the response body", body, &err),
            });
            return;
        }
    };
    if let Some(error) = message.error.as_ref().filter(|e| !e.is_null()) {
        out.push(Decoded::ServerError {
            message: error_text(error),
        });
        return;
    }
    if message.kind.as_ref().map(Str::as_str) != Some("message") {
        out.push(unexpected_body(WHAT, body));
        return;
    }
    if let Some(id) = message.id.filter(|id| !id.as_str().is_empty()) {
        out.push(Decoded::ResponseId(id.0.into_owned()));
    }
    let mut thinking = String::new();
    let mut text = String::new();
    let mut calls = Vec::new();
    for block in message.content {
        thinking.push_str(block.thinking.as_ref().map_or("", Str::as_str));
        text.push_str(block.text.as_ref().map_or("", Str::as_str));
        if block
            .kind
            .as_ref()
            .is_some_and(|k| k.as_str() == "tool_use")
        {
            calls.push(block);
        }
    }
    push_content(Some(Str(thinking.into())), true, out);
    push_content(Some(Str(text.into())), false, out);
    for (index, block) in (0u32..).zip(calls) {
        let arguments = block.input.map(|input| input.to_string());
        push_tool_call(
            index,
            block.id,
            block.name,
            arguments.map(|a| Str(a.into())),
            out,
        );
    }
    if let Some(reason) = message.stop_reason.filter(|r| !r.as_str().is_empty()) {
        out.push(Decoded::FinishReason(reason.0.into_owned()));
    }
    InputParts::default().usage(message.usage, true, out);
    out.push(Decoded::End);
}
