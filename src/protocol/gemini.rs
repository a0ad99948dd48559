//! Google's Gemini API (`generateContent`, `streamGenerateContent?alt=sse`): the request
//! (`gemini/request.rs`), and the response's chunks decoded: text and thought parts, function
//! calls, `usageMetadata` (repeated on every chunk: the last one counts), `finishReason`,
//! safety blocks, and errors in Google's shape (`{"error": {code, message, status}}`).

pub(super) mod request;

use serde::Deserialize;
use serde_json::Value;

use super::decode::{
    BodyDecoder, First, SseDecoder, SseHandler, Str, cut_short, error_text, not_json, push_content,
    push_tool_call, reported, unexpected_body,
};
use super::sse::SseEvent;
use super::{Decoded, Decoder};

/// One `GenerateContentResponse`: a streamed chunk or the whole non-streaming body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Chunk<'a> {
    /// Only the first candidate is read: llmrace asks for one.
    #[serde(borrow)]
    candidates: Option<First<Candidate<'a>>>,
    usage_metadata: Option<Usage>,
    #[serde(borrow)]
    prompt_feedback: Option<PromptFeedback<'a>>,
    #[serde(borrow)]
    response_id: Option<Str<'a>>,
    error: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate<'a> {
    #[serde(borrow)]
    content: Option<Content<'a>>,
    #[serde(borrow)]
    finish_reason: Option<Str<'a>>,
    #[serde(borrow)]
    finish_message: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct Content<'a> {
    #[serde(borrow, default)]
    parts: Vec<Part<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Part<'a> {
    #[serde(borrow)]
    text: Option<Str<'a>>,
    /// A thought summary (sent when `thinkingConfig.includeThoughts` is on): reasoning.
    thought: Option<bool>,
    #[serde(borrow)]
    function_call: Option<FunctionCall<'a>>,
}

/// A whole call: Gemini sends each call once, its arguments an object.
#[derive(Deserialize)]
struct FunctionCall<'a> {
    #[serde(borrow)]
    id: Option<Str<'a>>,
    #[serde(borrow)]
    name: Option<Str<'a>>,
    args: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback<'a> {
    #[serde(borrow)]
    block_reason: Option<Str<'a>>,
    #[serde(borrow)]
    block_reason_message: Option<Str<'a>>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
#[expect(
    clippy::struct_field_names,
    reason = "the fields are Gemini's JSON keys, read by serde"
)]
struct Usage {
    prompt_token_count: Option<u32>,
    candidates_token_count: Option<u32>,
    thoughts_token_count: Option<u32>,
    cached_content_token_count: Option<u32>,
    tool_use_prompt_token_count: Option<u32>,
    total_token_count: Option<u32>,
}

impl Usage {
    /// The item for this report, in llmrace's meanings: input is every prompt token (the
    /// prompt's, with the cached ones, and a tool's results fed back); output is every
    /// generated token, thoughts included. Gemini's `candidatesTokenCount` leaves the thoughts
    /// out (`totalTokenCount` is the sum of the parts), but where the total says a server
    /// counted them in it, they are not added twice.
    fn item(self) -> Decoded {
        let input = self
            .prompt_token_count
            .map(|p| p.saturating_add(self.tool_use_prompt_token_count.unwrap_or(0)));
        let thoughts = self.thoughts_token_count.unwrap_or(0);
        let thoughts_counted_in = thoughts > 0
            && matches!(
                (input, self.candidates_token_count, self.total_token_count),
                (Some(i), Some(c), Some(t)) if i.saturating_add(c) == t
            );
        let output = match (self.candidates_token_count, self.thoughts_token_count) {
            (None, None) => None,
            (candidates, _) if thoughts_counted_in => candidates,
            (candidates, thoughts) => Some(
                candidates
                    .unwrap_or(0)
                    .saturating_add(thoughts.unwrap_or(0)),
            ),
        };
        // Gemini caches prompts implicitly and names the count only when some were read: a
        // report without it read none.
        let cached = self.cached_content_token_count.or(input.map(|_| 0));
        Decoded::Usage {
            input,
            output,
            cached_input: cached,
            cache_write: None,
            reasoning: self.thoughts_token_count,
            reported: reported([
                ("promptTokenCount", self.prompt_token_count),
                ("candidatesTokenCount", self.candidates_token_count),
                ("thoughtsTokenCount", self.thoughts_token_count),
                ("cachedContentTokenCount", self.cached_content_token_count),
                ("toolUsePromptTokenCount", self.tool_use_prompt_token_count),
                ("totalTokenCount", self.total_token_count),
            ]),
        }
    }
}

