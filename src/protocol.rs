//! Wire protocols: for each one, how a request is built and how its response body is decoded.
//! Everything here is pure (bytes in, [`Decoded`] items out): no network, no clock, so the
//! engine stamps arrival times and decoders can be tested on fixture streams split anywhere.

mod anthropic;
mod bedrock;
mod completions;
mod decode;
mod decoded;
mod embeddings;
mod extra_body;
#[cfg(any(test, feature = "test-support"))]
mod fast_check;
mod gemini;
mod image;
mod names;
pub mod ndjson;
mod ollama;
mod openai;
mod request;
mod responses;
pub mod sse;
mod tools;

pub use decoded::{ContentEvent, Decoded, Decoder, Part, ReadParts};
pub use image::Image;
pub use names::Protocol;
pub use request::{Message, RequestSpec, WireRequest};
pub use tools::{ToolDef, is_json};

#[cfg(any(test, feature = "test-support"))]
pub use fast_check::agrees as fast_path_agrees;

/// What each protocol does differently, dispatched to its own module.
impl Protocol {
    /// The request for `spec` against the endpoint at `base_url`, which may carry a path prefix
    /// (`http://host/proxy/v1`) with or without a trailing slash.
    pub fn build_request(self, base_url: &str, spec: &RequestSpec<'_>) -> WireRequest {
        request::build(self, base_url, spec)
    }

    /// The header that carries an API key.
    pub fn auth_header(self, key: &str) -> (&'static str, String) {
        match self {
            Protocol::Anthropic => ("x-api-key", key.to_owned()),
            // A Bedrock API key (`AWS_BEARER_TOKEN_BEDROCK`) is a bearer token.
            Protocol::Gemini => ("x-goog-api-key", key.to_owned()),
            Protocol::OpenAiChat
            | Protocol::OpenAiCompletions
            | Protocol::Ollama
            | Protocol::Responses
            | Protocol::Bedrock
            | Protocol::OpenAiEmbeddings => ("authorization", format!("Bearer {key}")),
        }
    }

    /// A decoder for one response body; `stream` as the request asked.
    pub fn decoder(self, stream: bool) -> Box<dyn Decoder> {
        match self {
            Protocol::OpenAiChat => openai::chat_decoder(stream),
            Protocol::OpenAiCompletions => completions::decoder(stream),
            Protocol::Anthropic => anthropic::decoder(stream),
            Protocol::Ollama => ollama::decoder(stream),
            Protocol::Responses => responses::decoder(stream),
            Protocol::Gemini => gemini::decoder(stream),
            Protocol::Bedrock => bedrock::decoder(stream),
            // Never streamed, whatever the endpoint's `stream`.
            Protocol::OpenAiEmbeddings => embeddings::decoder(),
        }
    }

    /// [`Protocol::decoder`] without the OpenAI fast path: serde reads every chunk. The fast
    /// path must decode exactly as this does (the differential tests and fuzz targets).
    #[cfg(any(test, feature = "test-support"))]
    pub fn decoder_serde_only(self, stream: bool) -> Box<dyn Decoder> {
        match self {
            Protocol::OpenAiChat => openai::chat_decoder_serde_only(stream),
            Protocol::OpenAiCompletions => completions::decoder_serde_only(stream),
            _ => self.decoder(stream),
        }
    }

    /// Why a response whose body ended without the protocol saying it was done failed: Gemini
    /// has no end marker, so its stream ends complete only after a finish reason.
    pub fn cut_message(self) -> &'static str {
        match self {
            Protocol::Gemini => "the stream ended before a finish reason",
            Protocol::OpenAiEmbeddings => "the response body ended before its JSON object did",
            Protocol::OpenAiChat
            | Protocol::OpenAiCompletions
            | Protocol::Anthropic
            | Protocol::Ollama
            | Protocol::Responses
            | Protocol::Bedrock => "the stream ended without the protocol's end-of-response marker",
        }
    }

    /// A cheap GET that opens the connection before the race starts.
    pub fn warmup_url(self, base_url: &str) -> String {
        match self {
            Protocol::Ollama => request::join_url(base_url, "api/tags"),
            // Bedrock has no cheap GET; any answer (a 403, a 404) leaves the connection open.
            Protocol::Bedrock => request::join_url(base_url, ""),
            Protocol::Gemini => gemini::request::warmup_url(base_url),
            Protocol::OpenAiChat
            | Protocol::OpenAiCompletions
            | Protocol::Anthropic
            | Protocol::Responses
            | Protocol::OpenAiEmbeddings => request::join_url(base_url, "models"),
        }
    }

    /// The server's message in an error response body (`{"error": …}` and the other shapes
    /// servers use), for showing with a non-2xx status. `None` when the body says nothing usable.
    pub fn error_message(self, body: &[u8]) -> Option<String> {
        match self {
            // Google's errors name their kind in `status` (`RESOURCE_EXHAUSTED`), not `type`.
            Protocol::Gemini => gemini::error_message(body).or_else(|| decode::body_error(body)),
            Protocol::Bedrock => bedrock::error_message(body),
            _ => decode::body_error(body),
        }
    }

    /// [`Protocol::error_message`] with the kind of error the response's headers name:
    /// Bedrock's `x-amzn-ErrorType` (AWS often names the exception only there); other
    /// protocols have no such header and read the body alone.
    pub fn error_message_typed(self, body: &[u8], error_type: Option<&str>) -> Option<String> {
        match self {
            Protocol::Bedrock => bedrock::error_message_typed(body, error_type),
            _ => self.error_message(body),
        }
    }
}
