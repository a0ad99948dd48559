//! OpenAI-compatible embeddings answers (`POST {base}/embeddings`, built in
//! `request/embeddings.rs`): one JSON object whose `data[].embedding` vectors are counted and
//! measured as they are parsed, never kept (a batch of 16 × 4096 floats is 1 MB of JSON).

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::decode::{BodyDecoder, error_text, not_json, reported, unexpected_body};
use super::{Decoded, Decoder};

pub(super) fn decoder() -> Box<dyn Decoder> {
    Box::new(BodyDecoder::new(decode_body).advising("lower embed_batch, or ask for base64"))
}

const WHAT: &str = "an embeddings object (`data` with `embedding` vectors)";

#[derive(Deserialize)]
struct Body {
    data: Option<Vectors>,
    usage: Option<Usage>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: Option<u32>,
    total_tokens: Option<u32>,
}

/// What `data` held: how many vectors, and their dimension (`Mixed` when they differ).
#[derive(Debug, Default, PartialEq)]
struct Vectors {
    count: u32,
    dimension: Dimension,
}

#[derive(Debug, Default, PartialEq)]
enum Dimension {
    #[default]
    None,
    Same(u32),
    Mixed(u32, u32),
}

/// One vector's length: a list of numbers, or a base64 string of little-endian `f32`s.
struct Length(u32);

fn decode_body(body: &str, out: &mut Vec<Decoded>) {
    let parsed: Body = match serde_json::from_str(body) {
        Ok(parsed) => parsed,
        // The body stopped inside the object: no end, so the engine says it was cut.
        Err(err) if err.is_eof() => return,
        Err(err) => {
            out.push(match serde_json::from_str::<IgnoredAny>(body) {
                // JSON, but not this shape: a server's error object, or something else.
                Ok(_) => unexpected_body(WHAT, body),
                Err(_) => not_json("the response body", body, &err),
            });
            return;
        }
    };
    if let Some(error) = parsed.error.filter(|e| !e.is_null()) {
        out.push(Decoded::ServerError {
            message: error_text(&error),
        });
        return;
    }
    let Some(vectors) = parsed.data else {
        out.push(unexpected_body(WHAT, body));
        return;
    };
    let dimension = match vectors.dimension {
        Dimension::Same(0) => {
            out.push(Decoded::Malformed {
                message: "the embeddings are empty (vectors of length 0): a model gives \
                          vectors of at least one number"
                    .to_owned(),
            });
            return;
        }
        Dimension::Same(n) => n,
        Dimension::None => 0,
        Dimension::Mixed(a, b) => {
            out.push(Decoded::Malformed {
                message: format!(
                    "the embeddings have different dimensions ({a} and {b}); one model gives \
                     vectors of one length"
                ),
            });
            return;
        }
    };
    if let Some(usage) = parsed.usage {
        let reported = reported([
            ("prompt_tokens", usage.prompt_tokens),
            ("total_tokens", usage.total_tokens),
        ]);
        if !reported.is_empty() {
            out.push(Decoded::Usage {
                // Some servers (TEI) fill only `total_tokens`: for embeddings it is the input.
                input: usage.prompt_tokens.or(usage.total_tokens),
                output: None,
                cached_input: None,
                cache_write: None,
                reasoning: None,
                reported,
            });
        }
    }
    out.push(Decoded::Embeddings {
        vectors: vectors.count,
        dimension,
    });
    out.push(Decoded::End);
}

impl<'de> Deserialize<'de> for Vectors {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DataVisitor;
        impl<'de> Visitor<'de> for DataVisitor {
            type Value = Vectors;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of embedding objects")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vectors, A::Error> {
                let mut vectors = Vectors::default();
                while let Some(item) = seq.next_element::<Item>()? {
                    let Some(Length(n)) = item.embedding else {
                        return Err(serde::de::Error::missing_field("embedding"));
                    };
                    vectors.count = vectors.count.saturating_add(1);
                    vectors.dimension = match vectors.dimension {
                        Dimension::None => Dimension::Same(n),
                        Dimension::Same(d) if d != n => Dimension::Mixed(d, n),
                        kept => kept,
                    };
                }
                Ok(vectors)
            }
        }
        deserializer.deserialize_seq(DataVisitor)
    }
}

/// One element of `data`: only its vector's length is kept.
struct Item {
    embedding: Option<Length>,
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = Item;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an embedding object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
                let mut embedding = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "embedding" {
                        embedding = Some(map.next_value::<Length>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(Item { embedding })
            }
        }
        deserializer.deserialize_map(ItemVisitor)
    }
}

