//! OpenAI chat completions and legacy completions, streamed as SSE `data:` chunks (ending in
//! `[DONE]`) or as one JSON body.

use bytes::{BufMut, BytesMut};

use super::super::shape::{JSON_CLOSE, JSON_OPEN, Shape};
use super::{Finish, Stamp, Tally, Words, put, put_num};

pub(super) const ERROR_EVENT: &[u8] =
    b"data: {\"error\":{\"message\":\"mock overloaded\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n";

const TAIL: &str = "\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";
const TEXT_TAIL: &str = "\",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}\n\n";

/// Encoder for one OpenAI response; `legacy` selects `/v1/completions` (`choices[0].text`).
pub(crate) struct OpenAi {
    legacy: bool,
    /// `data: {"id":…,"object":…,"created":…,"model":…,"choices":[` — the start of every chunk.
    head: String,
    /// The same fields for a non-streaming body: `{"id":…,"choices":[`.
    body_head: String,
    pub(super) shape: Shape,
    /// The JSON answer or tool call has been opened (its first answer token sent).
    opened: bool,
    seq: u64,
}

const TOOL_TAIL: &str = "\"}}]},\"logprobs\":null,\"finish_reason\":null}]}\n\n";

impl OpenAi {
    pub(super) fn new(legacy: bool, stamp: &Stamp<'_>) -> OpenAi {
        let (id, chunk_object, body_object) = if legacy {
            ("cmpl", "text_completion", "text_completion")
        } else {
            ("chatcmpl", "chat.completion.chunk", "chat.completion")
        };
        let fields = |object: &str| {
            format!(
                "{{\"id\":\"{id}-mock-{}\",\"object\":\"{object}\",\"created\":{},\"model\":{},\"choices\":[",
                stamp.seq, stamp.created, stamp.model_json
            )
        };
        OpenAi {
            legacy,
            head: format!("data: {}", fields(chunk_object)),
            body_head: fields(body_object),
            shape: Shape::Text,
            opened: false,
            seq: stamp.seq,
        }
    }

    pub(super) fn start(&self, out: &mut BytesMut) {
        // Legacy completions have no role chunk.
        if !self.legacy {
            put(out, &self.head);
            put(
                out,
                "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
            );
        }
    }

    fn delta_open(&self, out: &mut BytesMut, reasoning: bool) {
        put(out, &self.head);
        put(
            out,
            match (self.legacy, reasoning) {
                (true, _) => "{\"text\":\"",
                (false, false) => "{\"index\":0,\"delta\":{\"content\":\"",
                (false, true) => "{\"index\":0,\"delta\":{\"reasoning_content\":\"",
            },
        );
    }

    fn delta_close(&self, out: &mut BytesMut) {
        put(out, if self.legacy { TEXT_TAIL } else { TAIL });
    }

    /// A JSON answer's opening, alone; a tool call opens with its first words.
    pub(super) fn open(&mut self, out: &mut BytesMut) -> bool {
        if !self.shape.is_json() || self.opened {
            return false;
        }
        self.opened = true;
        self.raw_delta(out, false, JSON_OPEN);
        true
    }

    pub(super) fn delta(&mut self, out: &mut BytesMut, reasoning: bool, words: Words) {
        if !reasoning && !self.legacy && matches!(self.shape, Shape::Tool { .. }) {
            self.tool_open(out);
            words.write_to(out);
            put(out, TOOL_TAIL);
            return;
        }
        if !reasoning && self.shape.is_json() && !self.opened {
            self.opened = true;
            self.raw_delta(out, false, JSON_OPEN);
        }
        self.delta_open(out, reasoning);
        words.write_to(out);
        self.delta_close(out);
    }

    /// The start of a `tool_calls` delta up to its arguments' text: the first names the call.
    fn tool_open(&mut self, out: &mut BytesMut) {
        put(out, &self.head);
        if self.opened {
            put(
                out,
                "{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"",
            );
            return;
        }
        self.opened = true;
        let Shape::Tool { name, key } = &self.shape else {
            return;
        };
        put(
            out,
            "{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_mock_",
        );
        put_num(out, self.seq);
        put(out, "\",\"type\":\"function\",\"function\":{\"name\":\"");
        put(out, name);
        put(out, "\",\"arguments\":\"{\\\"");
        put(out, key);
        put(out, "\\\":\\\"");
    }

    pub(super) fn raw_delta(&self, out: &mut BytesMut, reasoning: bool, raw: &[u8]) {
        self.delta_open(out, reasoning);
        out.put_slice(raw);
        self.delta_close(out);
    }

