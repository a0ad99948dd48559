//! The mock's prefix cache, as vLLM and SGLang keep one: a prompt is cut into blocks of 16
//! tokens (64 bytes at the mock's four bytes a token), each block's hash chained to every block
//! before it, and the blocks of every prompt served are remembered, least recently used first
//! out, up to a bound. A prompt's cached tokens are those of its longest remembered prefix. One
//! cache per server, shared by every endpoint it serves: only a different prompt start (a salt)
//! keeps two endpoints' prompts apart.

use std::fmt;
use std::io::Write as _;
use std::sync::{Mutex, PoisonError};

use lru::LruCache;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::text::{hash_bytes, mix};

/// Tokens per block, vLLM's default block size.
pub(crate) const BLOCK_TOKENS: u32 = 16;
/// Prompt bytes per block: the mock counts four bytes a token.
const BLOCK_BYTES: usize = 64;

/// The remembered blocks of one mock server.
pub(crate) struct PrefixCache {
    /// Most blocks kept.
    capacity: usize,
    blocks: Mutex<LruCache<u64, ()>>,
}

impl PrefixCache {
    /// A cache holding up to `tokens` prompt tokens; none for 0.
    pub(crate) fn new(tokens: u32) -> Option<PrefixCache> {
        let capacity = usize::try_from(tokens / BLOCK_TOKENS).unwrap_or(usize::MAX);
        (capacity > 0).then(|| PrefixCache {
            capacity,
            // Unbounded in the map's own terms (it would allocate its whole capacity at once);
            // `serve` keeps it to `capacity`.
            blocks: Mutex::new(LruCache::unbounded()),
        })
    }

    /// Serves one request's prompt: how many of its leading tokens were cached (whole blocks
    /// only), then remembers all of its blocks. The model is part of every key, as a server
    /// keeps a cache per model.
    pub(crate) fn serve(&self, model_json: &str, body: &[u8]) -> u32 {
        let model = hash_bytes(model_json.as_bytes());
        let keys: Vec<u64> = prompt_blocks(body)
            .into_iter()
            .map(|h| mix(h ^ model))
            .collect();
        let mut blocks = self.blocks.lock().unwrap_or_else(PoisonError::into_inner);
        let hits = keys.iter().take_while(|k| blocks.contains(*k)).count();
        // The first blocks are touched last, so they are the last to go: a prefix loses its
        // tail first, as in vLLM, and what is left of it still hits.
        for key in keys.iter().rev() {
            blocks.put(*key, ());
        }
        while blocks.len() > self.capacity {
            blocks.pop_lru();
        }
        u32::try_from(hits)
            .unwrap_or(u32::MAX)
            .saturating_mul(BLOCK_TOKENS)
    }
}

/// The chained hashes of a request body's whole prompt blocks, in the order a server reads
/// the prompt: the system prompt (Anthropic's and Bedrock's top-level `system`, the Responses
/// API's `instructions`, Gemini's `systemInstruction`), then the messages (the Responses API's
/// `input`, Gemini's `contents`), then a legacy `prompt`. The text is what the mock's token estimate counts: every string and number
/// in them but roles and part types. A body that is not a JSON object has no blocks.
pub(crate) fn prompt_blocks(body: &[u8]) -> Vec<u64> {
    let mut fields = Fields::default();
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    if deserializer.deserialize_map(&mut fields).is_err() {
        return Vec::new();
    }
    let mut blocks = Vec::new();
    let mut previous = 0u64;
    let text = [fields.system, fields.messages, fields.prompt].concat();
    for block in text.chunks_exact(BLOCK_BYTES) {
        previous = mix(previous ^ hash_bytes(block));
        blocks.push(previous);
    }
    blocks
}

/// The prompt text of a body's prompt fields, in the three places a server reads them from.
#[derive(Default)]
struct Fields {
    system: Vec<u8>,
    messages: Vec<u8>,
    prompt: Vec<u8>,
}

