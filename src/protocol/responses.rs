//! OpenAI Responses API responses: the streamed events (`response.output_text.delta`, the
//! reasoning deltas, function-call argument deltas, the terminal `response.completed`,
//! `response.incomplete` and `response.failed`, and `error`) and the whole response object.
//!
//! TTFT is the first text or reasoning delta: `response.created` and `response.in_progress`
//! only announce the response and carry no token. Usage comes with the terminal event;
//! `input_tokens` already counts the cached tokens, as chat's `prompt_tokens` does.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, Visitor};
use serde_json::Value;

use super::decode::{
    BodyDecoder, SseDecoder, SseHandler, Str, error_text, event_json, not_json, push_content,
    push_tool_call, reported, unexpected_body,
};
use super::sse::SseEvent;
use super::{Decoded, Decoder};

/// A string field that some event types fill with something else: a string when it is one,
/// `None` otherwise, so an event added later with a differently typed field is skipped rather
/// than called malformed.
#[derive(Debug, Default)]
struct Text<'a>(Option<Cow<'a, str>>);

impl<'a> Text<'a> {
    fn into_str(self) -> Option<Str<'a>> {
        self.0.map(Str)
    }

    fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or_default()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextVisitor(PhantomData))
    }
}

struct TextVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = Text<'a>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'a>, E> {
        Ok(Text(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'a>, E> {
        Ok(Text(Some(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'a>, E> {
        Ok(Text(Some(Cow::Owned(v))))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Text<'a>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Text(None))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Text<'a>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Text(None))
    }
}

/// A list read leniently: a value that is not a list is an empty one, and an element that is
/// not an object is skipped. Output items and their parts come in many types; one this
/// decoder does not know, shaped unlike the others, must not fail a response that streamed
/// fine.
struct List<T>(Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ListVisitor(PhantomData))
    }
}

struct ListVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = List<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list")
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
        let mut list = Vec::new();
        while let Some(Element(element)) = seq.next_element::<Element<T>>()? {
            list.extend(element);
        }
        Ok(List(list))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<List<T>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(List::default())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<List<T>, E> {
        Ok(List::default())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<List<T>, E> {
        Ok(List::default())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<List<T>, E> {
        Ok(List::default())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<List<T>, E> {
        Ok(List::default())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<List<T>, E> {
        Ok(List::default())
    }
    fn visit_unit<E: de::Error>(self) -> Result<List<T>, E> {
        Ok(List::default())
    }
}

/// One element of a [`List`]: an object read as `T`, anything else skipped.
struct Element<T>(Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Element<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ElementVisitor(PhantomData))
    }
}

struct ElementVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ElementVisitor<T> {
    type Value = Element<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Element<T>, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Element(Some(t)))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Element<T>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Element(None))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Element<T>, E> {
        Ok(Element(None))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Element<T>, E> {
        Ok(Element(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Element<T>, E> {
        Ok(Element(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Element<T>, E> {
        Ok(Element(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Element<T>, E> {
        Ok(Element(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Element<T>, E> {
        Ok(Element(None))
    }
}

/// Every event's data in one flat shape: each event type fills the fields it has.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow, rename = "type", default)]
    kind: Text<'a>,
    /// A text, reasoning or arguments delta.
    #[serde(borrow, default)]
    delta: Text<'a>,
    /// The output item an item or delta event is about.
    output_index: Option<u32>,
    #[serde(borrow, default)]
    item_id: Text<'a>,
    #[serde(borrow)]
    item: Option<Item<'a>>,
    #[serde(borrow)]
    response: Option<Response<'a>>,
}

/// The response object: in `response.*` lifecycle events and as the whole non-streaming body.
#[derive(Deserialize)]
struct Response<'a> {
    #[serde(borrow, default)]
    id: Text<'a>,
    #[serde(borrow, default)]
    object: Text<'a>,
    #[serde(borrow, default)]
    status: Text<'a>,
    /// Present (even empty) in a response object; read leniently.
    #[serde(borrow, default)]
    output: Option<List<Item<'a>>>,
    usage: Option<Usage>,
    error: Option<Value>,
    incomplete_details: Option<Value>,
}

/// An output item: a message, a reasoning item or a function call (others are skipped).
#[derive(Deserialize)]
struct Item<'a> {
    #[serde(borrow, rename = "type", default)]
    kind: Text<'a>,
    #[serde(borrow, default)]
    id: Text<'a>,
    /// A function call's id, which a client sends back with the call's output.
    #[serde(borrow, default)]
    call_id: Text<'a>,
    #[serde(borrow, default)]
    name: Text<'a>,
    #[serde(borrow, default)]
    arguments: Text<'a>,
    /// A message's parts, or a reasoning item's full reasoning text (gpt-oss).
    #[serde(borrow, default)]
    content: List<Part<'a>>,
    /// A reasoning item's summary parts.
    #[serde(borrow, default)]
    summary: List<Part<'a>>,
}

#[derive(Deserialize)]
struct Part<'a> {
    #[serde(borrow, default)]
    text: Text<'a>,
    /// A refusal part's text.
    #[serde(borrow, default)]
    refusal: Text<'a>,
}

#[derive(Deserialize)]
struct Usage {
    input_tokens: Option<u32>,
    output_tokens: Option<u32>,
    input_tokens_details: Option<InputDetails>,
    output_tokens_details: Option<OutputDetails>,
}

#[derive(Deserialize)]
struct InputDetails {
    cached_tokens: Option<u32>,
}

#[derive(Deserialize)]
struct OutputDetails {
    reasoning_tokens: Option<u32>,
}

pub(super) fn decoder(stream: bool) -> Box<dyn Decoder> {
    if stream {
        Box::new(SseDecoder::new(ResponsesStream::default()))
    } else {
        Box::new(BodyDecoder::new(decode_body))
    }
}

/// One function call of the response, by the output item that holds it.
struct Call {
    output_index: Option<u32>,
    item_id: String,
    /// Argument deltas came: the call's `output_item.done` must not repeat them.
    streamed: bool,
}

#[derive(Default)]
struct ResponsesStream {
    id_sent: bool,
    ended: bool,
    calls: Vec<Call>,
}

impl ResponsesStream {
    /// The tool call index of the call at `output_index` or with `item_id`, if it is one.
    fn call(&mut self, output_index: Option<u32>, item_id: &str) -> Option<(u32, &mut Call)> {
        let position = self.calls.iter().position(|c| {
            (output_index.is_some() && c.output_index == output_index)
                || (!item_id.is_empty() && c.item_id == item_id)
        })?;
        let index = u32::try_from(position).unwrap_or(u32::MAX);
        self.calls.get_mut(position).map(|call| (index, call))
    }

    fn response_id(&mut self, response: Option<&Response<'_>>, out: &mut Vec<Decoded>) {
        if let Some(response) = response
            && !self.id_sent
            && !response.id.as_str().is_empty()
        {
            self.id_sent = true;
            out.push(Decoded::ResponseId(response.id.as_str().to_owned()));
        }
    }

    fn item_added(&mut self, output_index: Option<u32>, item: Item<'_>, out: &mut Vec<Decoded>) {
        if item.kind.as_str() != "function_call" {
            return;
        }
        let index = u32::try_from(self.calls.len()).unwrap_or(u32::MAX);
        self.calls.push(Call {
            output_index,
            item_id: item.id.as_str().to_owned(),
            streamed: !item.arguments.as_str().is_empty(),
        });
        let id = item.call_id.into_str().or(item.id.into_str());
        push_tool_call(
            index,
            id,
            item.name.into_str(),
            item.arguments.into_str(),
            out,
        );
    }

    /// A finished item: a function call whose arguments came whole, not as deltas, gives
    /// them here.
    fn item_done(&mut self, output_index: Option<u32>, item: Item<'_>, out: &mut Vec<Decoded>) {
        if item.kind.as_str() != "function_call" {
            return;
        }
        if self.call(output_index, item.id.as_str()).is_none() {
            self.item_added(output_index, item, out);
            return;
        }
        if let Some((index, call)) = self.call(output_index, item.id.as_str())
            && !call.streamed
        {
            call.streamed = true;
            push_tool_call(index, None, None, item.arguments.into_str(), out);
        }
    }

    fn arguments(&mut self, event: Event<'_>, out: &mut Vec<Decoded>) {
        let Some((index, call)) = self.call(event.output_index, event.item_id.as_str()) else {
            // Arguments of a call never announced: its place is the next one.
            let index = u32::try_from(self.calls.len()).unwrap_or(u32::MAX);
            self.calls.push(Call {
                output_index: event.output_index,
                item_id: event.item_id.as_str().to_owned(),
                streamed: true,
            });
            let id = event.item_id.into_str();
            push_tool_call(index, id, None, event.delta.into_str(), out);
            return;
        };
        call.streamed = true;
        push_tool_call(index, None, None, event.delta.into_str(), out);
    }
}

impl SseHandler for ResponsesStream {
    const WHAT: &'static str = "a Responses API event stream";

    fn event(&mut self, event: SseEvent<'_>, at_end: bool, out: &mut Vec<Decoded>) {
        if self.ended {
            return;
        }
        let data = event.data.trim();
        if data.is_empty() {
            return; // a keep-alive
        }
        if data == "[DONE]" {
            // Some proxies end with chat's marker; the terminal event should have come first.
            self.ended = true;
            out.push(Decoded::End);
            return;
        }
        let Some(parsed) =
            event_json::<Event<'_>>(&event, data, at_end, "a Responses API event", out)
        else {
            return;
        };
        // The data's `type` is authoritative; the SSE event name stands in when it is missing.
        let kind = if parsed.kind.as_str().is_empty() {
            event.event
        } else {
            parsed.kind.as_str()
        };
        match kind {
            "response.output_text.delta" | "response.refusal.delta" => {
                push_content(parsed.delta.into_str(), false, out);
            }
            "response.reasoning_text.delta" | "response.reasoning_summary_text.delta" => {
                push_content(parsed.delta.into_str(), true, out);
            }
            "response.function_call_arguments.delta" => self.arguments(parsed, out),
            "response.output_item.added" => {
                if let Some(item) = parsed.item {
                    self.item_added(parsed.output_index, item, out);
                }
            }
            "response.output_item.done" => {
                if let Some(item) = parsed.item {
                    self.item_done(parsed.output_index, item, out);
                }
            }
            "response.created" | "response.in_progress" | "response.queued" => {
                self.response_id(parsed.response.as_ref(), out);
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                self.response_id(parsed.response.as_ref(), out);
                self.ended = true;
                match parsed.response {
                    Some(response) => finish(response, out),
                    None => out.push(Decoded::End),
                }
            }
            "error" => out.push(rate_limited_or(
                serde_json::from_str::<Value>(data).ok().as_ref(),
                event_error(data),
            )),
            // Part and item boundaries, `.done` events that repeat the deltas, and event types
            // added later carry nothing we measure.
            _ => {}
        }
    }

    fn finish(&mut self, _out: &mut Vec<Decoded>) {}
}

/// The items of a terminal response: usage, then how it ended. A failed response is a server
/// error; an incomplete one finished early for the reason it gives (`max_output_tokens`,
/// `content_filter`).
fn finish(response: Response<'_>, out: &mut Vec<Decoded>) {
    push_usage(response.usage, out);
    match response.status.as_str() {
        "failed" => {
            let error = response.error.as_ref().filter(|e| !e.is_null());
            let message = match error {
                Some(error) => error_text(error),
                None => "the response failed, and the server said no more".to_owned(),
            };
            out.push(rate_limited_or(error, message));
        }
        "incomplete" => {
            let reason = response
                .incomplete_details
                .as_ref()
                .and_then(|d| d.get("reason"))
                .and_then(Value::as_str)
                .filter(|r| !r.is_empty())
                .unwrap_or("incomplete");
            out.push(Decoded::FinishReason(reason.to_owned()));
            out.push(Decoded::End);
        }
        status => {
            if let Some(error) = response.error.as_ref().filter(|e| !e.is_null()) {
                out.push(rate_limited_or(Some(error), error_text(error)));
                return;
            }
            if !status.is_empty() {
                out.push(Decoded::FinishReason(status.to_owned()));
            }
            out.push(Decoded::End);
        }
    }
}

fn push_usage(usage: Option<Usage>, out: &mut Vec<Decoded>) {
    let Some(usage) = usage else { return };
    let cached = usage.input_tokens_details.and_then(|d| d.cached_tokens);
    let reasoning = usage.output_tokens_details.and_then(|d| d.reasoning_tokens);
    let reported = reported([
        ("input_tokens", usage.input_tokens),
        ("output_tokens", usage.output_tokens),
        ("input_tokens_details.cached_tokens", cached),
        ("output_tokens_details.reasoning_tokens", reasoning),
    ]);
    if reported.is_empty() {
        return;
    }
    // `input_tokens` counts the cached tokens and `output_tokens` the reasoning ones.
    out.push(Decoded::Usage {
        input: usage.input_tokens,
        output: usage.output_tokens,
        cached_input: cached,
        cache_write: None,
        reasoning,
        reported,
    });
}

/// The message of an `error` event: `{"type":"error","code":…,"message":…}`, an `error`
/// object inside it, or plain text.
/// The error item for `message`: a 429's when the error (an `error` event, or its `error`
/// object) carries OpenAI's rate-limit codes (`rate_limit_exceeded`, `insufficient_quota`,
/// which OpenAI answers with a 429), a server error otherwise.
fn rate_limited_or(error: Option<&Value>, message: String) -> Decoded {
    let code = |v: &Value| {
        ["code", "type"]
            .iter()
            .filter_map(|k| v.get(*k).and_then(Value::as_str))
            .any(|c| {
                matches!(
                    c,
                    "rate_limit_exceeded" | "insufficient_quota" | "rate_limit_error"
                )
            })
    };
    let limited = error.is_some_and(|e| code(e) || e.get("error").is_some_and(code));
    if limited {
        Decoded::StatusError {
            status: 429,
            message,
        }
    } else {
        Decoded::ServerError { message }
    }
}

fn event_error(data: &str) -> String {
    match serde_json::from_str::<Value>(data) {
        Ok(Value::Object(mut map)) => {
            if let Some(error) = map.get("error").filter(|e| !e.is_null()) {
                return error_text(error);
            }
            // The event's `type` is `error`: the code says more.
            map.remove("type");
            map.remove("sequence_number");
            error_text(&Value::Object(map))
        }
        Ok(other) => error_text(&other),
        Err(_) => error_text(&Value::String(data.to_owned())),
    }
}

fn decode_body(body: &str, out: &mut Vec<Decoded>) {
    const WHAT: &str = "a Responses API response object";
    let response: Response<'_> = match serde_json::from_str(body) {
        Ok(response) => response,
        Err(err) => {
            out.push(match serde_json::from_str::<Value>(body) {
                Ok(_) => unexpected_body(WHAT, body),
                Err(_) => not_json("the response body", body, &err),
            });
            return;
        }
    };
    let is_response = response.object.as_str() == "response" || response.output.is_some();
    if !is_response {
        out.push(unexpected_body(WHAT, body));
        return;
    }
    if !response.id.as_str().is_empty() {
        out.push(Decoded::ResponseId(response.id.as_str().to_owned()));
    }
    let mut reasoning = String::new();
    let mut text = String::new();
    let mut calls = Vec::new();
    for item in response.output.iter().flat_map(|list| &list.0) {
        match item.kind.as_str() {
            "reasoning" => {
                // The full reasoning (gpt-oss) when given, else its summary.
                let parts = if item.content.0.is_empty() {
                    &item.summary.0
                } else {
                    &item.content.0
                };
                for part in parts {
                    reasoning.push_str(part.text.as_str());
                }
            }
            "message" => {
                for part in &item.content.0 {
                    text.push_str(part.text.as_str());
                    text.push_str(part.refusal.as_str());
                }
            }
            "function_call" => calls.push(item),
            _ => {}
        }
    }
    push_content(Some(Str(reasoning.into())), true, out);
    push_content(Some(Str(text.into())), false, out);
    for (index, call) in (0u32..).zip(calls) {
        let id = Some(if call.call_id.as_str().is_empty() {
            call.id.as_str()
        } else {
            call.call_id.as_str()
        });
        push_tool_call(
            index,
            id.map(|s| Str(s.into())),
            Some(Str(call.name.as_str().into())),
            Some(Str(call.arguments.as_str().into())),
            out,
        );
    }
    let Response {
        status,
        usage,
        error,
        incomplete_details,
        ..
    } = response;
    finish(
        Response {
            id: Text::default(),
            object: Text::default(),
            status,
            output: None,
            usage,
            error,
            incomplete_details,
        },
        out,
    );
}
