//! A closed loop against a port nothing listens on: each worker backs off after a request that
//! could not connect (`engine/reconnect.rs`), so a short race sends a handful of requests, not
//! tens of thousands, and none of them counts as a repeat of a prompt a server saw.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::process::Command;
use std::time::Duration;

use crate::common::running::BIN;

#[test]
fn a_closed_loop_against_a_closed_port_backs_off() {
    closed_port_race(&[]);
}

#[test]
fn sessions_against_a_closed_port_back_off_too() {
    closed_port_race(&["--turns", "2"]);
}

fn closed_port_race(extra: &[&str]) {
    // A port that was free a moment ago: nothing listens on it now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("dead");
    let output = Command::new(BIN)
        .args(["race", "--headless", "-d", "3s", "-c", "2"])
        .args(["-e", &format!("dead=openai:http://127.0.0.1:{port}/v1#m")])
        .args(["--server-metrics", "dead=off"])
        .args(extra)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let text = format!("{output:?}");
    assert_eq!(output.status.code(), Some(0), "{text}");
    let records = std::fs::read_to_string(out.join("requests.jsonl")).unwrap();
    let sent = records.lines().count() as u64;
    // Two workers for 3 s (and the moment the race takes to stop), each sending at most as
    // its back-off lets it: 10, 20, 40 … ms, then one a second.
    let most = 2 * llmrace::engine::reconnect::most_unreached(Duration::from_secs(4));
    assert!(
        sent >= 2 && sent <= most,
        "{sent} requests, at most {most}: {text}"
    );
    assert!(
        records.lines().all(|l| l.contains("\"connect\"")),
        "{records}"
    );
    // None reached a server: none repeated a prompt, and no notice says so.
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let counts = &summary["endpoints"][0]["counts"];
    assert_eq!(counts["repeats"], 0, "{counts}");
    assert_eq!(counts["unreached"], sent, "{counts}");
    assert!(!text.contains("repeated a prompt"), "{text}");
}
