#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

use aws_smithy_types::event_stream::{Header, HeaderValue, Message as Frame};
use bytes::Bytes;
use serde_json::{Value, json};

use super::*;
use crate::protocol::{Image, Message, Protocol, RequestSpec, ToolDef};
use serde_json::Map;

fn spec<'a>(
    messages: &'a [Message],
    tools: &'a [ToolDef],
    extra: &'a Map<String, Value>,
    stream: bool,
) -> RequestSpec<'a> {
    RequestSpec {
        model: "anthropic.claude-3-5-haiku-20241022-v1:0",
        messages,
        max_tokens: Some(64),
        temperature: Some(0.7),
        stream,
        tools,
        extra_body: extra,
    }
}

#[test]
fn the_request_is_converse_shaped_with_the_model_in_the_path() {
    let mut user = Message::user("Describe it");
    user.images.push(Image::tiny_png("a.png"));
    let messages = [
        Message::system("Be brief."),
        user,
        Message::assistant("Sure"),
    ];
    let tools = [ToolDef::new(
        "lookup",
        "Finds things",
        json!({"type": "object"}),
    )];
    let extra = Map::new();
    let wire = Protocol::Bedrock.build_request(
        "https://bedrock-runtime.us-east-1.amazonaws.com/",
        &spec(&messages, &tools, &extra, true),
    );
    assert_eq!(
        wire.url,
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/\
         anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream"
    );
    let body: Value = serde_json::from_slice(&wire.body).unwrap();
    assert_eq!(body["system"], json!([{"text": "Be brief."}]));
    assert_eq!(
        body["inferenceConfig"],
        json!({"maxTokens": 64, "temperature": 0.7})
    );
    assert_eq!(body["messages"][0]["role"], "user");
    assert_eq!(
        body["messages"][0]["content"][0],
        json!({"text": "Describe it"})
    );
    let image = &body["messages"][0]["content"][1]["image"];
    assert_eq!(image["format"], "png");
    assert!(
        image["source"]["bytes"]
            .as_str()
            .unwrap()
            .starts_with("iVBOR")
    );
    assert_eq!(
        body["messages"][1],
        json!({"role": "assistant", "content": [{"text": "Sure"}]})
    );
    assert_eq!(
        body["toolConfig"]["tools"][0]["toolSpec"],
        json!({"name": "lookup", "description": "Finds things",
               "inputSchema": {"json": {"type": "object"}}})
    );
    assert!(body.get("model").is_none() && body.get("stream").is_none());
}

#[test]
fn unstreamed_requests_go_to_converse_and_extra_fields_are_merged() {
    let messages = [Message::user("hi")];
    let mut extra = Map::new();
    extra.insert(
        "additionalModelRequestFields".to_owned(),
        json!({"thinking": {"type": "enabled", "budget_tokens": 1024}}),
    );
    let wire =
        Protocol::Bedrock.build_request("http://127.0.0.1:9", &spec(&messages, &[], &extra, false));
    assert!(wire.url.ends_with("/converse"), "{}", wire.url);
    let body: Value = serde_json::from_slice(&wire.body).unwrap();
    assert_eq!(
        body["additionalModelRequestFields"]["thinking"]["budget_tokens"],
        1024
    );
    assert!(body.get("toolConfig").is_none() && body.get("system").is_none());
}

#[test]
fn the_endpoint_body_merges_into_inference_and_tool_config() {
    let messages = [Message::user("hi")];
    let tools = [ToolDef::new("lookup", "", json!({"type": "object"}))];
    let extra: Map<String, Value> = serde_json::from_value(json!({
        "inferenceConfig": {"topP": 0.5, "temperature": 0.2},
        "toolConfig": {"toolChoice": {"any": {}}},
    }))
    .unwrap();
    let wire = Protocol::Bedrock
        .build_request("http://127.0.0.1:9", &spec(&messages, &tools, &extra, true));
    let body: Value = serde_json::from_slice(&wire.body).unwrap();
    assert_eq!(
        body["inferenceConfig"],
        json!({"maxTokens": 64, "temperature": 0.2, "topP": 0.5})
    );
    assert_eq!(body["toolConfig"]["toolChoice"], json!({"any": {}}));
    assert_eq!(body["toolConfig"]["tools"][0]["toolSpec"]["name"], "lookup");
}

#[test]
fn model_ids_and_arns_stay_one_path_segment() {
    let messages = [Message::user("hi")];
    let extra = Map::new();
    let url = |model: &str| {
        let mut spec = spec(&messages, &[], &extra, true);
        spec.model = model;
        Protocol::Bedrock.build_request("http://h", &spec).url
    };
    assert_eq!(
        url("meta.llama3-8b-instruct-v1:0"),
        "http://h/model/meta.llama3-8b-instruct-v1%3A0/converse-stream"
    );
    assert_eq!(
        url("arn:aws:bedrock:us-east-1:1:inference-profile/us.x"),
        "http://h/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.x/converse-stream"
    );
    assert_eq!(
        url("a b?#é"),
        "http://h/model/a%20b%3F%23%C3%A9/converse-stream"
    );
}

