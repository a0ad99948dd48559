//! Every fault a server can throw at a race, injected by the built-in mock over real HTTP:
//! each request ends with the right error class, the race goes on, nothing is lost, and per
//! endpoint sent = succeeded + failed + cancelled.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use crate::common::race::{race_config, records, run};
use crate::common::running::check_accounting;
use llmrace::event::{ErrorClass, TokenSource};
use llmrace::stats::Outcome;

async fn fault_gives(fault: &str, protocol: &str, class: ErrorClass) {
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("f={protocol}:mock://instant,tokens=12,fault={fault}#m");
    let config = race_config(&[&spec, "ok=openai:mock://instant,tokens=4#m"], 3, 1);
    let outcome = run(config, dir.path()).await;
    let faulty = &outcome.summary.endpoints[0];
    let c = faulty.counts;
    assert_eq!(c.sent, 3, "{fault}");
    assert_eq!(c.sent, c.succeeded + c.failed + c.cancelled, "{fault}");
    assert_eq!(c.failed, 3, "{fault} over {protocol}: {:?}", faulty.errors);
    assert_eq!(
        faulty.errors.get(&class),
        Some(&3),
        "{fault} over {protocol}: {:?}",
        faulty.errors
    );
    // The healthy endpoint raced on regardless.
    assert_eq!(outcome.summary.endpoints[1].counts.succeeded, 3, "{fault}");
    let failed: Vec<_> = records(dir.path())
        .into_iter()
        .filter(|r| r.endpoint_name == "f")
        .collect();
    assert_eq!(failed.len(), 3);
    for r in failed {
        assert_eq!(r.outcome, Outcome::Failed);
        assert_eq!(r.error_class, Some(class));
        assert!(!r.error_message.unwrap_or_default().is_empty());
    }
    // The files on disk tell the same: every request sent has its record and an outcome.
    let counts = check_accounting(dir.path());
    assert_eq!(counts[0].1.failed, 3, "{fault}: {counts:?}");
    // The race went on past each fault: at concurrency 1 the second and third requests were
    // only sent once the one before had failed, and the healthy endpoint finished.
    assert_eq!(counts[0].1.sent, 3, "{fault}");
    assert_eq!(counts[1].1.succeeded, 3, "{fault}: {counts:?}");
}

#[tokio::test]
async fn http_errors_are_classified_by_status() {
    fault_gives("http_429", "openai", ErrorClass::RateLimited).await;
    fault_gives("http_500", "anthropic", ErrorClass::ServerError).await;
    fault_gives("http_503", "ollama", ErrorClass::ServerError).await;
    fault_gives("http_401", "openai", ErrorClass::Auth).await;
    fault_gives("http_400", "openai-completions", ErrorClass::BadRequest).await;
}

#[tokio::test]
async fn bodies_that_are_not_the_protocol() {
    fault_gives("html", "openai", ErrorClass::Protocol).await;
    fault_gives("wrong_protocol", "anthropic", ErrorClass::Protocol).await;
    fault_gives("malformed_chunk", "openai", ErrorClass::Protocol).await;
    fault_gives("malformed_chunk", "ollama", ErrorClass::Protocol).await;
    fault_gives("invalid_utf8", "anthropic", ErrorClass::Protocol).await;
}

#[tokio::test]
async fn streams_that_end_wrongly() {
    fault_gives("no_terminator", "openai", ErrorClass::StreamCut).await;
    fault_gives("no_terminator", "anthropic", ErrorClass::StreamCut).await;
    fault_gives("no_terminator", "ollama", ErrorClass::StreamCut).await;
    fault_gives("error_mid_stream", "openai", ErrorClass::StreamError).await;
    fault_gives("error_mid_stream", "anthropic", ErrorClass::StreamError).await;
    fault_gives("error_mid_stream", "ollama", ErrorClass::StreamError).await;
    fault_gives("reset_mid_stream", "openai", ErrorClass::StreamCut).await;
}

/// A stream cut after some chunks keeps its partial text in the replay; its record counts
/// the tokens of that text rather than none.
#[tokio::test]
async fn a_failed_stream_counts_the_tokens_that_arrived() {
    let dir = tempfile::tempdir().unwrap();
    let spec = "f=openai:mock://instant,tokens=12,fault=reset_mid_stream#m";
    run(race_config(&[spec], 2, 1), dir.path()).await;
    let failed = records(dir.path());
    assert_eq!(failed.len(), 2);
    for r in failed {
        assert_eq!(r.outcome, Outcome::Failed);
        assert!(r.chunks > 0, "{r:?}");
        let tokens = r.output_tokens.unwrap_or(0);
        assert!(tokens > 0 && tokens < 12, "{tokens} tokens: {r:?}");
        assert_eq!(r.output_tokens_source, Some(TokenSource::Estimate));
    }
}

