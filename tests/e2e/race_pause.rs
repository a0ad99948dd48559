//! Pausing a race: no request is sent while paused, requests in flight finish, resuming picks
//! up where the race left off, and stopping (or a duration limit) still ends a paused race.
//! Synchronised on what the engine does — workers parked at the gate, events — never on sleeps.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use llmrace::clock::RaceClock;
use llmrace::config::{PromptSource, Timeouts};
use llmrace::engine::{self, Controls, Limits, Pacing, Plan, Target, TargetSpec};
use llmrace::event::{EndpointId, EventKind, RaceEvent};
use llmrace::mock::{MockServer, Profile};
use llmrace::protocol::Protocol;

/// A safety net so a broken engine fails the test instead of hanging it; not a sync point.
const GIVE_UP: Duration = Duration::from_secs(30);

struct Race {
    server: MockServer,
    controls: Controls,
    events: mpsc::UnboundedReceiver<RaceEvent>,
    run: JoinHandle<Option<(llmrace::event::Offset, llmrace::event::Offset)>>,
    workers: usize,
}

/// Starts a race of `requests` requests against a mock at `concurrency`, with `controls`
/// as set up by the caller (maybe paused already).
async fn start(profile: &str, limits: Limits, concurrency: u32, controls: Controls) -> Race {
    let plan = Plan {
        pacing: Pacing::Closed(None),
        limits,
        retries: 0,
        sessions: None,
    };
    start_with(profile, plan, concurrency, controls).await
}

/// As [`start`], with the pacing and limits of `plan`.
async fn start_with(profile: &str, plan: Plan, concurrency: u32, controls: Controls) -> Race {
    let server = MockServer::start(([127, 0, 0, 1], 0).into(), Profile::parse(profile).unwrap())
        .await
        .unwrap();
    let prompts = llmrace::workload::load(
        &PromptSource::Inline(vec!["Say hi.".to_string()]),
        Path::new("."),
    )
    .unwrap();
    let base_url = server.base_url(Protocol::OpenAiChat);
    let body = serde_json::Map::new();
    let spec = TargetSpec {
        id: EndpointId(0),
        name: "m",
        protocol: Protocol::OpenAiChat,
        base_url: &base_url,
        model: "m",
        api_key: None,
        headers: &[],
        body: &body,
        max_tokens: Some(8),
        temperature: None,
        stream: true,
        concurrency,
        salt: None,
        http: llmrace::config::HttpVersion::Auto,
        embed_batch: 1,
    };
    let targets = vec![Arc::new(Target::new(&spec, &prompts).unwrap())];
    let timeouts = Timeouts::default();
    let workers = engine::workers(&targets, &timeouts).unwrap();
    let (tx, events) = mpsc::unbounded_channel();
    let run = tokio::spawn(engine::drive(
        workers,
        plan,
        timeouts,
        RaceClock::start(),
        tx,
        controls.clone(),
    ));
    Race {
        server,
        controls,
        events,
        run,
        workers: concurrency as usize,
    }
}

fn requests(n: u64) -> Limits {
    Limits {
        requests: Some(n),
        duration: None,
        warmup_requests: 0,
        shard: None,
    }
}

fn paused() -> Controls {
    let controls = Controls::default();
    controls.pause(true);
    controls
}

