//! A streamed mock response produced at once, without a server or delays: byte for byte what
//! the server streams for a request, for decoder benchmarks and fixtures.

use bytes::{Bytes, BytesMut};

use super::plan::Plan;
use super::profile::Profile;
use super::request::Ask;
use super::wire::{Stamp, Wire};
use crate::protocol::{Message, Protocol, RequestSpec, ToolDef};

/// The streamed body the mock answers `prompt` with in `protocol` (usage included where the
/// protocol has it), every piece back to back. `profile` sets its length, chunking and
/// reasoning; its delays and faults are ignored.
///
/// # Errors
/// A message when the request llmrace builds for `protocol` is not one the mock reads (a bug
/// in either).
pub fn streamed_body(
    protocol: Protocol,
    profile: &Profile,
    prompt: &str,
    max_tokens: Option<u32>,
) -> Result<Bytes, String> {
    offering(protocol, profile, prompt, max_tokens, &[])
}

/// [`streamed_body`] for a request that offers `tools`.
fn offering(
    protocol: Protocol,
    profile: &Profile,
    prompt: &str,
    max_tokens: Option<u32>,
    tools: &[ToolDef],
) -> Result<Bytes, String> {
    let messages = [Message::user(prompt)];
    let extra = serde_json::Map::new();
    let request = protocol.build_request(
        "http://127.0.0.1/v1",
        &RequestSpec {
            model: "mock",
            messages: &messages,
            max_tokens,
            temperature: None,
            stream: true,
            tools,
            extra_body: &extra,
        },
    );
    let ask = Ask::parse(protocol, &request.body).map_err(|e| e.0)?;
    let stamp = Stamp {
        seq: 1,
        created: 1_767_225_600,
        created_at: "2026-01-01T00:00:00Z",
        model_json: &ask.model_json,
    };
    let mut plan = Plan::new(
        profile,
        protocol,
        &ask,
        1,
        None,
        tokio::time::Instant::now(),
    );
    let mut wire = Wire::new(protocol, &stamp).shaped(&plan.shape);
    let mut out = BytesMut::new();
    wire.start(&mut out, &plan.tally);
    let mut sent = 0;
    while sent < plan.tally.output {
        if sent >= plan.tally.reasoning {
            wire.open(&mut out);
        }
        let (words, reasoning) = plan.words(sent);
        wire.delta(&mut out, reasoning, words);
        sent += words.count;
    }
    plan.schedule_all();
    wire.finish(&mut out, &plan.tally);
    Ok(out.freeze())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;
    use crate::protocol::Decoded;

    #[test]
    fn every_protocol_decodes_to_the_profiles_tokens() {
        let profile = Profile::parse("instant,tokens=40,chunk=4").unwrap();
        for protocol in Protocol::ALL {
            if protocol.is_embeddings() {
                continue; // vectors, not tokens: `mock/embeddings.rs`
            }
            let body = streamed_body(protocol, &profile, "hello", None).unwrap();
            let mut decoder = protocol.decoder(true);
            let mut out = Vec::new();
            decoder.feed(&body, &mut out);
            decoder.finish(&mut out);
            let contents = out
                .iter()
                .filter(|d| matches!(d, Decoded::Content { .. }))
                .count();
            assert_eq!(contents, 10, "{protocol:?}");
            assert!(out.contains(&Decoded::End), "{protocol:?}");
            assert!(
                out.iter().any(|d| matches!(
                    d,
                    Decoded::Usage {
                        output: Some(40),
                        ..
                    }
                )),
                "{protocol:?}: {out:?}"
            );
        }
    }

    #[test]
    fn every_protocol_with_tools_answers_one_whole_tool_call() {
        let profile = Profile::parse("instant,tokens=12,chunk=3,reasoning=3").unwrap();
        let tools = [ToolDef::new(
            "get_weather",
            "the weather in a city",
            serde_json::json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        )];
        // Every protocol with tools (not legacy completions, nor embeddings).
        let with_tools = [
            Protocol::OpenAiChat,
            Protocol::Anthropic,
            Protocol::Ollama,
            Protocol::Responses,
            Protocol::Gemini,
            Protocol::Bedrock,
        ];
        for protocol in with_tools {
            let body = offering(protocol, &profile, "weather?", None, &tools).unwrap();
            let mut decoder = protocol.decoder(true);
            let mut out = Vec::new();
            decoder.feed(&body, &mut out);
            decoder.finish(&mut out);
            assert!(out.contains(&Decoded::End), "{protocol:?}: {out:?}");
            let mut calls: Vec<(u32, Option<String>, String)> = Vec::new();
            for d in &out {
                if let Decoded::ToolCall {
                    index,
                    name,
                    arguments,
                    ..
                } = d
                {
                    match calls.iter_mut().find(|c| c.0 == *index) {
                        Some(call) => call.2.push_str(arguments),
                        None => calls.push((*index, name.clone(), arguments.clone())),
                    }
                }
            }
            assert_eq!(calls.len(), 1, "{protocol:?}: {out:?}");
            let (_, name, arguments) = &calls[0];
            assert_eq!(name.as_deref(), Some("get_weather"), "{protocol:?}");
            let arguments: serde_json::Value = serde_json::from_str(arguments)
                .unwrap_or_else(|e| panic!("{protocol:?}: {arguments}: {e}"));
            assert!(arguments["city"].is_string(), "{protocol:?}: {arguments}");
        }
    }
}
