//! Building blocks every decoder shares: borrowed JSON strings, the first-choice-only list,
//! quoting offending bytes, reading error objects, the SSE and whole-body decoder shells, and the
//! check that a body held the protocol at all.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::Value;

use super::sse::{self, SseEvent, SseItem, SseParser};
use super::{ContentEvent, Decoded, Decoder};

/// A JSON string borrowed from the input when it has no escapes (the common case for deltas).
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub(super) struct Str<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl Str<'_> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The first element of a JSON array; the others are skipped without being stored, so a chunk's
/// `choices` costs no allocation.
#[derive(Debug)]
pub(super) struct First<T>(pub Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for First<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FirstVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for FirstVisitor<T> {
            type Value = First<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<First<T>, A::Error> {
                let first = seq.next_element()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(First(first))
            }
        }
        deserializer.deserialize_seq(FirstVisitor(PhantomData))
    }
}

/// Pushes text as `Content` unless it is empty: empty deltas are not tokens.
pub(super) fn push_content(text: Option<Str<'_>>, reasoning: bool, out: &mut Vec<Decoded>) {
    if let Some(Str(text)) = text
        && !text.is_empty()
    {
        out.push(Decoded::Content {
            // A short token is held inline: no allocation per event.
            text: text.into(),
            reasoning,
        });
    }
}

/// Pushes a piece of a tool call, unless it says nothing (no id, no name, no arguments): an
/// empty piece is not a token.
pub(super) fn push_tool_call(
    index: u32,
    id: Option<Str<'_>>,
    name: Option<Str<'_>>,
    arguments: Option<Str<'_>>,
    out: &mut Vec<Decoded>,
) {
    let owned = |s: Option<Str<'_>>| {
        s.filter(|s| !s.as_str().is_empty())
            .map(|s| s.0.into_owned())
    };
    let (id, name) = (owned(id), owned(name));
    let arguments = owned(arguments).unwrap_or_default();
    if id.is_none() && name.is_none() && arguments.is_empty() {
        return;
    }
    out.push(Decoded::ToolCall {
        index,
        id,
        name,
        arguments,
    });
}

