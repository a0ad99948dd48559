//! The OpenAI fast path against serde: the shapes it must read itself, the ones it must leave to
//! serde, and every one-byte change of real chunks read alike by both.

use super::{agrees, fast_reads};

/// Chunks as servers send them (OpenAI, vLLM, llama.cpp, the mock, DeepSeek, OpenRouter).
const CHUNKS: &[&str] = &[
    r#"{"id":"chatcmpl-mock-1","object":"chat.completion.chunk","created":1730000000,"model":"mock","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]}"#,
    r#"{"id":"chatcmpl-B9","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f9f4fb6dbf","choices":[{"index":0,"delta":{"content":" world"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"Xb3"}"#,
    r#"{"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"created":1730000100,"id":"chatcmpl-Kq8","model":"gemma-3-4b-it-Q4_K_M.gguf","system_fingerprint":"b5000-abc","object":"chat.completion.chunk"}"#,
    r#"{"id":"x","choices":[{"index":0,"delta":{"reasoning_content":"Let me \"think\"\n\u00e9\ud83d\ude00 \\ \/ \b\f\r\t"},"finish_reason":null}]}"#,
    r#"{"id":"x","choices":[{"index":0,"delta":{"reasoning_content":"","reasoning":"hm","content":""},"finish_reason":null}]}"#,
    r#"{"id":"x","choices":[{"index":0,"delta":{"reasoning":"a","reasoning_content":"b"},"finish_reason":null}]}"#,
    r#"{"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
    r#"{"id":"x","choices":[{"index":0,"delta":{"content":"a","tool_calls":null,"refusal":null,"function_call":null}}]}"#,
    r#"{"id":"x","choices":[]}"#,
    r#" { "id" : "x" , "choices" : [ { "index" : 0 , "delta" : { "content" : "a" } } ] } "#,
    r#"{"id":"cmpl-1","object":"text_completion","created":1,"choices":[{"text":" once","index":0,"logprobs":null,"finish_reason":null}],"model":"m"}"#,
    r#"{"id":"cmpl-1","choices":[{"text":"\u00fc\n","index":0,"finish_reason":"length"}],"x":-1.5e+10,"y":0,"z":true,"w":false}"#,
];

#[test]
fn reads_the_common_chunks_as_serde_does() {
    for chunk in CHUNKS {
        assert!(fast_reads(chunk), "the fast path should read {chunk}");
        agrees(chunk);
    }
}

#[test]
fn leaves_everything_else_to_serde() {
    for chunk in [
        // tool calls, usage, errors, llama.cpp's timings, a whole message, several choices
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{"}}]}}]}"#,
        r#"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}"#,
        r#"{"error":{"message":"overloaded"}}"#,
        r#"{"object":"error","message":"bad"}"#,
        r#"{"choices":[{"delta":{"content":"a"}}],"timings":{"cache_n":3}}"#,
        r#"{"choices":[{"message":{"content":"a"}}]}"#,
        r#"{"choices":[{"delta":{"content":"a"}},{"delta":{"content":"b"}}]}"#,
        // what it does not skip: containers, strings with escapes, escaped keys
        r#"{"choices":[{"delta":{"content":"a"},"logprobs":{"content":[]}}]}"#,
        r#"{"model":"a\"b","choices":[{"delta":{"content":"a"}}]}"#,
        r#"{"\u0069d":"x","choices":[]}"#,
        // serde's errors: duplicates, lone surrogates, bad numbers, control characters, trailing
        r#"{"id":"x","id":"y","choices":[]}"#,
        r#"{"choices":[{"delta":{"content":"a","content":"b"}}]}"#,
        r#"{"choices":[{"delta":{"content":"\ud83d"}}]}"#,
        r#"{"choices":[{"delta":{"content":"\ude00"}}]}"#,
        r#"{"created":01,"choices":[]}"#,
        r#"{"created":1.,"choices":[]}"#,
        "{\"choices\":[{\"delta\":{\"content\":\"a\tb\"}}]}",
        r#"{"choices":[]} x"#,
        r#"{"choices":[],}"#,
        r#"{"choices":[{"delta":{"content":"a"}}]"#,
        r#"["x"]"#,
    ] {
        assert!(
            !fast_reads(chunk),
            "the fast path should leave {chunk} to serde"
        );
        agrees(chunk);
    }
}

/// Every chunk above with each byte deleted, replaced or preceded by a byte from JSON's
/// grammar: where the fast path reads the result, serde reads the same.
#[test]
fn every_one_byte_change_reads_as_serde_does() {
    const BYTES: &[u8] = b" \t\n\"\\/{}[]:,.-+0129eEnultrfsabu\x01x";
    let mut read = 0;
    for chunk in CHUNKS {
        let bytes = chunk.as_bytes();
        for at in 0..=bytes.len() {
            let mut variants = Vec::new();
            if at < bytes.len() {
                variants.push([&bytes[..at], &bytes[at + 1..]].concat());
            }
            for &b in BYTES {
                variants.push([&bytes[..at], &[b], &bytes[at..]].concat());
                if at < bytes.len() {
                    variants.push([&bytes[..at], &[b], &bytes[at + 1..]].concat());
                }
            }
            for variant in &variants {
                if let Ok(text) = std::str::from_utf8(variant) {
                    read += usize::from(fast_reads(text));
                    agrees(text);
                }
            }
        }
    }
    // Most changes leave a chunk the fast path still reads (a changed letter of the content).
    assert!(read > 10_000, "only {read} variants took the fast path");
}
