//! The OpenAI Responses API: named SSE events from `response.created` to `response.completed`
//! (or `response.incomplete` when the token cap cut the answer), a reasoning item before the
//! message for reasoning answers, a `function_call` item for a tool call; or one response
//! object.

use bytes::{BufMut, BytesMut};

use super::super::shape::{JSON_CLOSE, JSON_OPEN, Shape};
use super::{Finish, Stamp, Tally, Words, open_tool_arguments, put, put_num};

pub(super) const ERROR_EVENT: &[u8] = b"event: error\ndata: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"mock overloaded\",\"param\":null}\n\n";

/// The output item being written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    Reasoning,
    Message,
    Call,
}

/// Encoder for one Responses API response; tracks the open output item.
pub(crate) struct Responses {
    /// `resp_mock_<n>`; items are `rs_`, `msg_`, `fc_mock_<n>`.
    seq: u64,
    created: u64,
    model_json: String,
    pub(super) shape: Shape,
    /// The open item and its `output_index`.
    item: Option<(Open, u32)>,
    next_index: u32,
    /// The next `sequence_number`.
    event_no: u64,
    /// The JSON answer or the function call has been opened.
    opened: bool,
    /// The function call's arguments have begun (`{"<key>":"`).
    keyed: bool,
}

impl Responses {
    pub(super) fn new(stamp: &Stamp<'_>) -> Responses {
        Responses {
            seq: stamp.seq,
            created: stamp.created,
            model_json: stamp.model_json.to_owned(),
            shape: Shape::Text,
            item: None,
            next_index: 0,
            event_no: 0,
            opened: false,
            keyed: false,
        }
    }

    /// `event: <kind>\ndata: {"type":"<kind>","sequence_number":<n>` — the caller goes on.
    fn event(&mut self, out: &mut BytesMut, kind: &str) {
        put(out, "event: ");
        put(out, kind);
        put(out, "\ndata: {\"type\":\"");
        put(out, kind);
        put(out, "\",\"sequence_number\":");
        put_num(out, self.event_no);
        self.event_no += 1;
    }

    /// The response object's fields up to its status: `"response":{"id":…,"status":"`.
    fn response_head(&self, out: &mut BytesMut) {
        put(out, ",\"response\":{\"id\":\"resp_mock_");
        put_num(out, self.seq);
        put(out, "\",\"object\":\"response\",\"created_at\":");
        put_num(out, self.created);
        put(out, ",\"model\":");
        put(out, &self.model_json);
        put(out, ",\"status\":\"");
    }

    pub(super) fn start(&mut self, out: &mut BytesMut) {
        for kind in ["response.created", "response.in_progress"] {
            self.event(out, kind);
            self.response_head(out);
            put(out, "in_progress\",\"output\":[],\"usage\":null}}\n\n");
        }
    }

    /// An item's id: `<prefix>_mock_<n>`.
    fn item_id(&self, out: &mut BytesMut, open: Open) {
        put(
            out,
            match open {
                Open::Reasoning => "rs_mock_",
                Open::Message => "msg_mock_",
                Open::Call => "fc_mock_",
            },
        );
        put_num(out, self.seq);
    }

    /// The item object of `open`, without its closing brace.
    fn item_body(&self, out: &mut BytesMut, open: Open, status: &str) {
        put(out, "{\"id\":\"");
        self.item_id(out, open);
        match open {
            Open::Reasoning => put(out, "\",\"type\":\"reasoning\",\"summary\":[]"),
            Open::Message => {
                put(
                    out,
                    "\",\"type\":\"message\",\"role\":\"assistant\",\"status\":\"",
                );
                put(out, status);
                put(out, "\",\"content\":[]");
            }
            Open::Call => {
                put(
                    out,
                    "\",\"type\":\"function_call\",\"call_id\":\"call_mock_",
                );
                put_num(out, self.seq);
                put(out, "\",\"name\":\"");
                if let Shape::Tool { name, .. } = &self.shape {
                    put(out, name);
                }
                put(out, "\",\"arguments\":\"\",\"status\":\"");
                put(out, status);
                put(out, "\"");
            }
        }
    }

