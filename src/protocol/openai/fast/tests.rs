//! What the fast path keeps of a chunk: ids, content, reasoning, finish reasons, escapes
//! decoded. That it agrees with serde is `protocol/fast_check`'s to test.

use super::{chat, completions};

#[test]
fn decodes_content_and_escapes() {
    let parts = chat(r#"{"id":"chatcmpl-mock-1","object":"chat.completion.chunk","created":1730000000,"model":"mock","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]}"#).unwrap();
    assert_eq!(parts.id.unwrap().as_str(), "chatcmpl-mock-1");
    assert_eq!(parts.choice.content.unwrap().as_str(), "Hello");
    let parts = chat(
        r#"{"id":"x","choices":[{"index":0,"delta":{"reasoning_content":"Let me \"think\"\n\u00e9\ud83d\ude00 \\ \/ \b\f\r\t"},"finish_reason":null}]}"#,
    ).unwrap();
    assert_eq!(
        parts.choice.reasoning.unwrap().as_str(),
        "Let me \"think\"\né😀 \\ / \u{8}\u{c}\r\t"
    );
    // An empty `reasoning_content` gives way to `reasoning`, as in serde's reading.
    let parts = chat(r#"{"id":"x","choices":[{"index":0,"delta":{"reasoning_content":"","reasoning":"hm","content":""},"finish_reason":null}]}"#).unwrap();
    assert_eq!(parts.choice.reasoning.unwrap().as_str(), "hm");
    let parts = completions(r#"{"id":"cmpl-1","choices":[{"text":"\u00fc\n","index":0,"finish_reason":"length"}],"x":-1.5e+10,"y":0,"z":true,"w":false}"#).unwrap();
    assert_eq!(parts.choice.content.unwrap().as_str(), "ü\n");
    assert_eq!(parts.choice.finish_reason.unwrap().as_str(), "length");
}