impl Race {
    /// Waits until every worker waits at the pause gate, keeping the events that arrive.
    async fn until_parked(&mut self, seen: &mut Vec<RaceEvent>) {
        let parked = async {
            while self.controls.paused.receiver_count() < self.workers {
                while let Ok(event) = self.events.try_recv() {
                    seen.push(event);
                }
                assert!(!self.run.is_finished(), "the race ended instead of pausing");
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(GIVE_UP, parked)
            .await
            .expect("workers park at the gate");
        while let Ok(event) = self.events.try_recv() {
            seen.push(event);
        }
    }

    /// Waits for the race to end and returns the events not seen yet.
    async fn finish(&mut self) -> Vec<RaceEvent> {
        tokio::time::timeout(GIVE_UP, &mut self.run)
            .await
            .expect("the race ends")
            .unwrap();
        let mut rest = Vec::new();
        while let Some(event) = self.events.recv().await {
            rest.push(event);
        }
        rest
    }
}

fn count(events: &[RaceEvent], pick: fn(&EventKind) -> bool) -> usize {
    events.iter().filter(|e| pick(&e.kind)).count()
}

fn is_sent(kind: &EventKind) -> bool {
    matches!(kind, EventKind::Sent { .. })
}

fn is_finished(kind: &EventKind) -> bool {
    matches!(kind, EventKind::Finished { .. })
}

fn is_end(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Finished { .. } | EventKind::Failed { .. } | EventKind::Cancelled { .. }
    )
}

#[tokio::test]
async fn a_race_paused_before_the_start_sends_nothing_until_resumed() {
    let mut race = start("instant,tokens=4", requests(6), 2, paused()).await;
    let mut seen = Vec::new();
    race.until_parked(&mut seen).await;
    assert!(seen.is_empty(), "{seen:?}");
    assert_eq!(race.server.stats().requests, 0);
    assert_eq!(race.server.stats().connections_accepted, 0);

    race.controls.pause(false);
    let events = race.finish().await;
    assert_eq!(count(&events, is_sent), 6);
    assert_eq!(count(&events, is_finished), 6);
    assert_eq!(race.server.stats().requests, 6);
}

#[tokio::test]
async fn requests_in_flight_finish_while_paused_and_the_race_resumes() {
    let limits = requests(60);
    let mut race = start("instant,tokens=4,ttft=5ms", limits, 2, Controls::default()).await;
    let first = tokio::time::timeout(GIVE_UP, race.events.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(is_sent(&first.kind));
    race.controls.pause(true);
    let mut seen = vec![first];
    race.until_parked(&mut seen).await;
    // Every request sent before the pause ended normally; nothing more was sent.
    let sent = count(&seen, is_sent);
    assert!((1..60).contains(&sent), "{sent}");
    assert_eq!(count(&seen, is_finished), sent);
    assert_eq!(count(&seen, is_end), sent);

    race.controls.pause(false);
    let rest = race.finish().await;
    assert_eq!(sent + count(&rest, is_sent), 60);
    assert_eq!(count(&seen, is_finished) + count(&rest, is_finished), 60);
}

#[tokio::test]
async fn stopping_ends_a_paused_race() {
    let mut race = start("instant,tokens=4", requests(6), 2, paused()).await;
    race.until_parked(&mut Vec::new()).await;
    race.controls.stop_sending.cancel();
    assert!(race.controls.is_paused());
    let events = race.finish().await;
    assert!(events.is_empty(), "{events:?}");
}

#[tokio::test]
async fn a_duration_limit_keeps_counting_while_paused() {
    let limits = Limits {
        requests: None,
        duration: Some(Duration::from_millis(100)),
        warmup_requests: 0,
        shard: None,
    };
    // Never resumed: the duration limit alone ends the race, with nothing sent.
    let mut race = start("instant,tokens=4", limits, 2, paused()).await;
    let events = race.finish().await;
    assert!(events.is_empty(), "{events:?}");
}

/// A rising ramp stands still while the race is paused: a race resumed after a pause longer
/// than its whole ramp starts again from the ramp's first level, one worker, not its last.
#[tokio::test]
async fn a_concurrency_ramp_stands_still_while_paused() {
    let ramp: llmrace::pace::ConcurrencyRamp = "1..4:1500ms".parse().unwrap();
    let plan = Plan {
        pacing: Pacing::Closed(Some(ramp)),
        limits: requests(8),
        retries: 0,
        sessions: None,
    };
    let mut race = start_with("instant,tokens=4,ttft=20ms", plan, 4, paused()).await;
    let mut seen = Vec::new();
    race.until_parked(&mut seen).await;
    assert!(seen.is_empty(), "{seen:?}");
    // The pause itself, longer than the ramp: had the ramp gone on, all four workers would
    // send at the resume.
    tokio::time::sleep(Duration::from_millis(1800)).await;
    race.controls.pause(false);
    let events = race.finish().await;
    assert_eq!(count(&events, is_sent), 8);
    // The second worker's turn comes 500 ms into the ramp; a request takes ~25 ms.
    let first_end = events.iter().position(|e| is_end(&e.kind)).unwrap();
    let second_sent = events
        .iter()
        .enumerate()
        .filter(|(_, e)| is_sent(&e.kind))
        .nth(1)
        .unwrap()
        .0;
    assert!(first_end < second_sent, "{events:?}");
}
