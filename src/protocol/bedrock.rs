//! AWS Bedrock Converse: the request (`/model/{modelId}/converse-stream`, or `/converse`
//! unstreamed) with its content blocks, system blocks, `inferenceConfig` and `toolConfig`; the
//! error bodies (`{"message": …}`, with `__type` when AWS names the exception). The streamed
//! response, AWS event-stream frames, is decoded in `bedrock/stream.rs`; the whole `/converse`
//! body in `bedrock/body.rs`. Signing is not the protocol's: the engine signs each request as
//! it sends it (`aws_auth`).

mod body;
mod stream;

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::decode::BodyDecoder;
use super::request::{RequestSpec, WireRequest, join_url};
use super::tools::ToolDef;
use super::{Decoded, Decoder, Message};

pub(super) fn decoder(stream: bool) -> Box<dyn Decoder> {
    if stream {
        Box::new(stream::EventStreamDecoder::default())
    } else {
        Box::new(BodyDecoder::new(body::decode_body))
    }
}

/// A model id as one path segment, as the AWS SDKs write it: every byte but the unreserved
/// ones (`A-Z a-z 0-9 - _ . ~`) percent-encoded, so `…-v1:0` becomes `…-v1%3A0` and an ARN's
/// `/` stays inside the segment.
pub(crate) fn path_segment(model: &str) -> String {
    let mut out = String::with_capacity(model.len());
    for byte in model.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

pub(super) fn build(base_url: &str, spec: &RequestSpec<'_>) -> WireRequest {
    let operation = if spec.stream {
        "converse-stream"
    } else {
        "converse"
    };
    let path = format!("model/{}/{operation}", path_segment(spec.model));
    let mut body = Map::new();
    let (system, chat): (Vec<&Message>, Vec<&Message>) =
        spec.messages.iter().partition(|m| m.role == "system");
    body.insert(
        "messages".to_owned(),
        chat.into_iter().map(message).collect(),
    );
    if !system.is_empty() {
        body.insert(
            "system".to_owned(),
            system
                .into_iter()
                .map(|m| json!({ "text": m.content }))
                .collect(),
        );
    }
    let mut config = Map::new();
    if let Some(max) = spec.max_tokens {
        config.insert("maxTokens".to_owned(), max.into());
    }
    if let Some(temperature) = spec.temperature {
        config.insert(
            "temperature".to_owned(),
            super::request::number(temperature),
        );
    }
    if !config.is_empty() {
        body.insert("inferenceConfig".to_owned(), config.into());
    }
    if !spec.tools.is_empty() {
        body.insert("toolConfig".to_owned(), tool_config(spec.tools));
    }
    for (key, value) in spec.extra_body {
        body.insert(key.clone(), value.clone());
    }
    WireRequest {
        url: join_url(base_url, &path),
        headers: vec![("content-type", "application/json".to_owned())],
        // Serializing a map of JSON values cannot fail.
        body: serde_json::to_vec(&body).unwrap_or_default(),
    }
}

/// A message as Converse content blocks: its text (unless empty beside images: Bedrock
/// refuses a blank text block) and its images, their bytes base64 in `source.bytes`.
fn message(m: &Message) -> Value {
    let mut content = Vec::new();
    if !m.content.is_empty() || m.images.is_empty() {
        content.push(json!({ "text": m.content }));
    }
    for image in &m.images {
        let format = image.media_type.name().trim_start_matches("image/");
        content.push(json!({
            "image": { "format": format, "source": { "bytes": image.base64() } }
        }));
    }
    json!({ "role": m.role, "content": content })
}

fn tool_config(tools: &[ToolDef]) -> Value {
    let tools: Vec<Value> = tools
        .iter()
        .map(|t| {
            let mut spec = json!({ "name": t.name, "inputSchema": { "json": t.parameters } });
            if !t.description.is_empty()
                && let Some(object) = spec.as_object_mut()
            {
                object.insert("description".to_owned(), json!(t.description));
            }
            json!({ "toolSpec": spec })
        })
        .collect();
    json!({ "tools": tools })
}

/// The message of a Bedrock error body: `{"message": …}` (`Message` in some services), led by
/// the exception's name from `__type` when there is one (`ThrottlingException: Rate
/// exceeded`); other shapes as every protocol reads them.
pub(super) fn error_message(body: &[u8]) -> Option<String> {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let message = ["message", "Message"]
        .iter()
        .find_map(|k| map.get(*k).and_then(Value::as_str));
    let kind = map
        .get("__type")
        .and_then(Value::as_str)
        .map(exception_name)
        .filter(|k| !k.is_empty());
    match (kind, message) {
        (Some(kind), Some(message)) => Some(super::decode::error_text(&json!({
            "type": kind, "message": message
        }))),
        (None, Some(message)) => Some(super::decode::error_text(&json!(message))),
        (Some(kind), None) => Some(kind.to_owned()),
        (None, None) => super::decode::body_error(body),
    }
}

/// `ThrottlingException` of `ThrottlingException:http://internal.amazon.com/…` or
/// `com.amazon.coral.service#ThrottlingException`, as AWS writes the exception's name.
fn exception_name(kind: &str) -> &str {
    let kind = kind.split(':').next().unwrap_or(kind);
    kind.rsplit('#').next().unwrap_or(kind)
}

/// Pushes Bedrock's usage, normalised: its `inputTokens` leaves out the tokens read from and
/// written to the prompt cache (as Anthropic's does), so the input llmrace stores is the sum
/// of the three, and the same prompt counts the same whatever the protocol.
fn push_usage(usage: &Usage, out: &mut Vec<Decoded>) {
    let reported = super::decode::reported([
        ("inputTokens", usage.input_tokens),
        ("outputTokens", usage.output_tokens),
        ("cacheReadInputTokens", usage.cache_read_input_tokens),
        ("cacheWriteInputTokens", usage.cache_write_input_tokens),
    ]);
    if reported.is_empty() {
        return;
    }
    let input = usage.input_tokens.map(|uncached| {
        [
            usage.cache_read_input_tokens,
            usage.cache_write_input_tokens,
        ]
        .into_iter()
        .flatten()
        .fold(uncached, u32::saturating_add)
    });
    out.push(Decoded::Usage {
        input,
        output: usage.output_tokens,
        cached_input: usage.cache_read_input_tokens,
        cache_write: usage.cache_write_input_tokens,
        reasoning: None,
        reported,
    });
}

/// The server's own time for the whole response (`metrics.latencyMs`), kept beside the
/// client's timings as Ollama's are: as the server timings' total.
fn push_latency(metrics: Option<&Metrics>, out: &mut Vec<Decoded>) {
    if let Some(ms) = metrics.and_then(|m| m.latency_ms) {
        out.push(Decoded::ServerTimings(crate::event::ServerTimings {
            total_ns: Some(ms.saturating_mul(1_000_000)),
            ..crate::event::ServerTimings::default()
        }));
    }
}

/// `usage` of a `metadata` event or a whole response.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[expect(
    clippy::struct_field_names,
    reason = "the fields are Bedrock's JSON keys, read by serde"
)]
struct Usage {
    input_tokens: Option<u32>,
    output_tokens: Option<u32>,
    cache_read_input_tokens: Option<u32>,
    cache_write_input_tokens: Option<u32>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metrics {
    latency_ms: Option<u64>,
}

#[cfg(test)]
mod tests;
