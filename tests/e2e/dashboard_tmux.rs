//! The real binary in a real terminal (tmux), driven as a person would: the dashboard comes
//! up with a lane per endpoint, the inspector shows a response streaming, `q` stops the race,
//! restores the terminal, prints the table and leaves every result file.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::path::Path;
use std::process::Command;

use crate::common::tmux;

/// The shared pane, read as a person reads it: by its screen text.
struct Tmux(tmux::Tmux);

impl Tmux {
    fn start(command: &str, width: u16, height: u16) -> Option<Tmux> {
        tmux::Tmux::start_sized(command, width, height).map(Tmux)
    }

    fn program_pid(&self) -> String {
        self.0.program_pid()
    }

    fn keys(&self, keys: &str) {
        self.0.keys(keys);
    }

    /// Waits until the screen shows what `done` looks for, and returns that screen.
    fn wait_for(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        self.0.wait_for_screen(what, done)
    }
}

#[test]
fn the_dashboard_runs_inspects_and_quits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let bin = env!("CARGO_BIN_EXE_llmrace");
    // `; sleep` keeps the pane open after llmrace exits, so what it printed can be read.
    let command = format!(
        "{bin} -e fast=openai:mock://steady,ttft=50ms,itl=30ms,tokens=400 \
         -e slow=anthropic:mock://steady,ttft=100ms,itl=40ms,tokens=400 \
         -n 1000 -c 2 --max-tokens 400 -o {} ; echo EXITED=$? ; sleep 60",
        out.display()
    );
    let Some(tmux) = Tmux::start(&command, 120, 40) else {
        // CI installs tmux (.ci/run); only a developer machine without it skips.
        assert!(std::env::var_os("CI").is_none(), "tmux is required in CI");
        eprintln!("tmux is not installed: skipping the terminal test");
        return;
    };
    let board = tmux.wait_for("two lanes with numbers", |s| {
        s.contains("fast") && s.contains("slow") && s.contains("TTFT")
    });
    assert!(board.contains("q quit"), "footer with keys:\n{board}");

    tmux.keys("i");
    // The selected request's prompt, then its response with the first-token mark.
    tmux.wait_for("the inspector with a response streaming", |s| {
        s.contains("─ prompt")
            && s.contains("response")
            && s.contains("TTFT")
            && s.contains("r raw")
    });
    tmux.keys("?");
    tmux.wait_for("the help overlay", |s| {
        s.contains("stop the race and leave once results are saved")
    });
    tmux.keys("Escape");
    tmux.wait_for("help closed", |s| !s.contains("esc or ? to close"));

    tmux.keys("q");
    let after = tmux.wait_for("the exit", |s| s.contains("EXITED="));
    assert!(after.contains("EXITED=0"), "{after}");
    // Back on the normal screen: the final table and the results path are printed there.
    assert!(
        after.contains("ok/sent") && after.contains("Results:"),
        "{after}"
    );
    check_files(&out);
}

fn check_files(out: &Path) {
    for file in ["run.json", "requests.jsonl", "requests.csv", "summary.json"] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["interrupted"], true);
    for e in summary["endpoints"].as_array().unwrap() {
        let c = &e["counts"];
        let n = |k: &str| c[k].as_u64().unwrap();
        assert_eq!(
            n("sent"),
            n("succeeded") + n("failed") + n("cancelled"),
            "{c}"
        );
    }
}

#[test]
fn ctrl_c_from_outside_stops_the_race_and_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let bin = env!("CARGO_BIN_EXE_llmrace");
    let command = format!(
        "{bin} -e a=ollama:mock://steady,ttft=50ms,itl=30ms,tokens=400 -n 1000 -c 2 \
         --max-tokens 400 -o {} ; echo EXITED=$? ; sleep 60",
        out.display()
    );
    let Some(tmux) = Tmux::start(&command, 100, 30) else {
        assert!(std::env::var_os("CI").is_none(), "tmux is required in CI");
        return;
    };
    tmux.wait_for("the board", |s| {
        s.contains("q quit") && s.contains("in flight")
    });
    let pid = tmux.program_pid();
    assert!(!pid.is_empty(), "llmrace runs in the pane");
    let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(status.success());
    let after = tmux.wait_for("the exit", |s| s.contains("EXITED="));
    assert!(after.contains("EXITED=130"), "{after}");
    assert!(
        after.contains("Results:") && after.contains("Stopped early"),
        "{after}"
    );
    check_files(&out);
}

#[test]
fn notices_found_at_the_end_wait_for_the_dashboard_to_close() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let bin = env!("CARGO_BIN_EXE_llmrace");
    // Every answer reports 0 output tokens: a notice the race can only give at its end.
    let command = format!(
        "{bin} -e a=openai:mock://instant,fault=zero_usage:1 -n 3 -o {} ; echo EXITED=$? ; \
         sleep 60",
        out.display()
    );
    let Some(tmux) = Tmux::start(&command, 120, 40) else {
        assert!(std::env::var_os("CI").is_none(), "tmux is required in CI");
        return;
    };
    let notice = "a: the server reported 0 output tokens";
    let finished = tmux.wait_for("the finish with its notice", |s| {
        s.contains("FINISHED") && s.contains(notice)
    });
    assert_eq!(finished.matches(notice).count(), 1, "{finished}");
    tmux.keys("q");
    let after = tmux.wait_for("the exit", |s| s.contains("EXITED="));
    // Printed once, on the normal screen, where it stays.
    assert_eq!(after.matches(&format!("! {notice}")).count(), 1, "{after}");
}
