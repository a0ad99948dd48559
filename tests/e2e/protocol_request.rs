//! Request building per protocol: URLs joined onto base URLs with path prefixes, headers, JSON
//! bodies (compared as values), `extra_body` overrides, auth headers, warm-up URLs and names.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

use llmrace::protocol::{Message, Protocol, RequestSpec, WireRequest};
use serde_json::{Map, Value, json};

fn msg(role: &str, content: &str) -> Message {
    Message::new(role, content)
}

fn conversation() -> Vec<Message> {
    vec![
        msg("system", "Be brief."),
        msg("user", "Name a colour."),
        msg("assistant", "Teal."),
        msg("user", "Another one?"),
    ]
}

fn build(
    protocol: Protocol,
    base: &str,
    stream: bool,
    max_tokens: Option<u32>,
    temperature: Option<f32>,
    extra: &Map<String, Value>,
) -> (WireRequest, Value) {
    let messages = conversation();
    let spec = RequestSpec {
        model: "m-1",
        messages: &messages,
        max_tokens,
        temperature,
        stream,
        tools: &[],
        extra_body: extra,
    };
    let req = protocol.build_request(base, &spec);
    let body = serde_json::from_slice(&req.body).unwrap();
    (req, body)
}

fn header<'r>(req: &'r WireRequest, name: &str) -> Option<&'r str> {
    req.headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn urls_join_onto_prefixes_with_or_without_trailing_slash() {
    let none = Map::new();
    let cases = [
        (
            Protocol::OpenAiChat,
            "http://h:8000/v1",
            "http://h:8000/v1/chat/completions",
        ),
        (
            Protocol::OpenAiChat,
            "http://h/proxy/v1/",
            "http://h/proxy/v1/chat/completions",
        ),
        (
            Protocol::OpenAiCompletions,
            "http://h/proxy/v1",
            "http://h/proxy/v1/completions",
        ),
        (
            Protocol::Anthropic,
            "https://api.anthropic.com/v1/",
            "https://api.anthropic.com/v1/messages",
        ),
        (
            Protocol::Ollama,
            "http://localhost:11434",
            "http://localhost:11434/api/chat",
        ),
        (
            Protocol::Ollama,
            "http://gpu-box/ollama//",
            "http://gpu-box/ollama/api/chat",
        ),
        (
            Protocol::OpenAiChat,
            "https://x.example/openai/deployments/d?api-version=2024-10-21",
            "https://x.example/openai/deployments/d/chat/completions?api-version=2024-10-21",
        ),
    ];
    for (protocol, base, want) in cases {
        let (req, _) = build(protocol, base, true, None, None, &none);
        assert_eq!(req.url, want, "{protocol} {base}");
    }
}

#[test]
fn warmup_urls() {
    assert_eq!(
        Protocol::OpenAiChat.warmup_url("http://h/v1/"),
        "http://h/v1/models"
    );
    assert_eq!(
        Protocol::OpenAiCompletions.warmup_url("http://h/v1"),
        "http://h/v1/models"
    );
    assert_eq!(
        Protocol::Anthropic.warmup_url("https://a/v1"),
        "https://a/v1/models"
    );
    assert_eq!(
        Protocol::Ollama.warmup_url("http://o:11434/"),
        "http://o:11434/api/tags"
    );
}

#[test]
fn openai_chat_streaming_body_asks_for_usage() {
    let (req, body) = build(
        Protocol::OpenAiChat,
        "http://h/v1",
        true,
        Some(64),
        Some(0.7),
        &Map::new(),
    );
    assert_eq!(header(&req, "content-type"), Some("application/json"));
    assert_eq!(req.headers.len(), 1);
    assert_eq!(
        body,
        json!({
            "model": "m-1",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Name a colour."},
                {"role": "assistant", "content": "Teal."},
                {"role": "user", "content": "Another one?"},
            ],
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": 64,
            "temperature": 0.7,
        })
    );
}

