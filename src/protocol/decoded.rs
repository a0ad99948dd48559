//! What decoding a response body yields, and the decoder every protocol implements.

/// One meaningful item decoded from a response body, in the order it appeared.
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded {
    /// A piece of generated text; `reasoning` for thinking/reasoning deltas. Never empty.
    Content {
        text: compact_str::CompactString,
        reasoning: bool,
    },
    /// A piece of a tool call the model made: `index` is the call's place among the
    /// response's calls; `id` and `name` come with the piece where the server first sent them;
    /// `arguments` is the next fragment of its JSON arguments (empty on a piece that only names
    /// the call). Ollama sends each call whole, in one piece.
    ToolCall {
        index: u32,
        id: Option<String>,
        name: Option<String>,
        arguments: String,
    },
    /// Token counts as the server reported them, given the meanings of
    /// [`crate::event::EventKind::Usage`] (`input` counts cached prompt tokens too); `None`
    /// fields were not in this report. `reported` holds the fields as the server sent them.
    Usage {
        input: Option<u32>,
        output: Option<u32>,
        cached_input: Option<u32>,
        cache_write: Option<u32>,
        reasoning: Option<u32>,
        reported: Vec<(&'static str, u32)>,
    },
    /// An embeddings answer: how many vectors it held and their length (every vector has the
    /// same). The vectors themselves are not kept.
    Embeddings { vectors: u32, dimension: u32 },
    /// Server-side timings (Ollama).
    ServerTimings(crate::event::ServerTimings),
    /// The response's own id (`id` of an OpenAI chunk, `message.id` of Anthropic's start).
    ResponseId(String),
    /// Why generation stopped (`stop`, `length`, `end_turn`, …).
    FinishReason(String),
    /// The protocol's end-of-response marker (`[DONE]`, `message_stop`, `done: true`, or the end
    /// of a complete non-streaming body).
    End,
    /// The server reported an error in the body (`{"error": …}`, an Anthropic `error` event).
    ServerError { message: String },
    /// The server reported in the body an error that an HTTP status names too: a rate limit
    /// (Bedrock's `throttlingException`, the Responses API's `rate_limit_exceeded`, Gemini's
    /// `RESOURCE_EXHAUSTED`) is a 429, Bedrock's `serviceUnavailableException` a 503. The
    /// request fails with that status's class, as it would have had the status said it.
    StatusError { status: u16, message: String },
    /// The provider's filter refused the prompt or stopped the answer (Gemini's
    /// `promptFeedback.blockReason`, a `SAFETY` finish): the request failed as `blocked`.
    Blocked { message: String },
    /// The bytes were not this protocol (bad JSON, invalid UTF-8, unexpected shape).
    Malformed { message: String },
}

/// Decodes one response body incrementally. Implementations buffer partial lines and partial
/// UTF-8 characters across `feed` calls, so any split of the body gives the same items.
pub trait Decoder: Send {
    /// The next bytes of the body, as they arrived; decoded items are appended to `out`.
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Decoded>);
    /// The body ended: flush what is buffered (a last line with no newline, a whole
    /// non-streaming body). A body that held nothing of the protocol yields `Malformed`, or
    /// `ServerError` when it was a JSON error object (`{"error": …}`) served in its place.
    fn finish(&mut self, out: &mut Vec<Decoded>);
    /// The fast path of a stream whose events repeat one shape: when the decoder is between
    /// events and `bytes` starts with a whole event that is nothing but a piece of text (see
    /// `openai/template.rs`), reads that event and returns its text; `feed` then takes the
    /// rest of the bytes (and this again first, for the next event). Exactly what `feed` of
    /// those bytes would have done: one [`Decoded::Content`] with this text. `None`: nothing
    /// was read, `feed` takes all the bytes. The text is borrowed from `bytes`: no copy, no
    /// item.
    fn content_event<'b>(&mut self, bytes: &'b [u8]) -> Option<ContentEvent<'b>> {
        let _ = bytes;
        None
    }
    /// When the decoder could read later events of `bytes` with [`Decoder::content_event`] but
    /// not the first (a read that starts inside an event): how many bytes at the start to
    /// `feed` first, up to the end of the first event (its blank line included), with more
    /// after them. `None`: `feed` takes all the bytes. Any split is decoded alike; this one
    /// only lets the events after it be read whole.
    fn event_end(&self, bytes: &[u8]) -> Option<usize> {
        let _ = bytes;
        None
    }
}

/// One event read by [`Decoder::content_event`]: its text (never empty), whether it is
/// reasoning, and how many bytes at the start of the read it took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContentEvent<'b> {
    pub text: &'b str,
    pub reasoning: bool,
    pub len: usize,
}

/// A read split as the engine decodes it: whole token events read straight
/// ([`Decoder::content_event`]), the rest in pieces for `feed` that end where an event ends
/// ([`Decoder::event_end`]), so that the whole events after a read's first are read straight
/// too. An empty read is one empty piece. The engine and the tests that hold this against `feed`
/// alone both split reads with it.
pub struct ReadParts<'b> {
    rest: &'b [u8],
    /// An empty read whose one empty piece is still to come.
    empty: bool,
}

/// One part of a read: a token event read straight, or bytes for `feed`.
#[derive(Debug)]
pub enum Part<'b> {
    Content(ContentEvent<'b>),
    Feed(&'b [u8]),
}

impl<'b> ReadParts<'b> {
    #[must_use]
    pub fn new(read: &'b [u8]) -> ReadParts<'b> {
        ReadParts {
            rest: read,
            empty: read.is_empty(),
        }
    }

    /// The read's next part for `decoder`, which must have been given every part before it;
    /// `None` once the read is used up.
    pub fn next_part(&mut self, decoder: &mut (impl Decoder + ?Sized)) -> Option<Part<'b>> {
        if self.rest.is_empty() {
            return std::mem::take(&mut self.empty).then_some(Part::Feed(self.rest));
        }
        if let Some(event) = decoder.content_event(self.rest) {
            self.rest = self.rest.get(event.len..).unwrap_or_default();
            return Some(Part::Content(event));
        }
        let end = decoder.event_end(self.rest).unwrap_or(self.rest.len());
        let (piece, rest) = self.rest.split_at(end.min(self.rest.len()));
        self.rest = rest;
        Some(Part::Feed(piece))
    }
}
