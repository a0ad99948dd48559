//! Anthropic Messages: named SSE events from `message_start` to `message_stop`, a thinking
//! block before the text block for reasoning answers, or one JSON message body.

use bytes::{BufMut, BytesMut};

use super::super::shape::{JSON_CLOSE, JSON_OPEN, Shape};
use super::{Finish, Stamp, Tally, Words, open_tool_arguments, put, put_num};

pub(super) const ERROR_EVENT: &[u8] = b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"mock overloaded\"}}\n\n";

/// Encoder for one Anthropic response; tracks which content block is open.
pub(crate) struct Messages {
    id: String,
    model_json: String,
    /// Index of the open content block and whether it is the thinking block.
    block: Option<(u32, bool)>,
    next_block: u32,
    pub(super) shape: Shape,
    /// The JSON answer or the tool call's block has been opened.
    opened: bool,
    /// The tool call's arguments have begun (`{"<key>":"`).
    keyed: bool,
}

impl Messages {
    pub(super) fn new(stamp: &Stamp<'_>) -> Messages {
        Messages {
            id: format!("msg_mock_{}", stamp.seq),
            model_json: stamp.model_json.to_owned(),
            block: None,
            next_block: 0,
            shape: Shape::Text,
            opened: false,
            keyed: false,
        }
    }

    pub(super) fn start(&mut self, out: &mut BytesMut, tally: &Tally) {
        put(
            out,
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"",
        );
        put(out, &self.id);
        put(
            out,
            "\",\"type\":\"message\",\"role\":\"assistant\",\"model\":",
        );
        put(out, &self.model_json);
        put(
            out,
            ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":",
        );
        input_usage(out, tally);
        put(out, ",\"output_tokens\":1}}}\n\n");
        // A tool call's block opens with its first token; no empty text block before it.
        if tally.reasoning > 0 || !self.is_tool() {
            self.open_block(out, tally.reasoning > 0);
        }
        put(out, "event: ping\ndata: {\"type\":\"ping\"}\n\n");
    }

    /// Starts the next content block, up to its index: the caller writes what it holds.
    fn start_block(&mut self, out: &mut BytesMut, thinking: bool) {
        let index = self.next_block;
        self.next_block += 1;
        self.block = Some((index, thinking));
        put(
            out,
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":",
        );
        put_num(out, u64::from(index));
    }

    fn open_block(&mut self, out: &mut BytesMut, thinking: bool) {
        self.start_block(out, thinking);
        put(
            out,
            if thinking {
                ",\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n"
            } else {
                ",\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
            },
        );
    }

    fn close_block(&mut self, out: &mut BytesMut) {
        let Some((index, thinking)) = self.block.take() else {
            return;
        };
        if thinking {
            // Real thinking blocks end with a signature the client must send back.
            put(
                out,
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":",
            );
            put_num(out, u64::from(index));
            put(
                out,
                ",\"delta\":{\"type\":\"signature_delta\",\"signature\":\"bW9jaw==\"}}\n\n",
            );
        }
        put(
            out,
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":",
        );
        put_num(out, u64::from(index));
        put(out, "}\n\n");
    }

    /// A `content_block_delta` of the open block, up to its index: the caller writes the delta.
    fn start_delta(&self, out: &mut BytesMut) {
        let index = self.block.map_or(0, |(index, _)| index);
        put(
            out,
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":",
        );
        put_num(out, u64::from(index));
    }

    fn delta_open(&mut self, out: &mut BytesMut, reasoning: bool) {
        if self.block.map(|(_, thinking)| thinking) != Some(reasoning) {
            self.close_block(out);
            self.open_block(out, reasoning);
        }
        self.start_delta(out);
        put(
            out,
            if reasoning {
                ",\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\""
            } else {
                ",\"delta\":{\"type\":\"text_delta\",\"text\":\""
            },
        );
    }

    fn is_tool(&self) -> bool {
        matches!(self.shape, Shape::Tool { .. })
    }

    /// The `tool_use` block's `content_block_start`, once.
    fn tool_block(&mut self, out: &mut BytesMut) {
        if self.opened {
            return;
        }
        self.opened = true;
        self.close_block(out);
        self.start_block(out, false);
        put(
            out,
            ",\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_mock_",
        );
        put(out, self.id.trim_start_matches("msg_mock_"));
        put(out, "\",\"name\":\"");
        if let Shape::Tool { name, .. } = &self.shape {
            put(out, name);
        }
        put(out, "\",\"input\":{}}}\n\n");
    }

    /// The opening of a JSON answer or of the `tool_use` block, alone.
    pub(super) fn open(&mut self, out: &mut BytesMut) -> bool {
        if self.opened {
            return false;
        }
        if self.is_tool() {
            self.tool_block(out);
        } else if self.shape.is_json() {
            self.opened = true;
            self.raw_delta(out, false, JSON_OPEN);
        } else {
            return false;
        }
        true
    }

