//! What a race killed outright (SIGKILL: no handler, no flush) leaves behind, and that llmrace
//! still reads it: the replay plays up to its last whole event and says once that it is
//! incomplete, `report` and `replay` work on the folder, and no file under its final name is
//! half-written.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

mod running;

use std::path::Path;
use std::process::Command;

use llmrace::record::Replay;
use running::{BIN, Running, check_accounting};

/// Starts a long race and kills it once the replay has been flushed a few times.
fn killed_race(out: &Path) {
    let out = out.display().to_string();
    let mut race = Running::start(&[
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
    ]);
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
        assert_eq!(notes.matches(&damage).count(), 1, "{format}: {notes}");
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
