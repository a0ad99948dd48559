use super::super::fast::{self, view};
use super::*;

/// Chunk shapes real servers send, `{}` where the token goes.
const SHAPES: &[&str] = &[
    // vLLM
    r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1733580000,"model":"m","choices":[{"index":0,"delta":{"content":"{}"},"logprobs":null,"finish_reason":null}]}"#,
    // OpenAI
    r#"{"id":"chatcmpl-A","object":"chat.completion.chunk","created":1,"model":"gpt","service_tier":"default","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"{}"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    // reasoning first (DeepSeek, vLLM), then newer vLLM's two names, then OpenRouter's
    r#"{"id":"c","choices":[{"index":0,"delta":{"reasoning_content":"{}"},"finish_reason":null}]}"#,
    r#"{"id":"c","choices":[{"index":0,"delta":{"reasoning":"{}","reasoning_content":"{}"},"finish_reason":null}]}"#,
    r#"{"id":"c","choices":[{"index":0,"delta":{"content":null,"reasoning":"{}"},"finish_reason":null}]}"#,
    r#"{"id":"c","choices":[{"index":0,"delta":{"content":"","reasoning_content":"{}"},"finish_reason":null}]}"#,
    r#"{"id":"c","choices":[{"index":0,"delta":{"reasoning_content":"","reasoning":"{}","content":null}}]}"#,
    // content beside fixed reasoning, the id after the choices, a finish reason in the chunk
    r#"{"choices":[{"delta":{"reasoning":"why","content":"{}"},"finish_reason":"length"}],"id":"late"}"#,
    r#"{"choices":[{"delta":{"content":"{}","tool_calls":[]},"finish_reason":null}],"id":"x","created":2}"#,
    // whitespace everywhere, as some proxies write it
    " { \"id\" : \"w\" , \"choices\" : [ { \"delta\" : { \"content\" : \"{}\" } } ] } ",
    // legacy completions
    r#"{"id":"cmpl-1","object":"text_completion","created":1,"choices":[{"text":"{}","index":0,"logprobs":null,"finish_reason":null}],"model":"m"}"#,
];

/// Tokens: plain, unicode, empty, and every kind the template must leave to the fast path.
const TOKENS: &[&str] = &[
    "tok ",
    "x",
    "é→😀",
    "",
    r#"a\"b"#,
    r"a\nb",
    r"\u00e9",
    "tab\there",
    "line\nend",
    r#"",""#,
    r#"x"},"finish_reason":"stop"}]}"#,
    "a\u{7f}b",
    "a much longer token than twenty-four bytes, with spaces",
];

fn chunk(shape: &str, token: &str) -> String {
    shape.replace("{}", token)
}

type Fast = for<'a> fn(&'a str) -> Option<Parts<'a>>;

fn fast_for(shape: &str) -> Fast {
    if shape.contains("\"text\"") {
        fast::completions
    } else {
        fast::chat
    }
}

/// Learns from every shape with every token, then reads every chunk of every shape: where the
/// template reads a chunk, the fast path reads it the same.
#[test]
fn the_template_reads_every_chunk_as_the_fast_path_does() {
    let mut read = 0;
    for learn_shape in SHAPES {
        for learn_token in TOKENS {
            let first = chunk(learn_shape, learn_token);
            let fast = fast_for(learn_shape);
            let Some(parts) = fast(&first) else { continue };
            for shape in SHAPES {
                for token in TOKENS {
                    let mut template = Template::default();
                    template.learn(&first, &parts);
                    let data = chunk(shape, token);
                    let Some(got) = template.read(&data) else {
                        continue;
                    };
                    read += 1;
                    let want = fast(&data).unwrap_or_else(|| {
                        panic!("the template read {data:?}, which the fast path does not")
                    });
                    assert_eq!(view(&got), view(&want), "{first:?} then {data:?}");
                }
            }
        }
    }
    assert!(read > 100, "the template read only {read} chunks");
}

#[test]
fn a_stream_of_one_shape_is_read_by_the_template() {
    let shape = SHAPES[0];
    let mut template = Template::default();
    let first = chunk(shape, "Hello");
    let parts = fast::chat(&first).expect("the fast path reads it");
    template.learn(&first, &parts);
    for token in ["tok ", " world", "é"] {
        let data = chunk(shape, token);
        let parts = template.read(&data).expect("the template reads it");
        assert_eq!(parts.choice.content.as_ref().map(Str::as_str), Some(token));
        assert_eq!(parts.id.as_ref().map(Str::as_str), Some("chatcmpl-1"));
    }
    // The last chunk (a finish reason and usage) is not the template's.
    let last = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1733580000,"model":"m","choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":3}}"#;
    assert!(template.read(last).is_none());
}

#[test]
fn a_chunk_with_a_different_frame_is_not_read() {
    let first = chunk(SHAPES[0], "a");
    let parts = fast::chat(&first).expect("the fast path reads it");
    let mut template = Template::default();
    template.learn(&first, &parts);
    for other in [
        first.replace("1733580000", "1733580001"),
        first.replace("chatcmpl-1", "chatcmpl-2"),
        format!("{first} "),
        first.replace("\"a\"", "\"\""),
        first.replace("\"a\"", "null"),
        String::new(),
        "\"".to_owned(),
    ] {
        assert!(template.read(&other).is_none(), "{other:?}");
    }
}

#[test]
fn a_stream_whose_chunks_all_differ_stops_learning() {
    let mut template = Template::default();
    for n in 0..100u32 {
        let data = chunk(SHAPES[0], "a").replace("1733580000", &n.to_string());
        assert!(template.read(&data).is_none());
        if !template.wants() {
            assert_eq!(n + 1, GIVE_UP_MISSES);
            return;
        }
        let parts = fast::chat(&data).expect("the fast path reads it");
        template.learn(&data, &parts);
    }
    panic!("it kept learning");
}

#[test]
fn a_huge_chunk_is_not_learned() {
    let first = chunk(SHAPES[0], "a").replace(
        "\"model\":\"m\"",
        &format!("\"model\":\"{}\"", "m".repeat(5000)),
    );
    let parts = fast::chat(&first).expect("the fast path reads it");
    let mut template = Template::default();
    template.learn(&first, &parts);
    assert!(template.read(&first).is_none());
    assert_eq!(template.frame.capacity(), 0);
}