#[test]
fn error_bodies_name_the_exception() {
    let message = |body: &str| Protocol::Bedrock.error_message(body.as_bytes());
    assert_eq!(
        message(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#).as_deref(),
        Some("ThrottlingException: Rate exceeded")
    );
    assert_eq!(
        message(r#"{"message":"The provided model identifier is invalid."}"#).as_deref(),
        Some("The provided model identifier is invalid.")
    );
    assert_eq!(
        message(r#"{"__type":"com.amazon.coral.validate#ValidationException","Message":"bad"}"#)
            .as_deref(),
        Some("ValidationException: bad")
    );
    assert_eq!(
        message(r#"{"error":{"message":"proxy said no"}}"#).as_deref(),
        Some("proxy said no")
    );
    assert_eq!(message("<html>"), None);
}

#[test]
fn an_exception_named_only_in_the_error_type_header_is_read() {
    let typed = |body: &str, header: &str| {
        Protocol::Bedrock.error_message_typed(body.as_bytes(), Some(header))
    };
    let header = "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/";
    assert_eq!(
        typed(r#"{"message":"Too many requests, please wait."}"#, header).as_deref(),
        Some("ThrottlingException: Too many requests, please wait.")
    );
    // The body's own `__type` wins; an empty body still names the exception.
    assert_eq!(
        typed(
            r#"{"__type":"ValidationException","message":"bad"}"#,
            header
        )
        .as_deref(),
        Some("ValidationException: bad")
    );
    assert_eq!(typed("", header).as_deref(), Some("ThrottlingException"));
    assert_eq!(typed(r#"{"message":"m"}"#, "  ").as_deref(), Some("m"));
    // Other protocols have no such header: the body alone.
    assert_eq!(
        Protocol::OpenAiChat
            .error_message_typed(br#"{"error":{"message":"m"}}"#, Some(header))
            .as_deref(),
        Some("m")
    );
}

fn frame(kind: &str, name: &str, payload: &str) -> Vec<u8> {
    let (type_header, message_type) = match kind {
        "exception" => (":exception-type", "exception"),
        _ => (":event-type", "event"),
    };
    let frame = Frame::new_from_parts(
        vec![
            Header::new(type_header, HeaderValue::String(name.to_owned().into())),
            Header::new(":message-type", HeaderValue::String(message_type.into())),
        ],
        Bytes::from(payload.to_owned()),
    );
    let mut out = Vec::new();
    aws_smithy_eventstream::frame::write_message_to(&frame, &mut out).unwrap();
    out
}

fn decode(chunks: &[&[u8]]) -> Vec<Decoded> {
    let mut decoder = Protocol::Bedrock.decoder(true);
    let mut out = Vec::new();
    for chunk in chunks {
        decoder.feed(chunk, &mut out);
    }
    decoder.finish(&mut out);
    out
}

#[test]
fn an_exception_frame_is_the_servers_error() {
    let body = [
        frame("event", "messageStart", r#"{"role":"assistant"}"#),
        frame(
            "event",
            "contentBlockDelta",
            r#"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#,
        ),
        frame(
            "exception",
            "throttlingException",
            r#"{"message":"Too many tokens, please wait."}"#,
        ),
    ]
    .concat();
    let out = decode(&[&body]);
    assert_eq!(
        out,
        [
            Decoded::Content {
                text: "Hi".into(),
                reasoning: false
            },
            Decoded::StatusError {
                status: 429,
                message: "throttlingException: Too many tokens, please wait.".into()
            },
        ]
    );
}

#[test]
fn an_exception_frame_an_http_status_names_fails_with_that_status_s_class() {
    let kinds = [
        ("throttlingException", Some(429)),
        ("serviceUnavailableException", Some(503)),
        ("internalServerException", Some(500)),
        ("modelStreamErrorException", None),
        ("validationException", None),
    ];
    for (kind, status) in kinds {
        let out = decode(&[&frame("exception", kind, r#"{"message":"m"}"#)]);
        let message = format!("{kind}: m");
        let expected = match status {
            Some(status) => Decoded::StatusError { status, message },
            None => Decoded::ServerError { message },
        };
        assert_eq!(out, [expected], "{kind}");
    }
}

#[test]
fn a_damaged_frame_stops_decoding_with_a_message() {
    let good = frame(
        "event",
        "contentBlockDelta",
        r#"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#,
    );
    let mut bad = frame(
        "event",
        "contentBlockDelta",
        r#"{"contentBlockIndex":0,"delta":{"text":"x"}}"#,
    );
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let out = decode(&[&good, &bad, &good]);
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(
        matches!(&out[1], Decoded::Malformed { message } if message.contains("damaged")),
        "{out:?}"
    );
    // A prelude whose checksum is wrong is refused at once, without waiting for its length.
    let mut prelude = good.clone();
    prelude[0] = 0x00;
    prelude[1] = 0xff;
    let out = decode(&[&good, &prelude[..12]]);
    assert!(
        matches!(out.last(), Some(Decoded::Malformed { .. })),
        "{out:?}"
    );
}

#[test]
fn frames_answering_an_unstreamed_request_are_named_an_event_stream() {
    let body = frame(
        "event",
        "contentBlockDelta",
        r#"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#,
    );
    let mut frames = decoder(false);
    let mut out = Vec::new();
    for chunk in body.chunks(5) {
        frames.feed(chunk, &mut out);
    }
    frames.finish(&mut out);
    assert!(
        matches!(&out[..], [Decoded::Malformed { message }]
            if message.contains("AWS event stream") && !message.contains("UTF-8")),
        "{out:?}"
    );
    // A JSON body is still read as one.
    let mut json = decoder(false);
    let mut out = Vec::new();
    json.feed(b"{\"output\"", &mut out);
    json.finish(&mut out);
    assert!(
        out.iter().all(
            |d| !matches!(d, Decoded::Malformed { message } if message.contains("event stream"))
        ),
        "{out:?}"
    );
}

#[test]
fn a_body_that_is_no_event_stream_is_described() {
    let json = br#"{"message":"The security token included in the request is invalid."}"#;
    assert_eq!(
        decode(&[json]),
        [Decoded::ServerError {
            message: "The security token included in the request is invalid.".into()
        }]
    );
    assert!(
        matches!(&decode(&[])[..], [Decoded::Malformed { message }] if message.contains("empty"))
    );
    let page = decode(&[b"<html><body>502</body></html>"]);
    assert!(
        matches!(&page[..], [Decoded::Malformed { message }] if message.contains("<html>")),
        "{page:?}"
    );
}

#[test]
fn a_stream_cut_inside_a_frame_or_before_its_usage_has_no_end() {
    let delta = frame(
        "event",
        "contentBlockDelta",
        r#"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#,
    );
    let out = decode(&[&delta, &delta[..delta.len() / 2]]);
    assert_eq!(
        out,
        [Decoded::Content {
            text: "Hi".into(),
            reasoning: false
        }]
    );
    // `messageStop` without `metadata`: complete, but with no usage.
    let stop = frame("event", "messageStop", r#"{"stopReason":"max_tokens"}"#);
    let out = decode(&[&delta, &stop]);
    assert_eq!(out.last(), Some(&Decoded::End));
    assert!(out.contains(&Decoded::FinishReason("max_tokens".into())));
}

#[test]
fn tool_use_blocks_are_tool_calls() {
    let body = [
        frame("event", "contentBlockDelta", r#"{"contentBlockIndex":0,"delta":{"text":"Let me look."}}"#),
        frame(
            "event",
            "contentBlockStart",
            r#"{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tooluse_1","name":"lookup"}}}"#,
        ),
        frame("event", "contentBlockDelta", r#"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"q\":"}}}"#),
        frame("event", "contentBlockDelta", r#"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"\"x\"}"}}}"#),
        frame("event", "messageStop", r#"{"stopReason":"tool_use"}"#),
        frame("event", "metadata", r#"{"usage":{"inputTokens":5,"outputTokens":9},"metrics":{"latencyMs":12}}"#),
    ]
    .concat();
    let out = decode(&[&body]);
    let calls: Vec<&Decoded> = out
        .iter()
        .filter(|d| matches!(d, Decoded::ToolCall { .. }))
        .collect();
    assert_eq!(
        calls,
        [
            &Decoded::ToolCall {
                index: 0,
                id: Some("tooluse_1".into()),
                name: Some("lookup".into()),
                arguments: String::new()
            },
            &Decoded::ToolCall {
                index: 0,
                id: None,
                name: None,
                arguments: "{\"q\":".into()
            },
            &Decoded::ToolCall {
                index: 0,
                id: None,
                name: None,
                arguments: "\"x\"}".into()
            },
        ]
    );
    assert_eq!(out.last(), Some(&Decoded::End));
    assert!(
        out.contains(&Decoded::ServerTimings(crate::event::ServerTimings {
            total_ns: Some(12_000_000),
            ..crate::event::ServerTimings::default()
        }))
    );
}

#[test]
fn usage_counts_cached_prompt_tokens_in_the_input() {
    let body = [
        frame("event", "messageStop", r#"{"stopReason":"end_turn"}"#),
        frame(
            "event",
            "metadata",
            r#"{"usage":{"inputTokens":2,"outputTokens":5,"cacheReadInputTokens":1322,"cacheWriteInputTokens":0,"totalTokens":1329}}"#,
        ),
    ]
    .concat();
    let out = decode(&[&body]);
    let Some(Decoded::Usage {
        input,
        output,
        cached_input,
        cache_write,
        ..
    }) = out.iter().find(|d| matches!(d, Decoded::Usage { .. }))
    else {
        panic!("no usage: {out:?}");
    };
    assert_eq!(
        (*input, *output, *cached_input, *cache_write),
        (Some(1324), Some(5), Some(1322), Some(0))
    );
}
