//! Retries of 429 and 503 against the built-in mock over 127.0.0.1: every attempt is a
//! request of its own (sent, recorded, counted), a retry names the attempt it repeats, the
//! server's Retry-After is honoured, and a retry still waiting when the race stops is dropped.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::collections::HashMap;
use std::time::Duration;

use crate::common::race::{race_config, records, run};
use llmrace::event::{ErrorClass, RequestId};
use llmrace::stats::{Outcome, RequestRecord};

fn by_id(records: &[RequestRecord]) -> HashMap<RequestId, &RequestRecord> {
    records.iter().map(|r| (r.request, r)).collect()
}

#[tokio::test]
async fn every_attempt_is_a_request_and_retries_point_at_the_attempt_they_repeat() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = race_config(
        &[
            "busy=openai:mock://instant,tokens=4,fault=http_503#m",
            "ok=openai:mock://instant,tokens=4#m",
        ],
        3,
        3,
    );
    config.load.retries = 2;
    let outcome = run(config, dir.path()).await;
    let busy = outcome.summary.endpoints[0].counts;
    // Three prompts, each tried three times: nine requests, six of them retries.
    assert_eq!((busy.sent, busy.failed, busy.retries), (9, 9, 6));
    assert_eq!(busy.sent, busy.succeeded + busy.failed + busy.cancelled);
    let ok = outcome.summary.endpoints[1].counts;
    assert_eq!((ok.sent, ok.succeeded, ok.retries), (3, 3, 0));

    let records = records(dir.path());
    let busy: Vec<&RequestRecord> = records
        .iter()
        .filter(|r| r.endpoint_name == "busy")
        .collect();
    assert_eq!(busy.len(), 9);
    let all = by_id(&records);
    for r in &busy {
        assert_eq!(r.outcome, Outcome::Failed);
        assert_eq!(r.http_status, Some(503));
        assert_eq!(r.error_class, Some(ErrorClass::ServerError));
        match r.retry_of {
            None => assert_eq!(r.attempt, 1),
            Some(of) => {
                let earlier = all[&of];
                assert_eq!(r.attempt, earlier.attempt + 1);
                assert_eq!(
                    (r.prompt, &r.endpoint_name),
                    (earlier.prompt, &earlier.endpoint_name)
                );
                assert!(r.sent_at_s > earlier.sent_at_s);
            }
        }
    }
    let mut attempts: Vec<u32> = busy.iter().map(|r| r.attempt).collect();
    attempts.sort_unstable();
    assert_eq!(attempts, [1, 1, 1, 2, 2, 2, 3, 3, 3]);

    // The CSV carries the same links, and the final table counts the retries.
    let csv = std::fs::read_to_string(dir.path().join("requests.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.contains(",send_lag_ms,attempt,retry_of,"),
        "{header}"
    );
    let table = llmrace::report::table::render(&outcome.summary.endpoints);
    let head = table.lines().next().unwrap();
    assert!(head.contains("retries"), "{table}");
    let busy_row = table.lines().find(|l| l.starts_with("busy")).unwrap();
    assert!(busy_row.trim_end().ends_with('6'), "{table}");
    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("run.json")).unwrap())
            .unwrap();
    assert_eq!(run_json["race"]["load"]["retries"], 2);

    // The replay rebuilds the same records, retries and links included.
    let replay = llmrace::record::Replay::open(dir.path()).unwrap();
    let again = dir.path().join("again");
    llmrace::report(&replay, &again).unwrap();
    let jsonl = |d: &std::path::Path| std::fs::read_to_string(d.join("requests.jsonl")).unwrap();
    assert_eq!(jsonl(dir.path()), jsonl(&again));
    let summary = |d: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join("summary.json")).unwrap()).unwrap()
    };
    assert_eq!(summary(dir.path()), summary(&again));
    assert_eq!(summary(&again)["endpoints"][0]["counts"]["retries"], 6);
}

#[tokio::test]
async fn a_retry_waits_as_long_as_retry_after_says() {
    let dir = tempfile::tempdir().unwrap();
    // The mock's 429 says `Retry-After: 1`.
    let mut config = race_config(&["m=openai:mock://instant,tokens=4,fault=http_429#m"], 1, 1);
    config.load.retries = 1;
    let outcome = run(config, dir.path()).await;
    let c = outcome.summary.endpoints[0].counts;
    assert_eq!((c.sent, c.failed, c.retries), (2, 2, 1));
    let records = records(dir.path());
    let first = records.iter().find(|r| r.attempt == 1).unwrap();
    let retry = records.iter().find(|r| r.attempt == 2).unwrap();
    assert_eq!(retry.retry_of, Some(first.request));
    assert_eq!(first.error_class, Some(ErrorClass::RateLimited));
    // A lower bound only: the retry left no sooner than the server asked.
    let waited = retry.sent_at_s - first.sent_at_s;
    assert!(waited >= 1.0, "retried after {waited} s");
}

#[tokio::test]
async fn a_retry_pending_when_the_race_stops_is_abandoned_not_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = race_config(&["m=openai:mock://instant,tokens=4,fault=http_429#m"], 1, 1);
    config.load.requests = None;
    config.load.duration = Some(Duration::from_millis(200));
    config.load.retries = 3;
    let outcome = run(config, dir.path()).await;
    let c = outcome.summary.endpoints[0].counts;
    // The first attempt failed at once; its retry was due after 1 s, past the race's end.
    assert_eq!((c.sent, c.failed, c.retries, c.cancelled), (1, 1, 0, 0));
    assert_eq!(records(dir.path()).len(), 1);
}

#[tokio::test]
async fn open_loop_retries_keep_the_lag_on_the_scheduled_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = race_config(&["m=openai:mock://instant,tokens=4,fault=http_503#m"], 4, 1);
    config.load.rate = Some("20/s".parse().unwrap());
    config.load.retries = 1;
    let outcome = run(config, dir.path()).await;
    let c = outcome.summary.endpoints[0].counts;
    assert_eq!((c.sent, c.failed, c.retries), (8, 8, 4));
    for r in records(dir.path()) {
        // Only the scheduled first attempt was late or not; a retry had no schedule.
        assert_eq!(r.send_lag_ms.is_some(), r.attempt == 1, "{r:?}");
    }
}

#[tokio::test]
async fn without_retries_a_closed_loop_request_has_no_lag_and_is_a_first_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let config = race_config(&["m=openai:mock://instant,tokens=4,fault=http_503#m"], 2, 1);
    let outcome = run(config, dir.path()).await;
    let c = outcome.summary.endpoints[0].counts;
    assert_eq!((c.sent, c.failed, c.retries), (2, 2, 0));
    for r in records(dir.path()) {
        assert_eq!((r.attempt, r.retry_of, r.send_lag_ms), (1, None, None));
    }
    let jsonl = std::fs::read_to_string(dir.path().join("requests.jsonl")).unwrap();
    assert!(
        !jsonl.contains("retry_of") && !jsonl.contains("send_lag_ms"),
        "{jsonl}"
    );
}
