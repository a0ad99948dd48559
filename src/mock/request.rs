//! Reading a generation request the way each protocol sends it: the few fields the mock acts
//! on (model, streaming, usage option, token cap) and the size of the prompt.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::images::Images;
use super::shape::{Asked, OfferedTool, Shape, Typed};
use super::text::{estimate_tokens, hash_bytes};
use crate::protocol::Protocol;

/// What the mock needs to know about one generation request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ask {
    /// The model name as a JSON string literal (quoted and escaped), ready to paste.
    pub model_json: String,
    pub stream: bool,
    pub include_usage: bool,
    /// The request's cap on output tokens, if it set one.
    pub max_tokens: Option<u32>,
    pub input_tokens: u32,
    /// Images in the prompt, in each protocol's shape, and the tokens they count for (part of
    /// `input_tokens`).
    pub images: u32,
    pub image_tokens: u32,
    /// Hash of the whole body: the same request gets the same text.
    pub body_hash: u64,
    /// Text, a JSON answer or a tool call.
    pub shape: Shape,
    /// The built-in prompt the body carries, whose written answers the mock streams.
    pub answer: Option<u16>,
}

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
    #[serde(default)]
    max_tokens: Option<i64>,
    #[serde(default)]
    max_completion_tokens: Option<i64>,
    #[serde(default)]
    options: Option<OllamaOptions>,
    #[serde(default)]
    messages: TextBytes,
    #[serde(default)]
    prompt: TextBytes,
    #[serde(default)]
    system: TextBytes,
    #[serde(default)]
    tools: Vec<OfferedTool>,
    #[serde(default)]
    response_format: Option<Typed>,
    #[serde(default)]
    output_format: Option<Typed>,
    #[serde(default)]
    format: Option<serde_json::Value>,
    /// The Responses API's prompt (`input`, a text or a list of items), its system prompt
    /// (`instructions`), token cap and `text.format`.
    #[serde(default)]
    input: TextBytes,
    #[serde(default)]
    instructions: TextBytes,
    #[serde(default)]
    max_output_tokens: Option<i64>,
    #[serde(default)]
    text: Option<serde_json::Value>,
    /// Gemini's prompt, system text and settings.
    #[serde(default)]
    contents: TextBytes,
    #[serde(default, rename = "systemInstruction")]
    system_instruction: TextBytes,
    #[serde(default, rename = "generationConfig")]
    generation_config: Option<GeminiConfig>,
    /// Bedrock's `maxTokens` and `temperature`.
    #[serde(default, rename = "inferenceConfig")]
    inference_config: Option<InferenceConfig>,
    /// Bedrock's tools (`toolConfig.tools`).
    #[serde(default, rename = "toolConfig")]
    tool_config: Option<ToolConfig>,
}

#[derive(Deserialize)]
struct ToolConfig {
    #[serde(default)]
    tools: Vec<OfferedTool>,
}

#[derive(Deserialize)]
struct GeminiConfig {
    #[serde(default, rename = "maxOutputTokens")]
    max_output_tokens: Option<i64>,
}

#[derive(Deserialize)]
struct InferenceConfig {
    #[serde(default, rename = "maxTokens")]
    max_tokens: Option<i64>,
}

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

#[derive(Deserialize)]
struct OllamaOptions {
    #[serde(default)]
    num_predict: Option<i64>,
}

/// Sums the bytes of every string inside a JSON value without building it: the prompt's size
/// is all the token estimate needs. Numbers count as four bytes (token-id prompts). Images (a
/// data URL, Anthropic's base64 `data`, Ollama's `images`) are counted apart, not as text.
#[derive(Default)]
struct TextBytes(u64, Images);

impl<'de> Deserialize<'de> for TextBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextBytesVisitor)
    }
}

struct TextBytesVisitor;

