//! Messages with images on the wire, in each protocol's shape; messages without, as before.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use serde_json::{Map, Value, json};

use crate::protocol::{Image, Message, Protocol, RequestSpec};

const ALL: [Protocol; 4] = [
    Protocol::OpenAiChat,
    Protocol::OpenAiCompletions,
    Protocol::Anthropic,
    Protocol::Ollama,
];

fn body(protocol: Protocol, messages: &[Message]) -> Value {
    let extra = Map::new();
    let wire = protocol.build_request(
        "http://127.0.0.1:1/v1",
        &RequestSpec {
            model: "m",
            messages,
            max_tokens: Some(8),
            temperature: None,
            stream: true,
            tools: &[],
            extra_body: &extra,
        },
    );
    serde_json::from_slice(&wire.body).unwrap()
}

fn with_image() -> Vec<Message> {
    let mut user = Message::user("What is in this picture?");
    user.images.push(Image::tiny_png("cat.png"));
    vec![Message::system("Be brief."), user]
}

#[test]
fn text_only_bodies_are_built_byte_for_byte_as_before_images() {
    let messages = [Message::system("Be brief."), Message::user("hi")];
    let extra = Map::new();
    let expected = [
        r#"{"max_tokens":8,"messages":[{"content":"Be brief.","role":"system"},{"content":"hi","role":"user"}],"model":"m","stream":true,"stream_options":{"include_usage":true}}"#,
        r#"{"max_tokens":8,"model":"m","prompt":"Be brief.\n\nhi","stream":true,"stream_options":{"include_usage":true}}"#,
        r#"{"max_tokens":8,"messages":[{"content":"hi","role":"user"}],"model":"m","stream":true,"system":"Be brief."}"#,
        r#"{"messages":[{"content":"Be brief.","role":"system"},{"content":"hi","role":"user"}],"model":"m","options":{"num_predict":8},"stream":true}"#,
    ];
    for (protocol, expected) in ALL.into_iter().zip(expected) {
        let wire = protocol.build_request(
            "http://127.0.0.1:1/v1",
            &RequestSpec {
                model: "m",
                messages: &messages,
                max_tokens: Some(8),
                temperature: None,
                stream: true,
                tools: &[],
                extra_body: &extra,
            },
        );
        assert_eq!(
            String::from_utf8(wire.body).unwrap(),
            expected,
            "{protocol:?}"
        );
    }
}

#[test]
fn openai_chat_sends_a_text_part_and_an_image_url_part_with_a_data_url() {
    let body = body(Protocol::OpenAiChat, &with_image());
    let image = Image::tiny_png("cat.png");
    assert_eq!(body["messages"][0]["content"], "Be brief.");
    assert_eq!(
        body["messages"][1]["content"],
        json!([
            { "type": "text", "text": "What is in this picture?" },
            { "type": "image_url", "image_url": {
                "url": format!("data:image/png;base64,{}", image.base64()) } },
        ])
    );
    assert!(
        image.base64().starts_with("iVBORw0KGgo"),
        "{}",
        image.base64()
    );
}

#[test]
fn anthropic_sends_the_text_then_a_base64_image_block() {
    let body = body(Protocol::Anthropic, &with_image());
    let image = Image::tiny_png("cat.png");
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(
        body["messages"][0]["content"],
        json!([
            { "type": "text", "text": "What is in this picture?" },
            { "type": "image", "source": {
                "type": "base64", "media_type": "image/png", "data": image.base64() } },
        ])
    );
}

#[test]
fn ollama_sends_bare_base64_in_the_messages_images() {
    let body = body(Protocol::Ollama, &with_image());
    let image = Image::tiny_png("cat.png");
    assert_eq!(
        body["messages"][1],
        json!({ "role": "user", "content": "What is in this picture?",
                "images": [image.base64()] })
    );
    assert!(body["messages"][0].get("images").is_none());
}