#[tokio::test]
async fn connections_that_break_or_hang() {
    fault_gives("reset_before_headers", "openai", ErrorClass::ConnectionLost).await;
    fault_gives(
        "hang_before_headers",
        "openai",
        ErrorClass::FirstTokenTimeout,
    )
    .await;
    fault_gives("hang_mid_stream", "anthropic", ErrorClass::IdleTimeout).await;
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    // A port that was just free and is closed again: nothing listens there.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("down=openai:http://127.0.0.1:{port}/v1#m");
    let outcome = run(race_config(&[&spec], 2, 1), dir.path()).await;
    let e = &outcome.summary.endpoints[0];
    assert_eq!(e.counts.failed, 2);
    assert_eq!(
        e.errors.get(&ErrorClass::Connect),
        Some(&2),
        "{:?}",
        e.errors
    );
    let run_json = std::fs::read_to_string(dir.path().join("run.json")).unwrap();
    assert!(
        run_json.contains("could not open a connection before the start"),
        "{run_json}"
    );
    assert_eq!(check_accounting(dir.path())[0].1.failed, 2);
}

#[tokio::test]
async fn the_total_timeout_bounds_a_slow_request() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = race_config(&["slow=openai:mock://instant,tokens=200,itl=20ms#m"], 1, 1);
    config.workload.max_tokens = Some(200);
    config.timeouts.total = std::time::Duration::from_millis(300);
    let outcome = run(config, dir.path()).await;
    let e = &outcome.summary.endpoints[0];
    assert_eq!(
        e.errors.get(&ErrorClass::TotalTimeout),
        Some(&1),
        "{:?}",
        e.errors
    );
    let r = &records(dir.path())[0];
    assert!(r.ttft_ms.is_some(), "the partial output is kept: {r:?}");
    assert_eq!(check_accounting(dir.path())[0].1.failed, 1);
}

#[tokio::test]
async fn slow_headers_and_huge_responses_still_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let config = race_config(
        &[
            "slowh=openai:mock://instant,tokens=8,header_delay=50ms,fault=slow_headers#m",
            "huge=openai:mock://instant,fault=huge#m",
        ],
        1,
        1,
    );
    let outcome = run(config, dir.path()).await;
    assert_eq!(
        outcome.summary.endpoints[0].counts.succeeded, 1,
        "{:?}",
        outcome.summary.endpoints[0].errors
    );
    let huge = &outcome.summary.endpoints[1];
    assert_eq!(huge.counts.succeeded, 1, "{:?}", huge.errors);
    assert!(
        huge.tokens.output > 16,
        "far more than max_tokens: {}",
        huge.tokens.output
    );
    for (name, c) in check_accounting(dir.path()) {
        assert_eq!(c.succeeded, 1, "{name}");
    }
}

#[tokio::test]
async fn a_wrong_path_is_not_found() {
    let profile = llmrace::mock::Profile::parse("instant").unwrap();
    let server = llmrace::mock::MockServer::start(([127, 0, 0, 1], 0).into(), profile)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The mock serves /v1/chat/completions; a base URL without /v1 misses it.
    let spec = format!("lost=openai:http://{}/nope#m", server.addr());
    let outcome = run(race_config(&[&spec], 2, 1), dir.path()).await;
    let e = &outcome.summary.endpoints[0];
    assert_eq!(
        e.errors.get(&ErrorClass::NotFound),
        Some(&2),
        "{:?}",
        e.errors
    );
    let r = &records(dir.path())[0];
    assert_eq!(r.http_status, Some(404));
    assert!(
        r.error_message
            .as_deref()
            .unwrap_or("")
            .starts_with("HTTP 404"),
        "{r:?}"
    );
    // The path asked for is named, and the missing /v1 suggested.
    let message = r.error_message.as_deref().unwrap_or("");
    assert!(
        message.contains(
            "nothing at POST /nope/chat/completions; the base URL may need to end in /v1"
        ),
        "{message}"
    );
    assert_eq!(check_accounting(dir.path())[0].1.failed, 2);
}

