//! Ollama `/api/chat`: one JSON object per line, the last with `done: true` and the server's
//! own counts and timings, or one JSON body.

use bytes::{BufMut, BytesMut};

use super::super::shape::{JSON_CLOSE, JSON_OPEN, Shape};
use super::{Finish, Stamp, Tally, Words, put, put_num};

pub(super) const ERROR_LINE: &[u8] = b"{\"error\":\"mock overloaded\"}\n";

/// Encoder for one Ollama response.
pub(crate) struct Chat {
    /// `{"model":…,"created_at":…,"message":{"role":"assistant","content":` — every line's start.
    head: String,
    pub(super) shape: Shape,
    /// The JSON answer has been opened.
    opened: bool,
    /// A tool call's words so far: Ollama sends a call whole, once it is complete.
    tool_words: Option<Words>,
}

impl Chat {
    pub(super) fn new(stamp: &Stamp<'_>) -> Chat {
        Chat {
            head: format!(
                "{{\"model\":{},\"created_at\":\"{}\",\"message\":{{\"role\":\"assistant\",\"content\":",
                stamp.model_json, stamp.created_at
            ),
            shape: Shape::Text,
            opened: false,
            tool_words: None,
        }
    }

    fn delta_open(&self, out: &mut BytesMut, reasoning: bool) {
        put(out, &self.head);
        put(
            out,
            if reasoning {
                "\"\",\"thinking\":\""
            } else {
                "\""
            },
        );
    }

    /// A JSON answer's opening, alone; a tool call goes out whole at the end.
    pub(super) fn open(&mut self, out: &mut BytesMut) -> bool {
        if !self.shape.is_json() || self.opened {
            return false;
        }
        self.opened = true;
        self.raw_delta(out, false, JSON_OPEN);
        true
    }

    pub(super) fn delta(&mut self, out: &mut BytesMut, reasoning: bool, words: Words) {
        if !reasoning && matches!(self.shape, Shape::Tool { .. }) {
            self.tool_words = Some(match self.tool_words {
                Some(so_far) => Words {
                    count: so_far.count + words.count,
                    ..so_far
                },
                None => words,
            });
            return;
        }
        if !reasoning && self.shape.is_json() && !self.opened {
            self.opened = true;
            self.raw_delta(out, false, JSON_OPEN);
        }
        self.delta_open(out, reasoning);
        words.write_to(out);
        put(out, "\"},\"done\":false}\n");
    }

    pub(super) fn raw_delta(&self, out: &mut BytesMut, reasoning: bool, raw: &[u8]) {
        self.delta_open(out, reasoning);
        out.put_slice(raw);
        put(out, "\"},\"done\":false}\n");
    }

    pub(super) fn broken(&self, out: &mut BytesMut) {
        put(out, &self.head);
        put(out, "\" cut\n");
    }

    /// `"","tool_calls":[…]` after a message's `content` key: one whole call with `arguments`.
    fn tool_calls(&self, out: &mut BytesMut, arguments: &[u8]) {
        if let Shape::Tool { name, key } = &self.shape {
            put(out, "\"\",\"tool_calls\":[{\"function\":{\"name\":\"");
            put(out, name);
            put(out, "\",\"arguments\":{\"");
            put(out, key);
            put(out, "\":\"");
            out.put_slice(arguments);
            put(out, "\"}}}]");
        }
    }

    pub(super) fn finish(&mut self, out: &mut BytesMut, tally: &Tally) {
        if let Some(words) = self.tool_words.take() {
            let mut arguments = BytesMut::new();
            words.write_to(&mut arguments);
            put(out, &self.head);
            self.tool_calls(out, &arguments);
            put(out, "},\"done\":false}\n");
        } else if self.opened && self.shape == Shape::Json {
            self.raw_delta(out, false, JSON_CLOSE);
        }
        put(out, &self.head);
        put(out, "\"\"},");
        done_fields(out, tally);
        put(out, "\n");
    }

    pub(super) fn full(&self, tally: &Tally, reasoning: &[u8], answer: &[u8]) -> BytesMut {
        let mut out =
            BytesMut::with_capacity(self.head.len() + reasoning.len() + answer.len() + 320);
        put(&mut out, &self.head);
        match &self.shape {
            Shape::Tool { .. } if !answer.is_empty() => self.tool_calls(&mut out, answer),
            Shape::Json | Shape::BrokenJson => {
                put(&mut out, "\"");
                out.put_slice(&self.shape.json_answer(answer));
                put(&mut out, "\"");
            }
            _ => {
                put(&mut out, "\"");
                out.put_slice(answer);
                put(&mut out, "\"");
            }
        }
        if !reasoning.is_empty() {
            put(&mut out, ",\"thinking\":\"");
            out.put_slice(reasoning);
            put(&mut out, "\"");
        }
        put(&mut out, "},");
        done_fields(&mut out, tally);
        out
    }
}

fn done_fields(out: &mut BytesMut, tally: &Tally) {
    put(out, "\"done_reason\":\"");
    put(
        out,
        match tally.finish {
            Finish::Stop => "stop",
            Finish::Length => "length",
        },
    );
    put(out, "\",\"done\":true,\"total_duration\":");
    put_num(out, tally.timings.total_ns);
    put(out, ",\"load_duration\":0,\"prompt_eval_count\":");
    put_num(out, u64::from(tally.input));
    // Newer Ollama counts cached tokens in `prompt_eval_count` and apart, as here.
    if tally.cache_read > 0 {
        put(out, ",\"prompt_eval_cached_count\":");
        put_num(out, u64::from(tally.cache_read));
    }
    put(out, ",\"prompt_eval_duration\":");
    put_num(out, tally.timings.prompt_eval_ns);
    put(out, ",\"eval_count\":");
    put_num(out, u64::from(tally.usage_output));
    put(out, ",\"eval_duration\":");
    put_num(out, tally.timings.eval_ns);
    put(out, "}");
}
