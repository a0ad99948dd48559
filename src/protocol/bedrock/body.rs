//! Bedrock's whole `/converse` response: `output.message.content` (text, reasoning and tool
//! use blocks), `stopReason`, `usage` and `metrics`.

use serde::Deserialize;
use serde_json::Value;

use super::super::decode::{Str, not_json, push_content, push_tool_call, quote};
use super::{Decoded, Metrics, Usage, push_latency, push_usage};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Response<'a> {
    #[serde(borrow)]
    output: Option<Output<'a>>,
    #[serde(borrow)]
    stop_reason: Option<Str<'a>>,
    usage: Option<Usage>,
    metrics: Option<Metrics>,
}

#[derive(Deserialize)]
struct Output<'a> {
    #[serde(borrow)]
    message: Option<OutputMessage<'a>>,
}

#[derive(Deserialize)]
struct OutputMessage<'a> {
    #[serde(borrow, default)]
    content: Vec<Block<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Block<'a> {
    #[serde(borrow)]
    text: Option<Str<'a>>,
    #[serde(borrow)]
    reasoning_content: Option<ReasoningBlock<'a>>,
    #[serde(borrow)]
    tool_use: Option<ToolUse<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReasoningBlock<'a> {
    #[serde(borrow)]
    reasoning_text: Option<ReasoningText<'a>>,
}

#[derive(Deserialize)]
struct ReasoningText<'a> {
    #[serde(borrow)]
    text: Option<Str<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolUse<'a> {
    #[serde(borrow, rename = "toolUseId")]
    id: Option<Str<'a>>,
    #[serde(borrow)]
    name: Option<Str<'a>>,
    input: Option<Value>,
}

pub(super) fn decode_body(body: &str, out: &mut Vec<Decoded>) {
    const WHAT: &str = "a Bedrock Converse response";
    let response: Response<'_> = match serde_json::from_str(body) {
        Ok(response) => response,
        Err(err) => {
            out.push(match serde_json::from_str::<Value>(body) {
                Ok(_) => unexpected(WHAT, body),
                Err(_) => not_json("the response body", body, &err),
            });
            return;
        }
    };
    let Some(message) = response.output.and_then(|o| o.message) else {
        out.push(unexpected(WHAT, body));
        return;
    };
    let mut thinking = String::new();
    let mut text = String::new();
    let mut calls = Vec::new();
    for block in message.content {
        if let Some(t) = block
            .reasoning_content
            .and_then(|r| r.reasoning_text)
            .and_then(|r| r.text)
        {
            thinking.push_str(t.as_str());
        }
        text.push_str(block.text.as_ref().map_or("", Str::as_str));
        calls.extend(block.tool_use);
    }
    push_content(Some(Str(thinking.into())), true, out);
    push_content(Some(Str(text.into())), false, out);
    for (index, call) in (0u32..).zip(calls) {
        let arguments = call.input.map(|input| input.to_string());
        push_tool_call(
            index,
            call.id,
            call.name,
            arguments.map(|a| Str(a.into())),
            out,
        );
    }
    if let Some(reason) = response.stop_reason.filter(|r| !r.as_str().is_empty()) {
        out.push(Decoded::FinishReason(reason.0.into_owned()));
    }
    if let Some(usage) = &response.usage {
        push_usage(usage, out);
    }
    push_latency(response.metrics.as_ref(), out);
    out.push(Decoded::End);
}

/// A JSON body that is not a Converse response: the error it reports, or what it is.
fn unexpected(what: &str, body: &str) -> Decoded {
    match super::error_message(body.as_bytes()) {
        Some(message) => Decoded::ServerError { message },
        None => Decoded::Malformed {
            message: format!(
                "expected {what}, but the body is {}",
                quote(body.as_bytes())
            ),
        },
    }
}
