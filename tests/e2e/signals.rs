//! Signals sent to the real binary in the middle of a race (headless, and in the dashboard in a
//! real terminal under tmux): sending stops, requests in flight are cancelled and counted,
//! every result file and the replay are complete and readable, the exit code names the signal
//! (128 + its number) and the terminal is given back.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::running::{self, Running, check_accounting};
use crate::common::tmux::Tmux;
use llmrace::record::Replay;

/// Two endpoints whose requests take ~12 s each: whenever the signal comes, some are in flight.
fn slow_race_args(out: &Path) -> Vec<String> {
    [
        "--headless",
        "-e",
        "a=openai:mock://steady,ttft=50ms,itl=30ms,tokens=400",
        "-e",
        "b=anthropic:mock://steady,ttft=50ms,itl=30ms,tokens=400",
        "-n",
        "1000",
        "-c",
        "2",
        "--max-tokens",
        "400",
        "-o",
    ]
    .iter()
    .map(ToString::to_string)
    .chain([out.display().to_string()])
    .collect()
}

/// Every file of a race stopped early is there, whole, and tells the same story.
fn check_stopped_race(out: &Path) {
    for file in ["run.json", "summary.json", "requests.jsonl", "requests.csv"] {
        assert!(out.join(file).is_file(), "{file} missing");
        assert!(
            !out.join(format!("{file}.partial")).exists(),
            "{file}.partial left"
        );
    }
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["interrupted"], true);
    let counts = check_accounting(out);
    assert!(!counts.is_empty());
    for (name, c) in &counts {
        assert!(
            c.cancelled > 0,
            "{name}: requests in flight are cancelled: {c:?}"
        );
    }
    let csv_rows = std::fs::read_to_string(out.join("requests.csv"))
        .unwrap()
        .lines()
        .count();
    let sent: u64 = counts.iter().map(|(_, c)| c.sent).sum();
    assert_eq!(
        csv_rows as u64,
        sent + 1,
        "a CSV row per request and a header"
    );
    let replay = Replay::open(out).unwrap();
    assert_eq!(replay.damage, None, "the replay is complete");
    assert!(replay.end.is_some_and(|e| e.interrupted));
    let folded = llmrace::fold_replay(&replay, |_| {});
    for (e, (name, c)) in folded.endpoints.iter().zip(&counts) {
        assert_eq!(&e.name, name);
        assert_eq!(e.counts.sent, c.sent, "the replay agrees with the files");
        assert_eq!(e.counts.cancelled, c.cancelled);
    }
}

fn stopped_by(signal: &str, code: i32) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut race = Running::start(
        &slow_race_args(&out)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    race.wait_for_progress(1);
    race.signal(signal);
    let ended = race.end();
    assert_eq!(ended.code, Some(code), "{}", ended.stderr);
    assert!(
        ended
            .stderr
            .contains(&format!("Stopped early by SIG{signal}")),
        "{}",
        ended.stderr
    );
    assert!(ended.stdout.contains("Results:"), "{}", ended.stdout);
    check_stopped_race(&out);
}

#[test]
fn sigterm_stops_a_headless_race_with_every_file_complete() {
    stopped_by("TERM", 143);
}

#[test]
fn sigint_stops_a_headless_race_with_exit_code_130() {
    stopped_by("INT", 130);
}

#[test]
fn sighup_stops_a_headless_race_with_exit_code_129() {
    stopped_by("HUP", 129);
}

#[test]
fn a_second_signal_while_saving_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut race = Running::start(
        &slow_race_args(&out)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    race.wait_for_progress(1);
    race.signal("TERM");
    // The process may already be gone by the second one: kill then fails, which is fine.
    let _ = Command::new("kill")
        .args(["-INT", &race.pid()])
        .status()
        .unwrap();
    let ended = race.end();
    // Two signals arriving together may be taken in either order; either one's code is right,
    // and neither may cost a file.
    assert!(
        matches!(ended.code, Some(143 | 130)),
        "{:?}: {}",
        ended.code,
        ended.stderr
    );
    check_stopped_race(&out);
}

