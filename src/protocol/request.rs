//! Building the HTTP request each protocol expects: URL, protocol headers and JSON body.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::Protocol;
use super::image::{self, Image};

mod bedrock;
mod embeddings;

/// One chat message of a prompt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
    /// Images sent with the text (user messages); none for most prompts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
}

impl Message {
    /// A message of `role` saying `content`. Build messages with this (or the shorthands
    /// below), so a field added to `Message` changes one place.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Message {
        Message {
            role: role.into(),
            content: content.into(),
            images: Vec::new(),
        }
    }

    pub fn user(content: impl Into<String>) -> Message {
        Message::new("user", content)
    }

    pub fn assistant(content: impl Into<String>) -> Message {
        Message::new("assistant", content)
    }

    pub fn system(content: impl Into<String>) -> Message {
        Message::new("system", content)
    }
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
    /// Tools the model may call, put in the body as the protocol expects.
    pub tools: &'a [super::ToolDef],
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

/// Anthropic requires `max_tokens`; this is what a race asks for when the user set none.
pub(super) const ANTHROPIC_DEFAULT_MAX_TOKENS: u32 = 1024;
const ANTHROPIC_VERSION: &str = "2023-06-01";

/// `base` joined with `path`, keeping a query string (Azure's `?api-version=…`) at the end.
pub(super) fn join_url(base: &str, path: &str) -> String {
    let (base, query) = match base.find('?') {
        Some(q) => base.split_at(q),
        None => (base, ""),
    };
    format!("{}/{path}{query}", base.trim_end_matches('/'))
}

pub(super) fn build(protocol: Protocol, base_url: &str, spec: &RequestSpec<'_>) -> WireRequest {
    let mut headers = vec![("content-type", "application/json".to_owned())];
    let mut body = Map::new();
    body.insert("model".to_owned(), spec.model.into());
    body.insert("stream".to_owned(), spec.stream.into());
    let path = match protocol {
        Protocol::OpenAiChat | Protocol::OpenAiCompletions => {
            if protocol == Protocol::OpenAiChat {
                body.insert(
                    "messages".to_owned(),
                    messages(protocol, spec.messages.iter()),
                );
            } else {
                body.insert("prompt".to_owned(), flatten(spec.messages.iter()).into());
            }
            if spec.stream {
                body.insert(
                    "stream_options".to_owned(),
                    json!({ "include_usage": true }),
                );
            }
            insert_opt(&mut body, "max_tokens", spec.max_tokens.map(Value::from));
            insert_opt(&mut body, "temperature", spec.temperature.map(number));
            if protocol == Protocol::OpenAiChat {
                "chat/completions"
            } else {
                "completions"
            }
        }
        Protocol::Anthropic => {
            headers.push(("anthropic-version", ANTHROPIC_VERSION.to_owned()));
            let (system, chat): (Vec<&Message>, Vec<&Message>) =
                spec.messages.iter().partition(|m| m.role == "system");
            if !system.is_empty() {
                body.insert("system".to_owned(), flatten(system.into_iter()).into());
            }
            body.insert("messages".to_owned(), messages(protocol, chat.into_iter()));
            let max_tokens = spec.max_tokens.unwrap_or(ANTHROPIC_DEFAULT_MAX_TOKENS);
            body.insert("max_tokens".to_owned(), max_tokens.into());
            insert_opt(&mut body, "temperature", spec.temperature.map(number));
            "messages"
        }
        Protocol::Ollama => {
            body.insert(
                "messages".to_owned(),
                messages(protocol, spec.messages.iter()),
            );
            let mut options = Map::new();
            insert_opt(
                &mut options,
                "num_predict",
                spec.max_tokens.map(Value::from),
            );
            insert_opt(&mut options, "temperature", spec.temperature.map(number));
            if !options.is_empty() {
                body.insert("options".to_owned(), options.into());
            }
            "api/chat"
        }
        Protocol::Responses => {
            responses::fill(spec, &mut body);
            "responses"
        }
        // Its own shape throughout: the model and streaming are in the URL, not the body.
        Protocol::Gemini => {
            use super::gemini::request as gemini;
            let turns = spec.messages.iter().map(|m| gemini::Turn {
                role: &m.role,
                text: &m.content,
                images: &m.images,
            });
            let settings = gemini::Settings {
                max_tokens: spec.max_tokens,
                temperature: spec.temperature,
                tools: spec.tools,
                extra_body: spec.extra_body,
            };
            let body = gemini::body(turns, &settings);
            return WireRequest {
                url: gemini::url(base_url, spec.model, spec.stream),
                headers,
                // Serializing a map of JSON values cannot fail.
                body: serde_json::to_vec(&body).unwrap_or_default(),
            };
        }
        // Its model goes in the path and its body is content blocks: a shape of its own.
        Protocol::Bedrock => {
            let url = join_url(base_url, &bedrock::path(spec));
            return bedrock::build(url, spec, spec.temperature.map(number));
        }
        Protocol::OpenAiEmbeddings => {
            return embeddings::build(join_url(base_url, "embeddings"), headers, body, spec);
        }
    };
    super::tools::insert(protocol, spec.tools, &mut body);
    for (key, value) in spec.extra_body {
        body.insert(key.clone(), value.clone());
    }
    WireRequest {
        url: join_url(base_url, path),
        headers,
        // Serializing a map of JSON values cannot fail.
        body: serde_json::to_vec(&body).unwrap_or_default(),
    }
}

fn insert_opt(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value);
    }
}

fn messages<'m>(protocol: Protocol, messages: impl Iterator<Item = &'m Message>) -> Value {
    messages
        .map(|m| {
            if m.images.is_empty() {
                return json!({ "role": m.role, "content": m.content });
            }
            match protocol {
                Protocol::Anthropic => json!({
                    "role": m.role,
                    "content": image::anthropic_content(&m.content, &m.images),
                }),
                Protocol::Ollama => json!({
                    "role": m.role,
                    "content": m.content,
                    "images": image::ollama_images(&m.images),
                }),
                // Legacy completions never get here: a race with images refuses them first;
                // Responses builds its input items in `responses`; Gemini's bodies are built in
                // `gemini::request`, Bedrock's in `bedrock`.
                Protocol::OpenAiChat
                | Protocol::OpenAiCompletions
                | Protocol::Responses
                | Protocol::Gemini
                | Protocol::Bedrock
                | Protocol::OpenAiEmbeddings => json!({
                    "role": m.role,
                    "content": image::openai_content(&m.content, &m.images),
                }),
            }
        })
        .collect()
}

/// The contents of `messages` as one text, for endpoints that take a single prompt.
fn flatten<'m>(messages: impl Iterator<Item = &'m Message>) -> String {
    let mut text = String::new();
    for (i, m) in messages.enumerate() {
        if i > 0 {
            text.push_str("\n\n");
        }
        text.push_str(&m.content);
    }
    text
}

/// An `f32` as the JSON number a person would write: `0.7`, not `0.699999988079071`.
fn number(x: f32) -> Value {
    x.to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

mod responses;

#[cfg(test)]
mod image_tests;
