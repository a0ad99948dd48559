//! Decoding a response body into events: bytes in, content (merged per read), usage, server
//! timings out; and the final events, with token counts estimated where the server gave none.

use compact_str::CompactString;

use super::answer::Answer;
use super::{Emitter, failed};
use crate::clock::RaceClock;
use crate::engine::read_note::ReadNote;
use crate::engine::target::Target;
use crate::event::{ErrorClass, EventKind, Offset, PromptId, TokenSource, ToolCall};
use crate::protocol::{Decoded, Part, ReadParts};
use crate::tokenizer::count_tokens_aside;

/// Text kept per request to estimate token counts when the server reports none.
const CAPTURE_LIMIT: usize = 4 * 1024 * 1024;

/// Content of one read waiting to be sent as one event: text of one kind (answer, reasoning,
/// or one tool call's arguments) and the protocol events it came in.
struct Pending {
    text: CompactString,
    reasoning: bool,
    chunks: u32,
    tool: Option<ToolCall>,
}

/// How a response body ended.
pub(super) enum StreamEnd {
    Finished,
    Failed(ErrorClass, String),
}

/// The decoding side of one response: bytes in, events out.
pub(super) struct StreamState<'a> {
    out: &'a Emitter<'a>,
    decoder: Box<dyn crate::protocol::Decoder>,
    items: Vec<Decoded>,
    /// Content decoded from the current read, merged: it arrived together.
    pending: Option<Pending>,
    seen_content: bool,
    /// The read the bytes being decoded came in.
    read: ReadNote,
    ended: bool,
    /// The output count the server reported last, if any.
    usage_output: Option<u32>,
    usage_input: bool,
    /// The server's raw usage fields as last sent on: a provider that repeats the same usage
    /// in every chunk has them recorded once.
    usage_reported: Vec<(&'static str, u32)>,
    finish_reason: Option<String>,
    response_id: Option<String>,
    captured: String,
    /// The answer's text, kept when the request asked for JSON, to check it at the end.
    json_answer: Option<String>,
    /// The answer called a tool: an answer with no text besides is not checked as JSON.
    called_tool: bool,
    /// A session's turn: the answer's content (not its reasoning) and tool calls, handed back
    /// at its end.
    answer: Option<Answer>,
    prompt_text: &'a str,
    bytes: u64,
    last_bytes: Offset,
    /// What a body that ended too soon failed with: the protocol's words.
    cut_message: &'static str,
    /// A non-streamed response: its body is one protocol event, whatever parts (reasoning,
    /// text, tool calls) it holds, so it is one timing point.
    whole_body: bool,
    /// Embeddings: the inputs the request carried, and the dimension of the vectors that came
    /// back for them.
    inputs: Option<u32>,
    dimension: Option<u32>,
}

impl<'a> StreamState<'a> {
    pub(super) fn new(target: &'a Target, prompt: PromptId, out: &'a Emitter<'a>) -> Self {
        StreamState {
            out,
            decoder: target.protocol.decoder(target.stream),
            cut_message: target.protocol.cut_message(),
            whole_body: !target.stream,
            items: Vec::new(),
            pending: None,
            seen_content: false,
            read: ReadNote::default(),
            ended: false,
            usage_output: None,
            usage_input: false,
            usage_reported: Vec::new(),
            finish_reason: None,
            response_id: None,
            captured: String::new(),
            json_answer: target.wants_json.then(String::new),
            called_tool: false,
            answer: None,
            prompt_text: target.prompt_text(prompt),
            bytes: 0,
            last_bytes: Offset::ZERO,
            inputs: target.batch(),
            dimension: None,
        }
    }