impl<'de> Deserialize<'de> for Length {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LengthVisitor;
        impl<'de> Visitor<'de> for LengthVisitor {
            type Value = Length;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of numbers or a base64 string")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Length, A::Error> {
                let mut n = 0u32;
                // Each element must be a number: a vector of anything else is not one.
                while seq.next_element::<f64>()?.is_some() {
                    n = n.saturating_add(1);
                }
                Ok(Length(n))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Length, E> {
                base64_floats(s).map(Length).ok_or_else(|| {
                    E::custom("an embedding string that is not base64 of 4-byte floats")
                })
            }
        }
        deserializer.deserialize_any(LengthVisitor)
    }
}

/// How many `f32`s a base64 string holds, checked without decoding it: standard alphabet,
/// padded, a whole number of 4-byte floats.
fn base64_floats(s: &str) -> Option<u32> {
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let padding = bytes.iter().rev().take_while(|&&b| b == b'=').count();
    let body = bytes.get(..bytes.len() - padding)?;
    if padding > 2
        || !body
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    {
        return None;
    }
    let decoded = bytes.len() / 4 * 3 - padding;
    if !decoded.is_multiple_of(4) {
        return None;
    }
    u32::try_from(decoded / 4).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test should fail loudly")]
mod tests {
    use super::*;

    fn decode(body: &str) -> Vec<Decoded> {
        let mut out = Vec::new();
        decode_body(body, &mut out);
        out
    }

    #[test]
    fn vectors_are_counted_and_measured() {
        let items = decode(
            r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2,3e-5]},
            {"index":1,"embedding":[1,2,3]}],"model":"m","usage":{"prompt_tokens":7,"total_tokens":7}}"#,
        );
        assert_eq!(
            items,
            vec![
                Decoded::Usage {
                    input: Some(7),
                    output: None,
                    cached_input: None,
                    cache_write: None,
                    reasoning: None,
                    reported: vec![("prompt_tokens", 7), ("total_tokens", 7)],
                },
                Decoded::Embeddings {
                    vectors: 2,
                    dimension: 3
                },
                Decoded::End,
            ]
        );
    }

    #[test]
    fn base64_vectors_are_measured_without_decoding() {
        // 2 floats = 8 bytes = 12 base64 characters (one `=`).
        assert_eq!(base64_floats("AACAPwAAAEA="), Some(2));
        assert_eq!(base64_floats("AACAPwAAAE"), None);
        assert_eq!(base64_floats("AACAP!AAAEA="), None);
        assert_eq!(base64_floats(""), Some(0));
        let items = decode(r#"{"data":[{"embedding":"AACAPwAAAEA="}]}"#);
        assert_eq!(
            items,
            vec![
                Decoded::Embeddings {
                    vectors: 1,
                    dimension: 2
                },
                Decoded::End
            ]
        );
    }

    #[test]
    fn an_answer_too_large_to_keep_says_how_to_make_it_smaller() {
        let mut out = Vec::new();
        let mut decoder = decoder();
        decoder.feed(
            &vec![b' '; super::super::decode::MAX_BODY_BYTES + 1],
            &mut out,
        );
        match out.as_slice() {
            [Decoded::Malformed { message }] => {
                assert!(
                    message.contains("lower embed_batch, or ask for base64"),
                    "{message}"
                );
                assert!(!message.contains("stream"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lies_and_garbage_are_named() {
        let malformed = |body: &str| match decode(body).as_slice() {
            [Decoded::Malformed { message }] => message.clone(),
            other => panic!("{body}: {other:?}"),
        };
        assert!(
            malformed(r#"{"data":[{"embedding":[1,2]},{"embedding":[1]}]}"#)
                .contains("different dimensions (2 and 1)")
        );
        assert!(
            malformed(r#"{"data":[{"embedding":[]}]}"#).contains("empty (vectors of length 0)")
        );
        assert!(malformed(r#"{"data":[{"embedding":""}]}"#).contains("empty"));
        assert!(malformed(r#"{"data":[{"embedding":["a"]}]}"#).contains("expected"));
        assert!(malformed(r#"{"data":[{"index":0}]}"#).contains("expected"));
        assert!(malformed(r#"{"data":[{"embedding":[1,2]}]}}"#).contains("not valid JSON"));
        assert_eq!(decode(r#"{"data":[{"embedding":[1,2]}"#), vec![]);
        assert!(malformed(r#"{"object":"list"}"#).contains("expected"));
        assert!(matches!(
            decode(r#"{"error":{"message":"no","type":"invalid_request_error"}}"#).as_slice(),
            [Decoded::ServerError { message }] if message == "invalid_request_error: no"
        ));
    }
}
