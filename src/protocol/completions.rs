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

fn parse(data: &str) -> serde_json::Result<Parts<'_>> {
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
    openai::decoder(stream, parse, decode_body)
}