/// Finish reasons that mean a filter stopped the answer: the request failed as `blocked`.
const BLOCKING_FINISHES: [&str; 8] = [
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
];

pub(super) fn decoder(stream: bool) -> Box<dyn Decoder> {
    if stream {
        Box::new(SseDecoder::new(GeminiStream::default()))
    } else {
        Box::new(BodyDecoder::new(decode_body))
    }
}

/// What one response has said so far, across its chunks.
#[derive(Default)]
struct Reading {
    /// The last `usageMetadata`: every chunk may carry one, each a running total.
    usage: Option<Usage>,
    finish: Option<String>,
    /// A block or an error ended it: nothing after counts.
    failed: bool,
    response_id: bool,
    /// Function calls so far: the next one's index.
    tool_calls: u32,
}

impl Reading {
    /// The items of one chunk.
    fn chunk(&mut self, chunk: Chunk<'_>, out: &mut Vec<Decoded>) {
        if let Some(error) = chunk.error.as_ref().filter(|e| !e.is_null()) {
            self.failed = true;
            let message = error_text_of(error);
            out.push(if is_rate_limit(error) {
                Decoded::StatusError {
                    status: 429,
                    message,
                }
            } else {
                Decoded::ServerError { message }
            });
            return;
        }
        if !self.response_id
            && let Some(id) = chunk.response_id.filter(|id| !id.as_str().is_empty())
        {
            self.response_id = true;
            out.push(Decoded::ResponseId(id.0.into_owned()));
        }
        if let Some(usage) = chunk.usage_metadata {
            self.usage = Some(usage);
        }
        if let Some(feedback) = chunk.prompt_feedback
            && let Some(reason) = feedback
                .block_reason
                .filter(|r| !r.as_str().is_empty() && r.as_str() != "BLOCK_REASON_UNSPECIFIED")
        {
            let mut message = format!(
                "Gemini blocked the prompt (promptFeedback.blockReason {})",
                reason.as_str()
            );
            if let Some(why) = feedback
                .block_reason_message
                .filter(|m| !m.as_str().is_empty())
            {
                message.push_str(": ");
                message.push_str(why.as_str());
            }
            self.fail_blocked(message, out);
            return;
        }
        let Some(candidate) = chunk.candidates.and_then(|c| c.0) else {
            return;
        };
        for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
            if let Some(call) = part.function_call {
                let arguments = call.args.map(|args| args.to_string());
                push_tool_call(
                    self.tool_calls,
                    call.id,
                    call.name,
                    arguments.map(|a| Str(a.into())),
                    out,
                );
                self.tool_calls += 1;
            }
            push_content(part.text, part.thought == Some(true), out);
        }
        let Some(reason) = candidate
            .finish_reason
            .filter(|r| !r.as_str().is_empty() && r.as_str() != "FINISH_REASON_UNSPECIFIED")
        else {
            return;
        };
        if BLOCKING_FINISHES.contains(&reason.as_str()) {
            let mut message = format!(
                "Gemini's filter stopped the answer (finishReason {})",
                reason.as_str()
            );
            if let Some(why) = candidate.finish_message.filter(|m| !m.as_str().is_empty()) {
                message.push_str(": ");
                message.push_str(why.as_str());
            }
            self.fail_blocked(message, out);
            return;
        }
        if self.finish.is_none() {
            out.push(Decoded::FinishReason(reason.0.clone().into_owned()));
        }
        self.finish = Some(reason.0.into_owned());
    }

    /// A block: the usage so far (the server counted the prompt), then the failure.
    fn fail_blocked(&mut self, message: String, out: &mut Vec<Decoded>) {
        self.failed = true;
        if let Some(usage) = self.usage.take() {
            out.push(usage.item());
        }
        out.push(Decoded::Blocked { message });
    }

    /// The response ended: the last usage, and the end when it said why it stopped (Gemini
    /// has no end-of-stream marker: a stream without a finish reason was cut).
    fn end(&mut self, out: &mut Vec<Decoded>) {
        if self.failed {
            return;
        }
        self.failed = true;
        if let Some(usage) = self.usage.take() {
            out.push(usage.item());
        }
        if self.finish.is_some() {
            out.push(Decoded::End);
        }
    }
}

