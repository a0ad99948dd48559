//! Many response bodies read at once: a stop while a hundred are mid-read, and streams cut
//! among healthy ones on the same runtime, every request accounted for once.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use crate::common::race::{race_config, records, run};
use crate::common::running::{Running, check_accounting};
use llmrace::event::ErrorClass;
use llmrace::stats::Outcome;

/// The race is stopped (SIGINT, the binary's Ctrl-C) while 100 streams are each mid-body (long
/// answers, a token every 20 ms): each is cancelled once, after some content.
#[test]
fn a_stop_while_100_bodies_are_mid_read_cancels_each_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let out_arg = out.display().to_string();
    let mut race = Running::start(&[
        "--headless",
        "-e",
        "a=openai:mock://steady,ttft=0ms,itl=20ms,tokens=5000",
        "-n",
        "1000",
        "-c",
        "100",
        "--max-tokens",
        "5000",
        "-o",
        &out_arg,
    ]);
    race.wait_for_progress(1);
    race.signal("INT");
    let ended = race.end();
    assert_eq!(ended.code, Some(130), "{}", ended.stderr);
    let counts = check_accounting(&out);
    let measured: Vec<_> = records(&out).into_iter().filter(|r| !r.warmup).collect();
    assert_eq!(counts[0].1.cancelled, 100, "{counts:?}");
    assert_eq!(measured.len(), 100, "{measured:?}");
    for r in &measured {
        assert_eq!(r.outcome, Outcome::Cancelled, "{r:?}");
        assert!(
            r.chunks > 0,
            "cancelled mid-body, after some content: {r:?}"
        );
    }
}

/// Some streams are cut mid-body among healthy ones read on the same two runtime workers: those
/// fail as cut, the rest finish whole, each request once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_cut_among_healthy_ones_fail_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = race_config(
        &["m=openai:mock://steady,ttft=0ms,itl=2ms,tokens=40,fault=reset_mid_stream:0.3"],
        80,
        20,
    );
    config.workload.max_tokens = Some(40);
    run(config, dir.path()).await;
    let counts = check_accounting(dir.path());
    let c = &counts[0].1;
    assert_eq!(c.sent, 80, "{counts:?}");
    assert_eq!(c.succeeded + c.failed, 80, "{counts:?}");
    assert!(c.failed > 0 && c.succeeded > 0, "{counts:?}");
    for r in records(dir.path()) {
        match r.outcome {
            Outcome::Failed => assert_eq!(r.error_class, Some(ErrorClass::StreamCut), "{r:?}"),
            Outcome::Succeeded => assert_eq!(r.output_tokens, Some(40), "{r:?}"),
            Outcome::Cancelled => panic!("nothing was cancelled: {r:?}"),
        }
    }
}