#[test]
fn openai_chat_non_streaming_body_has_no_stream_options() {
    let (_, body) = build(
        Protocol::OpenAiChat,
        "http://h/v1",
        false,
        None,
        None,
        &Map::new(),
    );
    assert_eq!(body["stream"], json!(false));
    assert!(body.get("stream_options").is_none());
    assert!(body.get("max_tokens").is_none());
    assert!(body.get("temperature").is_none());
}

#[test]
fn completions_body_flattens_messages_into_one_prompt() {
    let (req, body) = build(
        Protocol::OpenAiCompletions,
        "http://h/v1",
        true,
        Some(8),
        None,
        &Map::new(),
    );
    assert_eq!(header(&req, "content-type"), Some("application/json"));
    assert_eq!(
        body,
        json!({
            "model": "m-1",
            "prompt": "Be brief.\n\nName a colour.\n\nTeal.\n\nAnother one?",
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": 8,
        })
    );
}

#[test]
fn anthropic_body_moves_system_out_and_defaults_max_tokens() {
    let (req, body) = build(
        Protocol::Anthropic,
        "https://a/v1",
        true,
        None,
        Some(0.25),
        &Map::new(),
    );
    assert_eq!(header(&req, "anthropic-version"), Some("2023-06-01"));
    assert_eq!(header(&req, "content-type"), Some("application/json"));
    assert_eq!(
        body,
        json!({
            "model": "m-1",
            "system": "Be brief.",
            "messages": [
                {"role": "user", "content": "Name a colour."},
                {"role": "assistant", "content": "Teal."},
                {"role": "user", "content": "Another one?"},
            ],
            "max_tokens": 1024,
            "temperature": 0.25,
            "stream": true,
        })
    );
    let (_, body) = build(
        Protocol::Anthropic,
        "https://a/v1",
        false,
        Some(16),
        None,
        &Map::new(),
    );
    assert_eq!(body["max_tokens"], json!(16));
    assert_eq!(body["stream"], json!(false));
}

#[test]
fn anthropic_body_without_system_messages_has_no_system_field() {
    let messages = vec![msg("user", "hi")];
    let none = Map::new();
    let spec = RequestSpec {
        model: "m",
        messages: &messages,
        max_tokens: None,
        temperature: None,
        stream: true,
        tools: &[],
        extra_body: &none,
    };
    let body: Value = serde_json::from_slice(
        &Protocol::Anthropic
            .build_request("https://a/v1", &spec)
            .body,
    )
    .unwrap();
    assert!(body.get("system").is_none());
}

#[test]
fn ollama_body_puts_sampling_in_options_and_says_stream_explicitly() {
    let (req, body) = build(
        Protocol::Ollama,
        "http://o:11434",
        false,
        Some(32),
        Some(0.1),
        &Map::new(),
    );
    assert_eq!(header(&req, "content-type"), Some("application/json"));
    assert_eq!(body["stream"], json!(false));
    assert_eq!(
        body["options"],
        json!({"num_predict": 32, "temperature": 0.1})
    );
    assert_eq!(body["messages"].as_array().unwrap().len(), 4);
    let (_, body) = build(
        Protocol::Ollama,
        "http://o:11434",
        true,
        None,
        None,
        &Map::new(),
    );
    assert_eq!(body["stream"], json!(true));
    assert!(body.get("options").is_none());
}

#[test]
fn extra_body_is_merged_last_and_overrides() {
    let mut extra = Map::new();
    extra.insert("top_p".to_owned(), json!(0.9));
    extra.insert("max_tokens".to_owned(), json!(5));
    extra.insert(
        "stream_options".to_owned(),
        json!({"include_usage": true, "continuous_usage_stats": true}),
    );
    extra.insert("model".to_owned(), json!("override"));
    for protocol in Protocol::ALL {
        let (_, body) = build(protocol, "http://h/v1", true, Some(64), None, &extra);
        assert_eq!(body["top_p"], json!(0.9), "{protocol}");
        assert_eq!(body["max_tokens"], json!(5), "{protocol}");
        assert_eq!(body["model"], json!("override"), "{protocol}");
        assert_eq!(
            body["stream_options"]["continuous_usage_stats"],
            json!(true),
            "{protocol}"
        );
    }
}

