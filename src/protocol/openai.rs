//! OpenAI-compatible responses: the chunk rules both OpenAI endpoints share (ids, usage, errors,
//! `[DONE]`, streams that never send it) and the chat completions choice shape.

use serde::Deserialize;
use serde_json::Value;

use super::decode::{
    BodyDecoder, First, SseDecoder, SseHandler, Str, cut_short, error_text, not_json, push_content,
    push_tool_call, reported, unexpected_body,
};
use super::sse::{self, SseEvent};
use super::{Decoded, Decoder};
use template::Template;

mod fast;
mod template;

#[cfg(test)]
mod content_tests;

/// A streamed chunk or a whole response body, generic over the endpoint's choice shape.
#[derive(Deserialize)]
pub(super) struct Chunk<'a, C> {
    #[serde(borrow)]
    id: Option<Str<'a>>,
    /// `"error"` when the whole chunk is an error object (older vLLM).
    #[serde(borrow)]
    object: Option<Str<'a>>,
    choices: Option<First<C>>,
    usage: Option<Usage>,
    error: Option<Value>,
    /// llama.cpp's server: its own counts, beside the usage of the last chunk.
    timings: Option<Timings>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: Option<u32>,
    completion_tokens: Option<u32>,
    prompt_tokens_details: Option<PromptDetails>,
    completion_tokens_details: Option<CompletionDetails>,
    /// From the chunk's llama.cpp `timings`: prompt tokens it took from its cache.
    #[serde(skip)]
    cache_n: Option<u32>,
}

#[derive(Deserialize)]
struct Timings {
    cache_n: Option<u32>,
}

#[derive(Deserialize)]
struct PromptDetails {
    cached_tokens: Option<u32>,
}

#[derive(Deserialize)]
struct CompletionDetails {
    reasoning_tokens: Option<u32>,
}

/// What one choice of a chunk says.
#[derive(Default)]
pub(super) struct ChoiceParts<'a> {
    pub reasoning: Option<Str<'a>>,
    pub content: Option<Str<'a>>,
    pub finish_reason: Option<Str<'a>>,
    /// `tool_calls` of a chat delta or message; empty for legacy completions.
    pub tool_calls: Vec<ToolCallPart<'a>>,
}

/// One element of `tool_calls`: streamed, a fragment of the call at `index`; in a whole
/// message, a whole call (no `index`: its place in the list).
#[derive(Deserialize)]
pub(super) struct ToolCallPart<'a> {
    index: Option<u32>,
    #[serde(borrow)]
    id: Option<Str<'a>>,
    #[serde(borrow)]
    function: Option<FunctionPart<'a>>,
}

#[derive(Deserialize)]
struct FunctionPart<'a> {
    #[serde(borrow)]
    name: Option<Str<'a>>,
    #[serde(borrow)]
    arguments: Option<Str<'a>>,
}

/// Everything one chunk (or body) says, independent of the endpoint.
pub(super) struct Parts<'a> {
    id: Option<Str<'a>>,
    is_error_object: bool,
    has_choices: bool,
    choice: ChoiceParts<'a>,
    usage: Option<Usage>,
    error: Option<Value>,
}

impl<'a, C> Chunk<'a, C> {
    pub fn into_parts(self, choice: impl FnOnce(C) -> ChoiceParts<'a>) -> Parts<'a> {
        Parts {
            id: self.id,
            is_error_object: self.object.is_some_and(|o| o.as_str() == "error"),
            has_choices: self.choices.is_some(),
            choice: self
                .choices
                .and_then(|c| c.0)
                .map(choice)
                .unwrap_or_default(),
            usage: self.usage.map(|mut usage| {
                usage.cache_n = self.timings.and_then(|t| t.cache_n);
                usage
            }),
            error: self.error,
        }
    }
}

impl Parts<'_> {
    /// The error this chunk reports instead of content; `json` is the chunk's text.
    fn server_error(&self, json: &str) -> Option<String> {
        match &self.error {
            Some(error) if !error.is_null() => Some(error_text(error)),
            _ if self.is_error_object => Some(event_error(json)),
            _ => None,
        }
    }
}

