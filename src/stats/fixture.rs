//! Synthetic races for view tests and benchmarks: deterministic event streams (no clock, no
//! randomness, only fixed formulas) folded through a real [`Aggregator`] into [`Snapshot`]s.
//! Built only for tests and with the `test-support` feature (the integration tests and the
//! benches turn it on), never into the release binary.
//!
//! The shape of a race of `E` endpoints × `N` requests:
//! - Endpoints are named [`NAMES`] in order (`turbo`, `steady`, `thinker`, `flaky`,
//!   `slowpoke`, `bursty`, `tiny`, `giant`), then `turbo-2`, `steady-2`, … Each has its own
//!   latency profile: TTFB, TTFT (with a per-request wobble of up to +48 % and a 3× outlier
//!   now and then), time between tokens, output length and batching.
//! - Every endpoint sends one request every [`GAP_MS`] ms (an open-loop constant rate, with a
//!   few ms of jitter), the measured ones from [`START_MS`]; so the slower an endpoint, the
//!   more requests it has in flight at any moment (`slowpoke` about 15, `tiny` none or one).
//! - `turbo` (endpoint 0) first sends [`WARMUPS`] warm-up requests (flagged `warmup`); they
//!   are in its ring when `N` is small. Its newest request that has ended at the snapshot
//!   time is the *tricky* one: multi-line text with unicode words and an emoji, an ANSI
//!   colour escape, an OSC title sequence, a bell, a tab, a backspace and a carriage return,
//!   for testing that views make model output inert.
//! - `thinker` streams reasoning segments before its answer and reports reasoning tokens;
//!   `flaky` fails about a third of its requests (HTTP 503 and 429 with headers,
//!   `stream_cut` after partial output, `first_token_timeout`) and, in its last 8 seconds of
//!   sending, three in four, so its badge is `Failing`; `slowpoke` reports Ollama-style
//!   server timings and no server request id; `bursty` sends 4 tokens per chunk and
//!   estimated usage; `giant` stops at `length`. Every 16th request opened a new connection.
//! - [`race`] is the race at [`live_at`], just after the last request was sent
//!   (`finished = false`): every request sent, the newest still streaming. [`finished_race`]
//!   plays every event to the end. [`events`] and [`aggregator`] are the parts, for benchmarks
//!   of the aggregator itself.
//!
//! Request ids follow send order across endpoints; prompts run 0, 1, 2, … per endpoint
//! (modulo [`PROMPTS`]), warm-ups first, as the engine does.

mod script;
mod server;

use chrono::{DateTime, Utc};

use super::{Aggregator, Snapshot};
use crate::config::Slo;
use crate::event::{EventKind, Offset};
pub use script::Events;
use script::Plan;
pub use server::{WITH_SERVER, add_servers, with_servers};

/// Endpoint names, in order; beyond eight they repeat with a suffix.
pub const NAMES: [&str; 8] = [
    "turbo", "steady", "thinker", "flaky", "slowpoke", "bursty", "tiny", "giant",
];
/// Time between two requests sent by one endpoint.
pub const GAP_MS: u64 = 100;
/// When the measured requests start; warm-ups run before.
pub const START_MS: u64 = 600;
/// Warm-up requests of endpoint 0.
pub const WARMUPS: u64 = 2;
/// The workload's size: prompt ids are below this.
pub const PROMPTS: u32 = 20;
/// Each endpoint's phase plus a request's jitter stay below this (ms).
const MAX_PHASE_MS: u64 = 50;
/// How long after the last request was sent [`race`] looks (ms).
const SNAPSHOT_AFTER_LAST_SEND_MS: u64 = 60;

/// The endpoint names of a race of `endpoints` endpoints.
pub fn endpoint_names(endpoints: usize) -> Vec<String> {
    (0..endpoints)
        .map(|e| {
            let name = NAMES[e % NAMES.len()];
            match e / NAMES.len() {
                0 => name.to_string(),
                round => format!("{name}-{}", round + 1),
            }
        })
        .collect()
}

/// The race right after every endpoint sent its `requests_per_endpoint` measured requests,
/// with the newest still in flight.
pub fn race(endpoints: usize, requests_per_endpoint: usize) -> Snapshot {
    let until = live_at(requests_per_endpoint as u64);
    let mut aggregator = aggregator(endpoints);
    for event in events(endpoints, requests_per_endpoint).take_while(|e| e.t <= until) {
        aggregator.apply(&event);
    }
    aggregator.snapshot(until, false)
}

