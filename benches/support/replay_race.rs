//! A synthetic race shaped like a busy real one, for the replay benchmarks: endpoints ×
//! closed-loop streams, TTFT 200 ms, 20 ms between tokens, 256 tokens per response, one token
//! per event, words of ordinary text; written through the real `ReplayWriter`.

use std::path::{Path, PathBuf};

use chrono::Utc;
use llmrace::config::demo_race;
use llmrace::event::{
    EndpointId, EventKind, Offset, PromptId, RaceEvent, ReportedUsage, RequestId, TokenSource,
};
use llmrace::record::{EndpointInfo, ReplayEnd, ReplayHeader, ReplayWriter};

pub const ENDPOINTS: u16 = 4;
pub const STREAMS: u64 = 8;
const TOKENS: u64 = 256;
const TTFT_MS: u64 = 200;
const ITL_MS: u64 = 20;
const WORDS: [&str; 16] = [
    " the", " model", " streams", " tokens", " and", " we", " measure", " every", " one", " of",
    " them", " as", " they", " arrive", " here", " today",
];

/// Every event of a race of `seconds`, in time order.
pub fn events(seconds: u64) -> Vec<RaceEvent> {
    let mut events = Vec::new();
    let mut next_request = 0u64;
    let end = seconds * 1000;
    for endpoint in 0..ENDPOINTS {
        for stream in 0..STREAMS {
            let mut at_ms = stream * 37;
            let mut n = 0u64;
            while at_ms < end {
                let request = RequestId(next_request);
                next_request += 1;
                // A few µs of spread so events of one millisecond are not all equal.
                let push = |events: &mut Vec<RaceEvent>, ms: u64, kind: EventKind| {
                    events.push(RaceEvent {
                        t: Offset(ms * 1_000_000 + (n % 997) * 1_000),
                        endpoint: EndpointId(endpoint),
                        request,
                        kind,
                    });
                };
                push(
                    &mut events,
                    at_ms,
                    EventKind::Sent {
                        prompt: PromptId(u32::try_from(n % 20).unwrap_or(0)),
                        bytes: 1200,
                        warmup: false,
                        lag_us: None,
                        lap: None,
                        retry: None,
                        session: None,
                        turn: None,
                        inputs: None,
                    },
                );
                push(
                    &mut events,
                    at_ms + 2,
                    EventKind::Headers {
                        status: 200,
                        new_connection: false,
                        connect_us: None,
                        server_request_id: Some(format!("req-{}", request.0)),
                        headers: Vec::new(),
                    },
                );
                for token in 0..TOKENS {
                    let word = WORDS[usize::try_from((token * 7 + n) % 16).unwrap_or(0)];
                    push(
                        &mut events,
                        at_ms + TTFT_MS + token * ITL_MS,
                        EventKind::Content {
                            text: word.into(),
                            reasoning: false,
                            chunks: 1,
                            after: None,
                            late_us: None,
                            unstamped: false,
                            tool: None,
                        },
                    );
                }
                let done = at_ms + TTFT_MS + TOKENS * ITL_MS;
                push(
                    &mut events,
                    done,
                    EventKind::Usage {
                        input: Some(260),
                        output: Some(u32::try_from(TOKENS).unwrap_or(0)),
                        cached_input: None,
                        cache_write: None,
                        reasoning: None,
                        reported: ReportedUsage::default(),
                        source: TokenSource::Usage,
                    },
                );
                push(
                    &mut events,
                    done,
                    EventKind::Finished {
                        finish_reason: Some("length".into()),
                        response_id: Some(format!("chatcmpl-{}", request.0)),
                        bytes: 40_000,
                        json_valid: None,
                        dimension: None,
                    },
                );
                at_ms = done + 1;
                n += 1;
            }
        }
    }
    events.sort_by_key(|e| e.t);
    events
}

/// The header of a replay of `endpoints` simulated `OpenAI` endpoints, without prompts.
pub fn header(endpoints: u16) -> ReplayHeader {
    let endpoints = (0..endpoints)
        .map(|i| EndpointInfo {
            name: format!("endpoint-{i}"),
            protocol: "openai".into(),
            model: "m".into(),
            base_url: "mock://steady".into(),
            simulated: true,
            concurrency: u32::try_from(STREAMS).unwrap_or(1),
            salt: None,
            proxy: None,
            http_version: None,
        })
        .collect();
    ReplayHeader::new(demo_race(), endpoints, Vec::new(), Utc::now())
}

/// Writes `events` as the replay of a race of `seconds` in `dir`; returns its path.
pub fn write(dir: &Path, events: &[RaceEvent], seconds: u64) -> PathBuf {
    let mut writer = ReplayWriter::create(dir, &header(ENDPOINTS)).expect("create the replay");
    for event in events {
        writer.write(event).expect("write an event");
    }
    writer
        .finish(ReplayEnd {
            t: Offset(seconds * 1_000_000_000),
            interrupted: false,
        })
        .expect("finish the replay")
}
