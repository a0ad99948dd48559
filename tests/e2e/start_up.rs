//! The real binary before its first request: a signal stops every start-up phase (prompts
//! being made, connections warming towards a server that never answers) with nothing sent; a
//! race the machine cannot hold (file descriptors, memory) is refused with the setting to
//! lower; the open-file limit is raised as far as it may go; synthetic prompts are made only
//! as far as the race can send them.
//!
//! Tests that depend on the open-file limit set it themselves, so the host's does not matter.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::running::{self, BIN, Running};

/// A race file with `count` synthetic prompts of `tokens` tokens to one instant mock, and
/// the `[load]` lines given.
fn synthetic_race(dir: &Path, tokens: u32, count: u32, load: &str) -> String {
    let path = dir.join("race.toml");
    std::fs::write(
        &path,
        format!(
            "name = \"big\"\n[workload]\nsynthetic = {{ input_tokens = {tokens}, count = {count} }}\n\
             [load]\n{load}\n[[endpoint]]\nname = \"a\"\nprotocol = \"openai\"\n\
             base_url = \"mock://instant,tokens=5\"\n"
        ),
    )
    .unwrap();
    path.display().to_string()
}

/// Sends `signal` (`INT`, `TERM`); llmrace must stop before the start: within a few seconds
/// (the process's whole exit, on a busy machine), with the signal's exit code, said so, and
/// no results folder.
fn stopped_before_the_start(race: Running, signal: &str, out: &Path, code: i32) {
    race.signal(signal);
    let signalled = Instant::now();
    let ended = race.end();
    let took = signalled.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "exited {took:?} after the signal"
    );
    assert_eq!(ended.code, Some(code), "{}", ended.stderr);
    let name = format!("SIG{signal}");
    assert!(
        ended
            .stderr
            .contains(&format!("Stopped by {name} before the race started")),
        "{}",
        ended.stderr
    );
    assert!(!out.exists(), "nothing was sent, so no results folder");
}

#[test]
fn sigint_while_warming_a_connection_to_a_silent_server_stops_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    // A server that accepts and never answers: warming its connection would wait 10 s.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (accepted, connected) = mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
            let _ = accepted.send(());
        }
    });
    let race = Running::start(&[
        "--headless",
        "-e",
        &format!("a=openai:http://127.0.0.1:{port}/v1#m"),
        "-n",
        "2",
        "-o",
        out.to_str().unwrap(),
    ]);
    // The warm-up's connection is open: llmrace now waits for an answer that never comes.
    connected.recv_timeout(Duration::from_secs(60)).unwrap();
    stopped_before_the_start(race, "INT", &out, 130);
}

#[test]
fn sigterm_after_making_prompts_of_a_million_tokens_stops_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    // Twenty prompts of a million tokens each (120 MB of text), made before the banner (in a
    // few seconds); the signal comes after it, while the connection warms or the replay's
    // header takes the 120 MB. A signal while prompts are made: `workload::tests`.
    let mut race = Running::start(&[
        "--headless",
        "-e",
        "a=openai:mock://instant,tokens=5",
        "--synthetic",
        "1000000",
        "-n",
        "20",
        "-o",
        out.to_str().unwrap(),
    ]);
    race.wait_for_line("the banner", |l| l.starts_with("Race "));
    stopped_before_the_start(race, "TERM", &out, 143);
}

#[test]
fn sigterm_while_the_replay_takes_its_prompts_stops_at_once_and_removes_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    // Twelve prompts of 4 MB: read in a moment, then a second or more to put in the replay.
    let line = "amber river stone quartz ".repeat(160_000);
    let text = format!("{line}\n").repeat(12);
    let prompts = dir.path().join("prompts.txt");
    std::fs::write(&prompts, text).unwrap();
    let race = Running::start(&[
        "--headless",
        "-e",
        "a=openai:mock://instant,tokens=5",
        "--prompts",
        prompts.to_str().unwrap(),
        "-n",
        "12",
        "-o",
        out.to_str().unwrap(),
    ]);
    // The replay is the last file opened before the start.
    let replay = out.join(llmrace::record::REPLAY_FILE);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !replay.exists() {
        assert!(Instant::now() < deadline, "no replay was started");
        std::thread::sleep(Duration::from_millis(5));
    }
    stopped_before_the_start(race, "TERM", &out, 143);
}

