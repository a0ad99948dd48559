//! The inspector's request views: how events fill them, their caps, and the shared ring.

use super::*;
use crate::event::ErrorClass;

fn ms(n: u64) -> Offset {
    Offset(n * 1_000_000)
}

/// One request followed in a ring of its own, sent at 1 s.
struct Followed {
    ring: RecentRequests,
    handle: ViewHandle,
}

impl Followed {
    fn new() -> Self {
        let mut ring = RecentRequests::default();
        let handle = ring.sent(RequestId(7), PromptId(3), false, ms(1000));
        Followed { ring, handle }
    }

    fn apply(&mut self, t: Offset, kind: &EventKind) {
        self.ring.apply(&mut self.handle, t, kind);
    }

    fn view(&self) -> &RequestView {
        self.ring.views.back().unwrap()
    }

    fn labels(&self) -> Vec<(f64, String)> {
        let marks = &self.view().marks;
        marks.iter().map(|m| (m.at_ms, m.label.clone())).collect()
    }
}

fn content(text: &str, reasoning: bool) -> EventKind {
    EventKind::Content {
        text: text.into(),
        reasoning,
        chunks: 1,
        after: None,
        late_us: None,
        unstamped: false,
        tool: None,
    }
}

fn marks(list: &[(f64, &str)]) -> Vec<(f64, String)> {
    list.iter().map(|(t, l)| (*t, (*l).to_string())).collect()
}

#[test]
fn a_request_is_followed_from_sent_to_finished() {
    let mut f = Followed::new();
    assert_eq!(f.view().state, RequestState::InFlight);
    f.apply(
        ms(1020),
        &EventKind::Headers {
            status: 200,
            new_connection: true,
            connect_us: Some(12_345),
            server_request_id: Some("req-1".into()),
            headers: vec![("server".into(), "mock".into())],
        },
    );
    f.apply(ms(1030), &content("", false));
    f.apply(ms(1050), &content("hm", true));
    f.apply(ms(1060), &content("Hello\nworld", false));
    f.apply(
        ms(1070),
        &EventKind::Usage {
            input: Some(12),
            output: Some(2),
            cached_input: None,
            cache_write: None,
            reasoning: Some(1),
            reported: crate::event::ReportedUsage::new(),
            source: TokenSource::Estimate,
        },
    );
    f.apply(
        ms(1080),
        &EventKind::Finished {
            finish_reason: Some("stop".into()),
            response_id: None,
            bytes: 10,
            json_valid: None,
            dimension: None,
        },
    );
    f.ring.ended(&f.handle, Some(2));
    let v = f.view();
    assert_eq!(v.state, RequestState::Succeeded);
    assert_eq!(
        (v.request, v.prompt, v.sent),
        (RequestId(7), PromptId(3), ms(1000))
    );
    assert_eq!(v.http_status, Some(200));
    assert_eq!(v.server_request_id.as_deref(), Some("req-1"));
    assert_eq!(*v.headers, [("server".to_string(), "mock".to_string())]);
    assert!(v.new_connection);
    assert_eq!(v.ttft_ms, Some(50.0), "the empty chunk is not a token");
    assert_eq!(v.ended_ms, Some(80.0));
    assert_eq!(v.output_tokens, Some(2));
    assert_eq!(v.finish_reason.as_deref(), Some("stop"));
    assert_eq!(
        v.segments.iter().cloned().collect::<Vec<_>>(),
        vec![
            Segment {
                at_ms: 50.0,
                text: "hm".into(),
                reasoning: true,
                chunks: 1,
                tool: None
            },
            Segment {
                at_ms: 60.0,
                text: "Hello\nworld".into(),
                reasoning: false,
                chunks: 1,
                tool: None
            },
        ]
    );
    assert_eq!(
        f.labels(),
        marks(&[
            (12.345, "new connection, connected in 12.3 ms"),
            (20.0, "headers 200"),
            (70.0, "usage in=12 out=2 reasoning=1 (estimate)"),
            (80.0, "finished: stop"),
        ])
    );
    assert!(!v.truncated);
}

#[test]
fn failures_and_cancellations_end_the_request() {
    let mut f = Followed::new();
    f.apply(ms(1100), &content("partial", false));
    f.apply(
        ms(1500),
        &EventKind::Failed {
            class: ErrorClass::ServerError,
            message: "overloaded".into(),
            status: Some(503),
            bytes: 0,
        },
    );
    let v = f.view();
    assert_eq!(
        v.state,
        RequestState::Failed {
            class: ErrorClass::ServerError,
            message: "overloaded".into()
        }
    );
    assert_eq!(v.http_status, Some(503));
    assert_eq!(v.ended_ms, Some(500.0));
    assert_eq!(v.segments.len(), 1, "partial output stays");
    assert_eq!(
        f.labels(),
        marks(&[(500.0, "failed: server_error (HTTP 503): overloaded")])
    );

    let mut c = Followed::new();
    c.apply(ms(1200), &EventKind::Cancelled { bytes: 0 });
    assert_eq!(c.view().state, RequestState::Cancelled);
    assert_eq!(c.labels(), marks(&[(200.0, "cancelled")]));
}

