//! What a race killed outright (SIGKILL: no handler, no flush) leaves behind, and that llmrace
//! still reads it: the replay plays up to its last whole event and says once that it is
//! incomplete, `report` and `replay` work on the folder, and no file under its final name is
//! half-written.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::path::Path;
use std::process::Command;

use crate::common::running::{BIN, Running, check_accounting};
use llmrace::record::Replay;

/// Starts a long race and kills it once the replay has been flushed a few times.
fn killed_race(out: &Path) {
    killed_race_with(out, &[]);
}

/// [`killed_race`] with more arguments for the race.
fn killed_race_with(out: &Path, more: &[&str]) {
    let out = out.display().to_string();
    let mut args = vec![
        "--headless",
        "-e",
        "a=openai:mock://steady,ttft=20ms,itl=5ms,tokens=50",
        "-e",
        "b=ollama:mock://steady,ttft=20ms,itl=5ms,tokens=50",
        "-n",
        "100000",
        "-c",
        "4",
        "-o",
        &out,
    ];
    args.extend_from_slice(more);
    let mut race = Running::start(&args);
    // The replay and the request files are flushed about once a second.
    race.wait_for_progress(3);
    race.signal("KILL");
    let ended = race.end();
    assert_eq!(ended.code, None, "killed by a signal: {}", ended.stderr);
}

fn llmrace(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_killed_race_leaves_files_that_report_and_replay_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    killed_race(&out);

    // Nothing was completed, so nothing carries a final name but the streamed replay.
    for file in ["run.json", "summary.json", "requests.jsonl", "requests.csv"] {
        assert!(!out.join(file).exists(), "{file} exists after a kill");
    }
    // The request records streamed so far: every whole line is a record.
    let partial = std::fs::read_to_string(out.join("requests.jsonl.partial")).unwrap();
    let whole: Vec<&str> = partial
        .split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .collect();
    assert!(!whole.is_empty(), "requests were flushed before the kill");
    for line in &whole {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }

    // The replay reads up to its last whole event and says it is incomplete.
    let replay = Replay::open(&out).unwrap();
    assert!(replay.end.is_none());
    let damage = replay.damage.clone().unwrap();
    assert!(replay.events.len() > 100, "{} events", replay.events.len());

    let (code, table, notes) = llmrace(&["replay", "--headless", &out.display().to_string()]);
    assert_eq!(code, 0, "{notes}");
    assert!(table.contains('a') && table.contains("ok/sent"), "{table}");
    assert_eq!(
        notes.matches(&damage).count(),
        1,
        "the damage is told once: {notes}"
    );

    for format in ["text", "md", "json", "csv", "html"] {
        let (code, text, notes) = llmrace(&["report", &out.display().to_string(), "-f", format]);
        assert_eq!(code, 0, "report -f {format}: {notes}");
        assert!(!text.is_empty(), "report -f {format} printed nothing");
        // Told once, in the report where the format has room for notices, else beside it.
        assert_eq!(
            text.matches(&damage).count() + notes.matches(&damage).count(),
            1,
            "{format}: {text}\n{notes}"
        );
    }

    // Rebuilt result files account for every request sent: those in flight at the kill are
    // cancelled.
    let rebuilt = dir.path().join("rebuilt");
    let (code, _, notes) = llmrace(&[
        "report",
        &out.display().to_string(),
        "--results",
        &rebuilt.display().to_string(),
    ]);
    assert_eq!(code, 0, "{notes}");
    let counts = check_accounting(&rebuilt);
    assert_eq!(counts.len(), 2);
    assert!(counts.iter().all(|(_, c)| c.succeeded > 0), "{counts:?}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(rebuilt.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["interrupted"], true);
}

/// The whole request records of a `requests.jsonl(.partial)`, and whether its last line is cut.
fn whole_records(path: &Path) -> (usize, bool) {
    let text = std::fs::read_to_string(path).unwrap();
    let whole = text
        .split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .count();
    (whole, !text.is_empty() && !text.ends_with('\n'))
}

#[test]
fn a_killed_race_without_a_replay_is_reported_from_its_whole_records() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    killed_race_with(&out, &["--no-replay"]);
    assert!(!out.join("replay.jsonl.gz").exists());
    for file in ["run.json", "summary.json", "requests.jsonl"] {
        assert!(!out.join(file).exists(), "{file} exists after a kill");
    }
    let partial = out.join("requests.jsonl.partial");
    // Cut the last line in half, as a kill in the middle of a write leaves it.
    let mut text = std::fs::read(&partial).unwrap();
    text.extend_from_slice(b"{\"request\":99999,\"endpoint\":0,\"endpoint_na");
    std::fs::write(&partial, text).unwrap();
    let (whole, cut) = whole_records(&partial);
    assert!(whole > 0 && cut, "{whole} whole records");

    let (code, json, notes) = llmrace(&["report", &out.display().to_string(), "-f", "json"]);
    assert_eq!(code, 0, "{notes}");
    assert!(notes.contains("the race was cut"), "{notes}");
    assert!(
        notes.contains(&format!("{whole} request records")),
        "{notes}"
    );
    assert!(notes.contains("cut last line is left out"), "{notes}");
    let document: serde_json::Value = serde_json::from_str(&json).unwrap();
    let summary = &document["summary"];
    assert_eq!(summary["interrupted"], true);
    let mut ended = 0;
    for e in summary["endpoints"].as_array().unwrap() {
        let n = |k: &str| e["counts"][k].as_u64().unwrap();
        // Only requests that ended have records: nothing is left in flight, no half line counted.
        assert_eq!(n("sent"), n("succeeded") + n("failed") + n("cancelled"));
        assert!(n("succeeded") > 0, "{e}");
        ended += n("sent") + n("warmup");
    }
    assert_eq!(ended, u64::try_from(whole).unwrap());

    let (code, table, notes) = llmrace(&["report", &out.display().to_string()]);
    assert_eq!(code, 0, "{notes}");
    assert!(table.contains("ok/sent"), "{table}");
}

