//! The race's event vocabulary: every module that produces or consumes what happened in a race
//! speaks these types. Live races and replays both travel as a stream of [`RaceEvent`]s, so this
//! file is versioned ([`EVENT_FORMAT_VERSION`]) and only ever grows compatibly.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// How many response headers a `Headers` event keeps.
pub const MAX_HEADERS: usize = 24;

/// Bumped when a change to these types, or to what a field means, would make a reader misread
/// a stream. 2: `Usage.input` counts Anthropic's cached prompt tokens too (in 1 it was
/// Anthropic's own `input_tokens`, which leaves them out), and `Resent` is new (a request
/// sent again on a new connection; a format-1 reader cannot read it). 3: `Content.tool` is new
/// (the text is a tool call's arguments, not answer text; a format-2 reader would take it for
/// the answer). 4: `ServerMetrics` is new (a scrape of a server's `/metrics`, under the
/// request id [`RequestId::SERVER`]), and so is the error class `blocked`; a format-3 reader
/// can read neither. Format 4 also grew, compatibly, `Sent.inputs` and `Finished.dimension`
/// (embeddings requests): a reader that ignores them reads the rest right.
pub const EVENT_FORMAT_VERSION: u32 = 4;

/// Reads later than this after their bytes arrived are noted on the content they carried;
/// below it, a read is as prompt as a busy client can be and the note would only fill files.
pub const LATE_READ_FLOOR_US: u64 = 1_000;

/// Taken off a read's floor (`Content::after`): the kernel stamps a segment as it enters the
/// network stack and queues it on the socket a little later, so a segment stamped just before
/// a read began can still miss that read. A floor is sound when the kernel queues what it
/// stamped within this.
pub const READ_FLOOR_SLACK_US: u64 = 1_000;

/// Index of an endpoint in the race as run (its position in the endpoint list).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EndpointId(pub u16);

/// A request, unique within one race (across endpoints).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(pub u64);

impl RequestId {
    /// The request id of events that belong to no request (a scrape of an endpoint's server
    /// metrics): no race numbers a request this high.
    pub const SERVER: RequestId = RequestId(u64::MAX);
}

/// Index of a prompt in the race's workload; every endpoint is sent prompt 0, 1, 2, … in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PromptId(pub u32);

/// Time since the race started, on the race's monotonic clock, in nanoseconds.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Offset(pub u64);

impl Offset {
    pub const ZERO: Offset = Offset(0);

