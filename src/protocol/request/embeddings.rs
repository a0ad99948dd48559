//! The request of OpenAI-compatible embeddings: `{"model", "input": [...], "encoding_format"}`,
//! one input per message of the spec, nothing of generation.

use serde_json::{Map, Value};

use super::{RequestSpec, WireRequest};

/// Vectors are asked for as JSON numbers, which every OpenAI-compatible server sends (some
/// older TEI, vLLM and llama.cpp builds do not know `base64`); a user who wants the smaller
/// base64 answer sets `encoding_format` in the endpoint's `body`, and the decoder reads both.
const ENCODING: &str = "float";

/// The request: every message of `spec` is one input, in order (the engine puts a batch's
/// prompts there, one each). No `stream` (removed from `body`), no output budget: an
/// embedding has no output.
pub(super) fn build(
    url: String,
    headers: Vec<(&'static str, String)>,
    mut body: Map<String, Value>,
    spec: &RequestSpec<'_>,
) -> WireRequest {
    let inputs: Vec<Value> = spec
        .messages
        .iter()
        .map(|m| Value::from(m.content.as_str()))
        .collect();
    body.remove("stream");
    body.insert("input".to_owned(), inputs.into());
    body.insert("encoding_format".to_owned(), ENCODING.into());
    for (key, value) in spec.extra_body {
        body.insert(key.clone(), value.clone());
    }
    WireRequest {
        url,
        headers,
        // Serializing a map of JSON values cannot fail.
        body: serde_json::to_vec(&body).unwrap_or_default(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test should fail loudly")]
mod tests {
    use crate::protocol::{Message, Protocol, RequestSpec};
    use serde_json::{Map, Value};

    #[test]
    fn the_request_carries_one_input_per_message_and_no_stream() {
        let messages = [Message::user("one"), Message::user("two")];
        let extra = Map::new();
        let spec = RequestSpec {
            model: "bge",
            messages: &messages,
            max_tokens: Some(64),
            temperature: Some(0.5),
            stream: true,
            tools: &[],
            extra_body: &extra,
        };
        let wire = Protocol::OpenAiEmbeddings.build_request("http://h/v1/", &spec);
        assert_eq!(wire.url, "http://h/v1/embeddings");
        let body: Value = serde_json::from_slice(&wire.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"model": "bge", "input": ["one", "two"], "encoding_format": "float"})
        );
    }
}
