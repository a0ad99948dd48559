//! Token counts from a real BPE tokenizer (o200k, the encoding of current OpenAI models) that
//! ships inside the binary and works offline: the estimate for servers that do not report
//! usage (the engine) and the length of made and ShareGPT prompts (the workload).

use std::sync::OnceLock;

/// Counts the tokens of `text`. The tokenizer is built on first use (~100 ms), so races whose
/// servers report usage never pay for it.
pub fn count_tokens(text: &str) -> u32 {
    static BPE: OnceLock<&'static tiktoken_rs::CoreBPE> = OnceLock::new();
    let bpe = BPE.get_or_init(tiktoken_rs::o200k_base_singleton);
    u32::try_from(bpe.encode_ordinary(text).len()).unwrap_or(u32::MAX)
}

/// [`count_tokens`] on a blocking thread, never on the runtime's: the tokenizer is built on
/// first use and a long text takes a while, which would hold up other requests' timings.
/// `None` only if that thread could not run.
pub async fn count_tokens_aside(text: &str) -> Option<u32> {
    let text = text.to_owned();
    tokio::task::spawn_blocking(move || count_tokens(&text))
        .await
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_like_a_bpe_tokenizer() {
        assert_eq!(count_tokens(""), 0);
        assert_eq!(count_tokens("hello"), 1);
        // Common words are one token each with their leading space.
        assert_eq!(count_tokens("hello world and more"), 4);
        assert!(count_tokens("日本語のテキスト") >= 2);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn counting_aside_counts_the_same() {
        assert_eq!(count_tokens_aside("hello world and more").await, Some(4));
    }
}