/// The fields a usage report held, under the server's names, leaving out those it did not
/// send.
pub(super) fn reported<const N: usize>(
    fields: [(&'static str, Option<u32>); N],
) -> Vec<(&'static str, u32)> {
    fields
        .into_iter()
        .filter_map(|(name, n)| Some((name, n?)))
        .collect()
}

const QUOTE_CHARS: usize = 80;
const MESSAGE_CHARS: usize = 500;

/// At most 80 characters of `bytes`, quoted and escaped so that control characters stay inert.
pub(super) fn quote(bytes: &[u8]) -> String {
    // 80 characters never take more than 320 bytes.
    let head = bytes.get(..4 * QUOTE_CHARS).unwrap_or(bytes);
    let text = String::from_utf8_lossy(head);
    let mut chars = text.char_indices();
    match chars.nth(QUOTE_CHARS) {
        Some((cut, _)) => format!("{:?}…", text.get(..cut).unwrap_or_default()),
        None if head.len() < bytes.len() => format!("{text:?}…"),
        None => format!("{text:?}"),
    }
}

/// Whether a JSON error means the body ended inside the last event or line. That yields no
/// item: the missing end marker already tells the engine the stream was cut, which is what
/// happened, rather than the server sending something that is not the protocol.
pub(super) fn cut_short(at_end: bool, err: &serde_json::Error) -> bool {
    at_end && err.is_eof()
}

pub(super) fn not_json(what: &str, data: &str, err: &serde_json::Error) -> Decoded {
    Decoded::Malformed {
        message: format!(
            "{what} is not valid JSON ({err}): {}",
            quote(data.as_bytes())
        ),
    }
}

/// An SSE event's JSON, or, when it is none, what to say: nothing when the body ended inside it
/// (the missing end marker tells the engine the stream was cut), the text itself as the
/// server's error when the event is named `error` (a proxy's plain-text complaint), otherwise a
/// malformed item naming `what`.
pub(super) fn event_json<'a, T: Deserialize<'a>>(
    event: &SseEvent<'_>,
    data: &'a str,
    at_end: bool,
    what: &str,
    out: &mut Vec<Decoded>,
) -> Option<T> {
    match serde_json::from_str(data) {
        Ok(parsed) => Some(parsed),
        Err(err) if cut_short(at_end, &err) => None,
        Err(_) if event.event == "error" => {
            out.push(Decoded::ServerError {
                message: error_text(&Value::String(data.to_owned())),
            });
            None
        }
        Err(err) => {
            out.push(not_json(what, data, &err));
            None
        }
    }
}

/// The item for a body part that outgrew its buffer.
pub(super) fn too_long(what: &str, limit: usize) -> Decoded {
    too_long_advising(
        what,
        limit,
        "does the endpoint stream this protocol, or send a runaway line?",
    )
}

/// [`too_long`] with the protocol's own `advice` on what to do.
fn too_long_advising(what: &str, limit: usize, advice: &str) -> Decoded {
    Decoded::Malformed {
        message: format!(
            "{what} is longer than {} MiB, the most llmrace buffers; the rest of the response \
             was not read ({advice})",
            limit / (1024 * 1024)
        ),
    }
}

pub(super) fn invalid_utf8(what: &str, bytes: &[u8]) -> Decoded {
    Decoded::Malformed {
        message: format!("{what} is not valid UTF-8: {}", quote(bytes)),
    }
}

/// The message of an error value: a string, or an object with `message` (and `type`/`code`).
pub(super) fn error_text(error: &Value) -> String {
    let text = match error {
        Value::String(s) => s.clone(),
        Value::Object(map) => {
            let kind = ["type", "code"].iter().find_map(|k| match map.get(*k) {
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            });
            match (map.get("message"), kind) {
                (Some(Value::String(m)), Some(kind)) => format!("{kind}: {m}"),
                (Some(Value::String(m)), None) => m.clone(),
                (Some(Value::Object(_)), _) => {
                    map.get("message").map(error_text).unwrap_or_default()
                }
                _ => error.to_string(),
            }
        }
        other => other.to_string(),
    };
    truncate(text)
}

fn truncate(mut text: String) -> String {
    if let Some((cut, _)) = text.char_indices().nth(MESSAGE_CHARS) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// The error a whole JSON body reports, in any of the shapes servers use: `{"error": …}`
/// (OpenAI, Anthropic, Ollama), `{"object": "error", "message": …}` (older vLLM) or
/// `{"detail": …}` (FastAPI-based servers).
pub(super) fn body_error(body: &[u8]) -> Option<String> {
    let Value::Object(map) = serde_json::from_slice::<Value>(body).ok()? else {
        return None;
    };
    if let Some(error) = map.get("error")
        && !error.is_null()
    {
        return Some(error_text(error));
    }
    let is_error = |k: &str| map.get(k).and_then(Value::as_str) == Some("error");
    if (is_error("object") || is_error("type"))
        && let Some(Value::String(message)) = map.get("message")
    {
        return Some(truncate(message.clone()));
    }
    map.get("detail").map(error_text)
}

/// Keeps the start of a body until the protocol shows up in it, so a body that never does (an
/// HTML error page served with status 200, a plain JSON error) can be described at the end.
#[derive(Debug, Default)]
pub(super) struct Sniff {
    head: Vec<u8>,
    seen: bool,
}

/// Enough to hold a JSON error body whole.
const SNIFF_BYTES: usize = 64 * 1024;

impl Sniff {
    pub fn record(&mut self, bytes: &[u8]) {
        if !self.seen {
            let room = SNIFF_BYTES.saturating_sub(self.head.len());
            self.head
                .extend_from_slice(bytes.get(..room).unwrap_or(bytes));
        }
    }

    /// The protocol showed up: the start of the body is not needed any more.
    pub fn seen(&mut self) {
        if !self.seen {
            self.seen = true;
            self.head = Vec::new();
        }
    }

    pub fn is_seen(&self) -> bool {
        self.seen
    }

    /// At the end of a body: the item describing a body that never held `what`.
    pub fn finish(&mut self, what: &str, out: &mut Vec<Decoded>) {
        if self.seen {
            return;
        }
        self.seen = true;
        let head = std::mem::take(&mut self.head);
        if head.is_empty() {
            out.push(Decoded::Malformed {
                message: format!("the response body was empty; expected {what}"),
            });
        } else if let Some(message) = body_error(&head) {
            out.push(Decoded::ServerError { message });
        } else {
            out.push(Decoded::Malformed {
                message: format!("expected {what}, but the body starts with {}", quote(&head)),
            });
        }
    }
}

/// What a protocol does with the events of an SSE body.
pub(super) trait SseHandler: Send {
    /// What the body should have been, for the message when it was not.
    const WHAT: &'static str;
    /// `at_end`: the body ended before the event's blank line (see [`cut_short`]).
    fn event(&mut self, event: SseEvent<'_>, at_end: bool, out: &mut Vec<Decoded>);
    /// The body ended (after every event was handled).
    fn finish(&mut self, out: &mut Vec<Decoded>);
    /// [`Decoder::content_event`] for an event whose one `data:` line's value starts `value`
    /// (which runs on to the end of the read): its text, whether it is reasoning, and the
    /// bytes of `value` the event took, its line end and blank line included (see
    /// [`sse::event_end`]).
    fn content_event<'b>(&mut self, value: &'b [u8]) -> Option<(&'b str, bool, usize)> {
        let _ = value;
        None
    }
    /// Whether [`SseHandler::content_event`] could read an event now.
    fn reads_content_events(&self) -> bool {
        false
    }
}

/// A streaming decoder: SSE framing, the no-protocol check, and a protocol's event handler.
pub(super) struct SseDecoder<H> {
    parser: SseParser,
    sniff: Sniff,
    handler: H,
}

impl<H: SseHandler> SseDecoder<H> {
    pub fn new(handler: H) -> Self {
        Self {
            parser: SseParser::new(),
            sniff: Sniff::default(),
            handler,
        }
    }
}

impl<H: SseHandler> Decoder for SseDecoder<H> {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Decoded>) {
        let Self {
            parser,
            sniff,
            handler,
        } = self;
        sniff.record(bytes);
        parser.feed(bytes, |item| on_item(item, false, sniff, handler, out));
    }

    fn finish(&mut self, out: &mut Vec<Decoded>) {
        let Self {
            parser,
            sniff,
            handler,
        } = self;
        parser.finish(|item| on_item(item, true, sniff, handler, out));
        handler.finish(out);
        sniff.finish(H::WHAT, out);
    }

    fn content_event<'b>(&mut self, bytes: &'b [u8]) -> Option<ContentEvent<'b>> {
        // Between events only: then a whole event is all the parser would have seen of it.
        // The sniff saw the protocol already (a handler reads whole events only after one).
        // A read no longer than the longest line: no line in it is too long for the parser.
        if !self.parser.between_events() || bytes.len() > sse::MAX_EVENT_BYTES {
            return None;
        }
        let (value, at) = sse::data_value(bytes)?;
        let (text, reasoning, len) = self.handler.content_event(value)?;
        Some(ContentEvent {
            text,
            reasoning,
            len: at + len,
        })
    }

    fn event_end(&self, bytes: &[u8]) -> Option<usize> {
        if !self.handler.reads_content_events() {
            return None;
        }
        sse::first_blank_line_end(bytes).filter(|&end| end < bytes.len())
    }
}