    pub fn from_duration(d: Duration) -> Self {
        Offset(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }

    pub fn as_duration(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Offset) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

/// One thing that happened to one request, stamped where the bytes arrived.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RaceEvent {
    pub t: Offset,
    pub endpoint: EndpointId,
    pub request: RequestId,
    pub kind: EventKind,
}

/// The lifecycle of a request: `Sent`, then usually `Headers`, any number of `Content`,
/// `Usage` and `ServerTimings`, and exactly one of `Finished`, `Failed` or `Cancelled`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// The request left the client. `warmup` requests are recorded but kept out of statistics.
    Sent {
        prompt: PromptId,
        bytes: u64,
        warmup: bool,
        /// Open loop only: how late the request left after its scheduled time, in
        /// microseconds (the client fell behind when this grows).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lag_us: Option<u64>,
        /// Head-to-head laps only: the lap (from 0) this request ran in; every endpoint ran
        /// the lap's prompt at the same instant.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lap: Option<u32>,
        /// A retry of an earlier attempt that failed with a status worth retrying (429, 503).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry: Option<Retry>,
        /// Multi-turn sessions only: the session (numbered across the race) this request is a
        /// turn of.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<u64>,
        /// Multi-turn sessions only: which turn of its session, from 1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        turn: Option<u32>,
        /// Embeddings requests only: how many inputs it carries (one vector is due for each).
        /// Its presence says the endpoint answers with vectors, not generated text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        inputs: Option<u32>,
    },
    /// The request went out once more, on a new connection: the reused one it was first sent
    /// on closed before any byte of the response (`lost` says how), so the server never read
    /// it. The request counts from here now, as one that had to connect.
    Resent { lost: String },
    /// Response headers arrived.
    Headers {
        status: u16,
        /// Whether this request had to open a new connection (it was not warm).
        new_connection: bool,
        /// How long opening that connection took, when it was opened for this request.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        connect_us: Option<u64>,
        /// The server's id for the request from headers such as `x-request-id`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server_request_id: Option<String>,
        /// The response headers as received, without sensitive ones (cookies, anything that
        /// looks like a key or token), at most [`MAX_HEADERS`], values shortened.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        headers: Vec<(String, String)>,
    },
    /// Text decoded from one network read. `chunks` counts the protocol events (SSE events,
    /// NDJSON lines) merged into it: they arrived together, so they share one timestamp.
    ///
    /// That timestamp is when the read's last segment arrived: when one read carried several
    /// events, the earlier ones arrived at an unknown moment between `after` and it.
    Content {
        /// Inline up to 24 bytes: a token's text costs no allocation.
        text: CompactString,
        reasoning: bool,
        chunks: u32,
        /// On a request's first content only: none of its read's bytes arrived before this
        /// (the start of a read before it that left the socket empty, less
        /// [`READ_FLOOR_SLACK_US`]; the request's sending at the earliest).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<Offset>,
        /// How long after its bytes arrived the client read them, when that was
        /// [`LATE_READ_FLOOR_US`] or more: a lower bound (measured against the read's last
        /// segment).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        late_us: Option<u64>,
        /// Its read had no kernel receive stamp: its time is when it was read, and how late
        /// that was is not known.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unstamped: bool,
        /// The text is arguments of this tool call, not answer text. A call's first piece
        /// may have empty text (only its name arrived); it still counts as the call's first
        /// token.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tool: Option<ToolCall>,
    },
    /// Token counts, with one meaning whatever the protocol. Fields that are `None` leave an
    /// earlier report's value standing: a later report replaces an earlier one field by field,
    /// never adds to it.
    Usage {
        /// Every prompt token, those served from or written to a prompt cache included (what
        /// OpenAI's `prompt_tokens` and Gemini's `promptTokenCount` count). Anthropic's
        /// `input_tokens` leaves the cached ones out, so its decoder adds them back; Bedrock's
        /// `inputTokens` does too, so a decoder for it would have to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        input: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output: Option<u32>,
        /// Of `input`, the tokens read from the prompt cache.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cached_input: Option<u32>,
        /// Of `input`, the tokens written to the prompt cache (Anthropic bills them apart).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_write: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reasoning: Option<u32>,
        /// The server's usage fields as it named and counted them, before the counts above
        /// were given one meaning. Empty for estimates and in streams recorded before it was.
        #[serde(default, skip_serializing_if = "ReportedUsage::is_empty")]
        reported: ReportedUsage,
        source: TokenSource,
    },
    /// Timings the server reports about itself (Ollama's native API).
    ServerTimings(ServerTimings),
    /// The response completed as the protocol says a response completes.
    Finished {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        finish_reason: Option<String>,
        /// The `id` field of the response body, when the protocol has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        response_id: Option<String>,
        bytes: u64,
        /// Only when the request asked for a JSON answer (`response_format`, Ollama's
        /// `format`, Anthropic's `output_format`): whether the answer's text was JSON.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        json_valid: Option<bool>,
        /// Embeddings only: the length of the vectors the answer held (one per input).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dimension: Option<u32>,
    },
    /// The request failed; any content that arrived before stays in the record.
    Failed {
        class: ErrorClass,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        bytes: u64,
    },
    /// The race was stopped (Ctrl-C) while this request was in flight.
    Cancelled { bytes: u64 },
    /// The endpoint's server's `/metrics` page, scraped once (not a request: the event's
    /// `request` is [`RequestId::SERVER`]). Boxed: it is large and comes once a second.
    ServerMetrics(Box<ServerScrape>),
}

/// One scrape of a server's `/metrics` (`engine/scrape.rs`), for the endpoint of its event
/// and every endpoint in `also` (endpoints of one server and model share a scrape).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerScrape {
    /// Where it was scraped, redacted as every URL.
    pub url: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<EndpointId>,
    /// What the page said, in llmrace's vocabulary; `None` when the scrape failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<crate::server_metrics::ServerReading>,
    /// Every series on the page as written (`name{labels}`, value), at most
    /// [`MAX_SCRAPE_SERIES`], finite values only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<(String, f64)>,
    /// Series left out: past the cap, or not a finite number (`NaN`, `+Inf`).
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub series_left_out: u32,
    /// How long the scrape took, from the request to the page read whole.
    #[serde(default)]
    pub took_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ScrapeError>,
}

/// The most series a scrape keeps (a vLLM page has about 1 500 with its histograms' buckets).
pub const MAX_SCRAPE_SERIES: usize = 5_000;

/// A series name longer than this is cut (at a character boundary), so no replay line grows
/// past the reader's cap.
pub const MAX_SERIES_NAME_BYTES: usize = 512;

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes &T"
)]
fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

/// Why a scrape gave no reading: a gap in the series, never a failed race.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScrapeError {
    pub class: ScrapeFailure,
    pub message: String,
}

