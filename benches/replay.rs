//! Replay size and speed. Writes the replay of a synthetic 10-minute race shaped like the
//! issue's target (4 endpoints × 8 streams, ~50 tokens/s per stream, one token per event,
//! words of ordinary text), reports its size, then loads it back and folds it through the
//! aggregator, timing both.
//!
//! Run: `cargo bench --bench replay`

use std::time::Instant;

use chrono::Utc;
use llmrace::config::demo_race;
use llmrace::event::{EndpointId, EventKind, Offset, PromptId, RaceEvent, RequestId, TokenSource};
use llmrace::record::{EndpointInfo, Replay, ReplayEnd, ReplayHeader, ReplayWriter};

const ENDPOINTS: u16 = 4;
const STREAMS: u64 = 8;
const RACE_S: u64 = 600;
const TOKENS: u64 = 256;
const TTFT_MS: u64 = 200;
const ITL_MS: u64 = 20;
const WORDS: [&str; 16] = [
    " the", " model", " streams", " tokens", " and", " we", " measure", " every", " one", " of",
    " them", " as", " they", " arrive", " here", " today",
];

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut events = race();
    events.sort_by_key(|e| e.t);
    let endpoints = (0..ENDPOINTS)
        .map(|i| EndpointInfo {
            name: format!("endpoint-{i}"),
            protocol: "openai".into(),
            model: "m".into(),
            base_url: "mock://steady".into(),
            simulated: true,
            concurrency: STREAMS as u32,
        })
        .collect();
    let header = ReplayHeader::new(demo_race(), endpoints, Vec::new(), Utc::now());
    let started = Instant::now();
    let mut writer = ReplayWriter::create(dir.path(), &header).expect("create");
    for event in &events {
        writer.write(event).expect("write");
    }
    let path = writer
        .finish(ReplayEnd {
            t: Offset(RACE_S * 1_000_000_000),
            interrupted: false,
        })
        .expect("finish");
    let write_s = started.elapsed().as_secs_f64();
    let size = std::fs::metadata(&path).expect("size").len();
    println!(
        "10-minute race, {ENDPOINTS} endpoints × {STREAMS} streams: {} events, replay {:.2} MB \
         ({:.1} bytes/event), written in {write_s:.2} s",
        events.len(),
        size as f64 / 1e6,
        size as f64 / events.len() as f64
    );

    let mut loads = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let replay = Replay::open(&path).expect("open");
        let loaded = started.elapsed().as_secs_f64();
        let last = llmrace::fold_replay(&replay, |_| {});
        let total = started.elapsed().as_secs_f64();
        assert_eq!(replay.events.len(), events.len());
        assert!(!last.endpoints.is_empty());
        loads.push((loaded, total));
    }
    loads.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (loaded, total) = loads[loads.len() / 2];
    println!(
        "load {:.3} s + aggregate {:.3} s = {total:.3} s for {} events ({:.2} M events/s), median of 5",
        loaded,
        total - loaded,
        events.len(),
        events.len() as f64 / total / 1e6
    );
}

/// Closed-loop streams: each request is sent when the previous one of its stream ended.
fn race() -> Vec<RaceEvent> {
    let mut events = Vec::new();
    let mut next_request = 0u64;
    let end = RACE_S * 1000;
    for endpoint in 0..ENDPOINTS {
        for stream in 0..STREAMS {
            let mut at_ms = stream * 37;
            let mut n = 0u64;
            while at_ms < end {
                let request = RequestId(next_request);
                next_request += 1;
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
                        prompt: PromptId((n % 20) as u32),
                        bytes: 1200,
                        warmup: false,
                        lag_us: None,
                        lap: None,
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
                    let word = WORDS[((token * 7 + n) % WORDS.len() as u64) as usize];
                    push(
                        &mut events,
                        at_ms + TTFT_MS + token * ITL_MS,
                        EventKind::Content {
                            text: word.to_string(),
                            reasoning: false,
                            chunks: 1,
                        },
                    );
                }
                let done = at_ms + TTFT_MS + TOKENS * ITL_MS;
                push(
                    &mut events,
                    done,
                    EventKind::Usage {
                        input: Some(260),
                        output: Some(TOKENS as u32),
                        cached_input: None,
                        reasoning: None,
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
                    },
                );
                at_ms = done + 1;
                n += 1;
            }
        }
    }
    events
}