    /// Where in the answer an error the server reported stood: a whole (non-streamed) body
    /// has no middle.
    fn where_in(&self) -> &'static str {
        if self.whole_body || self.inputs.is_some() {
            "in its answer"
        } else {
            "mid-stream"
        }
    }

    /// Collects the answer's content, for a session's next turn.
    pub(super) fn collecting(mut self) -> Self {
        self.answer = Some(Answer::default());
        self
    }

    /// A session's later turn: collects its answer, and estimates its input from the whole
    /// conversation `text`.
    pub(super) fn for_turn(mut self, text: &'a str) -> Self {
        self.prompt_text = text;
        self.collecting()
    }

    /// Decodes one network read stamped `t`, which `read` tells more of; returns how the
    /// stream ended if it did.
    pub(super) fn on_bytes(
        &mut self,
        t: Offset,
        bytes: &[u8],
        read: ReadNote,
    ) -> Option<StreamEnd> {
        self.read = read;
        self.bytes += bytes.len() as u64;
        self.last_bytes = t;
        // Events the decoder reads whole as a token each (a stream's usual chunk, one per
        // read when the server writes each on its own) skip the items; `feed` takes the rest,
        // an event at a time while whole events may follow. The read's content is one event.
        let mut parts = ReadParts::new(bytes);
        while let Some(part) = parts.next_part(&mut *self.decoder) {
            match part {
                Part::Content(event) => self.content(t, event.text, event.reasoning),
                Part::Feed(piece) => {
                    self.decoder.feed(piece, &mut self.items);
                    if let Some(end) = self.drain_items(t) {
                        self.flush(t);
                        return Some(end);
                    }
                }
            }
        }
        self.flush(t);
        None
    }

    pub(super) fn on_body_end(&mut self) -> StreamEnd {
        let t = self.last_bytes;
        self.decoder.finish(&mut self.items);
        if let Some(end) = self.drain(t) {
            return end;
        }
        if self.ended {
            StreamEnd::Finished
        } else {
            StreamEnd::Failed(ErrorClass::StreamCut, self.cut_message.to_string())
        }
    }

    /// Once content came, when bytes last did: the idle timeout runs from there.
    pub(super) fn idle_since(&self) -> Option<Offset> {
        self.seen_content.then_some(self.last_bytes)
    }

    /// Ends the stream on a stop, the content decoded so far sent first.
    pub(super) fn cancel(&mut self, clock: &RaceClock) {
        self.flush(clock.now());
        self.out
            .emit(clock.now(), EventKind::Cancelled { bytes: self.bytes });
    }

    fn drain(&mut self, t: Offset) -> Option<StreamEnd> {
        let result = self.drain_items(t);
        self.flush(t);
        result
    }

    /// The decoded items in order; content stays pending, to join what follows in the read.
    fn drain_items(&mut self, t: Offset) -> Option<StreamEnd> {
        let mut items = std::mem::take(&mut self.items);
        let mut result = None;
        for item in items.drain(..) {
            match item {
                Decoded::Content { text, reasoning } => self.content(t, text, reasoning),
                Decoded::ToolCall {
                    index,
                    id,
                    name,
                    arguments,
                } => {
                    // The arguments are generated tokens: an estimate counts them.
                    self.capture(&arguments);
                    self.called_tool = true;
                    if let Some(answer) = self.answer.as_mut() {
                        answer.push_tool(index, name.as_deref(), &arguments);
                    }
                    match &mut self.pending {
                        // A later piece of the same call (it names nothing new) joins it.
                        Some(p)
                            if p.tool.as_ref().is_some_and(|c| c.index == index)
                                && id.is_none()
                                && name.is_none() =>
                        {
                            p.text.push_str(&arguments);
                            p.chunks += u32::from(!self.whole_body);
                        }
                        _ => {
                            self.flush(t);
                            self.pending = Some(Pending {
                                text: arguments.into(),
                                reasoning: false,
                                chunks: self.chunk(),
                                tool: Some(ToolCall { index, id, name }),
                            });
                        }
                    }
                }
                other => {
                    self.flush(t);
                    if let Some(end) = self.on_item(t, other) {
                        result = Some(end);
                        break;
                    }
                }
            }
        }
        items.clear();
        self.items = items;
        result
    }

    /// A piece of text, decoded from the read stamped `t`: joins the read's pending content
    /// of its kind.
    fn content<S: AsRef<str> + Into<CompactString>>(
        &mut self,
        t: Offset,
        text: S,
        reasoning: bool,
    ) {
        let piece = text.as_ref();
        self.capture(piece);
        if let Some(answer) = self.json_answer.as_mut().filter(|_| !reasoning)
            && answer.len() < CAPTURE_LIMIT
        {
            answer.push_str(piece);
        }
        if let Some(answer) = self.answer.as_mut().filter(|_| !reasoning) {
            answer.push_text(piece);
        }
        match &mut self.pending {
            Some(p) if p.reasoning == reasoning && p.tool.is_none() => {
                p.text.push_str(piece);
                p.chunks += u32::from(!self.whole_body);
            }
            _ => {
                self.flush(t);
                self.pending = Some(Pending {
                    text: text.into(),
                    reasoning,
                    chunks: self.chunk(),
                    tool: None,
                });
            }
        }
    }

    /// For a request that asked for JSON: whether its answer was. A syntax check without
    /// building the value: microseconds for an ordinary answer.
    /// An answer that only called a tool has no text to check.
    fn json_valid(&self) -> Option<bool> {
        self.json_answer
            .as_deref()
            .filter(|answer| answer.len() < CAPTURE_LIMIT)
            .filter(|answer| !(self.called_tool && answer.trim().is_empty()))
            .map(crate::protocol::is_json)
    }

    /// The protocol events a decoded part counts as: one each in a stream; in a non-streamed
    /// body only its first part counts, the rest being parts of that one event (no token
    /// timing between them, no batched first token).
    fn chunk(&self) -> u32 {
        u32::from(!(self.whole_body && (self.seen_content || self.pending.is_some())))
    }

    fn capture(&mut self, text: &str) {
        if self.captured.len() < CAPTURE_LIMIT {
            self.captured.push_str(text);
        }
    }

    fn flush(&mut self, t: Offset) {
        if let Some(Pending {
            text,
            reasoning,
            chunks,
            tool,
        }) = self.pending.take()
        {
            // Only the first token's floor is kept: a later one's is the content before it.
            let after = self.read.after.filter(|_| !self.seen_content);
            self.seen_content = true;
            self.out.emit(
                t,
                EventKind::Content {
                    text,
                    reasoning,
                    chunks,
                    after,
                    late_us: self.read.late_us,
                    unstamped: self.read.unstamped,
                    tool,
                },
            );
        }
    }

    fn on_item(&mut self, t: Offset, item: Decoded) -> Option<StreamEnd> {
        match item {
            Decoded::Content { .. } | Decoded::ToolCall { .. } => None,
            Decoded::Usage {
                input,
                output,
                cached_input,
                cache_write,
                reasoning,
                reported,
            } => {
                self.usage_input |= input.is_some();
                self.usage_output = output.or(self.usage_output);
                // Unchanged fields are left out: an empty map leaves the earlier ones standing.
                let reported = if reported == self.usage_reported {
                    crate::event::ReportedUsage::new()
                } else {
                    let map = reported.iter().map(|&(name, n)| (name.into(), n)).collect();
                    self.usage_reported = reported;
                    map
                };
                self.out.emit(
                    t,
                    EventKind::Usage {
                        input,
                        output,
                        cached_input,
                        cache_write,
                        reasoning,
                        reported,
                        source: TokenSource::Usage,
                    },
                );
                None
            }
            Decoded::ServerTimings(timings) => {
                self.out.emit(t, EventKind::ServerTimings(timings));
                None
            }
            Decoded::Embeddings { vectors, dimension } => match self.inputs {
                // One vector per input, or the answer is not the one asked for.
                Some(inputs) if vectors != inputs => Some(StreamEnd::Failed(
                    ErrorClass::Protocol,
                    format!(
                        "the server returned {vectors} embeddings for {inputs} inputs; one per \
                         input was expected"
                    ),
                )),
                _ => {
                    self.dimension = Some(dimension);
                    None
                }
            },
            Decoded::ResponseId(id) => {
                self.response_id.get_or_insert(id);
                None
            }
            Decoded::FinishReason(reason) => {
                self.finish_reason = Some(reason);
                None
            }
            Decoded::End => {
                self.ended = true;
                None
            }
            Decoded::ServerError { message } => Some(StreamEnd::Failed(
                ErrorClass::StreamError,
                format!(
                    "the server reported an error {}: {message}",
                    self.where_in()
                ),
            )),
            Decoded::StatusError { status, message } => Some(StreamEnd::Failed(
                ErrorClass::from_status(status),
                format!(
                    "the server reported an error {}: {message}",
                    self.where_in()
                ),
            )),
            Decoded::Malformed { message } => {
                Some(StreamEnd::Failed(ErrorClass::Protocol, message))
            }
            Decoded::Blocked { message } => Some(StreamEnd::Failed(ErrorClass::Blocked, message)),
        }
    }

    /// Emits the terminal event (and estimated token counts for a success without usage);
    /// returns the collected answer of one that finished.
    pub(super) async fn end(mut self, end: StreamEnd) -> Option<String> {
        let t = self.last_bytes;
        self.flush(t);
        match end {
            StreamEnd::Finished => {
                let answer = self.answer.take().map(Answer::into_content);
                self.finished(t).await;
                answer
            }
            StreamEnd::Failed(class, message) => {
                self.end_failed(t, class, message).await;
                None
            }
        }
    }

    async fn finished(mut self, t: Offset) {
        // Zero output tokens for a response that carried text is a count the server got wrong
        // (some servers report 0 after streaming a whole answer): the tokenizer counts it
        // instead, and the record says the count is an estimate.
        // An embedding has no output to count.
        let count_output = self.inputs.is_none()
            && match self.usage_output {
                None => true,
                Some(n) => n == 0 && !self.captured.is_empty(),
            };
        if count_output || !self.usage_input {
            let output = if count_output {
                count_tokens_aside(&self.captured).await
            } else {
                None
            };
            let input = if self.usage_input {
                None
            } else {
                count_tokens_aside(self.prompt_text).await
            };
            let input = input.filter(|_| !self.prompt_text.is_empty());
            self.out.emit(t, estimated(input, output));
        }
        self.out.emit(
            t,
            EventKind::Finished {
                finish_reason: self.finish_reason.take(),
                response_id: self.response_id.take(),
                bytes: self.bytes,
                json_valid: self.json_valid(),
                dimension: self.dimension,
            },
        );
    }

    async fn end_failed(self, t: Offset, class: ErrorClass, message: String) {
        // The text that arrived before the failure is in the replay; its record counts it too.
        if self.usage_output.is_none_or(|n| n == 0)
            && !self.captured.is_empty()
            && let Some(output) = count_tokens_aside(&self.captured).await
        {
            self.out.emit(t, estimated(None, Some(output)));
        }
        self.out.emit(t, failed(class, message, None, self.bytes));
    }
}

/// Token counts the tokenizer estimated, where the server reported none.
fn estimated(input: Option<u32>, output: Option<u32>) -> EventKind {
    EventKind::Usage {
        input,
        output,
        cached_input: None,
        cache_write: None,
        reasoning: None,
        reported: crate::event::ReportedUsage::new(),
        source: TokenSource::Estimate,
    }
}

#[cfg(test)]
mod tests;