fn on_item<H: SseHandler>(
    item: SseItem<'_>,
    at_end: bool,
    sniff: &mut Sniff,
    handler: &mut H,
    out: &mut Vec<Decoded>,
) {
    match item {
        SseItem::Event(event) => {
            sniff.seen();
            handler.event(event, at_end, out);
        }
        SseItem::InvalidUtf8(line) => out.push(invalid_utf8("an event stream line", line)),
        SseItem::TooLong { limit } => {
            // The start of the body is not worth describing: it was the protocol, or the
            // message below says enough.
            sniff.seen();
            out.push(too_long("an event stream line or event", limit));
        }
    }
}

/// The largest non-streaming body kept: a whole answer with room for logprobs and other extras
/// (a 128k-token answer is well under 1 MiB of JSON), while 200 concurrent requests stuck at the
/// limit still fit in a few GiB.
pub(super) const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// A non-streaming decoder: the body is kept whole and decoded by `decode` when it ends.
pub(super) struct BodyDecoder {
    body: Vec<u8>,
    decode: fn(&str, &mut Vec<Decoded>),
    /// Ended, or too large to keep: nothing more is decoded.
    finished: bool,
    /// What to do about a body over [`MAX_BODY_BYTES`] (`None`: the general advice).
    too_long_advice: Option<&'static str>,
}