/// The same race played to its end: every request ended, `finished = true`.
pub fn finished_race(endpoints: usize, requests_per_endpoint: usize) -> Snapshot {
    let mut aggregator = aggregator(endpoints);
    let mut last = Offset::ZERO;
    for event in events(endpoints, requests_per_endpoint) {
        last = event.t;
        aggregator.apply(&event);
    }
    aggregator.snapshot(last, true)
}

/// [`finished_race`] with its last endpoint an embeddings endpoint: each request carries 16
/// inputs and gets 384-dimension vectors back, no content and no output tokens.
pub fn finished_race_with_embeddings(endpoints: usize, requests_per_endpoint: usize) -> Snapshot {
    let embedder = u16::try_from(endpoints.saturating_sub(1)).unwrap_or(u16::MAX);
    let mut aggregator = aggregator(endpoints);
    let mut last = Offset::ZERO;
    for mut event in events(endpoints, requests_per_endpoint) {
        last = event.t;
        if event.endpoint.0 == embedder {
            match &mut event.kind {
                EventKind::Sent { inputs, .. } => *inputs = Some(16),
                EventKind::Content { .. } => continue,
                EventKind::Usage {
                    output,
                    reasoning,
                    cached_input,
                    ..
                } => (*output, *reasoning, *cached_input) = (None, None, None),
                EventKind::Finished {
                    dimension,
                    finish_reason,
                    ..
                } => (*dimension, *finish_reason) = (Some(384), None),
                _ => {}
            }
        }
        aggregator.apply(&event);
    }
    aggregator.snapshot(last, true)
}

/// Every event of the race, in time order. Generated as it is consumed: memory follows the
/// requests in flight, not the race's length.
pub fn events(endpoints: usize, requests_per_endpoint: usize) -> Events {
    Events::new(Plan::new(endpoints, requests_per_endpoint))
}

/// The time [`race`] shows: a little after the last request was sent.
pub fn live_at(requests_per_endpoint: u64) -> Offset {
    let last_send = START_MS + requests_per_endpoint.saturating_sub(1) * GAP_MS + MAX_PHASE_MS;
    ms(last_send + SNAPSHOT_AFTER_LAST_SEND_MS)
}

/// An aggregator for the fixture's endpoints, with its objectives (TTFT ≤ 500 ms, TPOT ≤
/// 40 ms) and a fixed wall-clock start.
pub fn aggregator(endpoints: usize) -> Aggregator {
    let slo = Slo {
        ttft: Some(std::time::Duration::from_millis(500)),
        tpot: Some(std::time::Duration::from_millis(40)),
        ttlt: None,
    };
    // 2026-01-01T00:00:00Z.
    let wall_start = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(20_454);
    Aggregator::new(&endpoint_names(endpoints), slo, wall_start)
}

