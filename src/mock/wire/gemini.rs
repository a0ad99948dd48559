//! Gemini `streamGenerateContent?alt=sse`: one `data:` chunk per delta (thoughts as parts with
//! `"thought":true`), CRLF-separated as Google's servers send them, the last carrying the
//! `finishReason` and the `usageMetadata`; or one `GenerateContentResponse` body. Gemini has no
//! end-of-stream marker: the body ends after the finishing chunk. A tool call is a
//! `functionCall` part, sent whole (its `args` an object) once generated, as Gemini sends one.

use bytes::{BufMut, BytesMut};

use super::super::shape::Shape;
use super::{Finish, Stamp, Tally, Words, put, put_num};

pub(super) const ERROR_EVENT: &[u8] =
    b"data: {\"error\":{\"code\":503,\"message\":\"mock overloaded\",\"status\":\"UNAVAILABLE\"}}\r\n\r\n";

const PART_OPEN: &str = "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"";

/// Encoder for one Gemini response. JSON answers are not mocked for Gemini: it answers text or
/// a tool call.
pub(crate) struct Generate {
    /// `],"role":"model"},"index":0}],"modelVersion":…,"responseId":…}` after a delta's parts.
    tail: String,
    /// `,"modelVersion":…,"responseId":…}` after the usage.
    ids: String,
    pub(super) shape: Shape,
    /// The words of a tool call's argument so far: it goes out whole at the end.
    tool_words: Option<Words>,
}

impl Generate {
    pub(super) fn new(stamp: &Stamp<'_>) -> Generate {
        let ids = format!(
            ",\"modelVersion\":{},\"responseId\":\"mock-{}\"}}",
            stamp.model_json, stamp.seq
        );
        Generate {
            tail: format!("],\"role\":\"model\"}},\"index\":0}}]{ids}"),
            ids,
            shape: Shape::Text,
            tool_words: None,
        }
    }

    fn close_part(out: &mut BytesMut, reasoning: bool) {
        put(
            out,
            if reasoning {
                "\",\"thought\":true}"
            } else {
                "\"}"
            },
        );
    }

    /// `{"functionCall":{"name":…,"args":{"<key>":"<arguments>"}}}`: one whole call.
    fn function_call(&self, out: &mut BytesMut, arguments: &[u8]) {
        if let Shape::Tool { name, key } = &self.shape {
            put(out, "{\"functionCall\":{\"name\":\"");
            put(out, name);
            put(out, "\",\"args\":{\"");
            put(out, key);
            put(out, "\":\"");
            out.put_slice(arguments);
            put(out, "\"}}}");
        }
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
        put(out, "data: ");
        put(out, PART_OPEN);
        words.write_to(out);
        Self::close_part(out, reasoning);
        put(out, &self.tail);
        put(out, "\r\n\r\n");
    }

    pub(super) fn raw_delta(&self, out: &mut BytesMut, reasoning: bool, raw: &[u8]) {
        put(out, "data: ");
        put(out, PART_OPEN);
        out.put_slice(raw);
        Self::close_part(out, reasoning);
        put(out, &self.tail);
        put(out, "\r\n\r\n");
    }

    pub(super) fn broken(out: &mut BytesMut) {
        put(out, "data: ");
        put(out, PART_OPEN);
        put(out, " cut\r\n\r\n");
    }

    pub(super) fn finish(&mut self, out: &mut BytesMut, tally: &Tally) {
        if let Some(words) = self.tool_words.take() {
            let mut arguments = BytesMut::new();
            words.write_to(&mut arguments);
            put(out, "data: {\"candidates\":[{\"content\":{\"parts\":[");
            self.function_call(out, &arguments);
            put(out, &self.tail);
            put(out, "\r\n\r\n");
        }
        put(
            out,
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\"}],\"role\":\"model\"},",
        );
        finish_and_usage(out, tally);
        put(out, &self.ids);
        put(out, "\r\n\r\n");
    }

    pub(super) fn full(&self, tally: &Tally, reasoning: &[u8], answer: &[u8]) -> BytesMut {
        let mut out = BytesMut::with_capacity(reasoning.len() + answer.len() + 320);
        put(&mut out, "{\"candidates\":[{\"content\":{\"parts\":[");
        if !reasoning.is_empty() {
            put(&mut out, "{\"text\":\"");
            out.put_slice(reasoning);
            put(&mut out, "\",\"thought\":true},");
        }
        if matches!(self.shape, Shape::Tool { .. }) && !answer.is_empty() {
            self.function_call(&mut out, answer);
        } else {
            put(&mut out, "{\"text\":\"");
            out.put_slice(answer);
            put(&mut out, "\"}");
        }
        put(&mut out, "],\"role\":\"model\"},");
        finish_and_usage(&mut out, tally);
        put(&mut out, &self.ids);
        out
    }
}

/// `"finishReason":…,"index":0}],"usageMetadata":{…}` as Gemini counts: `candidatesTokenCount`
/// leaves the thoughts out, `thoughtsTokenCount` has them, the prompt count holds the cached
/// tokens and `cachedContentTokenCount` names them when there are any.
fn finish_and_usage(out: &mut BytesMut, tally: &Tally) {
    put(out, "\"finishReason\":\"");
    put(
        out,
        match tally.finish {
            Finish::Stop => "STOP",
            Finish::Length => "MAX_TOKENS",
        },
    );
    put(
        out,
        "\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":",
    );
    put_num(out, u64::from(tally.input));
    // Under `zero_usage` the output is reported as 0, thoughts and all.
    let thoughts = if tally.usage_output == 0 {
        0
    } else {
        tally.reasoning.min(tally.usage_output)
    };
    put(out, ",\"candidatesTokenCount\":");
    put_num(out, u64::from(tally.usage_output - thoughts));
    if thoughts > 0 {
        put(out, ",\"thoughtsTokenCount\":");
        put_num(out, u64::from(thoughts));
    }
    if tally.cache_read > 0 {
        put(out, ",\"cachedContentTokenCount\":");
        put_num(out, u64::from(tally.cache_read));
    }
    put(out, ",\"totalTokenCount\":");
    put_num(out, u64::from(tally.input) + u64::from(tally.usage_output));
    put(out, "}");
}