#[test]
fn auth_headers() {
    assert_eq!(
        Protocol::OpenAiChat.auth_header("sk-1"),
        ("authorization", "Bearer sk-1".to_owned())
    );
    assert_eq!(
        Protocol::OpenAiCompletions.auth_header("k"),
        ("authorization", "Bearer k".to_owned())
    );
    assert_eq!(
        Protocol::Ollama.auth_header("k"),
        ("authorization", "Bearer k".to_owned())
    );
    assert_eq!(
        Protocol::Anthropic.auth_header("sk-ant"),
        ("x-api-key", "sk-ant".to_owned())
    );
}

#[test]
fn names_round_trip_with_serde_and_aliases_parse() {
    for protocol in Protocol::ALL {
        assert_eq!(Protocol::parse(protocol.name()), Some(protocol));
        assert_eq!(
            serde_json::to_value(protocol).unwrap(),
            json!(protocol.name())
        );
        assert_eq!(protocol.to_string(), protocol.name());
    }
    assert_eq!(Protocol::parse("chat"), Some(Protocol::OpenAiChat));
    assert_eq!(
        Protocol::parse("completions"),
        Some(Protocol::OpenAiCompletions)
    );
    assert_eq!(Protocol::parse("messages"), Some(Protocol::Anthropic));
    assert_eq!(Protocol::parse("OpenAI"), Some(Protocol::OpenAiChat));
    assert_eq!(Protocol::parse("grpc"), None);
}

#[test]
fn error_message_reads_the_usual_error_bodies() {
    let p = Protocol::OpenAiChat;
    assert_eq!(
        p.error_message(br#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#)
            .as_deref(),
        Some("requests: Rate limit reached")
    );
    assert_eq!(
        Protocol::Ollama
            .error_message(br#"{"error":"model 'x' not found"}"#)
            .as_deref(),
        Some("model 'x' not found")
    );
    assert_eq!(p.error_message(b"<html>502</html>"), None);
}

fn with_tools(protocol: Protocol, extra: &Map<String, Value>) -> Value {
    let messages = vec![msg("user", "weather in Oslo?")];
    let tools = [llmrace::protocol::ToolDef::new(
        "get_weather",
        "The weather in a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    )];
    let spec = RequestSpec {
        model: "m",
        messages: &messages,
        max_tokens: None,
        temperature: None,
        stream: true,
        tools: &tools,
        extra_body: extra,
    };
    serde_json::from_slice(&protocol.build_request("http://h/v1", &spec).body).unwrap()
}

#[test]
fn tools_go_in_each_protocols_shape_and_body_overrides_them() {
    let none = Map::new();
    let schema =
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
    let function = json!([{"type": "function", "function": {
        "name": "get_weather", "description": "The weather in a city", "parameters": schema}}]);
    assert_eq!(with_tools(Protocol::OpenAiChat, &none)["tools"], function);
    assert_eq!(with_tools(Protocol::Ollama, &none)["tools"], function);
    assert_eq!(
        with_tools(Protocol::Anthropic, &none)["tools"],
        json!([{"name": "get_weather", "description": "The weather in a city", "input_schema": schema}])
    );
    assert!(
        with_tools(Protocol::OpenAiCompletions, &none)
            .get("tools")
            .is_none()
    );
    let mut extra = Map::new();
    extra.insert("tools".into(), json!([]));
    assert_eq!(with_tools(Protocol::OpenAiChat, &extra)["tools"], json!([]));
}