fn ms(n: u64) -> Offset {
    Offset(n * 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ErrorClass, EventKind};
    use crate::stats::{Health, RequestState};

    #[test]
    fn the_same_race_twice_is_the_same_snapshot() {
        assert_eq!(race(8, 120), race(8, 120));
        assert_eq!(finished_race(3, 50), finished_race(3, 50));
    }

    #[test]
    fn names_repeat_with_a_suffix() {
        let names = endpoint_names(10);
        assert_eq!(names[0], "turbo");
        assert_eq!(names[3], "flaky");
        assert_eq!(names[8], "turbo-2");
        assert_eq!(names[9], "steady-2");
    }

    #[test]
    fn a_live_race_has_every_request_sent_and_some_in_flight() {
        let s = race(8, 200);
        assert!(!s.finished);
        assert_eq!(s.endpoints.len(), 8);
        for e in &s.endpoints {
            let c = e.counts;
            assert_eq!(c.sent, 200, "{}", e.name);
            assert_eq!(c.sent, c.succeeded + c.failed + c.cancelled + c.in_flight);
            let in_ring = e
                .requests
                .iter()
                .filter(|r| r.state == RequestState::InFlight)
                .count();
            assert_eq!(
                in_ring as u64,
                c.in_flight.min(32),
                "{}: the ring holds the newest",
                e.name
            );
            assert_eq!(e.requests.len(), 32);
        }
        let by_name = |name: &str| s.endpoints.iter().find(|e| e.name == name).unwrap();
        assert!(by_name("slowpoke").counts.in_flight > by_name("turbo").counts.in_flight);
        assert!(by_name("turbo").counts.in_flight > 0);
        assert_eq!(by_name("turbo").counts.warmup, 2);
        assert_eq!(by_name("turbo").health, Health::Healthy);
        assert_eq!(by_name("flaky").health, Health::Failing);
        // Distinct latencies: turbo answers first, slowpoke last.
        let p50 = |name: &str| by_name(name).latency.ttft_ms.unwrap().p50;
        assert!(p50("turbo") < p50("steady") && p50("steady") < p50("slowpoke"));
    }

    #[test]
    fn flaky_fails_in_several_ways_and_thinker_reasons() {
        let s = finished_race(4, 300);
        assert!(s.finished);
        let flaky = &s.endpoints[3];
        assert_eq!(flaky.name, "flaky");
        assert_eq!(flaky.errors.len(), 4, "{:?}", flaky.errors);
        assert!(flaky.counts.failed > 60);
        assert!(flaky.requests.iter().any(|r| matches!(
            r.state,
            RequestState::Failed {
                class: ErrorClass::StreamCut,
                ..
            }
        ) && !r.segments.is_empty()));
        let thinker = &s.endpoints[2];
        assert!(thinker.tokens.reasoning.is_some_and(|n| n > 0));
        let r = thinker.requests.last().unwrap();
        assert!(r.segments.first().unwrap().reasoning);
        assert!(!r.segments.last().unwrap().reasoning);
        for e in &s.endpoints {
            assert_eq!(e.counts.in_flight, 0);
            assert!(e.requests.iter().all(|r| r.ended_ms.is_some()));
        }
    }

    #[test]
    fn turbo_has_the_tricky_response_and_small_races_show_warmups() {
        for snapshot in [race(2, 10), finished_race(2, 10), race(1, 1000)] {
            let turbo = &snapshot.endpoints[0];
            let tricky: Vec<_> = turbo
                .requests
                .iter()
                .filter(|r| r.segments.iter().any(|s| s.text.contains('\u{1b}')))
                .collect();
            assert_eq!(tricky.len(), 1);
            let r = tricky[0];
            assert_eq!(r.state, RequestState::Succeeded);
            let text: String = r.segments.iter().map(|s| s.text.as_str()).collect();
            assert!(text.contains('\n') && text.contains("日本語"));
        }
        let small = race(2, 10);
        let warmups = small.endpoints[0].requests.iter().filter(|r| r.warmup);
        assert_eq!(warmups.count(), 2);
    }

    #[test]
    fn events_come_in_time_order_and_every_request_ends_once() {
        let mut last = Offset::ZERO;
        let mut open = std::collections::HashSet::new();
        let mut ended = 0;
        for event in events(8, 60) {
            assert!(event.t >= last, "{event:?}");
            last = event.t;
            match event.kind {
                EventKind::Sent { warmup, .. } => {
                    assert!(open.insert(event.request), "{event:?}");
                    assert_eq!(warmup, event.t < ms(START_MS));
                }
                EventKind::Finished { .. }
                | EventKind::Failed { .. }
                | EventKind::Cancelled { .. } => {
                    assert!(open.remove(&event.request), "{event:?}");
                    ended += 1;
                }
                _ => assert!(open.contains(&event.request), "{event:?}"),
            }
        }
        assert!(open.is_empty());
        assert_eq!(ended, 8 * 60 + WARMUPS);
        // Warm-ups end before the measured start.
        let warmups_end = events(1, 1)
            .filter(|e| e.request.0 < WARMUPS && !matches!(e.kind, EventKind::Sent { .. }))
            .map(|e| e.t)
            .max();
        assert!(warmups_end.unwrap() < ms(START_MS));
    }

    #[test]
    fn empty_races_are_fine() {
        assert!(race(0, 10).endpoints.is_empty());
        let s = finished_race(2, 0);
        assert_eq!(s.endpoints[1].counts.sent, 0);
        assert_eq!(s.endpoints[0].counts.warmup, 2);
    }
}