    /// Makes `open` the open item, closing another first.
    fn ensure(&mut self, out: &mut BytesMut, open: Open) -> u32 {
        if let Some((current, index)) = self.item
            && current == open
        {
            return index;
        }
        self.close(out);
        let index = self.next_index;
        self.next_index += 1;
        self.item = Some((open, index));
        self.event(out, "response.output_item.added");
        put(out, ",\"output_index\":");
        put_num(out, u64::from(index));
        put(out, ",\"item\":");
        self.item_body(out, open, "in_progress");
        put(out, "}}\n\n");
        index
    }

    fn close(&mut self, out: &mut BytesMut) {
        let Some((open, index)) = self.item.take() else {
            return;
        };
        self.event(out, "response.output_item.done");
        put(out, ",\"output_index\":");
        put_num(out, u64::from(index));
        put(out, ",\"item\":");
        self.item_body(out, open, "completed");
        put(out, "}}\n\n");
    }

    /// A delta event of the right kind up to its text: the caller writes it and `"}\n\n`.
    fn delta_open(&mut self, out: &mut BytesMut, open: Open) {
        let index = self.ensure(out, open);
        self.event(
            out,
            match open {
                Open::Reasoning => "response.reasoning_summary_text.delta",
                Open::Message => "response.output_text.delta",
                Open::Call => "response.function_call_arguments.delta",
            },
        );
        put(out, ",\"item_id\":\"");
        self.item_id(out, open);
        put(out, "\",\"output_index\":");
        put_num(out, u64::from(index));
        put(
            out,
            match open {
                Open::Reasoning => ",\"summary_index\":0,\"delta\":\"",
                Open::Message => ",\"content_index\":0,\"delta\":\"",
                Open::Call => ",\"delta\":\"",
            },
        );
    }

    fn is_tool(&self) -> bool {
        matches!(self.shape, Shape::Tool { .. })
    }

    /// The opening of a JSON answer or of the function call, alone.
    pub(super) fn open(&mut self, out: &mut BytesMut) -> bool {
        if self.opened {
            return false;
        }
        if self.is_tool() {
            self.opened = true;
            self.ensure(out, Open::Call);
        } else if self.shape.is_json() {
            self.opened = true;
            self.raw_delta(out, false, JSON_OPEN);
        } else {
            return false;
        }
        true
    }

    pub(super) fn delta(&mut self, out: &mut BytesMut, reasoning: bool, words: Words) {
        if !reasoning && self.is_tool() {
            self.opened = true;
            self.delta_open(out, Open::Call);
            open_tool_arguments(&mut self.keyed, &self.shape, out);
            words.write_to(out);
            put(out, "\"}\n\n");
            return;
        }
        if !reasoning && self.shape.is_json() && !self.opened {
            self.opened = true;
            self.raw_delta(out, false, JSON_OPEN);
        }
        let open = if reasoning {
            Open::Reasoning
        } else {
            Open::Message
        };
        self.delta_open(out, open);
        words.write_to(out);
        put(out, "\"}\n\n");
    }

    pub(super) fn raw_delta(&mut self, out: &mut BytesMut, reasoning: bool, raw: &[u8]) {
        let open = if reasoning {
            Open::Reasoning
        } else {
            Open::Message
        };
        self.delta_open(out, open);
        out.put_slice(raw);
        put(out, "\"}\n\n");
    }

    pub(super) fn broken(&self, out: &mut BytesMut) {
        put(
            out,
            "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":\"",
        );
        self.item_id(out, Open::Message);
        put(out, "\",\"delta\":\" cut\n\n");
    }

    pub(super) fn finish(&mut self, out: &mut BytesMut, tally: &Tally) {
        if self.opened && self.is_tool() {
            self.delta_open(out, Open::Call);
            out.put_slice(JSON_CLOSE);
            put(out, "\"}\n\n");
        } else if self.opened && self.shape == Shape::Json {
            self.raw_delta(out, false, JSON_CLOSE);
        }
        self.close(out);
        let terminal = match tally.finish {
            Finish::Stop => "response.completed",
            Finish::Length => "response.incomplete",
        };
        self.event(out, terminal);
        self.response_head(out);
        end_fields(out, tally);
        put(out, ",\"output\":[]}}\n\n");
    }