impl BodyDecoder {
    pub fn new(decode: fn(&str, &mut Vec<Decoded>)) -> Self {
        Self {
            body: Vec::new(),
            decode,
            finished: false,
            too_long_advice: None,
        }
    }

    /// Gives a body over [`MAX_BODY_BYTES`] this protocol's `advice` on what to do.
    pub fn advising(mut self, advice: &'static str) -> Self {
        self.too_long_advice = Some(advice);
        self
    }
}

impl Decoder for BodyDecoder {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Decoded>) {
        if self.finished {
            return;
        }
        if self.body.len() + bytes.len() > MAX_BODY_BYTES {
            self.finished = true;
            self.body = Vec::new();
            out.push(match self.too_long_advice {
                Some(advice) => too_long_advising("the response body", MAX_BODY_BYTES, advice),
                None => too_long("the response body", MAX_BODY_BYTES),
            });
            return;
        }
        self.body.extend_from_slice(bytes);
    }

    fn finish(&mut self, out: &mut Vec<Decoded>) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let body = std::mem::take(&mut self.body);
        if body.iter().all(u8::is_ascii_whitespace) {
            out.push(Decoded::Malformed {
                message: "the response body was empty; expected a JSON object".to_owned(),
            });
            return;
        }
        match std::str::from_utf8(&body) {
            Ok(text) => (self.decode)(text, out),
            Err(_) => out.push(invalid_utf8("the response body", &body)),
        }
    }
}

/// The item for a whole body that parsed as JSON but did not have the protocol's shape.
pub(super) fn unexpected_body(what: &str, body: &str) -> Decoded {
    match body_error(body.as_bytes()) {
        Some(message) => Decoded::ServerError { message },
        None => Decoded::Malformed {
            message: format!(
                "expected {what}, but the body is {}",
                quote(body.as_bytes())
            ),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test should fail loudly")]
mod tests {
    use super::*;

    #[test]
    fn quote_cuts_at_80_chars_and_escapes() {
        assert_eq!(quote(b"a\nb"), "\"a\\nb\"");
        let long = "é".repeat(100);
        let q = quote(long.as_bytes());
        assert_eq!(q, format!("{:?}…", "é".repeat(80)));
    }

    #[test]
    fn error_text_shapes() {
        let v: Value = serde_json::from_str(r#"{"message":"boom","type":"overloaded"}"#).unwrap();
        assert_eq!(error_text(&v), "overloaded: boom");
        assert_eq!(error_text(&Value::String("plain".into())), "plain");
        assert_eq!(
            body_error(br#"{"detail":"Not Found"}"#).as_deref(),
            Some("Not Found")
        );
        assert_eq!(
            body_error(br#"{"object":"error","message":"m"}"#).as_deref(),
            Some("m")
        );
        assert_eq!(body_error(b"<html>"), None);
    }

    #[test]
    fn a_token_is_held_inline_and_a_long_text_whole() {
        let mut out = Vec::new();
        push_content(Some(Str(Cow::Borrowed("tok "))), false, &mut out);
        let long = "x".repeat(100);
        push_content(Some(Str(Cow::Owned(long.clone()))), true, &mut out);
        push_content(Some(Str(Cow::Borrowed(""))), false, &mut out);
        let [
            Decoded::Content { text: short, .. },
            Decoded::Content {
                text: whole,
                reasoning: true,
            },
        ] = out.as_slice()
        else {
            panic!("{out:?}");
        };
        assert_eq!((short.as_str(), short.is_heap_allocated()), ("tok ", false));
        assert_eq!(whole.as_str(), long);
    }

    #[test]
    fn str_borrows_when_unescaped() {
        let s: Str<'_> = serde_json::from_str(r#""plain""#).unwrap();
        assert!(matches!(s.0, Cow::Borrowed(_)));
        let s: Option<Str<'_>> = serde_json::from_str(r#""plain""#).unwrap();
        assert!(matches!(s, Some(Str(Cow::Borrowed(_)))));
    }
}
