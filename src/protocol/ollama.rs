//! Ollama native chat responses (`/api/chat`): NDJSON objects carrying `message.content` and
//! `message.thinking`, the last one `done: true` with the server's own counts and timings.

use serde::Deserialize;
use serde_json::Value;

use super::decode::{
    BodyDecoder, Sniff, Str, cut_short, error_text, invalid_utf8, not_json, push_content,
    push_tool_call, quote, reported, too_long, unexpected_body,
};
use super::ndjson::{Line, LineSplitter};
use super::{Decoded, Decoder};
use crate::event::ServerTimings;

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow)]
    message: Option<ChatMessage<'a>>,
    done: Option<bool>,
    #[serde(borrow)]
    done_reason: Option<Str<'a>>,
    prompt_eval_count: Option<u64>,
    /// Newer Ollama: of `prompt_eval_count`, the tokens read from its prompt cache.
    prompt_eval_cached_count: Option<u64>,
    eval_count: Option<u64>,
    prompt_eval_duration: Option<u64>,
    eval_duration: Option<u64>,
    load_duration: Option<u64>,
    total_duration: Option<u64>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct ChatMessage<'a> {
    #[serde(borrow)]
    content: Option<Str<'a>>,
    #[serde(borrow)]
    thinking: Option<Str<'a>>,
    /// Whole calls: Ollama sends each call once, its arguments an object.
    #[serde(borrow)]
    tool_calls: Option<Vec<ToolCall<'a>>>,
}

#[derive(Deserialize)]
struct ToolCall<'a> {
    #[serde(borrow)]
    id: Option<Str<'a>>,
    #[serde(borrow)]
    function: Option<Function<'a>>,
}

#[derive(Deserialize)]
struct Function<'a> {
    #[serde(borrow)]
    name: Option<Str<'a>>,
    arguments: Option<Value>,
}

pub(super) fn decoder(stream: bool) -> Box<dyn Decoder> {
    if stream {
        Box::new(OllamaStream::default())
    } else {
        Box::new(BodyDecoder::new(decode_body))
    }
}

#[derive(Default)]
struct OllamaStream {
    lines: LineSplitter,
    sniff: Sniff,
    /// The report for the first non-JSON line met before any object: held back, because a body
    /// that never holds an object is reported once, at the end, by `sniff`.
    early_garbage: Option<Decoded>,
    ended: bool,
    /// Tool calls decoded so far: the next one's index.
    tool_calls: u32,
}

const WHAT: &str = "Ollama NDJSON objects";

impl OllamaStream {
    /// The splitter and the per-line state borrowed apart, so lines can be decoded while the
    /// splitter is being fed.
    fn split(&mut self, at_end: bool) -> (&mut LineSplitter, LineState<'_>) {
        let Self {
            lines,
            sniff,
            early_garbage,
            ended,
            tool_calls,
        } = self;
        let state = LineState {
            sniff,
            early_garbage,
            ended,
            tool_calls,
            at_end,
        };
        (lines, state)
    }
}

impl Decoder for OllamaStream {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Decoded>) {
        self.sniff.record(bytes);
        let (lines, mut state) = self.split(false);
        lines.feed(bytes, |line| state.line(line, out));
    }

    fn finish(&mut self, out: &mut Vec<Decoded>) {
        let (lines, mut state) = self.split(true);
        lines.finish(|line| state.line(line, out));
        self.sniff.finish(WHAT, out);
        self.early_garbage = None;
    }
}

/// The decoder's state, borrowed for the lines of one feed.
struct LineState<'s> {
    sniff: &'s mut Sniff,
    early_garbage: &'s mut Option<Decoded>,
    ended: &'s mut bool,
    tool_calls: &'s mut u32,
    /// The line is the body's last and had no line end.
    at_end: bool,
}

