//! Head-to-head laps against two built-in mocks of well-separated speeds: every lap sends the
//! same prompt to both at once, and the fast one wins every lap — live and in the replay.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use crate::common::race::{race_config, records, run};
use llmrace::record::{REPLAY_FILE, Replay};

#[tokio::test]
async fn the_fast_endpoint_wins_every_lap_live_and_in_the_replay() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = race_config(
        &[
            "slow=openai:mock://instant,ttft=80ms,tokens=4#m",
            "fast=openai:mock://instant,ttft=5ms,tokens=4#m",
        ],
        5,
        3,
    );
    config.load.laps = true;
    let outcome = run(config, dir.path()).await;
    let [slow, fast] = &outcome.summary.endpoints[..] else {
        panic!("two endpoints")
    };
    assert_eq!((fast.counts.succeeded, slow.counts.succeeded), (5, 5));
    assert_eq!((fast.laps, slow.laps), (5, 5));
    assert_eq!((fast.wins_first_token, fast.wins_first_finished), (5, 5));
    assert_eq!((slow.wins_first_token, slow.wins_first_finished), (0, 0));

    // One request per endpoint in flight at a time, whatever the concurrency: a lap waits for
    // both, so each lap's requests leave together after the previous lap ended.
    let mut records = records(dir.path());
    records.sort_by(|a, b| a.sent_at_s.total_cmp(&b.sent_at_s));
    for lap in records.chunks(2) {
        let (a, b) = (&lap[0], &lap[1]);
        assert_eq!(a.prompt, b.prompt, "a lap races one prompt");
        assert!((a.sent_at_s - b.sent_at_s).abs() < 0.05, "{a:?} {b:?}");
    }
    for pair in records.chunks(2).collect::<Vec<_>>().windows(2) {
        let lap_end = pair[0]
            .iter()
            .map(|r| r.sent_at_s + r.ttlt_ms.unwrap() / 1000.0)
            .fold(0.0, f64::max);
        assert!(pair[1].iter().all(|r| r.sent_at_s >= lap_end - 1e-6));
    }

    let table = llmrace::report::table::render(&outcome.summary.endpoints);
    assert!(table.contains("wins tok/fin"), "{table}");
    assert!(table.contains("5/5 of 5"), "{table}");

    // The wins are computed from events, so a replay gives them again.
    let replay = Replay::open(&dir.path().join(REPLAY_FILE)).unwrap();
    let replayed = llmrace::fold_replay(&replay, |_| {});
    assert_eq!(replayed.endpoints[1].wins_first_token, 5);
    assert_eq!(replayed.endpoints[0].wins_first_finished, 0);
}

#[tokio::test]
async fn a_race_without_laps_has_no_wins_column() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(
        race_config(&["c=openai:mock://instant,tokens=4#m"], 3, 1),
        dir.path(),
    )
    .await;
    assert_eq!(outcome.summary.endpoints[0].laps, 0);
    let table = llmrace::report::table::render(&outcome.summary.endpoints);
    assert!(!table.contains("wins"), "{table}");
}