#[tokio::test]
async fn a_race_with_many_faults_at_once_accounts_for_every_request() {
    let dir = tempfile::tempdir().unwrap();
    let config = race_config(
        &[
            "mixed=openai:mock://instant,tokens=8,fault=http_500:0.15,fault=reset_mid_stream:0.15,\
             fault=malformed_chunk:0.15,fault=http_429:0.1#m",
            "cut=anthropic:mock://instant,tokens=8,fault=no_terminator:0.2,\
             fault=error_mid_stream:0.2,fault=reset_before_headers:0.2#m",
            "ok=ollama:mock://instant,tokens=8#m",
        ],
        40,
        2,
    );
    let outcome = run(config, dir.path()).await;
    let counts = check_accounting(dir.path());
    assert_eq!(counts.len(), 3);
    for ((name, c), e) in counts.iter().zip(&outcome.summary.endpoints) {
        assert_eq!(c.sent, 40, "{name}");
        assert_eq!(c.cancelled, 0, "{name}");
        assert_eq!(
            e.counts.failed, c.failed,
            "{name}: the summary is the files'"
        );
    }
    let records = records(dir.path());
    for name in ["mixed", "cut"] {
        let mut mine: Vec<_> = records.iter().filter(|r| r.endpoint_name == name).collect();
        mine.sort_by(|a, b| a.sent_at_s.total_cmp(&b.sent_at_s));
        let classes: std::collections::BTreeSet<_> =
            mine.iter().filter_map(|r| r.error_class).collect();
        assert!(
            classes.len() >= 2,
            "{name}: several kinds of fault: {classes:?}"
        );
        // Past the first fault, the endpoint kept racing and kept succeeding.
        let first = mine
            .iter()
            .position(|r| r.outcome == Outcome::Failed)
            .unwrap();
        assert!(
            mine[first + 1..]
                .iter()
                .any(|r| r.outcome == Outcome::Succeeded),
            "{name}: nothing succeeded after the first fault"
        );
        // Failures carry their class and message; successes carry neither.
        for r in &mine {
            assert_eq!(
                r.outcome == Outcome::Failed,
                r.error_class.is_some(),
                "{name}: {r:?}"
            );
        }
    }
    assert_eq!(
        counts[2].1.succeeded, 40,
        "the healthy endpoint is untouched"
    );
}

#[test]
fn an_endpoint_whose_every_request_failed_says_why_under_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let (code, output) = crate::common::running::run_to_end(
        std::process::Command::new(env!("CARGO_BIN_EXE_llmrace")).args([
            "race",
            "-e",
            "bad=openai:mock://instant,tokens=4,fault=http_400:1#m",
            "-e",
            "good=openai:mock://instant,tokens=4#m",
            "-n",
            "3",
            "--headless",
            "-o",
            out.to_str().unwrap(),
        ]),
    );
    assert!(code == 0 || code == 1, "{output}");
    let line = output
        .lines()
        .find(|l| l.starts_with("bad: every request failed; the first said: "))
        .unwrap_or_else(|| panic!("no first message under the table:\n{output}"));
    // What the server said, as the request's record has it.
    let first = records(&out)
        .into_iter()
        .find(|r| r.outcome == Outcome::Failed)
        .and_then(|r| r.error_message)
        .unwrap();
    assert!(
        line.contains(first.split_whitespace().next().unwrap()),
        "{line}"
    );
    assert!(line.contains("mock fault http_400"), "{line}");
    assert!(!output.contains("good: every request failed"), "{output}");
}

/// One timer guards a whole body and moves only when it fires early: tokens that keep coming,
/// each well within the idle timeout, for several idle timeouts in all, finish; a first-token
/// timeout longer than the idle timeout does not stretch the idle one (`hang_mid_stream` above
/// still fails as idle).
#[tokio::test]
async fn the_idle_timeout_runs_from_the_last_bytes_over_a_long_stream() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = race_config(&["long=openai:mock://instant,tokens=80,itl=25ms#m"], 1, 1);
    config.workload.max_tokens = Some(80);
    // 80 tokens 25 ms apart: about two seconds, four idle timeouts. The mock runs in this
    // process: a stall of the whole process as long as the idle timeout (a loaded CI machine)
    // would end the stream as idle, so the gaps are a twentieth of it.
    config.timeouts.idle = std::time::Duration::from_millis(500);
    config.timeouts.first_token = std::time::Duration::from_secs(10);
    let outcome = run(config, dir.path()).await;
    let e = &outcome.summary.endpoints[0];
    assert_eq!(e.counts.succeeded, 1, "{:?}", e.errors);
    assert_eq!(check_accounting(dir.path())[0].1.succeeded, 1);
}
