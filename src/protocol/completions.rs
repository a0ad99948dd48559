//! OpenAI legacy completions responses: the choice carries `text`; everything else follows the
//! OpenAI chunk rules in `openai.rs`.

use serde::Deserialize;

use super::Decoder;
use super::decode::Str;
use super::openai::{self, ChoiceParts, Chunk, Parts};

#[derive(Deserialize)]
struct TextChoice<'a> {
    #[serde(borrow)]
    text: Option<Str<'a>>,
    #[serde(borrow)]
    finish_reason: Option<Str<'a>>,
}

/// A chunk: the fast path's reading when it has one, serde's otherwise.
fn parse(data: &str) -> serde_json::Result<Parts<'_>> {
    openai::fast_completions(data).map_or_else(|| parse_serde(data), Ok)
}

/// A chunk or body as serde reads it: every shape, every error.
pub(super) fn parse_serde(data: &str) -> serde_json::Result<Parts<'_>> {
    let chunk: Chunk<'_, TextChoice<'_>> = serde_json::from_str(data)?;
    Ok(chunk.into_parts(|c| ChoiceParts {
        reasoning: None,
        content: c.text,
        finish_reason: c.finish_reason,
        tool_calls: Vec::new(),
    }))
}

fn decode_body(body: &str, out: &mut Vec<super::Decoded>) {
    openai::decode_body(body, parse, "a text completion object", out);
}

pub(super) fn decoder(stream: bool) -> Box<dyn Decoder> {
    openai::fast_decoder(stream, openai::fast_completions, parse_serde, decode_body)
}

/// [`decoder`] reading every chunk with serde, to check the fast path against.
#[cfg(any(test, feature = "test-support"))]
pub(super) fn decoder_serde_only(stream: bool) -> Box<dyn Decoder> {
    openai::decoder(stream, parse_serde, |body, out| {
        openai::decode_body(body, parse_serde, "a text completion object", out);
    })
}
