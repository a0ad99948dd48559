//! Connections: warmed before the synchronized start and reused, so no measured request pays
//! for connecting by accident — and when warming is off, the requests that connect say so.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use crate::common::race::{race_config, records, run};
use llmrace::mock::{MockServer, Profile};
use llmrace::protocol::Protocol;
use llmrace::stats::RequestRecord;
use llmrace::stats::snapshot::Counts;

/// A race of `config`'s that scrapes no server metrics: these tests count the race's own
/// connections and requests, and the automatic `/metrics` try would be one more.
fn unscraped(mut config: llmrace::config::RaceConfig) -> llmrace::config::RaceConfig {
    for endpoint in &mut config.endpoints {
        endpoint.server_metrics = llmrace::config::ServerMetricsSource::Off;
    }
    config
}

async fn mock_server() -> MockServer {
    let profile = Profile::parse("instant,tokens=8").expect("valid profile");
    MockServer::start(([127, 0, 0, 1], 0).into(), profile)
        .await
        .expect("mock starts")
}

#[tokio::test]
async fn warm_connections_are_opened_before_the_start_and_reused() {
    let server = mock_server().await;
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("m=openai:{}#m", server.base_url(Protocol::OpenAiChat));
    let outcome = run(unscraped(race_config(&[&spec], 12, 3)), dir.path()).await;
    assert_eq!(outcome.summary.endpoints[0].counts.succeeded, 12);
    // One connection per worker, all opened by the warm-up.
    assert_eq!(server.stats().connections_accepted, 3);
    let records = records(dir.path());
    assert!(
        records
            .iter()
            .all(|r| !r.new_connection && r.connect_ms.is_none())
    );
    assert_eq!(outcome.summary.endpoints[0].counts.new_connections, 0);
}

#[tokio::test]
async fn without_warming_the_first_request_of_each_worker_connects() {
    let server = mock_server().await;
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("m=anthropic:{}#m", server.base_url(Protocol::Anthropic));
    let mut config = race_config(&[&spec], 8, 2);
    config.load.warm_connections = false;
    run(config, dir.path()).await;
    assert_eq!(server.stats().connections_accepted, 2);
    let records = records(dir.path());
    let connected: Vec<_> = records.iter().filter(|r| r.new_connection).collect();
    assert_eq!(connected.len(), 2, "{records:?}");
    assert!(connected.iter().all(|r| r.connect_ms.is_some()));
}

#[tokio::test]
async fn warmup_requests_are_recorded_but_kept_out_of_the_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = race_config(&["w=ollama:mock://instant,tokens=4#m"], 3, 2);
    config.load.warmup_requests = 2;
    let outcome = run(config, dir.path()).await;
    let counts = outcome.summary.endpoints[0].counts;
    assert_eq!((counts.sent, counts.succeeded, counts.warmup), (3, 3, 2));
    let records = records(dir.path());
    assert_eq!(records.iter().filter(|r| r.warmup).count(), 2);
    // Warm-up requests take the first prompts; the measured ones follow on.
    let mut measured: Vec<u32> = records
        .iter()
        .filter(|r| !r.warmup)
        .map(|r| r.prompt.0)
        .collect();
    measured.sort_unstable();
    assert_eq!(measured, vec![2, 3, 4]);
    // Every warm-up request ended before the first measured one was sent.
    let last_warmup_end = records
        .iter()
        .filter(|r| r.warmup)
        .map(|r| r.sent_at_s + r.ttlt_ms.unwrap() / 1000.0)
        .fold(0.0, f64::max);
    let first_measured = records
        .iter()
        .filter(|r| !r.warmup)
        .map(|r| r.sent_at_s)
        .fold(f64::MAX, f64::min);
    assert!(
        first_measured >= last_warmup_end,
        "{last_warmup_end} vs {first_measured}"
    );
}

#[tokio::test]
async fn a_duration_limit_stops_sending_and_lets_requests_finish() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = race_config(&["d=openai:mock://instant,tokens=4,ttft=20ms#m"], 1, 2);
    config.load.requests = None;
    config.load.duration = Some(std::time::Duration::from_millis(300));
    let outcome = run(config, dir.path()).await;
    let c = outcome.summary.endpoints[0].counts;
    assert!(c.sent >= 2, "{c:?}");
    assert_eq!(c.sent, c.succeeded, "in-flight requests finished: {c:?}");
    assert_eq!(c.cancelled, 0);
}

/// A mock that closes each connection `linger` after a streamed response, as llama.cpp's
/// server does, and the endpoint spec that races it.
async fn closing_mock(linger: &str) -> (MockServer, String) {
    let spec = format!("instant,tokens=8,close_after_stream={linger}");
    let server = MockServer::start(([127, 0, 0, 1], 0).into(), Profile::parse(&spec).unwrap())
        .await
        .expect("mock starts");
    let endpoint = format!("l=openai:{}#m", server.base_url(Protocol::OpenAiChat));
    (server, endpoint)
}

/// How late the mock's close after a stream may come before a request it strands may fail:
/// half the client's resend window (250 ms), beyond which the client's verdict is the
/// starved machine's, not its own.
const CLOSE_LATE: std::time::Duration = std::time::Duration::from_millis(125);