impl LineState<'_> {
    fn line(&mut self, line: Line<'_>, out: &mut Vec<Decoded>) {
        let text = match line {
            Line::Text(text) => text.trim(),
            Line::InvalidUtf8(bytes) => {
                out.push(invalid_utf8("an NDJSON line", bytes));
                return;
            }
            Line::TooLong { limit } => {
                self.sniff.seen();
                out.push(too_long("an NDJSON line", limit));
                return;
            }
        };
        if text.is_empty() || *self.ended {
            return;
        }
        match serde_json::from_str::<Chunk<'_>>(text) {
            Ok(chunk) => {
                self.sniff.seen();
                out.extend(self.early_garbage.take());
                *self.ended = push_chunk(chunk, self.tool_calls, out);
            }
            Err(err) if cut_short(self.at_end, &err) => {
                self.sniff.seen();
                out.extend(self.early_garbage.take());
            }
            Err(err) if self.sniff.is_seen() => {
                out.push(not_json("an Ollama NDJSON line", text, &err));
            }
            Err(err) => {
                if self.early_garbage.is_none() {
                    *self.early_garbage = Some(not_json("an Ollama NDJSON line", text, &err));
                }
            }
        }
    }
}

/// Pushes what one object says; true when it was the last one (`done: true`) or an error.
/// `tool_calls` counts the calls so far, across objects.
fn push_chunk(chunk: Chunk<'_>, tool_calls: &mut u32, out: &mut Vec<Decoded>) -> bool {
    if let Some(error) = chunk.error.as_ref().filter(|e| !e.is_null()) {
        out.push(Decoded::ServerError {
            message: error_text(error),
        });
        return false;
    }
    if let Some(message) = chunk.message {
        push_content(message.thinking, true, out);
        push_content(message.content, false, out);
        for call in message.tool_calls.unwrap_or_default() {
            let (name, arguments) = call
                .function
                .map_or((None, None), |f| (f.name, f.arguments));
            let arguments = arguments.map(|a| a.to_string());
            push_tool_call(
                *tool_calls,
                call.id,
                name,
                arguments.map(|a| Str(a.into())),
                out,
            );
            *tool_calls = tool_calls.saturating_add(1);
        }
    }
    if chunk.done != Some(true) {
        return false;
    }
    if let Some(reason) = chunk.done_reason.filter(|r| !r.as_str().is_empty()) {
        out.push(Decoded::FinishReason(reason.0.into_owned()));
    }
    let input = chunk.prompt_eval_count.and_then(|n| u32::try_from(n).ok());
    let output = chunk.eval_count.and_then(|n| u32::try_from(n).ok());
    let cached_input = chunk
        .prompt_eval_cached_count
        .and_then(|n| u32::try_from(n).ok());
    let reported = reported([
        ("prompt_eval_count", input),
        ("eval_count", output),
        ("prompt_eval_cached_count", cached_input),
    ]);
    if !reported.is_empty() {
        out.push(Decoded::Usage {
            input,
            output,
            cached_input,
            cache_write: None,
            reasoning: None,
            reported,
        });
    }
    let timings = ServerTimings {
        prompt_eval_count: chunk.prompt_eval_count,
        eval_count: chunk.eval_count,
        prompt_eval_ns: chunk.prompt_eval_duration,
        eval_ns: chunk.eval_duration,
        load_ns: chunk.load_duration,
        total_ns: chunk.total_duration,
    };
    if timings != ServerTimings::default() {
        out.push(Decoded::ServerTimings(timings));
    }
    out.push(Decoded::End);
    true
}

fn decode_body(body: &str, out: &mut Vec<Decoded>) {
    const BODY: &str = "an Ollama chat response object";
    match serde_json::from_str::<Chunk<'_>>(body) {
        Ok(chunk) if chunk.error.as_ref().is_some_and(|e| !e.is_null()) => {
            push_chunk(chunk, &mut 0, out);
        }
        Ok(chunk) if chunk.done == Some(true) => {
            push_chunk(chunk, &mut 0, out);
        }
        Ok(chunk) if chunk.done == Some(false) => out.push(Decoded::Malformed {
            message: format!(
                "expected one whole response (\"stream\": false), but the body is a streamed chunk: {}",
                quote(body.as_bytes())
            ),
        }),
        Ok(_) => out.push(unexpected_body(BODY, body)),
        Err(err) => out.push(match serde_json::from_str::<Value>(body) {
            Ok(_) => unexpected_body(BODY, body),
            Err(_) => not_json("the response body", body, &err),
        }),
    }
}