#[test]
fn a_complete_race_reports_the_same_numbers_from_its_records_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let (code, _, notes) = llmrace(&[
        "race",
        "--headless",
        "-q",
        "--no-replay",
        "-e",
        "a=openai:mock://instant,ttft=2ms,itl=1ms,tokens=20",
        "-e",
        "b=anthropic:mock://instant,tokens=12,reasoning=4,fault=http_503:0.2",
        "-n",
        "40",
        "-c",
        "3",
        "-o",
        &out.display().to_string(),
    ]);
    assert_eq!(code, 0, "{notes}");
    let report = |dir: &Path| -> serde_json::Value {
        let (code, json, notes) = llmrace(&["report", &dir.display().to_string(), "-f", "json"]);
        assert_eq!(code, 0, "{notes}");
        serde_json::from_str(&json).unwrap()
    };
    let complete = report(&out);
    std::fs::remove_file(out.join("summary.json")).unwrap();
    std::fs::rename(
        out.join("requests.jsonl"),
        out.join("requests.jsonl.partial"),
    )
    .unwrap();
    let rebuilt = report(&out);
    let endpoints = |d: &serde_json::Value| d["summary"]["endpoints"].as_array().unwrap().clone();
    let (complete, rebuilt) = (endpoints(&complete), endpoints(&rebuilt));
    assert_eq!(complete.len(), 2);
    for (want, got) in complete.iter().zip(&rebuilt) {
        for key in ["name", "counts", "errors", "latency", "tokens"] {
            assert_eq!(got[key], want[key], "{key} of {}", want["name"]);
        }
        // The records keep times to the microsecond: each end of the rates' window may move by
        // that much, and the rates with it (relative to a window of a few milliseconds here).
        let window = |d: &serde_json::Value| d["rates"]["window_s"].as_f64().unwrap();
        let moved = (window(got) - window(want)).abs();
        assert!(
            moved <= 2e-6,
            "window_s: {} against {}",
            window(got),
            window(want)
        );
        let relative = 2e-6 / window(want);
        for key in ["requests_per_s", "output_tokens_per_s", "goodput_per_s"] {
            let (g, w) = (
                got["rates"][key].as_f64().unwrap(),
                want["rates"][key].as_f64().unwrap(),
            );
            assert!(
                (g - w).abs() <= w.abs() * relative,
                "{key}: {g} against {w}"
            );
        }
        assert_eq!(got["rates"]["success_rate"], want["rates"]["success_rate"]);
    }
}