/// llama.cpp's server answers `Keep-Alive` yet closes the connection right after every
/// streamed response: a request sent on it before its FIN is seen is never read. Each such
/// request must go out again on a new connection, say so, and count once.
#[tokio::test]
async fn a_server_that_closes_after_each_stream_loses_no_request() {
    for concurrency in [1, 4] {
        let (server, spec) = closing_mock("2ms").await;
        let dir = tempfile::tempdir().unwrap();
        let outcome = run(
            unscraped(race_config(&[&spec], 200, concurrency)),
            dir.path(),
        )
        .await;
        let counts = outcome.summary.endpoints[0].counts;
        let records = records(dir.path());
        let stats = server.stats();
        let failed: Vec<_> = records.iter().filter(|r| r.error_class.is_some()).collect();
        // The client resends a request lost within 250 ms of its write: the idle-close race.
        // On a starved machine the mock's own 2 ms timer can fire hundreds of ms late (seen:
        // 345 ms, the client noticing the close within 0.5 ms of it), and a close that late
        // is a server that may have read the request: the client rightly fails it, saying so,
        // rather than risk running it twice. Only then may a request fail.
        let mock_closed_late = stats.close_lateness.max >= CLOSE_LATE;
        for r in &failed {
            let message = r.error_message.as_deref().unwrap_or_default();
            assert!(
                mock_closed_late && message.contains("so it was not sent again"),
                "at -c {concurrency}: {counts:?}, the mock's closes late by {:?}, failed: {r:#?}",
                stats.close_lateness
            );
        }
        assert_eq!(
            (counts.sent, counts.succeeded + counts.failed, counts.failed),
            (200, 200, failed.len() as u64),
            "at -c {concurrency}: {counts:?}"
        );
        // What the server read: one warm-up per worker and each request once.
        assert_eq!(stats.requests + counts.failed, 200 + u64::from(concurrency));
        // Each measured request after a worker's first (but a failed one) ran on a connection
        // of its own.
        let connected = records.iter().filter(|r| r.new_connection).count();
        assert!(
            connected >= 200 - concurrency as usize - failed.len(),
            "{connected}"
        );
        assert_eq!(
            stats.connections_accepted,
            u64::from(concurrency) + connected as u64
        );
        for r in records.iter().filter(|r| r.resent_after.is_some()) {
            assert!(r.new_connection && r.lost_ms.is_some(), "{r:?}");
        }
    }
}

/// `requests` cold requests at `-c 1` against a mock that closes `linger` after each stream:
/// the mock, the counts and the records in request order.
async fn race_closing(linger: &str, requests: u64) -> (MockServer, Counts, Vec<RequestRecord>) {
    let (server, spec) = closing_mock(linger).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = unscraped(race_config(&[&spec], requests, 1));
    config.load.warm_connections = false;
    let outcome = run(config, dir.path()).await;
    let mut records = records(dir.path());
    records.sort_by_key(|r| r.request);
    (server, outcome.summary.endpoints[0].counts, records)
}

/// A server that keeps the connection 20 ms after each stream, reading nothing: the next
/// request is sent on it and dies unanswered when it closes, soon after it was written (the
/// idle-close race). It goes out again on a new connection, its record says why and how long
/// it waited on the lost one, and its times count from the second send.
#[tokio::test]
async fn a_request_lost_unanswered_on_a_reused_connection_is_sent_again() {
    let (server, counts, records) = race_closing("20ms", 3).await;
    assert_eq!((counts.sent, counts.succeeded), (3, 3), "{counts:?}");
    assert_eq!(server.stats().requests, 3);
    assert_eq!(server.stats().connections_accepted, 3);
    assert_eq!(
        (records[0].resent_after.as_ref(), records[0].lost_ms),
        (None, None)
    );
    for r in &records[1..] {
        let lost = r.resent_after.as_deref().unwrap_or_default();
        assert!(lost.starts_with("connection_lost: "), "{r:?}");
        assert!(r.new_connection && r.connect_ms.is_some(), "{r:?}");
        assert!(r.lost_ms.is_some_and(|ms| ms > 0.0), "{r:?}");
    }
}

/// A reused connection lost a whole second after the request was written: the server may
/// have read it and be working on it, so it is not sent again (it could run twice). It fails
/// as `connection_lost`, saying so, and the next request opens a new connection.
#[tokio::test]
async fn a_request_lost_long_after_its_write_fails_and_is_not_sent_again() {
    let (server, counts, records) = race_closing("1s", 4).await;
    assert_eq!(
        (counts.sent, counts.succeeded, counts.failed),
        (4, 2, 2),
        "{counts:?}"
    );
    assert_eq!(server.stats().requests, 2);
    for r in records.iter().filter(|r| r.error_message.is_some()) {
        let message = r.error_message.as_deref().unwrap_or_default();
        assert!(message.contains("not sent again"), "{r:?}");
        assert_eq!((r.resent_after.as_ref(), r.lost_ms), (None, None), "{r:?}");
    }
}