#[test]
fn a_hundred_thousand_synthetic_prompts_for_a_few_requests_are_not_all_made() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let file = synthetic_race(dir.path(), 512, 100_000, "requests = 3");
    let ended = Running::start(&["--headless", "-q", &file, "-o", out.to_str().unwrap()]).end();
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
    let replay = llmrace::record::Replay::open(&out).unwrap();
    // The three prompts sent, each the length asked for, and nothing more.
    assert_eq!(replay.header.prompts.len(), 3);
    for prompt in &replay.header.prompts {
        let tokens = llmrace::tokenizer::count_tokens(&prompt[0].content);
        assert_eq!(tokens, 512);
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_race_whose_prompts_do_not_fit_in_memory_is_refused_before_they_are_made() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    // A hundred thousand prompts of a million tokens: terabytes, which no test machine holds.
    let file = synthetic_race(dir.path(), 1_000_000, 100_000, "duration = \"1m\"");
    let ended = Running::start(&["--headless", &file, "-o", out.to_str().unwrap()]).end();
    assert_eq!(ended.code, Some(2), "{}", ended.stderr);
    assert!(ended.stderr.contains("of memory"), "{}", ended.stderr);
    assert!(ended.stderr.contains("use at most"), "{}", ended.stderr);
    assert!(ended.stderr.contains("-n N"), "{}", ended.stderr);
    assert!(!out.exists());
}

#[test]
fn a_million_workers_are_refused_with_the_concurrency_to_use() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let stderr = refused_under(
        "ulimit -n 4096",
        &format!(
            "--headless -e a=openai:mock://instant -c 1000000 -n 2000000 -o {}",
            out.display()
        ),
        &out,
    );
    // 4096 descriptors less 64 for the files, two for each connection to the mock.
    assert!(
        stderr.contains("lower the concurrency to at most 2016 per endpoint (-c 2016)"),
        "{stderr}"
    );
}

#[test]
fn a_million_workers_for_five_requests_open_only_five_connections() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    // Five requests hold five connections at most, however high the concurrency.
    let ended = under_ulimit(
        "ulimit -n 4096",
        &format!(
            "--headless -e a=openai:mock://instant,tokens=5 -c 1000000 -n 5 -o {}",
            out.display()
        ),
    );
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary["endpoints"][0]["counts"]["succeeded"], 5,
        "{summary}"
    );
}

/// Runs llmrace under `ulimit` and expects it refused (exit 2) with no results folder at
/// `out`. Returns what it said.
fn refused_under(ulimit: &str, args: &str, out: &Path) -> String {
    let ended = under_ulimit(ulimit, args);
    assert_eq!(ended.code, Some(2), "{}", ended.stderr);
    assert!(!out.exists());
    ended.stderr
}

/// Runs llmrace under `ulimit` settings given to the shell first.
fn under_ulimit(ulimit: &str, args: &str) -> running::Ended {
    let script = format!("{ulimit} && exec {BIN} {args}");
    Running::spawn(Command::new("bash").args(["-c", &script])).end()
}

#[test]
fn too_few_file_descriptors_are_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    // Soft and hard limit 128: 100 connections to the mock take 200 descriptors.
    let stderr = refused_under(
        "ulimit -n 128",
        &format!(
            "--headless -e a=openai:mock://instant -c 100 -n 200 -o {}",
            out.display()
        ),
        &out,
    );
    assert!(stderr.contains("may open only 128 (ulimit -n)"), "{stderr}");
    assert!(stderr.contains("ulimit -n 264"), "{stderr}");
    assert!(stderr.contains("-c 32"), "{stderr}");
}

#[test]
fn a_low_soft_limit_on_open_files_is_raised_to_the_hard_limit() {
    let hard = Command::new("bash")
        .args(["-c", "ulimit -Hn"])
        .output()
        .unwrap();
    let hard = String::from_utf8_lossy(&hard.stdout).trim().to_string();
    if hard != "unlimited" && hard.parse::<u64>().unwrap_or(0) < 1024 {
        eprintln!("skipped: the hard limit on open files is {hard}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let ended = under_ulimit(
        "ulimit -S -n 128",
        &format!(
            "--headless -e a=openai:mock://instant,tokens=5 -c 200 -n 400 -o {}",
            out.display()
        ),
    );
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary["endpoints"][0]["counts"]["succeeded"], 400,
        "{summary}"
    );
    assert!(out.join("run.json").is_file());
}

#[test]
fn a_sweep_whose_last_level_cannot_be_held_is_refused_before_its_first() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let stderr = refused_under(
        "ulimit -n 4096",
        &format!(
            "sweep -e a=openai:mock://instant --concurrency 1,1000000 --per-level-requests 2000000 \
             -o {}",
            out.display()
        ),
        &out,
    );
    assert!(
        stderr.contains("keep the sweep's levels at or below 2016 per endpoint"),
        "{stderr}"
    );
    assert!(!stderr.contains("Level 1/2"), "{stderr}");
}
