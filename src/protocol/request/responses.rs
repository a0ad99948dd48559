//! The body of a Responses API request: system messages as `instructions`, the rest as `input`
//! items (images as `input_image` parts), `max_output_tokens`, and `store: false`.

use serde_json::{Map, Value, json};

use super::{Message, RequestSpec, flatten, insert_opt, number};

/// Fills `body` (which has `model` and `stream`) for `spec`.
///
/// System messages go to `instructions`, the field the API documents for them, rather than a
/// `system` or `developer` input item: every server that speaks the API takes it (OpenAI,
/// vLLM, llama.cpp, LiteLLM), and OpenAI's reasoning models treat it as the developer message
/// either way. Like Anthropic's `system`, it comes before every input item, so a cold race's
/// salt, which starts the first message, still starts the prompt.
///
/// `store: false`: OpenAI keeps every response for 30 days unless told not to, and a race
/// should not leave thousands of them behind; `extra_body` can set it back.
pub(super) fn fill(spec: &RequestSpec<'_>, body: &mut Map<String, Value>) {
    let (system, chat): (Vec<&Message>, Vec<&Message>) =
        spec.messages.iter().partition(|m| m.role == "system");
    if !system.is_empty() {
        body.insert(
            "instructions".to_owned(),
            flatten(system.into_iter()).into(),
        );
    }
    body.insert(
        "input".to_owned(),
        chat.into_iter().map(input_item).collect(),
    );
    insert_opt(body, "max_output_tokens", spec.max_tokens.map(Value::from));
    insert_opt(body, "temperature", spec.temperature.map(number));
    body.insert("store".to_owned(), false.into());
}

/// One message as an input item: its text as `content`, or, with images, an `input_text` part
/// and an `input_image` part with a data URL per image.
fn input_item(message: &Message) -> Value {
    if message.images.is_empty() {
        return json!({ "role": message.role, "content": message.content });
    }
    let mut parts = Vec::with_capacity(message.images.len() + 1);
    if !message.content.is_empty() {
        parts.push(json!({ "type": "input_text", "text": message.content }));
    }
    for image in &message.images {
        parts.push(json!({ "type": "input_image", "image_url": image.data_url() }));
    }
    json!({ "role": message.role, "content": parts })
}