/// The kinds of failed scrapes, counted apart in the notices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScrapeFailure {
    /// No connection, or it broke before the page was read whole.
    Connect,
    /// No whole page within the scrape timeout.
    Timeout,
    /// An HTTP status other than 200.
    Status,
    /// Larger than the size cap.
    TooLarge,
    /// Not a metrics page (not text, or not the Prometheus format).
    Garbage,
}

/// Which tool call a piece of arguments belongs to. `index` tells a response's calls apart
/// (their order in it); `id` and `name` are given on the piece where the server first sent them
/// (a call's first piece, or each whole call for Ollama) and left out after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    pub index: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Which attempt a retried request is: every attempt is a request of its own, with its own
/// events and record, so nothing about a failed attempt is hidden.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retry {
    /// The attempt this one repeats (the one just before it).
    pub of: RequestId,
    /// This attempt's number: 2 for the first retry, 3 for the second, …
    pub attempt: u32,
}

/// A server's usage fields under its own names (`prompt_tokens`, `cache_read_input_tokens`,
/// nested ones dotted: `prompt_tokens_details.cached_tokens`), as it counted them. Live names
/// are the decoders' static strings, so a provider repeating usage in every chunk costs no
/// allocation per name; names read back from a file are owned.
pub type ReportedUsage = BTreeMap<Cow<'static, str>, u32>;

/// Where a token count came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// Reported by the server.
    Usage,
    /// Counted by llmrace with a BPE tokenizer because the server did not report it, or
    /// reported zero output tokens for a response that carried text.
    Estimate,
}

/// Server-side timings, as Ollama's `/api/chat` reports them (nanoseconds).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerTimings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_eval_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_eval_ns: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_ns: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_ns: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_ns: Option<u64>,
}

/// Why a request failed. Stable names: they appear in result files and thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The host name did not resolve.
    Dns,
    /// No connection could be made (refused, unreachable, TLS failure).
    Connect,
    /// Connecting took longer than the connect timeout.
    ConnectTimeout,
    /// The connection closed or reset before the response headers arrived.
    ConnectionLost,
    /// HTTP 429.
    RateLimited,
    /// HTTP 401 or 403.
    Auth,
    /// HTTP 404.
    NotFound,
    /// Any other 4xx.
    BadRequest,
    /// Any 5xx.
    ServerError,
    /// No content token within the first-token timeout.
    FirstTokenTimeout,
    /// Too long a silence between two chunks.
    IdleTimeout,
    /// The whole request took longer than the total timeout.
    TotalTimeout,
    /// The body was not the protocol: wrong content type, malformed JSON, invalid UTF-8.
    Protocol,
    /// The server reported an error inside the stream.
    StreamError,
    /// The stream ended early: connection lost mid-way, or no end-of-stream marker.
    StreamCut,
    /// The provider's filter refused the prompt or stopped the answer (Gemini's safety block).
    Blocked,
}

impl ErrorClass {
    pub const ALL: [ErrorClass; 16] = [
        ErrorClass::Dns,
        ErrorClass::Connect,
        ErrorClass::ConnectTimeout,
        ErrorClass::ConnectionLost,
        ErrorClass::RateLimited,
        ErrorClass::Auth,
        ErrorClass::NotFound,
        ErrorClass::BadRequest,
        ErrorClass::ServerError,
        ErrorClass::FirstTokenTimeout,
        ErrorClass::IdleTimeout,
        ErrorClass::TotalTimeout,
        ErrorClass::Protocol,
        ErrorClass::StreamError,
        ErrorClass::StreamCut,
        ErrorClass::Blocked,
    ];

    /// The class of an HTTP error status.
    pub fn from_status(status: u16) -> ErrorClass {
        match status {
            429 => ErrorClass::RateLimited,
            401 | 403 => ErrorClass::Auth,
            404 => ErrorClass::NotFound,
            500..=599 => ErrorClass::ServerError,
            _ => ErrorClass::BadRequest,
        }
    }

    /// The stable `snake_case` name used in files and on screen.
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::Dns => "dns",
            ErrorClass::Connect => "connect",
            ErrorClass::ConnectTimeout => "connect_timeout",
            ErrorClass::ConnectionLost => "connection_lost",
            ErrorClass::RateLimited => "rate_limited",
            ErrorClass::Auth => "auth",
            ErrorClass::NotFound => "not_found",
            ErrorClass::BadRequest => "bad_request",
            ErrorClass::ServerError => "server_error",
            ErrorClass::FirstTokenTimeout => "first_token_timeout",
            ErrorClass::IdleTimeout => "idle_timeout",
            ErrorClass::TotalTimeout => "total_timeout",
            ErrorClass::Protocol => "protocol",
            ErrorClass::StreamError => "stream_error",
            ErrorClass::StreamCut => "stream_cut",
            ErrorClass::Blocked => "blocked",
        }
    }
}

impl std::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
