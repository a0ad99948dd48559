//! Wire protocols: for each one, how a request is built and how its response body is decoded.
//! Everything here is pure (bytes in, [`Decoded`] items out): no network, no clock, so the
//! engine stamps arrival times and decoders can be tested on fixture streams split anywhere.

use std::fmt;

use serde::{Deserialize, Serialize};

mod anthropic;
mod completions;
mod decode;
pub mod ndjson;
mod ollama;
mod openai;
mod request;
pub mod sse;

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
    /// Token counts as the server reported them, given the meanings of
    /// [`crate::event::EventKind::Usage`] (`input` counts cached prompt tokens too); `None`
    /// fields were not in this report. `reported` holds the fields as the server sent them.
    Usage {
        input: Option<u32>,
        output: Option<u32>,
        cached_input: Option<u32>,
        cache_write: Option<u32>,
        reasoning: Option<u32>,
        reported: Vec<(&'static str, u32)>,
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
    /// non-streaming body). A body that held nothing of the protocol yields `Malformed`, or
    /// `ServerError` when it was a JSON error object (`{"error": …}`) served in its place.
    fn finish(&mut self, out: &mut Vec<Decoded>);
}

impl Protocol {
    pub const ALL: [Protocol; 4] = [
        Protocol::OpenAiChat,
        Protocol::OpenAiCompletions,
        Protocol::Anthropic,
        Protocol::Ollama,
    ];

    /// The name users write (the serde name).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::OpenAiChat => "openai",
            Protocol::OpenAiCompletions => "openai-completions",
            Protocol::Anthropic => "anthropic",
            Protocol::Ollama => "ollama",
        }
    }

    /// A protocol from its name or an obvious alias, ignoring ASCII case.
    pub fn parse(s: &str) -> Option<Protocol> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "openai" | "openai-chat" | "chat" => Some(Protocol::OpenAiChat),
            "openai-completions" | "completions" => Some(Protocol::OpenAiCompletions),
            "anthropic" | "messages" => Some(Protocol::Anthropic),
            "ollama" => Some(Protocol::Ollama),
            _ => None,
        }
    }

    /// The request for `spec` against the endpoint at `base_url`, which may carry a path prefix
    /// (`http://host/proxy/v1`) with or without a trailing slash.
    pub fn build_request(self, base_url: &str, spec: &RequestSpec<'_>) -> WireRequest {
        request::build(self, base_url, spec)
    }

    /// The header that carries an API key.
    pub fn auth_header(self, key: &str) -> (&'static str, String) {
        match self {
            Protocol::Anthropic => ("x-api-key", key.to_owned()),
            Protocol::OpenAiChat | Protocol::OpenAiCompletions | Protocol::Ollama => {
                ("authorization", format!("Bearer {key}"))
            }
        }
    }

    /// A decoder for one response body; `stream` as the request asked.
    pub fn decoder(self, stream: bool) -> Box<dyn Decoder> {
        match self {
            Protocol::OpenAiChat => openai::chat_decoder(stream),
            Protocol::OpenAiCompletions => completions::decoder(stream),
            Protocol::Anthropic => anthropic::decoder(stream),
            Protocol::Ollama => ollama::decoder(stream),
        }
    }

    /// A cheap GET that opens the connection before the race starts.
    pub fn warmup_url(self, base_url: &str) -> String {
        match self {
            Protocol::Ollama => request::join_url(base_url, "api/tags"),
            Protocol::OpenAiChat | Protocol::OpenAiCompletions | Protocol::Anthropic => {
                request::join_url(base_url, "models")
            }
        }
    }

    /// The server's message in an error response body (`{"error": …}` and the other shapes
    /// servers use), for showing with a non-2xx status. `None` when the body says nothing usable.
    pub fn error_message(self, body: &[u8]) -> Option<String> {
        decode::body_error(body)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
