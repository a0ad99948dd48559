//! The commentary's rules on scripted races: events made here (and the fixture's race) folded
//! through a real aggregator, the lines read from its snapshots.

use chrono::{DateTime, Utc};

use super::comment::Comment;
use super::commentary::GAP;
use crate::config::Slo;
use crate::event::{
    EndpointId, ErrorClass, EventKind, Offset, PromptId, RaceEvent, ReportedUsage, RequestId,
    TokenSource,
};
use crate::stats::{Aggregator, Snapshot, fixture};

/// One request of a scripted race: who, when it left, and how it went.
#[derive(Clone, Copy)]
struct Req {
    endpoint: u16,
    sent_ms: u64,
    /// `None`: it failed at `sent_ms + 100`.
    ttft_ms: Option<u64>,
    itl_ms: u64,
    tokens: u64,
    lag_ms: Option<u64>,
}

fn ok(endpoint: u16, sent_ms: u64, ttft_ms: u64, itl_ms: u64) -> Req {
    Req {
        endpoint,
        sent_ms,
        ttft_ms: Some(ttft_ms),
        itl_ms,
        tokens: 10,
        lag_ms: None,
    }
}

fn failed(endpoint: u16, sent_ms: u64) -> Req {
    Req {
        ttft_ms: None,
        ..ok(endpoint, sent_ms, 0, 0)
    }
}

fn at(ms: u64) -> Offset {
    Offset(ms * 1_000_000)
}

/// Every event of `requests`, in time order.
fn events(requests: &[Req]) -> Vec<RaceEvent> {
    let mut events = Vec::new();
    for (id, r) in requests.iter().enumerate() {
        let event = |t: u64, kind: EventKind| RaceEvent {
            t: at(t),
            endpoint: EndpointId(r.endpoint),
            request: RequestId(id as u64),
            kind,
        };
        events.push(event(
            r.sent_ms,
            EventKind::Sent {
                prompt: PromptId(0),
                bytes: 100,
                warmup: false,
                lag_us: r.lag_ms.map(|l| l * 1000),
                lap: None,
                retry: None,
                session: None,
                turn: None,
                inputs: None,
            },
        ));
        let Some(ttft) = r.ttft_ms else {
            events.push(event(
                r.sent_ms + 100,
                EventKind::Failed {
                    class: ErrorClass::ServerError,
                    message: "HTTP 503".to_string(),
                    status: Some(503),
                    bytes: 10,
                },
            ));
            continue;
        };
        for token in 0..r.tokens {
            events.push(event(
                r.sent_ms + ttft + token * r.itl_ms,
                EventKind::Content {
                    text: "word ".into(),
                    reasoning: false,
                    chunks: 1,
                    after: None,
                    late_us: None,
                    unstamped: false,
                    tool: None,
                },
            ));
        }
        let end = r.sent_ms + ttft + r.tokens * r.itl_ms;
        events.push(event(
            end,
            EventKind::Usage {
                input: Some(20),
                output: u32::try_from(r.tokens).ok(),
                cached_input: None,
                cache_write: None,
                reasoning: None,
                reported: ReportedUsage::default(),
                source: TokenSource::Usage,
            },
        ));
        events.push(event(
            end,
            EventKind::Finished {
                finish_reason: Some("stop".to_string()),
                response_id: None,
                bytes: 1000,
                json_valid: None,
                dimension: None,
            },
        ));
    }
    events.sort_by_key(|e| e.t);
    events
}

/// The race folded to its end, `snapshot_every` events a snapshot taken on the way (as a live
/// pipeline or a replay's player does at times of its own).
fn race(names: &[&str], requests: &[Req], snapshot_every: usize) -> Snapshot {
    let names: Vec<String> = names.iter().map(ToString::to_string).collect();
    let mut aggregator = Aggregator::new(&names, Slo::default(), DateTime::<Utc>::UNIX_EPOCH);
    let events = events(requests);
    let mut last = Offset::ZERO;
    for (i, event) in events.iter().enumerate() {
        aggregator.apply(event);
        last = event.t;
        if snapshot_every > 0 && i % snapshot_every == 0 {
            let _ = aggregator.snapshot(event.t, false);
        }
    }
    aggregator.snapshot(last, true)
}

fn texts(snapshot: &Snapshot) -> Vec<String> {
    (snapshot.commentary.iter())
        .map(|c| format!("{:.0}s {}", c.t.as_secs_f64(), c.text))
        .collect()
}

