use std::sync::Arc;

use super::{heat, prompts};
use crate::event::{Offset, PromptId, RequestId};
use crate::stats::fixture::{finished_race, race};
use crate::stats::snapshot::{RequestState, RequestView, Segment};

fn view(request: u64, prompt: u32, sent_ms: u64) -> RequestView {
    let mut view = finished_race(1, 1).endpoints[0].requests[0]
        .as_ref()
        .clone();
    view.request = RequestId(request);
    view.prompt = PromptId(prompt);
    view.warmup = false;
    view.sent = Offset(sent_ms * 1_000_000);
    view.state = RequestState::InFlight;
    view.ended_ms = None;
    view.output_tokens = None;
    view.segments = crate::stats::segments::Segments::default();
    view
}

fn ended(mut view: RequestView, state: RequestState, ms: f64, tokens: u32) -> RequestView {
    view.state = state;
    view.ended_ms = Some(ms);
    view.output_tokens = Some(tokens);
    view
}

/// A snapshot at `t_ms` of two endpoints with these rings.
fn two(t_ms: u64, a: Vec<RequestView>, b: Vec<RequestView>) -> crate::stats::Snapshot {
    let mut snapshot = race(2, 4);
    snapshot.t = Offset(t_ms * 1_000_000);
    snapshot.endpoints[0].requests = a.into_iter().map(Arc::new).collect();
    snapshot.endpoints[1].requests = b.into_iter().map(Arc::new).collect();
    snapshot
}

#[test]
fn only_prompts_every_endpoint_started_count_ordered_by_the_last_start() {
    let mut warm = view(1, 9, 0);
    warm.warmup = true;
    let snapshot = two(
        1000,
        vec![warm, view(2, 0, 10), view(3, 1, 20), view(4, 2, 30)],
        // Prompt 1 started late here, after prompt 0; prompt 2 not yet; 9 only as a warm-up.
        vec![view(5, 9, 5), view(6, 0, 400), view(7, 1, 300)],
    );
    assert_eq!(prompts(&snapshot), [PromptId(1), PromptId(0)]);
    assert!(heat(&snapshot, PromptId(2)).is_none());
}

#[test]
fn a_repeated_prompt_is_each_endpoints_latest_request_for_it() {
    let snapshot = two(
        1000,
        vec![view(1, 0, 10), view(3, 0, 500)],
        vec![view(2, 0, 12), view(4, 0, 505)],
    );
    assert_eq!(prompts(&snapshot), [PromptId(0)]);
    let heat = heat(&snapshot, PromptId(0)).unwrap();
    let ids: Vec<u64> = heat.runs.iter().map(|r| r.request.request.0).collect();
    assert_eq!(ids, [3, 4]);
}

#[test]
fn places_go_to_the_succeeded_by_duration_and_figures_follow_the_state() {
    let mut streaming = view(3, 0, 0);
    streaming.segments = vec![Segment {
        at_ms: 100.0,
        text: "Hello there".into(),
        reasoning: false,
        chunks: 30,
        tool: None,
    }]
    .into();
    let failed = ended(
        view(2, 0, 0),
        RequestState::Failed {
            class: crate::event::ErrorClass::RateLimited,
            message: "429".into(),
        },
        50.0,
        0,
    );
    let mut snapshot = race(4, 4);
    snapshot.t = Offset(1_500_000_000);
    let rings = [
        ended(view(1, 0, 0), RequestState::Succeeded, 1200.0, 60),
        failed,
        streaming,
        ended(view(4, 0, 0), RequestState::Succeeded, 800.0, 40),
    ];
    for (endpoint, request) in snapshot.endpoints.iter_mut().zip(rings) {
        endpoint.requests = vec![Arc::new(request)];
    }
    let heat = heat(&snapshot, PromptId(0)).unwrap();
    let places: Vec<Option<usize>> = heat.runs.iter().map(|r| r.place).collect();
    assert_eq!(places, [Some(2), None, None, Some(1)]);
    let first = &heat.runs[0];
    assert_eq!(
        (first.elapsed_ms, first.tokens_per_s, first.live),
        (1200.0, Some(50.0), false)
    );
    // Still streaming: elapsed from the snapshot's time, a live rate from the chunks.
    let live = &heat.runs[2];
    assert_eq!(
        (live.elapsed_ms, live.tokens_per_s, live.live),
        (1500.0, Some(20.0), true)
    );
    assert_eq!(heat.runs[1].tokens_per_s, None);
}

#[test]
fn the_fixtures_endpoints_share_their_recent_prompts() {
    let snapshot = race(8, 40);
    let common = prompts(&snapshot);
    assert!(!common.is_empty());
    let newest = *common.last().unwrap();
    let heat = heat(&snapshot, newest).unwrap();
    assert_eq!(heat.runs.len(), 8);
    assert!(heat.runs.iter().all(|r| r.request.prompt == newest));
}