impl<'de> Visitor<'de> for &mut Fields {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            let into = match key.as_ref() {
                "system" | "instructions" | "systemInstruction" => &mut self.system,
                "messages" | "input" | "contents" => &mut self.messages,
                "prompt" => &mut self.prompt,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            map.next_value_seed(Text(into))?;
        }
        Ok(())
    }
}

/// A data URL, or a long run of base64 with no space (Anthropic's and Ollama's image data).
fn is_image_data(text: &str) -> bool {
    text.starts_with("data:")
        || (text.len() >= 1024
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')))
}

/// Appends every string and number inside a JSON value to the text.
struct Text<'a>(&'a mut Vec<u8>);

impl<'de> DeserializeSeed<'de> for Text<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Text<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        // An image's base64 is not text: its bytes would be many blocks of "tokens" that the
        // request counts as a few hundred image tokens (`images.rs`), and the same image would
        // make the text after it look cached. It stands in the key as a short digest.
        if is_image_data(v) {
            let _ = write!(self.0, "[image {:016x}]", hash_bytes(v.as_bytes()));
        } else {
            self.0.extend_from_slice(v.as_bytes());
        }
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        // Token ids: four bytes, as the mock's token estimate counts them.
        self.0.extend_from_slice(&v.to_le_bytes()[..4]);
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.0.extend_from_slice(&v.to_le_bytes()[..4]);
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Text(&mut *self.0))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "role" || key == "type" {
                map.next_value::<IgnoredAny>()?;
            } else {
                map.next_value_seed(Text(&mut *self.0))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    fn chat(system: &str, user: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "model": "m",
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        }))
        .unwrap()
    }

    const LONG: &str = "the quick brown fox jumps over the lazy dog and keeps on running far away";

    #[test]
    fn an_image_is_a_short_digest_in_the_key_not_its_base64() {
        let data = "iVBORw0KGgo".repeat(10_000);
        let body = |text: &str| {
            serde_json::to_vec(&serde_json::json!({
                "model": "m",
                "messages": [{"role": "user", "content": [
                    {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{data}")}},
                    {"type": "text", "text": text},
                ]}],
                "system": "",
            }))
            .unwrap()
        };
        // 110 kB of base64 would be some 1 700 blocks; as a digest it is none of its own.
        assert!(prompt_blocks(&body(LONG)).len() <= 2);
        // The same image before new text: the new text is not cached.
        let cache = PrefixCache::new(1 << 20).unwrap();
        cache.serve("\"m\"", &body(LONG));
        let other = format!("{LONG} but something else entirely, never sent before now");
        assert!(cache.serve("\"m\"", &body(&other)) <= BLOCK_TOKENS);
        let anthropic_data = "QUJD".repeat(1_000);
        assert!(is_image_data(&anthropic_data));
        assert!(!is_image_data(LONG));
    }

    #[test]
    fn a_repeated_prompt_hits_its_whole_blocks_and_a_new_one_nothing() {
        let cache = PrefixCache::new(1 << 20).unwrap();
        let body = chat(LONG, LONG);
        let blocks = u32::try_from(prompt_blocks(&body).len()).unwrap();
        assert!(blocks >= 2, "{blocks}");
        assert_eq!(cache.serve("\"m\"", &body), 0);
        assert_eq!(cache.serve("\"m\"", &body), blocks * BLOCK_TOKENS);
        assert_eq!(cache.serve("\"m\"", &chat("other", LONG)), 0);
    }

    #[test]
    fn a_shared_start_hits_only_as_far_as_it_is_shared() {
        let cache = PrefixCache::new(1 << 20).unwrap();
        cache.serve(
            "\"m\"",
            &chat(LONG, "first question, long enough to fill a block or two"),
        );
        let hit = cache.serve("\"m\"", &chat(LONG, "second question"));
        let system_blocks = u32::try_from(LONG.len() / BLOCK_BYTES).unwrap();
        assert!(hit >= system_blocks * BLOCK_TOKENS, "{hit}");
        assert!(
            hit < u32::try_from(prompt_blocks(&chat(LONG, "second question")).len()).unwrap()
                * BLOCK_TOKENS
                + 1
        );
    }

    #[test]
    fn a_salt_at_the_start_or_another_model_misses() {
        let cache = PrefixCache::new(1 << 20).unwrap();
        cache.serve("\"m\"", &chat(LONG, LONG));
        assert_eq!(
            cache.serve("\"m\"", &chat(&format!("[a1b2] {LONG}"), LONG)),
            0
        );
        assert_eq!(cache.serve("\"other\"", &chat(LONG, LONG)), 0);
    }

    #[test]
    fn the_system_prompt_comes_first_wherever_the_body_puts_it() {
        let anthropic = |system: &str| {
            format!(r#"{{"messages":[{{"role":"user","content":"{LONG}"}}],"system":"{system}"}}"#)
                .into_bytes()
        };
        let (a, b) = (
            prompt_blocks(&anthropic("one")),
            prompt_blocks(&anthropic("two")),
        );
        assert_ne!(a[0], b[0]);
    }

    #[test]
    fn the_bound_evicts_the_least_recently_used_tail_first() {
        // Room for 3 blocks; a prompt of 4 blocks keeps its first 3.
        let cache = PrefixCache::new(3 * BLOCK_TOKENS).unwrap();
        let body = format!(r#"{{"prompt":"{}"}}"#, "x".repeat(4 * BLOCK_BYTES + 10)).into_bytes();
        assert_eq!(prompt_blocks(&body).len(), 4);
        cache.serve("\"m\"", &body);
        assert_eq!(cache.serve("\"m\"", &body), 3 * BLOCK_TOKENS);
        assert!(PrefixCache::new(BLOCK_TOKENS - 1).is_none());
    }

    /// The body llmrace sends `protocol` for a system prompt and a question.
    fn sent(protocol: crate::protocol::Protocol, system: &str, user: &str) -> Vec<u8> {
        use crate::protocol::{Message, RequestSpec};
        let messages = [Message::system(system), Message::user(user)];
        let extra = serde_json::Map::new();
        let spec = RequestSpec {
            model: "m",
            messages: &messages,
            max_tokens: Some(8),
            temperature: None,
            stream: true,
            tools: &[],
            extra_body: &extra,
        };
        protocol.build_request("http://127.0.0.1/v1", &spec).body
    }

    #[test]
    fn every_protocol_s_prompt_is_read_into_the_cache() {
        for protocol in crate::protocol::Protocol::ALL {
            let cache = PrefixCache::new(1 << 20).unwrap();
            let body = sent(protocol, LONG, LONG);
            let blocks = u32::try_from(prompt_blocks(&body).len()).unwrap();
            assert!(blocks >= 2, "{protocol}: {blocks} blocks");
            assert_eq!(cache.serve("\"m\"", &body), 0, "{protocol}");
            assert_eq!(
                cache.serve("\"m\"", &body),
                blocks * BLOCK_TOKENS,
                "{protocol}: a repeated prompt hits"
            );
            // A shared system prompt before another question hits at least its own blocks.
            let other = sent(protocol, LONG, "another question, not asked before");
            let system_blocks = u32::try_from(LONG.len() / BLOCK_BYTES).unwrap();
            assert!(
                cache.serve("\"m\"", &other) >= system_blocks * BLOCK_TOKENS,
                "{protocol}: the system prompt is read first"
            );
        }
    }

    #[test]
    fn bodies_that_are_no_object_have_no_blocks() {
        assert!(prompt_blocks(b"[1,2]").is_empty());
        assert!(prompt_blocks(b"{nope").is_empty());
        assert!(prompt_blocks(br#"{"prompt":[1,2,3]}"#).is_empty());
    }
}