/// Each endpoint sends every 200 ms for `secs` seconds; `how` says how each request goes.
fn steady(endpoints: u16, secs: u64, how: impl Fn(u16, u64) -> Req) -> Vec<Req> {
    let mut requests = Vec::new();
    for sent in (0..secs * 1000).step_by(200) {
        for e in 0..endpoints {
            requests.push(how(e, sent));
        }
    }
    requests
}

fn said(lines: &[String], part: &str) -> usize {
    lines.iter().filter(|l| l.contains(part)).count()
}

/// Lines other than the finish are at least 3 s of race time apart, none said twice.
fn reads_like_a_commentator(snapshot: &Snapshot) {
    let lines: Vec<&Comment> = (snapshot.commentary.iter())
        .filter(|c| !c.text.starts_with("Finish"))
        .collect();
    for pair in lines.windows(2) {
        assert!(pair[0].text != pair[1].text, "said twice: {}", pair[1].text);
    }
    let mut told: Vec<&str> = lines.iter().map(|c| c.text.as_str()).collect();
    told.sort_unstable();
    told.dedup();
    assert_eq!(told.len(), lines.len(), "a fact repeated: {lines:?}");
}

#[test]
fn the_first_answer_home_and_the_leaders_are_told() {
    let requests = steady(2, 10, |e, sent| {
        if e == 0 {
            ok(0, sent, 50, 5)
        } else {
            Req {
                tokens: 5,
                ..ok(1, sent, 300, 20)
            }
        }
    });
    let snapshot = race(&["quick", "slow"], &requests, 0);
    let lines = texts(&snapshot);
    assert_eq!(
        lines[0], "1s quick is first home: a whole answer at 100 ms",
        "{lines:?}"
    );
    assert_eq!(
        said(&lines, "quick takes the lead on TTFT p50 (50.0 ms)"),
        1,
        "{lines:?}"
    );
    assert_eq!(
        said(&lines, "quick takes the lead on tokens/s"),
        1,
        "{lines:?}"
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| l.starts_with("10s Finish after 10.")
                && l.contains("quick best on TTFT p50 (50.0 ms) and tokens/s")),
        "{lines:?}"
    );
    // Every line but the finish three seconds or more after the one before.
    let times: Vec<Offset> = snapshot.commentary.iter().map(|c| c.t).collect();
    for pair in times[..times.len() - 1].windows(2) {
        assert!(pair[1].0 >= pair[0].0 + GAP.0 - 1_000_000_000, "{lines:?}");
    }
    reads_like_a_commentator(&snapshot);
}

#[test]
fn a_lead_change_is_told_once_the_new_leader_holds_it() {
    // `early` answers in 50 ms for 6 s, then in 1 s; `late` always in 200 ms.
    let requests = steady(2, 30, |e, sent| match e {
        0 if sent < 6000 => ok(0, sent, 50, 5),
        0 => ok(0, sent, 1000, 5),
        _ => ok(1, sent, 200, 5),
    });
    let lines = texts(&race(&["early", "late"], &requests, 0));
    assert_eq!(
        said(&lines, "early takes the lead on TTFT p50"),
        1,
        "{lines:?}"
    );
    assert_eq!(
        said(&lines, "late overtakes early on TTFT p50: 200 ms against"),
        1,
        "{lines:?}"
    );
    // The lead never went back: nothing more about TTFT's lead.
    assert_eq!(said(&lines, "on TTFT p50:"), 1, "{lines:?}");
    assert_eq!(said(&lines, "on TTFT p50 ("), 2, "{lines:?}");
}

#[test]
fn an_endpoint_failing_again_and_again_is_told_once_per_spell() {
    // `shaky` fails every request from 5 s to 12 s, answers again, then fails from 20 s.
    let requests = steady(2, 30, |e, sent| match e {
        1 if (5000..12_000).contains(&sent) || sent >= 20_000 => failed(1, sent),
        _ => ok(e, sent, 100, 10),
    });
    let snapshot = race(&["solid", "shaky"], &requests, 0);
    let lines = texts(&snapshot);
    let failing: Vec<&String> = lines.iter().filter(|l| l.contains("failing")).collect();
    assert_eq!(failing.len(), 2, "{lines:?}");
    assert!(
        failing[0].starts_with("7s shaky is failing again and again"),
        "{lines:?}"
    );
    assert!(
        failing[1].starts_with("22s shaky is failing again and again"),
        "{lines:?}"
    );
    assert_eq!(snapshot.commentary[1].endpoint, Some(1));
}