impl<'de> Visitor<'de> for TextBytesVisitor {
    type Value = TextBytes;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<TextBytes, E> {
        Ok(TextBytes(v.len() as u64, Images::default()))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<TextBytes, E> {
        Ok(TextBytes(4, Images::default()))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<TextBytes, E> {
        Ok(TextBytes(4, Images::default()))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<TextBytes, E> {
        Ok(TextBytes::default())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<TextBytes, E> {
        Ok(TextBytes::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<TextBytes, E> {
        Ok(TextBytes::default())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TextBytes, A::Error> {
        let mut total = TextBytes::default();
        while let Some(TextBytes(n, images)) = seq.next_element()? {
            total.0 = total.0.saturating_add(n);
            total.1.add(images);
        }
        Ok(total)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TextBytes, A::Error> {
        let mut total = TextBytes::default();
        while let Some(PromptKey(key)) = map.next_key()? {
            match key {
                Key::Text => {
                    let TextBytes(n, images) = map.next_value()?;
                    total.0 = total.0.saturating_add(n);
                    total.1.add(images);
                }
                Key::Other => {
                    map.next_value::<de::IgnoredAny>()?;
                }
                Key::Image => total.1.add(map.next_value::<Images>()?),
                Key::ImageUrl => {
                    let ImageUrl(TextBytes(n, images)) = map.next_value()?;
                    total.0 = total.0.saturating_add(n);
                    total.1.add(images);
                }
            }
        }
        Ok(total)
    }
}

/// What an object key holds: prompt text; nothing of the prompt (roles, part types, media
/// types); images; or `image_url`, an image itself (the Responses API's `input_image`) or an
/// object holding one (chat's `{"url": …}`).
enum Key {
    Text,
    Other,
    Image,
    ImageUrl,
}

/// An `image_url` value: a string is one image, anything else is read as prompt content.
struct ImageUrl(TextBytes);

impl<'de> Deserialize<'de> for ImageUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ImageUrlVisitor;
        impl<'de> Visitor<'de> for ImageUrlVisitor {
            type Value = ImageUrl;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an image URL or an object holding one")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ImageUrl, E> {
                let images = Images::deserialize(de::value::StrDeserializer::<E>::new(v))?;
                Ok(ImageUrl(TextBytes(0, images)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ImageUrl, A::Error> {
                TextBytesVisitor.visit_map(map).map(ImageUrl)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<ImageUrl, A::Error> {
                TextBytesVisitor.visit_seq(seq).map(ImageUrl)
            }
            fn visit_unit<E: de::Error>(self) -> Result<ImageUrl, E> {
                Ok(ImageUrl(TextBytes::default()))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<ImageUrl, E> {
                Ok(ImageUrl(TextBytes::default()))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<ImageUrl, E> {
                Ok(ImageUrl(TextBytes::default()))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<ImageUrl, E> {
                Ok(ImageUrl(TextBytes::default()))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<ImageUrl, E> {
                Ok(ImageUrl(TextBytes::default()))
            }
        }
        deserializer.deserialize_any(ImageUrlVisitor)
    }
}

/// An object key, read without allocating, escaped or not.
struct PromptKey(Key);

impl<'de> Deserialize<'de> for PromptKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = PromptKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PromptKey, E> {
                Ok(PromptKey(match v {
                    "role" | "type" | "media_type" | "mimeType" | "format" => Key::Other,
                    // OpenAI's `image_url.url`, Anthropic's `source.data`, Ollama's `images`,
                    // Bedrock's `source.bytes`.
                    "url" | "data" | "images" | "bytes" => Key::Image,
                    "image_url" => Key::ImageUrl,
                    _ => Key::Text,
                }))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Why a request body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadRequest(pub String);

impl Ask {
    pub(crate) fn parse(protocol: Protocol, body: &[u8]) -> Result<Ask, BadRequest> {
        let parsed: Body = serde_json::from_slice(body)
            .map_err(|e| BadRequest(format!("request body is not valid JSON for this API: {e}")))?;
        let model = parsed.model.unwrap_or_else(|| "mock".to_owned());
        let model_json = serde_json::to_string(&model).unwrap_or_else(|_| "\"mock\"".to_owned());
        let cap = match protocol {
            Protocol::OpenAiChat => parsed.max_completion_tokens.or(parsed.max_tokens),
            Protocol::OpenAiCompletions | Protocol::Anthropic => parsed.max_tokens,
            Protocol::Ollama => parsed.options.and_then(|o| o.num_predict),
            Protocol::Responses => parsed.max_output_tokens,
            Protocol::Gemini => parsed.generation_config.and_then(|c| c.max_output_tokens),
            Protocol::Bedrock => parsed.inference_config.and_then(|c| c.max_tokens),
            Protocol::OpenAiEmbeddings => None,
        };
        // Ollama uses negative caps for "no limit"; a negative cap means nothing elsewhere.
        let max_tokens = cap.and_then(|n| u32::try_from(n).ok());
        let text = parsed.messages.0
            + parsed.prompt.0
            + parsed.system.0
            + parsed.input.0
            + parsed.instructions.0
            + parsed.contents.0
            + parsed.system_instruction.0;
        let mut images = parsed.messages.1;
        images.add(parsed.prompt.1);
        images.add(parsed.system.1);
        images.add(parsed.input.1);
        images.add(parsed.instructions.1);
        images.add(parsed.contents.1);
        images.add(parsed.system_instruction.1);
        let image_tokens = u32::try_from(images.tokens).unwrap_or(u32::MAX);
        let body_hash = hash_bytes(body);
        let asked = Asked {
            tools: match &parsed.tool_config {
                Some(config) if parsed.tools.is_empty() => &config.tools,
                _ => &parsed.tools,
            },
            response_format: parsed.response_format.as_ref(),
            output_format: parsed.output_format.as_ref(),
            format: parsed.format.as_ref(),
            text: parsed.text.as_ref(),
        };
        let shape = Shape::of(protocol, &asked, body_hash);
        Ok(Ask {
            model_json,
            stream: parsed.stream.unwrap_or(protocol == Protocol::Ollama),
            include_usage: parsed.stream_options.is_some_and(|o| o.include_usage),
            max_tokens,
            input_tokens: estimate_tokens(text).saturating_add(image_tokens),
            images: images.count,
            image_tokens,
            body_hash,
            shape,
            answer: super::corpus::find(body),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    #[test]
    fn reads_openai_chat_fields() {
        let body = br#"{"model":"m\"x","messages":[{"role":"user","content":"hello there friend"}],
            "stream":true,"stream_options":{"include_usage":true},"max_tokens":9,"max_completion_tokens":5}"#;
        let ask = Ask::parse(Protocol::OpenAiChat, body).unwrap();
        assert_eq!(ask.model_json, r#""m\"x""#);
        assert!(ask.stream && ask.include_usage);
        assert_eq!(ask.max_tokens, Some(5));
        assert_eq!(ask.input_tokens, 5);
    }

    #[test]
    fn ollama_streams_by_default_and_negative_cap_is_none() {
        let body = br#"{"model":"llama","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"options":{"num_predict":-1}}"#;
        let ask = Ask::parse(Protocol::Ollama, body).unwrap();
        assert!(ask.stream);
        assert_eq!(ask.max_tokens, None);
        assert_eq!(ask.input_tokens, 1);
    }

    #[test]
    fn bad_json_is_refused() {
        assert!(Ask::parse(Protocol::Anthropic, b"{nope").is_err());
        assert!(Ask::parse(Protocol::Anthropic, b"[1,2]").is_err());
    }

    fn shape(protocol: Protocol, body: &str) -> Shape {
        let ask = Ask::parse(protocol, body.as_bytes()).unwrap();
        ask.shape
    }

    #[test]
    fn tools_make_a_tool_call_and_json_a_json_answer() {
        let openai = r#"{"messages":[],"tools":[{"type":"function","function":{"name":"get_weather",
            "parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]}"#;
        assert_eq!(
            shape(Protocol::OpenAiChat, openai),
            Shape::Tool {
                name: "get_weather".into(),
                key: "city".into()
            }
        );
        assert_eq!(shape(Protocol::OpenAiCompletions, openai), Shape::Text);
        let anthropic = r#"{"messages":[],"tools":[{"name":"say \"hi\"","input_schema":{}}]}"#;
        assert_eq!(
            shape(Protocol::Anthropic, anthropic),
            Shape::Tool {
                name: r#"say \"hi\""#.into(),
                key: "input".into()
            }
        );
        let json = r#"{"messages":[],"response_format":{"type":"json_schema","json_schema":{}}}"#;
        assert_eq!(shape(Protocol::OpenAiChat, json), Shape::Json);
        assert_eq!(shape(Protocol::Ollama, r#"{"format":"json"}"#), Shape::Json);
        assert_eq!(shape(Protocol::Ollama, r#"{"messages":[]}"#), Shape::Text);
    }
}

#[cfg(test)]
mod image_tests;
