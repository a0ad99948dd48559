//! Wire protocols: for each one, how a request is built and how its response body is decoded.
//! Everything here is pure (bytes in, [`Decoded`] items out): no network, no clock, so the
//! engine stamps arrival times and decoders can be tested on fixture streams split anywhere.

use serde::{Deserialize, Serialize};

/// The protocols llmrace speaks. The serde names are the ones users write in race files and in
/// `-e NAME=PROTOCOL:URL#MODEL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Protocol {
    /// OpenAI-compatible chat completions: `{base}/chat/completions`.
    #[serde(rename = "openai")]
    OpenAiChat,
    /// OpenAI legacy completions: `{base}/completions`.
    #[serde(rename = "openai-completions")]
    OpenAiCompletions,
    /// Anthropic Messages: `{base}/messages` (base usually `https://api.anthropic.com/v1`).
    #[serde(rename = "anthropic")]
    Anthropic,
    /// Ollama native chat: `{base}/api/chat` (base is the server root, `http://localhost:11434`).
    #[serde(rename = "ollama")]
    Ollama,
}

/// One chat message of a prompt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

/// What to ask an endpoint for; `extra_body` fields are merged into the top level of the JSON
/// body last, so they can add or override anything (`top_p`, `ignore_eos`, …).
#[derive(Clone, Debug)]
pub struct RequestSpec<'a> {
    pub model: &'a str,
    pub messages: &'a [Message],
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    pub stream: bool,
    pub extra_body: &'a serde_json::Map<String, serde_json::Value>,
}

/// A request ready to send: the protocol's own headers only; authentication and user headers
/// are added by the engine.
#[derive(Clone, Debug, PartialEq)]
pub struct WireRequest {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// One meaningful item decoded from a response body, in the order it appeared.
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded {
    /// A piece of generated text; `reasoning` for thinking/reasoning deltas. Never empty.
    Content { text: String, reasoning: bool },
    /// Token counts as the server reported them; `None` fields were not in this report.
    Usage {
        input: Option<u32>,
        output: Option<u32>,
        cached_input: Option<u32>,
        reasoning: Option<u32>,
    },
    /// Server-side timings (Ollama).
    ServerTimings(crate::event::ServerTimings),
    /// The response's own id (`id` of an OpenAI chunk, `message.id` of Anthropic's start).
    ResponseId(String),
    /// Why generation stopped (`stop`, `length`, `end_turn`, …).
    FinishReason(String),
    /// The protocol's end-of-response marker (`[DONE]`, `message_stop`, `done: true`, or the end
    /// of a complete non-streaming body).
    End,
    /// The server reported an error in the body (`{"error": …}`, an Anthropic `error` event).
    ServerError { message: String },
    /// The bytes were not this protocol (bad JSON, invalid UTF-8, unexpected shape).
    Malformed { message: String },
}

/// Decodes one response body incrementally. Implementations buffer partial lines and partial
/// UTF-8 characters across `feed` calls, so any split of the body gives the same items.
pub trait Decoder: Send {
    /// The next bytes of the body, as they arrived; decoded items are appended to `out`.
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Decoded>);
    /// The body ended: flush what is buffered (a last line with no newline, a whole
    /// non-streaming body). A body that held nothing of the protocol yields `Malformed`.
    fn finish(&mut self, out: &mut Vec<Decoded>);
}

