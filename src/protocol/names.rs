//! The protocols llmrace speaks, by the names users write in race files and in
//! `-e NAME=PROTOCOL:URL#MODEL`.

use std::fmt;

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
    /// OpenAI Responses: `{base}/responses` (base usually `https://api.openai.com/v1`).
    #[serde(rename = "responses")]
    Responses,
    /// Google's Gemini API: `{base}/v1beta/models/{model}:streamGenerateContent?alt=sse` (base
    /// usually `https://generativelanguage.googleapis.com`).
    #[serde(rename = "gemini")]
    Gemini,
    /// AWS Bedrock `ConverseStream`: `{base}/model/{model}/converse-stream` (base
    /// `https://bedrock-runtime.{region}.amazonaws.com`), AWS event-stream frames, `SigV4`-signed.
    #[serde(rename = "bedrock")]
    Bedrock,
    /// OpenAI-compatible embeddings: `{base}/embeddings`, one JSON body, not streamed.
    #[serde(rename = "openai-embeddings")]
    OpenAiEmbeddings,
}

impl Protocol {
    pub const ALL: [Protocol; 8] = [
        Protocol::OpenAiChat,
        Protocol::OpenAiCompletions,
        Protocol::Anthropic,
        Protocol::Ollama,
        Protocol::Responses,
        Protocol::Gemini,
        Protocol::Bedrock,
        Protocol::OpenAiEmbeddings,
    ];

    /// The name users write (the serde name).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::OpenAiChat => "openai",
            Protocol::OpenAiCompletions => "openai-completions",
            Protocol::Anthropic => "anthropic",
            Protocol::Ollama => "ollama",
            Protocol::Responses => "responses",
            Protocol::Gemini => "gemini",
            Protocol::Bedrock => "bedrock",
            Protocol::OpenAiEmbeddings => "openai-embeddings",
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
            "responses" | "openai-responses" => Some(Protocol::Responses),
            "gemini" | "google" => Some(Protocol::Gemini),
            "bedrock" | "converse" => Some(Protocol::Bedrock),
            "openai-embeddings" | "embeddings" => Some(Protocol::OpenAiEmbeddings),
            _ => None,
        }
    }
}

impl Protocol {
    /// Whether its answers are vectors, not generated text: no first token, no output.
    pub fn is_embeddings(self) -> bool {
        self == Protocol::OpenAiEmbeddings
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