/// Parses one chunk's JSON for one endpoint.
pub(super) type ParseFn = for<'a> fn(&'a str) -> serde_json::Result<Parts<'a>>;

/// The chat completions choice: `delta` when streamed, `message` in a whole body.
#[derive(Deserialize)]
struct ChatChoice<'a> {
    #[serde(borrow)]
    delta: Option<ChatDelta<'a>>,
    #[serde(borrow)]
    message: Option<ChatDelta<'a>>,
    #[serde(borrow)]
    finish_reason: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct ChatDelta<'a> {
    #[serde(borrow)]
    content: Option<Str<'a>>,
    /// DeepSeek, vLLM, SGLang and llama.cpp.
    #[serde(borrow)]
    reasoning_content: Option<Str<'a>>,
    /// OpenRouter, Ollama's OpenAI endpoint and newer vLLM (which may send both).
    #[serde(borrow)]
    reasoning: Option<Str<'a>>,
    #[serde(borrow)]
    tool_calls: Option<Vec<ToolCallPart<'a>>>,
}

/// A chat chunk: the fast path's reading when it has one, serde's otherwise.
fn parse_chat(data: &str) -> serde_json::Result<Parts<'_>> {
    fast::chat(data).map_or_else(|| parse_chat_serde(data), Ok)
}

/// A legacy completions chunk as the fast path reads it (`None`: serde's to read).
pub(super) fn fast_completions(data: &str) -> Option<Parts<'_>> {
    fast::completions(data)
}

/// Whether the fast path reads `data` itself, as a chat or a legacy completions chunk.
#[cfg(test)]
pub(super) fn fast_reads(data: &str) -> bool {
    fast::chat(data).is_some() || fast::completions(data).is_some()
}

/// Checks that the fast path reads `data` as serde does, for chat (`legacy` false) or legacy
/// completions (`slow`, their serde reading).
///
/// # Panics
/// When they differ: that is the finding.
#[cfg(any(test, feature = "test-support"))]
pub(super) fn fast_agrees(data: &str, legacy: Option<ParseFn>) {
    match legacy {
        None => fast::compare("chat", data, fast::chat, parse_chat_serde),
        Some(slow) => fast::compare("completions", data, fast::completions, slow),
    }
}

/// A chat chunk or body as serde reads it: every shape, every error.
pub(super) fn parse_chat_serde(data: &str) -> serde_json::Result<Parts<'_>> {
    let chunk: Chunk<'_, ChatChoice<'_>> = serde_json::from_str(data)?;
    Ok(chunk.into_parts(|c| {
        let delta = c.delta.or(c.message);
        let (reasoning, content, tool_calls) = match delta {
            Some(d) => {
                let reasoning_content = d.reasoning_content.filter(|r| !r.as_str().is_empty());
                (
                    reasoning_content.or(d.reasoning),
                    d.content,
                    d.tool_calls.unwrap_or_default(),
                )
            }
            None => (None, None, Vec::new()),
        };
        ChoiceParts {
            reasoning,
            content,
            finish_reason: c.finish_reason,
            tool_calls,
        }
    }))
}

/// The decoder for chat completions.
pub(super) fn chat_decoder(stream: bool) -> Box<dyn Decoder> {
    fast_decoder(stream, fast::chat, parse_chat_serde, decode_chat_body)
}

/// [`chat_decoder`] reading every chunk with serde, to check the fast path against.
#[cfg(any(test, feature = "test-support"))]
pub(super) fn chat_decoder_serde_only(stream: bool) -> Box<dyn Decoder> {
    decoder(stream, parse_chat_serde, |body, out| {
        decode_body(body, parse_chat_serde, "a chat completion object", out);
    })
}

