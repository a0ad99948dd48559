//! The request of AWS Bedrock Converse: `/model/{modelId}/converse-stream` (or `/converse`
//! unstreamed), the model id percent-encoded as one path segment; a body of content blocks
//! (text, images with their bytes), system blocks, `inferenceConfig` and `toolConfig`.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::{Message, RequestSpec, WireRequest};
use crate::protocol::ToolDef;
use crate::protocol::extra_body::merge;

/// A model id as one path segment, as the AWS SDKs write it: every byte but the unreserved
/// ones (`A-Z a-z 0-9 - _ . ~`) percent-encoded, so `…-v1:0` becomes `…-v1%3A0` and an ARN's
/// `/` stays inside the segment.
fn path_segment(model: &str) -> String {
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

/// The path of a request, below the base URL: the model's, then the operation.
pub(super) fn path(spec: &RequestSpec<'_>) -> String {
    let operation = if spec.stream {
        "converse-stream"
    } else {
        "converse"
    };
    format!("model/{}/{operation}", path_segment(spec.model))
}

/// The request to `url` (the base joined with [`path`]); `temperature` as JSON writes it.
pub(super) fn build(
    url: String,
    spec: &RequestSpec<'_>,
    temperature: Option<Value>,
) -> WireRequest {
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
    if let Some(temperature) = temperature {
        config.insert("temperature".to_owned(), temperature);
    }
    if !config.is_empty() {
        body.insert("inferenceConfig".to_owned(), config.into());
    }
    if !spec.tools.is_empty() {
        body.insert("toolConfig".to_owned(), tool_config(spec.tools));
    }
    // Merged key by key, as Gemini's: `inferenceConfig = { topP = 0.5 }` keeps `maxTokens`
    // and `temperature`, `toolConfig = { toolChoice = … }` keeps the tools.
    for (key, value) in spec.extra_body {
        merge(&mut body, key, value);
    }
    WireRequest {
        url,
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