    /// An `input_json_delta` up to its fragment; the first opens the `tool_use` block if
    /// [`Messages::open`] has not.
    fn tool_open(&mut self, out: &mut BytesMut) {
        self.tool_block(out);
        self.start_delta(out);
        put(
            out,
            ",\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"",
        );
    }

    pub(super) fn delta(&mut self, out: &mut BytesMut, reasoning: bool, words: Words) {
        if !reasoning && self.is_tool() {
            self.tool_open(out);
            open_tool_arguments(&mut self.keyed, &self.shape, out);
            words.write_to(out);
            put(out, "\"}}\n\n");
            return;
        }
        if !reasoning && self.shape.is_json() && !self.opened {
            self.opened = true;
            self.raw_delta(out, false, JSON_OPEN);
        }
        self.delta_open(out, reasoning);
        words.write_to(out);
        put(out, "\"}}\n\n");
    }

    pub(super) fn raw_delta(&mut self, out: &mut BytesMut, reasoning: bool, raw: &[u8]) {
        self.delta_open(out, reasoning);
        out.put_slice(raw);
        put(out, "\"}}\n\n");
    }

    pub(super) fn broken(&self, out: &mut BytesMut) {
        let index = self.block.map_or(0, |(index, _)| index);
        put(
            out,
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":",
        );
        put_num(out, u64::from(index));
        put(
            out,
            ",\"delta\":{\"type\":\"text_delta\",\"text\":\" cut\n\n",
        );
    }

    pub(super) fn finish(&mut self, out: &mut BytesMut, tally: &Tally) {
        let tool = self.opened && self.is_tool();
        if tool {
            self.tool_open(out);
            out.put_slice(JSON_CLOSE);
            put(out, "\"}}\n\n");
        } else if self.opened && self.shape == Shape::Json {
            self.raw_delta(out, false, JSON_CLOSE);
        }
        self.close_block(out);
        put(
            out,
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"",
        );
        put(out, stop_reason(tally.finish, tool));
        put(
            out,
            "\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":",
        );
        put_num(out, u64::from(tally.usage_output));
        put(
            out,
            "}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        );
    }

    pub(super) fn full(&self, tally: &Tally, reasoning: &[u8], answer: &[u8]) -> BytesMut {
        let mut out = BytesMut::with_capacity(reasoning.len() + answer.len() + 320);
        put(&mut out, "{\"id\":\"");
        put(&mut out, &self.id);
        put(
            &mut out,
            "\",\"type\":\"message\",\"role\":\"assistant\",\"model\":",
        );
        put(&mut out, &self.model_json);
        put(&mut out, ",\"content\":[");
        if !reasoning.is_empty() {
            put(&mut out, "{\"type\":\"thinking\",\"thinking\":\"");
            out.put_slice(reasoning);
            put(&mut out, "\",\"signature\":\"bW9jaw==\"},");
        }
        let tool = match &self.shape {
            Shape::Tool { name, key } if !answer.is_empty() => Some((name, key)),
            _ => None,
        };
        if let Some((name, key)) = tool {
            put(&mut out, "{\"type\":\"tool_use\",\"id\":\"toolu_mock_");
            put(&mut out, self.id.trim_start_matches("msg_mock_"));
            put(&mut out, "\",\"name\":\"");
            put(&mut out, name);
            put(&mut out, "\",\"input\":{\"");
            put(&mut out, key);
            put(&mut out, "\":\"");
            out.put_slice(answer);
            put(&mut out, "\"}}");
        } else {
            put(&mut out, "{\"type\":\"text\",\"text\":\"");
            if self.shape.is_json() {
                out.put_slice(&self.shape.json_answer(answer));
            } else {
                out.put_slice(answer);
            }
            put(&mut out, "\"}");
        }
        put(&mut out, "],\"stop_reason\":\"");
        put(&mut out, stop_reason(tally.finish, tool.is_some()));
        put(&mut out, "\",\"stop_sequence\":null,\"usage\":");
        input_usage(&mut out, tally);
        put(&mut out, ",\"output_tokens\":");
        put_num(&mut out, u64::from(tally.usage_output));
        put(&mut out, "}}");
        out
    }
}

/// The opening of a `usage` object up to its input fields: as Anthropic counts them,
/// `input_tokens` leaves out the tokens read from or written to the prompt cache.
fn input_usage(out: &mut BytesMut, tally: &Tally) {
    put(out, "{\"input_tokens\":");
    put_num(
        out,
        u64::from(tally.input - tally.cache_read - tally.cache_write),
    );
    put(out, ",\"cache_creation_input_tokens\":");
    put_num(out, u64::from(tally.cache_write));
    put(out, ",\"cache_read_input_tokens\":");
    put_num(out, u64::from(tally.cache_read));
}

fn stop_reason(finish: Finish, tool: bool) -> &'static str {
    match finish {
        Finish::Stop if tool => "tool_use",
        Finish::Stop => "end_turn",
        Finish::Length => "max_tokens",
    }
}