#[test]
fn server_timings_and_plain_new_connections_are_described() {
    let mut f = Followed::new();
    f.apply(
        ms(1010),
        &EventKind::Headers {
            status: 200,
            new_connection: true,
            connect_us: None,
            server_request_id: None,
            headers: Vec::new(),
        },
    );
    f.apply(
        ms(1100),
        &EventKind::ServerTimings(ServerTimings {
            prompt_eval_count: Some(12),
            eval_count: Some(96),
            prompt_eval_ns: Some(3_200_000),
            eval_ns: Some(1_100_000_000),
            load_ns: None,
            total_ns: Some(1_200_000_000),
        }),
    );
    assert_eq!(
        f.labels(),
        marks(&[
            (10.0, "new connection"),
            (10.0, "headers 200"),
            (
                100.0,
                "server: prompt 12 tok in 3.2 ms, eval 96 tok in 1.10 s, total 1.20 s"
            )
        ])
    );
}

#[expect(
    clippy::float_cmp,
    reason = "exact values: parsed from literals or computed from whole numbers"
)]
#[test]
fn text_is_capped_at_a_character_boundary_and_timing_goes_on() {
    let mut f = Followed::new();
    let big = "a".repeat(TEXT_CAP - 1);
    f.apply(ms(1001), &content(&big, false));
    // "é" is two bytes and one is left: it is dropped whole.
    f.apply(ms(1002), &content("é", false));
    f.apply(ms(1003), &content("more", false));
    f.apply(ms(1004), &EventKind::Cancelled { bytes: 0 });
    let v = f.view();
    assert!(v.truncated);
    let kept: usize = v.segments.iter().map(|s| s.text.len()).sum();
    assert_eq!(kept, TEXT_CAP - 1);
    assert_eq!(v.segments.len(), 3, "arrivals keep their timing");
    assert_eq!(v.segments[2].at_ms, 3.0);
    assert!(v.segments[2].text.is_empty());
    assert_eq!(f.labels(), marks(&[(4.0, "cancelled")]));
}

#[test]
fn segments_beyond_the_cap_merge_into_the_last() {
    let mut f = Followed::new();
    for i in 0..SEGMENT_CAP as u64 + 10 {
        f.apply(Offset(ms(1000).0 + i * 1000), &content("x", false));
    }
    let v = f.view();
    assert_eq!(v.segments.len(), SEGMENT_CAP);
    let last = v.segments.last().unwrap();
    assert_eq!(last.text, "x".repeat(11));
    assert_eq!(last.chunks, 11);
}

#[test]
fn marks_are_bounded_and_keep_the_end() {
    let mut f = Followed::new();
    for _ in 0..MARK_CAP * 2 {
        f.apply(
            ms(1001),
            &EventKind::ServerTimings(ServerTimings::default()),
        );
    }
    f.apply(ms(1002), &EventKind::Cancelled { bytes: 0 });
    let v = f.view();
    assert_eq!(v.marks.len(), MARK_CAP);
    assert_eq!(v.marks.last().unwrap().label, "cancelled");
}

#[test]
fn the_ring_keeps_the_newest_and_forgets_requests_pushed_out() {
    let mut ring = RecentRequests::default();
    let mut handles: Vec<ViewHandle> = (0..RECENT_REQUESTS as u64 + 3)
        .map(|i| ring.sent(RequestId(i), PromptId(0), false, ms(i)))
        .collect();
    assert_eq!(ring.len(), RECENT_REQUESTS);
    let shared = ring.shared();
    assert_eq!(shared.first().unwrap().request, RequestId(3));
    assert_eq!(
        shared.last().unwrap().request,
        RequestId(RECENT_REQUESTS as u64 + 2)
    );
    // Events of a request pushed out go nowhere; the others still land.
    for handle in &mut handles[2..4] {
        ring.apply(handle, ms(100), &EventKind::Cancelled { bytes: 0 });
    }
    let shared = ring.shared();
    assert_eq!(shared[0].request, RequestId(3));
    assert_eq!(shared[0].state, RequestState::Cancelled);
    assert!(
        shared[1..]
            .iter()
            .all(|v| v.state == RequestState::InFlight)
    );
}

#[test]
fn a_published_view_is_shared_until_it_changes() {
    let mut ring = RecentRequests::default();
    let mut a = ring.sent(RequestId(1), PromptId(0), false, ms(0));
    ring.sent(RequestId(2), PromptId(0), true, ms(0));
    let published = ring.shared();
    let again = ring.shared();
    assert!(Arc::ptr_eq(&published[0], &again[0]), "a pointer copy");
    ring.apply(&mut a, ms(10), &content("hi", false));
    let next = ring.shared();
    assert!(
        !Arc::ptr_eq(&published[0], &next[0]),
        "the changed one is copied"
    );
    assert!(
        published[0].segments.is_empty(),
        "the published one is untouched"
    );
    assert_eq!(next[0].segments.len(), 1);
    assert!(
        Arc::ptr_eq(&published[1], &next[1]),
        "the unchanged one is not"
    );
    assert!(next[1].warmup);
}