/// A decoder for an OpenAI endpoint that reads every stream chunk with `parse`, `body` its
/// whole bodies: the serde-only decoders the fast path is checked against.
#[cfg(any(test, feature = "test-support"))]
pub(super) fn decoder(
    stream: bool,
    parse: ParseFn,
    body: fn(&str, &mut Vec<Decoded>),
) -> Box<dyn Decoder> {
    if stream {
        Box::new(SseDecoder::new(OpenAiStream::new(parse, None)))
    } else {
        Box::new(BodyDecoder::new(body))
    }
}

/// A chunk as the fast path reads it (`None`: serde's to read).
pub(super) type FastFn = for<'a> fn(&'a str) -> Option<Parts<'a>>;

/// [`decoder`] for an endpoint with a fast path: a stream's chunks are read by its template
/// (see `template.rs`), else by `fast`, else by `serde`.
pub(super) fn fast_decoder(
    stream: bool,
    fast: FastFn,
    serde: ParseFn,
    body: fn(&str, &mut Vec<Decoded>),
) -> Box<dyn Decoder> {
    if stream {
        Box::new(SseDecoder::new(OpenAiStream::new(serde, Some(fast))))
    } else {
        Box::new(BodyDecoder::new(body))
    }
}

struct OpenAiStream {
    /// Every chunk's reading, or with `fast`, the reading of those the fast path leaves.
    parse: ParseFn,
    fast: Option<FastFn>,
    template: Template,
    id_sent: bool,
    finish_seen: bool,
    ended: bool,
}

impl OpenAiStream {
    fn new(parse: ParseFn, fast: Option<FastFn>) -> Self {
        Self {
            parse,
            fast,
            template: Template::default(),
            id_sent: false,
            finish_seen: false,
            ended: false,
        }
    }

    /// A chunk's parts: the template's reading, the fast path's, or serde's.
    fn parse<'a>(&mut self, data: &'a str) -> serde_json::Result<Parts<'a>> {
        let Some(fast) = self.fast else {
            return (self.parse)(data);
        };
        if let Some(parts) = self.template.read(data) {
            return Ok(parts);
        }
        match fast(data) {
            Some(parts) => {
                if self.template.wants() {
                    self.template.learn(data, &parts);
                }
                Ok(parts)
            }
            None => (self.parse)(data),
        }
    }
}

impl SseHandler for OpenAiStream {
    const WHAT: &'static str = "an OpenAI event stream";

    fn event(&mut self, event: SseEvent<'_>, at_end: bool, out: &mut Vec<Decoded>) {
        if self.ended {
            return;
        }
        let data = event.data.trim();
        if event.event == "error" {
            out.push(Decoded::ServerError {
                message: event_error(data),
            });
            return;
        }
        if data == "[DONE]" {
            self.ended = true;
            out.push(Decoded::End);
            return;
        }
        if data.is_empty() {
            return; // a keep-alive
        }
        let parts = match self.parse(data) {
            Ok(parts) => parts,
            Err(err) if cut_short(at_end, &err) => return,
            Err(err) => {
                out.push(not_json("an OpenAI stream chunk", data, &err));
                return;
            }
        };
        if let Some(message) = parts.server_error(data) {
            out.push(Decoded::ServerError { message });
            return;
        }
        if let Some(id) = parts
            .id
            .filter(|id| !self.id_sent && !id.as_str().is_empty())
        {
            self.id_sent = true;
            out.push(Decoded::ResponseId(id.0.into_owned()));
        }
        self.finish_seen |= push_parts(parts.choice, parts.usage, out);
    }