#[test]
fn a_ttft_jump_against_its_own_baseline_is_told_and_a_lasting_one_becomes_the_norm() {
    // 100 ms for 10 s, then 400 ms for good (200 ms of ITL the whole time: no ITL jump).
    let requests = steady(1, 30, |_, sent| {
        let ttft = if sent < 10_000 { 100 } else { 400 };
        ok(0, sent, ttft, 20)
    });
    let lines = texts(&race(&["solo"], &requests, 0));
    assert_eq!(
        said(&lines, "solo's TTFT jumps to 400 ms (it was 100 ms)"),
        1,
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("11s solo's TTFT jumps")),
        "{lines:?}"
    );
    assert_eq!(said(&lines, "ITL"), 0, "{lines:?}");
}

#[test]
fn an_itl_jump_is_told_but_a_small_rise_is_not() {
    let small = steady(1, 20, |_, sent| {
        ok(0, sent, 100, if sent < 10_000 { 4 } else { 9 })
    });
    let lines = texts(&race(&["solo"], &small, 0));
    assert_eq!(
        said(&lines, "jumps"),
        0,
        "under 10 ms more is noise: {lines:?}"
    );
    let big = steady(1, 20, |_, sent| {
        ok(0, sent, 100, if sent < 10_000 { 10 } else { 40 })
    });
    let lines = texts(&race(&["solo"], &big, 0));
    assert_eq!(
        said(&lines, "solo's ITL jumps to 32.5 ms (it was 10.0 ms)"),
        1,
        "{lines:?}"
    );
}

#[test]
fn an_endpoint_behind_its_schedule_is_told_once() {
    let requests = steady(1, 20, |_, sent| Req {
        lag_ms: Some(if sent < 5000 { 2 } else { 300 }),
        ..ok(0, sent, 100, 10)
    });
    let lines = texts(&race(&["open"], &requests, 0));
    assert_eq!(
        said(
            &lines,
            "open can't keep its schedule: requests leave 300 ms late"
        ),
        1,
        "{lines:?}"
    );
}

#[test]
fn the_lines_do_not_depend_on_when_snapshots_were_taken() {
    // A live race snapshots at wall-clock moments, a replay at its speed's: the lines are
    // the same, since the commentary looks once per second of race time as events are folded.
    let requests = steady(3, 20, |e, sent| match e {
        0 => ok(0, sent, 60 + sent / 100, 5),
        1 if sent > 8000 => failed(1, sent),
        _ => ok(e, sent, 150, 8),
    });
    let names = ["a", "b", "c"];
    let plain = race(&names, &requests, 0);
    for every in [1, 7, 50] {
        assert_eq!(race(&names, &requests, every).commentary, plain.commentary);
    }
}

#[test]
fn the_fixture_race_is_commented() {
    let snapshot = fixture::finished_race(4, 200);
    let lines = texts(&snapshot);
    assert!(
        said(&lines, "flaky is failing again and again") == 1,
        "{lines:?}"
    );
    assert!(said(&lines, "turbo is first home") == 1, "{lines:?}");
    assert!(
        lines.last().is_some_and(|l| l.contains("Finish")),
        "{lines:?}"
    );
    reads_like_a_commentator(&snapshot);
}

#[test]
fn a_race_with_nothing_done_says_only_that_it_finished() {
    let snapshot = race(&["a", "b"], &[], 0);
    assert_eq!(texts(&snapshot), ["0s Finish after 0.0 s"]);
}

#[test]
fn the_finish_reads_the_race_clock_as_the_header_does() {
    // 11.06 s: the header's clock shows 00:11.0, so the finish says 11.0 s, not 11.1.
    let names = ["a".to_string(), "b".to_string()];
    let mut aggregator = Aggregator::new(&names, Slo::default(), DateTime::<Utc>::UNIX_EPOCH);
    let end = Offset::from_duration(std::time::Duration::from_millis(11_060));
    let snapshot = aggregator.snapshot(end, true);
    let last = snapshot.commentary.back().map(|c| c.text.clone());
    assert_eq!(last.as_deref(), Some("Finish after 11.0 s"));
}

#[test]
fn a_fact_told_late_is_stamped_when_told_so_the_log_reads_in_order() {
    // `bad` fails at once and again and again; `good`'s first answer ends at 900 ms, noted
    // then but told after the failures, three seconds later.
    let mut requests: Vec<Req> = (0..10).map(|k| failed(1, k * 50)).collect();
    requests.extend((0..10).map(|k| ok(0, k * 400, 100, 80)));
    let snapshot = race(&["good", "bad"], &requests, 1);
    let lines = texts(&snapshot);
    assert!(said(&lines, "good is first home") == 1, "{lines:?}");
    let times: Vec<Offset> = snapshot.commentary.iter().map(|c| c.t).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
    reads_like_a_commentator(&snapshot);
}