#[derive(Default)]
struct GeminiStream {
    reading: Reading,
}

impl SseHandler for GeminiStream {
    const WHAT: &'static str = "a Gemini event stream (`data: {\"candidates\": …}`)";

    fn event(&mut self, event: SseEvent<'_>, at_end: bool, out: &mut Vec<Decoded>) {
        if self.reading.failed {
            return;
        }
        let data = event.data.trim();
        if data.is_empty() {
            return;
        }
        match serde_json::from_str::<Chunk<'_>>(data) {
            Ok(chunk) => self.reading.chunk(chunk, out),
            Err(err) if cut_short(at_end, &err) => {}
            Err(err) => out.push(not_json("a Gemini chunk", data, &err)),
        }
    }

    fn finish(&mut self, out: &mut Vec<Decoded>) {
        self.reading.end(out);
    }
}

fn decode_body(body: &str, out: &mut Vec<Decoded>) {
    const WHAT: &str = "a Gemini GenerateContentResponse";
    let chunk: Chunk<'_> = match serde_json::from_str(body) {
        Ok(chunk) => chunk,
        Err(err) => {
            out.push(match serde_json::from_str::<Value>(body) {
                Ok(value) => match gemini_error(&value) {
                    Some(message) => Decoded::ServerError { message },
                    None => unexpected_body(WHAT, body),
                },
                Err(_) => not_json("the response body", body, &err),
            });
            return;
        }
    };
    if chunk.candidates.is_none() && chunk.prompt_feedback.is_none() && chunk.error.is_none() {
        out.push(unexpected_body(WHAT, body));
        return;
    }
    let mut reading = Reading::default();
    reading.chunk(chunk, out);
    if !reading.failed {
        // A whole body is complete even where it names no finish reason.
        reading.finish.get_or_insert_with(String::new);
    }
    reading.end(out);
}

/// The message of an error body in Google's shape, `{"error": {code, message, status}}`, also
/// wrapped in an array (the JSON-array stream's error); `None` for any other body.
pub(super) fn error_message(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    gemini_error(&value)
}

fn gemini_error(value: &Value) -> Option<String> {
    let value = match value {
        Value::Array(items) => items.first()?,
        other => other,
    };
    value
        .get("error")
        .filter(|e| !e.is_null())
        .map(error_text_of)
}

/// `RESOURCE_EXHAUSTED: You exceeded your current quota… (retry in 34.4s)`: the status names
/// the kind better than the numeric code, and a `RetryInfo` detail says when to come back.
/// Whether Google's error is a rate limit or an exhausted quota (`RESOURCE_EXHAUSTED`, code
/// 429), which its HTTP status would have said.
fn is_rate_limit(error: &Value) -> bool {
    error.get("code").and_then(Value::as_u64) == Some(429)
        || error.get("status").and_then(Value::as_str) == Some("RESOURCE_EXHAUSTED")
}