/// Ends the tmux session: the terminal llmrace draws on goes away (writes to it fail, EIO).
fn close_terminal(tmux: &Tmux) {
    let status = Command::new("tmux")
        .args(["kill-session", "-t", &tmux.session])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The exit code a detached llmrace's shell wrote to `code`, once it is there.
fn exit_code_file(code: &Path, hung: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !code.exists() {
        // llmrace runs detached from this test: polling its exit-code file is the only way.
        assert!(Instant::now() < deadline, "{hung}");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::read_to_string(code).unwrap()
}

fn dashboard_command(out: &Path, then: &str) -> String {
    format!(
        "{} -e a=openai:mock://steady,ttft=50ms,itl=30ms,tokens=400 \
         -e b=anthropic:mock://steady,ttft=50ms,itl=30ms,tokens=400 -n 1000 -c 2 \
         --max-tokens 400 -o {}; {then}",
        running::BIN,
        out.display()
    )
}

#[test]
fn sigterm_to_the_dashboard_saves_everything_and_gives_the_terminal_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let Some(tmux) = Tmux::start(&dashboard_command(&out, "echo EXITED=$?; sleep 60")) else {
        return;
    };
    tmux.wait_for("the board with requests in flight", |t| {
        t.alternate_screen() && t.screen().contains("in flight")
    });
    let pid = tmux.program_pid();
    assert!(!pid.is_empty(), "llmrace runs in the pane");
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    tmux.wait_for("the exit", |t| t.screen().contains("EXITED="));
    let screen = tmux.screen();
    assert!(screen.contains("EXITED=143"), "{screen}");
    // The normal screen is back, with the cursor, and shows what was printed there.
    assert!(
        !tmux.alternate_screen(),
        "still on the alternate screen:\n{screen}"
    );
    assert!(tmux.cursor_visible(), "the cursor is hidden:\n{screen}");
    assert!(
        screen.contains("Results:") && screen.contains("Stopped early by SIGTERM"),
        "{screen}"
    );
    assert!(!screen.contains("q quit"), "the board is gone:\n{screen}");
    check_stopped_race(&out);
}

#[test]
fn closing_the_terminal_under_the_dashboard_saves_everything() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let code = dir.path().join("exit-code");
    // What an interactive shell does when its terminal closes: it gets SIGHUP from the kernel
    // and passes it on to the job it runs. This one also outlives the terminal to write the
    // job's exit code down (whole: written aside, then renamed). The job reads the terminal
    // through fd 3, since a background job's own stdin would be /dev/null.
    let script = dir.path().join("shell.sh");
    std::fs::write(
        &script,
        format!(
            "exec 3<&0\n\
             {bin} -e a=openai:mock://steady,ttft=50ms,itl=30ms,tokens=400 -n 1000 -c 2 \
             --max-tokens 400 -o {out} 0<&3 3<&- &\n\
             job=$!\n\
             trap 'kill -HUP $job' HUP\n\
             wait $job; status=$?\n\
             if [ $status -gt 128 ]; then wait $job; again=$?; [ $again -ne 127 ] && status=$again; fi\n\
             echo $status > {code}.tmp; mv {code}.tmp {code}\n",
            bin = running::BIN,
            out = out.display(),
            code = code.display(),
        ),
    )
    .unwrap();
    let Some(tmux) = Tmux::start(&format!("sh {}", script.display())) else {
        return;
    };
    tmux.wait_for("the board with requests in flight", |t| {
        t.alternate_screen() && t.screen().contains("in flight")
    });
    // The terminal goes away: from now on writes to it fail (EIO).
    close_terminal(&tmux);
    let written = exit_code_file(&code, "llmrace did not exit after SIGHUP");
    assert_eq!(written.trim(), "129", "exit code after the terminal closed");
    check_stopped_race(&out);
}

#[test]
fn a_terminal_closed_under_the_finish_screen_ends_llmrace() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let code = dir.path().join("exit-code");
    // No SIGHUP reaches llmrace here (the shell, the session's leader, takes it and passes
    // nothing on): only the dead terminal tells it, on a screen that draws nothing.
    let command = format!(
        "sh -c 'trap true HUP; {} -e a=openai:mock://instant,tokens=5 -n 2 -c 1 -o {out}; \
         echo $? > {code}.tmp; mv {code}.tmp {code}'",
        running::BIN,
        out = out.display(),
        code = code.display()
    );
    let Some(tmux) = Tmux::start(&command) else {
        return;
    };
    tmux.wait_for("the finish screen", |t| {
        t.alternate_screen() && t.screen().contains("2/2")
    });
    close_terminal(&tmux);
    // The race was over: nothing was cut short, but the way it ended is still told.
    let written = exit_code_file(&code, "llmrace did not notice its terminal closed");
    assert_eq!(written.trim(), "1", "exit code after the terminal closed");
    let counts = check_accounting(&out);
    assert_eq!(counts[0].1.succeeded, 2);
}

#[test]
fn ctrl_c_in_the_dashboard_is_an_interrupt() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let Some(tmux) = Tmux::start(&dashboard_command(&out, "echo EXITED=$?; sleep 60")) else {
        return;
    };
    tmux.wait_for("the board with requests in flight", |t| {
        t.alternate_screen() && t.screen().contains("in flight")
    });
    // In raw mode Ctrl-C is a key, not a signal; it still means SIGINT.
    tmux.tmux("send-keys", &["C-c"]);
    tmux.wait_for("the exit", |t| t.screen().contains("EXITED="));
    let screen = tmux.screen();
    assert!(screen.contains("EXITED=130"), "{screen}");
    assert!(!tmux.alternate_screen(), "{screen}");
    check_stopped_race(&out);
}

#[test]
fn sigterm_stops_a_sweep_with_exit_code_143() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let mut sweep = Running::start(&[
        "sweep",
        "-e",
        "a=openai:mock://steady,ttft=50ms,itl=30ms,tokens=400",
        "--concurrency",
        "1,2",
        "--per-level-requests",
        "1000",
        "-o",
        out.to_str().unwrap(),
    ]);
    sweep.wait_for_line("the first level", |l| l.starts_with("Level 1/2"));
    sweep.signal("TERM");
    let ended = sweep.end();
    assert_eq!(ended.code, Some(143), "{}", ended.stderr);
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(saved["interrupted"], true, "{saved}");
}

#[test]
fn sigterm_to_a_replay_in_the_dashboard_exits_143_and_gives_the_terminal_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let recorded = Command::new(running::BIN)
        .args([
            "--headless",
            "-q",
            "-e",
            "a=openai:mock://instant,tokens=5",
            "-n",
            "4",
        ])
        .args(["-o", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(recorded.status.success());
    let command = format!(
        "{} replay {}; echo EXITED=$?; sleep 60",
        running::BIN,
        out.join("replay.jsonl.gz").display()
    );
    let Some(tmux) = Tmux::start(&command) else {
        return;
    };
    tmux.wait_for("the replay's board", Tmux::alternate_screen);
    let pid = tmux.program_pid();
    assert!(!pid.is_empty(), "llmrace runs in the pane");
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    tmux.wait_for("the exit", |t| t.screen().contains("EXITED="));
    let screen = tmux.screen();
    assert!(screen.contains("EXITED=143"), "{screen}");
    assert!(!tmux.alternate_screen(), "{screen}");
    assert!(tmux.cursor_visible(), "the cursor is hidden:\n{screen}");
}