    pub(super) fn full(&self, tally: &Tally, reasoning: &[u8], answer: &[u8]) -> BytesMut {
        let mut out = BytesMut::with_capacity(reasoning.len() + answer.len() + 400);
        put(&mut out, "{\"id\":\"resp_mock_");
        put_num(&mut out, self.seq);
        put(&mut out, "\",\"object\":\"response\",\"created_at\":");
        put_num(&mut out, self.created);
        put(&mut out, ",\"model\":");
        put(&mut out, &self.model_json);
        put(&mut out, ",\"status\":\"");
        end_fields(&mut out, tally);
        put(&mut out, ",\"output\":[");
        if !reasoning.is_empty() {
            // The summary holds the reasoning text, as OpenAI's reasoning items do.
            put(&mut out, "{\"id\":\"rs_mock_");
            put_num(&mut out, self.seq);
            put(
                &mut out,
                "\",\"type\":\"reasoning\",\"summary\":[{\"type\":\"summary_text\",\"text\":\"",
            );
            out.put_slice(reasoning);
            put(&mut out, "\"}]},");
        }
        match &self.shape {
            Shape::Tool { name, key } if !answer.is_empty() => {
                put(&mut out, "{\"id\":\"fc_mock_");
                put_num(&mut out, self.seq);
                put(
                    &mut out,
                    "\",\"type\":\"function_call\",\"call_id\":\"call_mock_",
                );
                put_num(&mut out, self.seq);
                put(&mut out, "\",\"name\":\"");
                put(&mut out, name);
                put(&mut out, "\",\"arguments\":\"{\\\"");
                put(&mut out, key);
                put(&mut out, "\\\":\\\"");
                out.put_slice(answer);
                out.put_slice(JSON_CLOSE);
                put(&mut out, "\",\"status\":\"completed\"}");
            }
            shape => {
                put(&mut out, "{\"id\":\"msg_mock_");
                put_num(&mut out, self.seq);
                put(
                    &mut out,
                    "\",\"type\":\"message\",\"role\":\"assistant\",\"status\":\"completed\",\
                     \"content\":[{\"type\":\"output_text\",\"annotations\":[],\"text\":\"",
                );
                if shape.is_json() {
                    out.put_slice(&shape.json_answer(answer));
                } else {
                    out.put_slice(answer);
                }
                put(&mut out, "\"}]}");
            }
        }
        put(&mut out, "]}");
        out
    }
}

/// From the status on: `completed"` or `incomplete"` with its reason, then the usage.
fn end_fields(out: &mut BytesMut, tally: &Tally) {
    match tally.finish {
        Finish::Stop => put(out, "completed\",\"incomplete_details\":null"),
        Finish::Length => put(
            out,
            "incomplete\",\"incomplete_details\":{\"reason\":\"max_output_tokens\"}",
        ),
    }
    put(out, ",\"error\":null,\"usage\":");
    usage(out, tally);
}

fn usage(out: &mut BytesMut, tally: &Tally) {
    // `input_tokens` counts the cached tokens too, and `output_tokens` the reasoning ones.
    put(out, "{\"input_tokens\":");
    put_num(out, u64::from(tally.input));
    if tally.caches {
        put(out, ",\"input_tokens_details\":{\"cached_tokens\":");
        put_num(out, u64::from(tally.cache_read));
        put(out, "}");
    }
    put(out, ",\"output_tokens\":");
    put_num(out, u64::from(tally.usage_output));
    put(out, ",\"output_tokens_details\":{\"reasoning_tokens\":");
    put_num(out, u64::from(tally.reasoning));
    put(out, "},\"total_tokens\":");
    put_num(out, u64::from(tally.input) + u64::from(tally.usage_output));
    put(out, "}");
}
