//! Property tests for the stream decoders: random valid streams decode to what was encoded
//! however the bytes are split, and arbitrary bytes never panic and decode the same whole or split.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

use std::fmt::Write as _;

use llmrace::protocol::sse::{SseItem, SseParser};
use llmrace::protocol::{Decoded, Protocol};
use proptest::prelude::*;
use serde_json::json;

fn decode(protocol: Protocol, stream: bool, bytes: &[u8], cuts: &[usize]) -> Vec<Decoded> {
    let mut decoder = protocol.decoder(stream);
    let mut out = Vec::new();
    let mut start = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    for cut in cuts {
        decoder.feed(&bytes[start..cut], &mut out);
        start = cut;
    }
    decoder.feed(&bytes[start..], &mut out);
    decoder.finish(&mut out);
    out
}

fn line_end() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("\n"), Just("\r\n"), Just("\r")]
}

/// Text a model might produce: any characters, including quotes, controls and astral ones.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-zé日🚀 \"\\\\\n\t]{1,12}"]
}

/// A stream delta: `(reasoning, text)`.
fn deltas() -> impl Strategy<Value = Vec<(bool, String)>> {
    prop::collection::vec((any::<bool>(), text()), 0..8)
}

fn content_items(deltas: &[(bool, String)]) -> Vec<Decoded> {
    deltas
        .iter()
        .filter(|(_, t)| !t.is_empty())
        .map(|(reasoning, t)| Decoded::Content {
            text: t.as_str().into(),
            reasoning: *reasoning,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sse_events_survive_any_split(
        events in prop::collection::vec(
            (prop::option::of("[a-z_]{1,8}"), prop::collection::vec("[^\r\n]{0,6}", 1..4), line_end(), any::<bool>()),
            0..6,
        ),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut body = String::new();
        let mut want = Vec::new();
        for (name, lines, eol, comment) in &events {
            if *comment {
                body.push_str(": keep-alive");
                body.push_str(eol);
            }
            if let Some(name) = name {
                write!(body, "event: {name}{eol}").unwrap();
            }
            for line in lines {
                write!(body, "data: {line}{eol}").unwrap();
            }
            body.push_str(eol);
            want.push((name.clone().unwrap_or_else(|| "message".to_owned()), lines.join("\n")));
        }
        let bytes = body.as_bytes();
        let mut parser = SseParser::new();
        let mut got = Vec::new();
        let mut on = |item: SseItem<'_>| match item {
            SseItem::Event(e) => got.push((e.event.to_owned(), e.data.to_owned())),
            SseItem::InvalidUtf8(_) => panic!("valid UTF-8 reported invalid"),
            SseItem::TooLong { .. } => panic!("a small stream reported too long"),
        };
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        cuts.sort_unstable();
        let mut start = 0;
        for cut in cuts {
            parser.feed(&bytes[start..cut], &mut on);
            start = cut;
        }
        parser.feed(&bytes[start..], &mut on);
        parser.finish(&mut on);
        prop_assert_eq!(got, want);
    }

    #[test]
    fn openai_chat_streams_decode_to_what_was_sent(
        deltas in deltas(),
        eol in line_end(),
        done in any::<bool>(),
        usage in prop::option::of((0u32..100_000, 0u32..100_000)),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut body = String::new();
        let mut push = |v: serde_json::Value| write!(body, "data: {v}{eol}{eol}").unwrap();
        push(json!({"id": "c-1", "choices": [{"index": 0, "delta": {"role": "assistant"}}]}));
        for (reasoning, t) in &deltas {
            let key = if *reasoning { "reasoning_content" } else { "content" };
            push(json!({"id": "c-1", "choices": [{"index": 0, "delta": {key: t}, "finish_reason": null}]}));
        }
        push(json!({"id": "c-1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}));
        if let Some((input, output)) = usage {
            push(json!({"id": "c-1", "choices": [], "usage": {"prompt_tokens": input, "completion_tokens": output}}));
        }
        if done {
            write!(body, "data: [DONE]{eol}{eol}").unwrap();
        }
        let mut want = vec![Decoded::ResponseId("c-1".to_owned())];
        want.extend(content_items(&deltas));
        want.push(Decoded::FinishReason("stop".to_owned()));
        if let Some((input, output)) = usage {
            want.push(Decoded::Usage {
                input: Some(input), output: Some(output), cached_input: None, cache_write: None, reasoning: None,
                reported: vec![("prompt_tokens", input), ("completion_tokens", output)],
            });
        }
        want.push(Decoded::End);
        prop_assert_eq!(decode(Protocol::OpenAiChat, true, body.as_bytes(), &cuts), want);
    }

    #[test]
    fn anthropic_streams_decode_to_what_was_sent(
        deltas in deltas(),
        eol in line_end(),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut body = String::new();
        let mut push = |name: &str, v: serde_json::Value| {
            write!(body, "event: {name}{eol}data: {v}{eol}{eol}").unwrap();
        };
        push("message_start", json!({"type": "message_start", "message": {"id": "msg_1", "usage": {
            "input_tokens": 3, "cache_read_input_tokens": 40, "cache_creation_input_tokens": 5}}}));
        for (i, (reasoning, t)) in deltas.iter().enumerate() {
            if i % 3 == 0 {
                push("ping", json!({"type": "ping"}));
            }
            let delta = if *reasoning {
                json!({"type": "thinking_delta", "thinking": t})
            } else {
                json!({"type": "text_delta", "text": t})
            };
            push("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": delta}));
        }
        push("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9}}));
        push("message_stop", json!({"type": "message_stop"}));
        let mut want = vec![
            Decoded::ResponseId("msg_1".to_owned()),
            // Anthropic's input_tokens leaves the cached tokens out; the decoder counts them in.
            Decoded::Usage {
                input: Some(48), output: None, cached_input: Some(40), cache_write: Some(5), reasoning: None,
                reported: vec![("input_tokens", 3), ("cache_read_input_tokens", 40), ("cache_creation_input_tokens", 5)],
            },
        ];
        want.extend(content_items(&deltas));
        want.push(Decoded::FinishReason("end_turn".to_owned()));
        want.push(Decoded::Usage {
            input: None, output: Some(9), cached_input: None, cache_write: None, reasoning: None,
            reported: vec![("output_tokens", 9)],
        });
        want.push(Decoded::End);
        prop_assert_eq!(decode(Protocol::Anthropic, true, body.as_bytes(), &cuts), want);
    }

    #[test]
    fn ollama_streams_decode_to_what_was_sent(
        deltas in deltas(),
        crlf in any::<bool>(),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut body = String::new();
        for (reasoning, t) in &deltas {
            let message = if *reasoning {
                json!({"role": "assistant", "content": "", "thinking": t})
            } else {
                json!({"role": "assistant", "content": t})
            };
            write!(body, "{}{eol}", json!({"model": "m", "message": message, "done": false})).unwrap();
        }
        body.push_str(&json!({"model": "m", "message": {"role": "assistant", "content": ""}, "done": true,
            "done_reason": "stop", "prompt_eval_count": 4, "eval_count": 7}).to_string());
        let mut want = content_items(&deltas);
        want.push(Decoded::FinishReason("stop".to_owned()));
        want.push(Decoded::Usage {
            input: Some(4), output: Some(7), cached_input: None, cache_write: None, reasoning: None,
            reported: vec![("prompt_eval_count", 4), ("eval_count", 7)],
        });
        want.push(Decoded::ServerTimings(llmrace::event::ServerTimings {
            prompt_eval_count: Some(4),
            eval_count: Some(7),
            ..Default::default()
        }));
        want.push(Decoded::End);
        prop_assert_eq!(decode(Protocol::Ollama, true, body.as_bytes(), &cuts), want);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_decode_the_same_split_or_whole(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        for protocol in Protocol::ALL {
            for stream in [true, false] {
                let whole = decode(protocol, stream, &bytes, &[]);
                prop_assert_eq!(decode(protocol, stream, &bytes, &cuts), whole);
            }
        }
    }

    #[test]
    fn stream_like_bytes_never_panic_and_decode_the_same_split_or_whole(
        parts in prop::collection::vec(
            prop_oneof![
                Just("data: ".to_owned()), Just("data:".to_owned()), Just("event: error".to_owned()),
                Just("\n".to_owned()), Just("\r".to_owned()), Just("\r\n".to_owned()), Just(":".to_owned()),
                Just("[DONE]".to_owned()), Just("{\"choices\":[{\"delta\":{\"content\":\"x\"}}]}".to_owned()),
                Just("{\"type\":\"message_stop\"}".to_owned()), Just("{\"done\":true}".to_owned()),
                Just("{\"error\":\"e\"}".to_owned()), Just("\u{e9}".to_owned()), "[{}\":a-z]{0,4}",
            ],
            0..40,
        ),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let bytes = parts.concat().into_bytes();
        for protocol in Protocol::ALL {
            for stream in [true, false] {
                let whole = decode(protocol, stream, &bytes, &[]);
                prop_assert_eq!(decode(protocol, stream, &bytes, &cuts), whole);
            }
        }
    }
}
