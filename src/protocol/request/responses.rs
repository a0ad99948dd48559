//! The body of a Responses API request: system messages as `instructions`, the rest as `input`
//! items (images as `input_image` parts), `max_output_tokens`, and `store: false`.

use serde_json::{Map, Value, json};

use super::{Message, RequestSpec, flatten, insert_opt, number};

/// Fills `body` (which has `model` and `stream`) for `spec`.
///
/// System messages go to `instructions`, the field the API documents for them, rather than a
/// `system` or `developer` input item: every server that speaks the API takes it (OpenAI,
/// vLLM, `llama.cpp`, `LiteLLM`), and OpenAI's reasoning models treat it as the developer message
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

/// One message as an input item of `type: "message"` (the API documents the type on input
/// messages, and `llama.cpp` refuses an item without one from the second turn on: "Cannot
/// determine type of 'item'"): its text as `content`, or, with images, an `input_text` part
/// and an `input_image` part with a data URL per image.
fn input_item(message: &Message) -> Value {
    if message.images.is_empty() {
        return json!({ "type": "message", "role": message.role, "content": message.content });
    }
    let mut parts = Vec::with_capacity(message.images.len() + 1);
    if !message.content.is_empty() {
        parts.push(json!({ "type": "input_text", "text": message.content }));
    }
    for image in &message.images {
        parts.push(json!({ "type": "input_image", "image_url": image.data_url() }));
    }
    json!({ "type": "message", "role": message.role, "content": parts })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test should fail loudly")]
mod tests {
    use serde_json::{Map, Value, json};

    use crate::protocol::{Image, Message, Protocol, RequestSpec, ToolDef};

    fn body(messages: &[Message], tools: &[ToolDef], extra: &Map<String, Value>) -> Value {
        let spec = RequestSpec {
            model: "gpt-x",
            messages,
            max_tokens: Some(64),
            temperature: Some(0.7),
            stream: true,
            tools,
            extra_body: extra,
        };
        let wire = Protocol::Responses.build_request("https://api.openai.com/v1/", &spec);
        assert_eq!(wire.url, "https://api.openai.com/v1/responses");
        serde_json::from_slice(&wire.body).unwrap()
    }

    #[test]
    fn system_goes_to_instructions_and_the_rest_to_input() {
        let messages = [
            Message::system("Be terse."),
            Message::user("Hi"),
            Message::assistant("Hello."),
            Message::user("Again"),
        ];
        let body = body(&messages, &[], &Map::new());
        assert_eq!(body["instructions"], "Be terse.");
        assert_eq!(
            body["input"],
            json!([
                {"type": "message", "role": "user", "content": "Hi"},
                {"type": "message", "role": "assistant", "content": "Hello."},
                {"type": "message", "role": "user", "content": "Again"},
            ])
        );
        assert_eq!(body["max_output_tokens"], 64);
        assert_eq!(body["temperature"], 0.7);
        assert_eq!(body["stream"], true);
        assert_eq!(body["store"], false);
        assert_eq!(body["model"], "gpt-x");
        for absent in ["messages", "max_tokens", "stream_options", "tools"] {
            assert!(body.get(absent).is_none(), "{absent} in {body}");
        }
    }

    #[test]
    fn no_system_message_means_no_instructions() {
        let body = body(&[Message::user("Hi")], &[], &Map::new());
        assert!(body.get("instructions").is_none());
    }

    #[test]
    fn images_are_input_image_parts_after_the_text() {
        let mut message = Message::user("What is this?");
        message.images = vec![Image::tiny_png("a.png")];
        let body = body(&[message], &[], &Map::new());
        assert_eq!(body["input"][0]["type"], "message");
        let parts = &body["input"][0]["content"];
        assert_eq!(
            parts[0],
            json!({"type": "input_text", "text": "What is this?"})
        );
        assert_eq!(parts[1]["type"], "input_image");
        let url = parts[1]["image_url"].as_str().unwrap();
        assert!(
            url.starts_with("data:image/png;base64,iVBORw0KGgo"),
            "{url}"
        );
    }

    #[test]
    fn tools_are_flat_function_tools_and_extra_body_wins() {
        let tools = [ToolDef::new(
            "get_weather",
            "The weather",
            json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        )];
        let extra: Map<String, Value> =
            serde_json::from_value(json!({"store": true, "reasoning": {"effort": "low"}})).unwrap();
        let body = body(&[Message::user("Weather?")], &tools, &extra);
        assert_eq!(
            body["tools"],
            json!([{
                "type": "function",
                "name": "get_weather",
                "description": "The weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            }])
        );
        assert_eq!(body["store"], true);
        assert_eq!(body["reasoning"]["effort"], "low");
    }

    #[test]
    fn text_format_asks_for_json() {
        let asks = |extra: Value| {
            Protocol::Responses.asks_for_json(&serde_json::from_value(extra).unwrap())
        };
        assert!(asks(
            json!({"text": {"format": {"type": "json_schema", "name": "a"}}})
        ));
        assert!(asks(json!({"text": {"format": {"type": "json_object"}}})));
        assert!(!asks(json!({"text": {"format": {"type": "text"}}})));
        assert!(!asks(json!({"response_format": {"type": "json_object"}})));
    }

    #[test]
    fn the_key_goes_in_a_bearer_header_and_warm_up_asks_for_models() {
        assert_eq!(
            Protocol::Responses.auth_header("sk-1"),
            ("authorization", "Bearer sk-1".to_owned())
        );
        assert_eq!(
            Protocol::Responses.warmup_url("http://h/v1"),
            "http://h/v1/models"
        );
        assert_eq!(
            Protocol::parse("openai-responses"),
            Some(Protocol::Responses)
        );
        assert_eq!(Protocol::Responses.name(), "responses");
    }
}