    pub(super) fn broken(&self, out: &mut BytesMut) {
        self.delta_open(out, false);
        put(out, " cut\n\n");
    }

    pub(super) fn finish(&mut self, out: &mut BytesMut, tally: &Tally) {
        let tool = self.opened && matches!(self.shape, Shape::Tool { .. });
        if tool {
            self.tool_open(out);
            out.put_slice(JSON_CLOSE);
            put(out, TOOL_TAIL);
        } else if self.opened && self.shape == Shape::Json {
            self.raw_delta(out, false, JSON_CLOSE);
        }
        put(out, &self.head);
        put(
            out,
            if self.legacy {
                "{\"text\":\"\",\"index\":0,\"logprobs\":null,\"finish_reason\":\""
            } else {
                "{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\""
            },
        );
        put(out, finish_reason(tally.finish, tool));
        put(out, "\"}]}\n\n");
        if tally.include_usage {
            put(out, &self.head);
            put(out, "],\"usage\":");
            usage(out, tally);
            put(out, "}\n\n");
        }
        put(out, "data: [DONE]\n\n");
    }

    pub(super) fn full(&self, tally: &Tally, reasoning: &[u8], answer: &[u8]) -> BytesMut {
        let mut out =
            BytesMut::with_capacity(self.body_head.len() + reasoning.len() + answer.len() + 256);
        put(&mut out, &self.body_head);
        let json;
        let answer = if self.shape.is_json() {
            json = self.shape.json_answer(answer);
            &json[..]
        } else {
            answer
        };
        let tool = match &self.shape {
            Shape::Tool { name, key } if !self.legacy && !answer.is_empty() => Some((name, key)),
            _ => None,
        };
        if self.legacy {
            put(&mut out, "{\"text\":\"");
            out.put_slice(answer);
            put(&mut out, "\",\"index\":0,\"logprobs\":null");
        } else {
            put(
                &mut out,
                "{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":",
            );
            if let Some((name, key)) = tool {
                put(&mut out, "null,\"tool_calls\":[{\"id\":\"call_mock_");
                put_num(&mut out, self.seq);
                put(
                    &mut out,
                    "\",\"type\":\"function\",\"function\":{\"name\":\"",
                );
                put(&mut out, name);
                put(&mut out, "\",\"arguments\":\"{\\\"");
                put(&mut out, key);
                put(&mut out, "\\\":\\\"");
                out.put_slice(answer);
                out.put_slice(JSON_CLOSE);
                put(&mut out, "\"}}]");
            } else {
                put(&mut out, "\"");
                out.put_slice(answer);
                put(&mut out, "\"");
            }
            if !reasoning.is_empty() {
                put(&mut out, ",\"reasoning_content\":\"");
                out.put_slice(reasoning);
                put(&mut out, "\"");
            }
            put(&mut out, "},\"logprobs\":null");
        }
        put(&mut out, ",\"finish_reason\":\"");
        put(&mut out, finish_reason(tally.finish, tool.is_some()));
        put(&mut out, "\"}],\"usage\":");
        usage(&mut out, tally);
        put(&mut out, "}");
        out
    }
}

fn finish_reason(finish: Finish, tool: bool) -> &'static str {
    match finish {
        Finish::Stop if tool => "tool_calls",
        Finish::Stop => "stop",
        Finish::Length => "length",
    }
}

fn usage(out: &mut BytesMut, tally: &Tally) {
    // `prompt_tokens` counts the cached tokens too; OpenAI reports no cache writes.
    put(out, "{\"prompt_tokens\":");
    put_num(out, u64::from(tally.input));
    put(out, ",\"completion_tokens\":");
    put_num(out, u64::from(tally.usage_output));
    put(out, ",\"total_tokens\":");
    put_num(out, u64::from(tally.input) + u64::from(tally.usage_output));
    // Said even when nothing was cached, as OpenAI and llama.cpp do: a 0 is a cold prompt,
    // not an unknown.
    if tally.caches {
        put(out, ",\"prompt_tokens_details\":{\"cached_tokens\":");
        put_num(out, u64::from(tally.cache_read));
        put(out, "}");
    }
    if tally.reasoning > 0 {
        put(out, ",\"completion_tokens_details\":{\"reasoning_tokens\":");
        put_num(out, u64::from(tally.reasoning));
        put(out, "}");
    }
    put(out, "}");
}