    /// A chunk the template reads, taken straight from the read: what [`Self::event`] would
    /// do with it is push its token, as long as the id has been sent (or it carries none).
    fn content_event<'b>(&mut self, value: &'b [u8]) -> Option<(&'b str, bool, usize)> {
        if self.ended || !self.id_sent && self.template.has_id() {
            return None;
        }
        let (token, len) = self.template.line(value)?;
        let used = sse::event_end(value, len)?;
        self.template.hit();
        Some((token, self.template.reasoning(), used))
    }

    fn reads_content_events(&self) -> bool {
        !self.ended && self.template.reads_lines()
    }

    fn finish(&mut self, out: &mut Vec<Decoded>) {
        // Some servers close the body after the last chunk instead of sending `[DONE]`.
        if self.finish_seen && !self.ended {
            self.ended = true;
            out.push(Decoded::End);
        }
    }
}

/// Pushes content, finish reason and usage; says whether there was a finish reason.
fn push_parts(choice: ChoiceParts<'_>, usage: Option<Usage>, out: &mut Vec<Decoded>) -> bool {
    push_content(choice.reasoning, true, out);
    push_content(choice.content, false, out);
    for (position, call) in (0u32..).zip(choice.tool_calls) {
        let (name, arguments) = call
            .function
            .map_or((None, None), |f| (f.name, f.arguments));
        push_tool_call(
            call.index.unwrap_or(position),
            call.id,
            name,
            arguments,
            out,
        );
    }
    let finished = match choice.finish_reason {
        Some(reason) if !reason.as_str().is_empty() => {
            out.push(Decoded::FinishReason(reason.0.into_owned()));
            true
        }
        _ => false,
    };
    if let Some(usage) = usage {
        let reported_cached = usage.prompt_tokens_details.and_then(|d| d.cached_tokens);
        // Builds of llama.cpp that report no `cached_tokens` say it in their timings.
        let cached_input = reported_cached.or(usage.cache_n);
        let reasoning = usage
            .completion_tokens_details
            .and_then(|d| d.reasoning_tokens);
        // `prompt_tokens` already counts the cached tokens: it is the total as it stands.
        let reported = reported([
            ("prompt_tokens", usage.prompt_tokens),
            ("completion_tokens", usage.completion_tokens),
            ("prompt_tokens_details.cached_tokens", reported_cached),
            ("timings.cache_n", usage.cache_n),
            ("completion_tokens_details.reasoning_tokens", reasoning),
        ]);
        if !reported.is_empty() {
            out.push(Decoded::Usage {
                input: usage.prompt_tokens,
                output: usage.completion_tokens,
                cached_input,
                cache_write: None,
                reasoning,
                reported,
            });
        }
    }
    finished
}

/// The message of an `event: error` event, whose data may be JSON or plain text.
fn event_error(data: &str) -> String {
    match serde_json::from_str::<Value>(data) {
        Ok(Value::Object(map)) => match map.get("error") {
            Some(error) => error_text(error),
            None => error_text(&Value::Object(map)),
        },
        Ok(other) => error_text(&other),
        Err(_) if data.is_empty() => "the server sent an error event with no message".to_owned(),
        Err(_) => error_text(&Value::String(data.to_owned())),
    }
}

/// Decodes a whole (non-streaming) body with `parse` into the items a stream would give.
pub(super) fn decode_body(body: &str, parse: ParseFn, what: &str, out: &mut Vec<Decoded>) {
    let parts = match parse(body) {
        Ok(parts) => parts,
        Err(err) => {
            out.push(match serde_json::from_str::<Value>(body) {
                Ok(_) => unexpected_body(what, body),
                Err(_) => not_json("the response body", body, &err),
            });
            return;
        }
    };
    if let Some(message) = parts.server_error(body) {
        out.push(Decoded::ServerError { message });
        return;
    }
    if !parts.has_choices {
        out.push(unexpected_body(what, body));
        return;
    }
    if let Some(id) = parts.id.filter(|id| !id.as_str().is_empty()) {
        out.push(Decoded::ResponseId(id.0.into_owned()));
    }
    push_parts(parts.choice, parts.usage, out);
    out.push(Decoded::End);
}

fn decode_chat_body(body: &str, out: &mut Vec<Decoded>) {
    decode_body(body, parse_chat, "a chat completion object", out);
}
