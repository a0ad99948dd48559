//! The results folder under pressure: checked before the race (a folder that cannot be made
//! stops the race before anything is sent, and so does a disk with less than 64 MB free), a
//! disk that fills up during the race (run with a file-size limit, so no root is needed) and a
//! folder removed under a running race. Every
//! failure is told, live and at the end, with a non-zero exit; the files that could be
//! written are whole, and no file under its final name is ever half-written.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::path::Path;
use std::process::Command;

use crate::common::running::{BIN, Running};
use crate::common::tmux::Tmux;

#[test]
fn a_folder_that_cannot_be_created_stops_the_race_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let out = file.join("run");
    let ended = Running::start(&[
        "--headless",
        "-e",
        "a=openai:mock://instant,tokens=4",
        "-n",
        "2",
        "-o",
        &out.display().to_string(),
    ])
    .end();
    assert_eq!(ended.code, Some(2), "{}", ended.stderr);
    assert!(
        ended.stderr.contains("cannot create the results folder")
            && ended.stderr.contains(&out.display().to_string())
            && ended.stderr.contains("--out DIR"),
        "{}",
        ended.stderr
    );
    assert!(!ended.stdout.contains("ok/sent"), "no race ran");
}

/// Every file under its final name parses whole; returns the names present.
fn final_files_are_whole(out: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(out).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        match name.as_str() {
            "run.json" | "summary.json" => {
                serde_json::from_slice::<serde_json::Value>(&std::fs::read(&path).unwrap())
                    .unwrap();
            }
            "requests.jsonl" | "server_metrics.jsonl" => {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(text.is_empty() || text.ends_with('\n'), "cut last line");
                for line in text.lines() {
                    serde_json::from_str::<serde_json::Value>(line).unwrap();
                }
            }
            "requests.csv" => {
                let mut rows = csv::Reader::from_path(&path).unwrap();
                for row in rows.records() {
                    row.unwrap();
                }
            }
            // Streamed by design: it reads up to its last whole event, and says so.
            "replay.jsonl.gz" => {
                llmrace::record::Replay::open(&path).unwrap();
            }
            _ => assert!(name.ends_with(".partial"), "unexpected file {name}"),
        }
        names.push(name);
    }
    names
}

#[test]
fn a_full_disk_is_reported_and_the_other_files_are_still_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    // Files may not grow past 64 KiB: writes beyond fail with EFBIG ("File too large"), as
    // on a full disk. SIGXFSZ is ignored so the write fails instead of killing the process.
    let script = format!(
        "trap '' XFSZ; ulimit -f 64; exec {BIN} --headless \
         -e a=openai:mock://instant,tokens=50 -e b=ollama:mock://instant,tokens=50 \
         -n 400 -c 4 -o {}",
        out.display()
    );
    let ended = Running::spawn(Command::new("bash").args(["-c", &script])).end();
    assert_eq!(ended.code, Some(1), "{}", ended.stderr);
    assert!(ended.stderr.contains("File too large"), "{}", ended.stderr);
    assert!(
        ended.stderr.contains("are missing or incomplete"),
        "{}",
        ended.stderr
    );
    // The table is still printed: the race ran to its end.
    assert!(ended.stdout.contains("400/400"), "{}", ended.stdout);
    let names = final_files_are_whole(&out);
    // The small files fit: they are written, and run.json says what failed.
    assert!(names.contains(&"summary.json".to_string()), "{names:?}");
    assert!(names.contains(&"run.json".to_string()), "{names:?}");
    assert!(
        !names.contains(&"requests.jsonl".to_string()),
        "a cut requests.jsonl carries its final name: {names:?}"
    );
    assert!(names.contains(&"requests.jsonl.partial".to_string()));
    let run = std::fs::read_to_string(out.join("run.json")).unwrap();
    assert!(run.contains("File too large"), "{run}");
}

#[test]
fn a_results_folder_removed_during_the_race_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut race = Running::start(&[
        "--headless",
        "-e",
        "a=openai:mock://steady,ttft=20ms,itl=5ms,tokens=40",
        "-n",
        "30",
        "-c",
        "2",
        "-o",
        &out.display().to_string(),
    ]);
    race.wait_for_progress(1);
    std::fs::remove_dir_all(&out).unwrap();
    let ended = race.end();
    assert_eq!(ended.code, Some(1), "{}", ended.stderr);
    assert!(
        ended
            .stderr
            .contains(&format!("error: cannot write {}", out.display())),
        "{}",
        ended.stderr
    );
    assert!(
        ended.stdout.contains("30/30"),
        "the race ran on: {}",
        ended.stdout
    );
}

#[test]
fn the_dashboard_shows_a_full_disk_while_the_race_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let command = format!(
        "bash -c \"trap '' XFSZ; ulimit -f 64; {BIN} \
         -e a=openai:mock://instant,tokens=50 -n 400 -c 4 -o {}; echo EXITED=\\$?; sleep 60\"",
        out.display()
    );
    let Some(tmux) = Tmux::start(&command) else {
        return;
    };
    tmux.wait_for("the notice on the dashboard", |t| {
        t.alternate_screen() && t.screen().contains("stopped being written")
    });
    tmux.tmux("send-keys", &["q"]);
    tmux.wait_for("the exit", |t| t.screen().contains("EXITED="));
    let screen = tmux.screen();
    assert!(screen.contains("EXITED=1"), "{screen}");
    assert!(
        screen.contains("File too large"),
        "told again at the end:\n{screen}"
    );
    final_files_are_whole(&out);
}

/// A disk with less than the 64 MB floor free: a 40 MB tmpfs, mounted in a private user and
/// mount namespace (`unshare -rm`), so no root is needed and nothing outside the test sees it.
#[test]
fn a_nearly_full_disk_stops_the_race_before_it_starts() {
    let probe = Command::new("unshare")
        .args(["-rm", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !probe {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs user namespaces (unshare -rm) for the near-full disk test"
        );
        eprintln!("unshare -rm is not allowed here: skipping the near-full disk test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().display().to_string();
    let script = format!(
        "mount -t tmpfs -o size=40m llmrace-test {disk} && exec {BIN} --headless \
         -e a=openai:mock://instant,tokens=4 -n 2 -o {disk}/run"
    );
    let ended = Running::spawn(Command::new("unshare").args(["-rm", "sh", "-c", &script])).end();
    assert_eq!(ended.code, Some(2), "{}", ended.stderr);
    assert!(
        ended.stderr.contains(&format!("{disk}/run"))
            && ended.stderr.contains("40.0 MB")
            && ended.stderr.contains("64.0 MB"),
        "the message names the folder, what is free and what is needed: {}",
        ended.stderr
    );
    assert!(!ended.stdout.contains("ok/sent"), "no race ran");
}
