//! Ollama `/api/chat`: one JSON object per line, the last with `done: true` and the server's
//! own counts and timings, or one JSON body.

use bytes::{BufMut, BytesMut};

use super::{Finish, Stamp, Tally, Words, put, put_num};

pub(super) const ERROR_LINE: &[u8] = b"{\"error\":\"mock overloaded\"}\n";

/// Encoder for one Ollama response.
pub(crate) struct Chat {
    /// `{"model":…,"created_at":…,"message":{"role":"assistant","content":` — every line's start.
    head: String,
}

impl Chat {
    pub(super) fn new(stamp: &Stamp<'_>) -> Chat {
        Chat {
            head: format!(
                "{{\"model\":{},\"created_at\":\"{}\",\"message\":{{\"role\":\"assistant\",\"content\":",
                stamp.model_json, stamp.created_at
            ),
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

    pub(super) fn delta(&self, out: &mut BytesMut, reasoning: bool, words: Words) {
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

    pub(super) fn finish(&self, out: &mut BytesMut, tally: &Tally) {
        put(out, &self.head);
        put(out, "\"\"},");
        done_fields(out, tally);
        put(out, "\n");
    }

    pub(super) fn full(&self, tally: &Tally, reasoning: &[u8], answer: &[u8]) -> BytesMut {
        let mut out =
            BytesMut::with_capacity(self.head.len() + reasoning.len() + answer.len() + 320);
        put(&mut out, &self.head);
        put(&mut out, "\"");
        out.put_slice(answer);
        put(&mut out, "\"");
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