fn error_text_of(error: &Value) -> String {
    let status = error.get("status").and_then(Value::as_str);
    let message = error.get("message").and_then(Value::as_str);
    let (Some(status), Some(message)) = (status, message) else {
        return error_text(error);
    };
    let mut text = error_text(&Value::String(format!("{status}: {message}")));
    let retry = error
        .get("details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|d| d.get("retryDelay").and_then(Value::as_str));
    if let Some(retry) = retry {
        text.push_str(" (retry in ");
        text.push_str(retry);
        text.push(')');
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test should fail loudly")]
mod tests {
    use super::*;

    fn decode(stream: bool, body: &str) -> Vec<Decoded> {
        let mut decoder = decoder(stream);
        let mut out = Vec::new();
        decoder.feed(body.as_bytes(), &mut out);
        decoder.finish(&mut out);
        out
    }

    fn usage(out: &[Decoded]) -> (Option<u32>, Option<u32>, Option<u32>, Option<u32>) {
        out.iter()
            .find_map(|d| match d {
                Decoded::Usage {
                    input,
                    output,
                    cached_input,
                    reasoning,
                    ..
                } => Some((*input, *output, *cached_input, *reasoning)),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn thoughts_are_reasoning_and_the_last_usage_counts() {
        let body = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hmm\",\"thought\":true}],\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":9,\"thoughtsTokenCount\":4,\"totalTokenCount\":13}}\r\n\r\n\
                    data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Paris.\"}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":9,\"candidatesTokenCount\":2,\"thoughtsTokenCount\":4,\"totalTokenCount\":15}}\r\n\r\n";
        let out = decode(true, body);
        assert_eq!(
            out[0],
            Decoded::Content {
                text: "hmm".into(),
                reasoning: true
            }
        );
        assert_eq!(
            out[1],
            Decoded::Content {
                text: "Paris.".into(),
                reasoning: false
            }
        );
        assert_eq!(out[2], Decoded::FinishReason("STOP".into()));
        assert_eq!(usage(&out), (Some(9), Some(6), Some(0), Some(4)));
        assert_eq!(out.last(), Some(&Decoded::End));
        assert_eq!(
            out.iter()
                .filter(|d| matches!(d, Decoded::Usage { .. }))
                .count(),
            1
        );
    }

    #[test]
    fn thoughts_already_in_the_candidates_count_are_not_added_twice() {
        let u = Usage {
            prompt_token_count: Some(10),
            candidates_token_count: Some(30),
            thoughts_token_count: Some(20),
            cached_content_token_count: Some(4),
            tool_use_prompt_token_count: None,
            total_token_count: Some(40),
        };
        let Decoded::Usage {
            output,
            cached_input,
            ..
        } = u.item()
        else {
            unreachable!()
        };
        assert_eq!((output, cached_input), (Some(30), Some(4)));
    }

    #[test]
    fn a_stream_without_a_finish_reason_has_no_end() {
        let out = decode(
            true,
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Par\"}]}}]}\n\n",
        );
        assert!(!out.contains(&Decoded::End), "{out:?}");
    }

    #[test]
    fn safety_finishes_and_prompt_blocks_are_blocked() {
        let out = decode(
            true,
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"I\"}]},\"finishReason\":\"SAFETY\"}]}\n\n",
        );
        assert!(
            matches!(out.last(), Some(Decoded::Blocked { message }) if message.contains("SAFETY")),
            "{out:?}"
        );
        let out = decode(
            true,
            "data: {\"promptFeedback\":{\"blockReason\":\"PROHIBITED_CONTENT\"},\"usageMetadata\":{\"promptTokenCount\":9,\"totalTokenCount\":9}}\n\n",
        );
        assert_eq!(usage(&out).0, Some(9));
        assert!(
            matches!(out.last(), Some(Decoded::Blocked { message }) if message.contains("PROHIBITED_CONTENT")),
            "{out:?}"
        );
    }

    #[test]
    fn errors_read_the_status_and_the_retry_delay() {
        let body = br#"{"error":{"code":429,"message":"You exceeded your current quota.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"34.4s"}]}}"#;
        assert_eq!(
            error_message(body).as_deref(),
            Some("RESOURCE_EXHAUSTED: You exceeded your current quota. (retry in 34.4s)")
        );
        let wrapped = br#"[{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}]"#;
        assert_eq!(
            error_message(wrapped).as_deref(),
            Some("INVALID_ARGUMENT: bad")
        );
        assert_eq!(error_message(b"<html>"), None);
        let out = decode(
            true,
            "data: {\"error\":{\"code\":500,\"message\":\"boom\",\"status\":\"INTERNAL\"}}\n\n",
        );
        assert_eq!(
            out,
            [Decoded::ServerError {
                message: "INTERNAL: boom".into()
            }]
        ); // A quota or rate limit in the stream is what a 429 would have said.
        let out = decode(
            true,
            "data: {\"error\":{\"code\":429,\"message\":\"slow down\",\"status\":\"RESOURCE_EXHAUSTED\"}}\n\n",
        );
        assert_eq!(
            out,
            [Decoded::StatusError {
                status: 429,
                message: "RESOURCE_EXHAUSTED: slow down".into()
            }]
        );
    }

    #[test]
    fn function_calls_are_whole_tool_calls() {
        let body = r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":3,"totalTokenCount":8}}"#;
        let out = decode(false, body);
        assert_eq!(
            out[0],
            Decoded::ToolCall {
                index: 0,
                id: None,
                name: Some("get_weather".into()),
                arguments: r#"{"city":"Paris"}"#.into(),
            }
        );
        assert_eq!(out.last(), Some(&Decoded::End));
    }
}
