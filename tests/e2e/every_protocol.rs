//! Issue 19's "done means": a race of every protocol llmrace speaks (`Protocol::ALL`, so a
//! protocol added later joins it) against the built-in mock over 127.0.0.1, headless and in
//! the dashboard, every endpoint's requests ok with its token counts read from the server's
//! own usage (`usage` source), and its prefix cache read (a cache hit above zero on the chat
//! workload, whose prompts share a system prompt). The race file a user runs for the same
//! thing, `assets/races/every-protocol.toml`, names every protocol and runs as written.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::race::records;
use crate::common::running::{BIN, run_to_end};
use crate::common::tmux::Tmux;
use llmrace::event::TokenSource;
use llmrace::protocol::Protocol;
use llmrace::stats::Outcome;
use serde_json::Value;

/// The race file a user runs.
fn race_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/races/every-protocol.toml")
}

fn summary(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap()
}

/// Every endpoint of the race in `dir` (one per name in `names`): all of its requests ok, every
/// token count from the server's usage, its prefix cache hit; the run's table with every name.
fn check_every_endpoint_used_usage(dir: &Path, names: &[String], table: &str) {
    let summary = summary(dir);
    let endpoints = summary["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), names.len(), "{summary}");
    let records = records(dir);
    for name in names {
        let e = endpoints
            .iter()
            .find(|e| e["name"] == name.as_str())
            .unwrap();
        let c = &e["counts"];
        assert!(c["sent"].as_u64().unwrap() > 0, "{name}: {c}");
        assert_eq!(c["succeeded"], c["sent"], "{name}: {e}");
        // Every protocol whose usage reports cached tokens reports some: the mock read its
        // prompts into its prefix cache (a protocol whose usage has no cached count has no
        // rate at all, rather than 0 %).
        let rate = e["rates"]["cache_hit_rate"].as_f64();
        assert!(
            rate.is_none_or(|r| r > 0.0),
            "{name}: the mock's prefix cache read no prompt: {e}"
        );
        let mine: Vec<_> = records
            .iter()
            .filter(|r| &r.endpoint_name == name)
            .collect();
        assert!(!mine.is_empty(), "{name}");
        for r in mine {
            assert_eq!(r.outcome, Outcome::Succeeded, "{name}: {r:?}");
            assert_eq!(
                r.input_tokens_source,
                Some(TokenSource::Usage),
                "{name}: {r:?}"
            );
            assert!(r.input_tokens.unwrap_or(0) > 0, "{name}: {r:?}");
            // A protocol that generates says its output in its usage too; none is estimated.
            assert_ne!(
                r.output_tokens_source,
                Some(TokenSource::Estimate),
                "{name}: {r:?}"
            );
            if r.output_tokens.unwrap_or(0) > 0 {
                assert_eq!(
                    r.output_tokens_source,
                    Some(TokenSource::Usage),
                    "{name}: {r:?}"
                );
            }
        }
        assert!(
            table.lines().any(|l| l.starts_with(name.as_str())),
            "{name} has no row:\n{table}"
        );
    }
    assert!(!table.contains("no usage"), "{table}");
}

#[test]
fn every_protocol_races_headless_with_the_servers_usage_on_every_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let names: Vec<String> = Protocol::ALL.iter().map(|p| p.name().to_owned()).collect();
    let mut command = Command::new(BIN);
    command.arg("race");
    for protocol in Protocol::ALL {
        command.arg("-e").arg(format!(
            "{0}={0}:mock://instant,tokens=8#mock",
            protocol.name()
        ));
    }
    command.args([
        "--workload",
        "chat",
        "-n",
        "12",
        "-c",
        "2",
        "--headless",
        "-o",
    ]);
    command.arg(&out);
    let (code, output) = run_to_end(&mut command);
    assert_eq!(code, 0, "{output}");
    check_every_endpoint_used_usage(&out, &names, &output);
}

/// The protocol of each `[[endpoint]]` of the race file, as written.
fn protocols_in_race_file() -> Vec<String> {
    let text = std::fs::read_to_string(race_file()).unwrap();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("protocol = "))
        .map(|p| p.trim_matches('"').to_owned())
        .collect()
}

#[test]
fn the_every_protocol_race_file_names_every_protocol_and_runs_headless() {
    let written = protocols_in_race_file();
    for protocol in Protocol::ALL {
        assert!(
            written.iter().any(|p| p == protocol.name()),
            "assets/races/every-protocol.toml has no endpoint of protocol {protocol}: add one"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let (code, output) = run_to_end(
        Command::new(BIN)
            .arg(race_file())
            .args(["-n", "8", "--headless", "-o"])
            .arg(&out),
    );
    assert_eq!(code, 0, "{output}");
    // The file names its endpoints by their protocols' names, `completions` for the legacy one.
    let names: Vec<String> = summary(&out)["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), written.len(), "{names:?}");
    check_every_endpoint_used_usage(&out, &names, &output);
}

#[test]
fn every_protocol_races_in_the_dashboard_with_every_lane_and_its_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    // `; sleep` keeps the pane open after llmrace exits, so what it printed can be read.
    let command = format!(
        "{BIN} {} -o {} ; echo EXITED=$? ; sleep 60",
        race_file().display(),
        out.display()
    );
    let Some(tmux) = Tmux::start_sized(&command, 120, 50) else {
        assert!(std::env::var_os("CI").is_none(), "tmux is required in CI");
        eprintln!("tmux is not installed: skipping the terminal test");
        return;
    };
    let names: Vec<String> = summary_names_from_file();
    let board = tmux.wait_for_screen("every lane finished", |s| {
        s.contains("FINISHED") && s.matches("20/20").count() >= names.len()
    });
    for name in &names {
        // Each lane: its name, then its tokens per second (a number, not a dash); an
        // embeddings lane its inputs per second instead.
        let rate_label = if name == "embeddings" {
            "in/s"
        } else {
            "tok/s"
        };
        // The lane's title: left of the side column (the leaderboard names endpoints too),
        // and not the race-track strip's line (which ends at its `┃` post).
        let lane = board
            .lines()
            .position(|l| {
                let l = l.split('│').next().unwrap_or(l);
                l.contains(&format!(" {name} ")) && l.contains("20/20") && !l.contains('┃')
            })
            .unwrap_or_else(|| panic!("no lane for {name}:\n{board}"));
        let tokens = board
            .lines()
            .skip(lane)
            .take(4)
            .find(|l| l.contains(rate_label))
            .unwrap_or_else(|| panic!("{name}'s lane has no {rate_label}:\n{board}"));
        let rate = tokens
            .split(rate_label)
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_default();
        assert!(
            rate.parse::<f64>().is_ok_and(|r| r > 0.0),
            "{name}: {rate_label} {rate:?}\n{board}"
        );
    }
    tmux.keys("q");
    let after = tmux.wait_for_screen("the exit", |s| s.contains("EXITED="));
    assert!(after.contains("EXITED=0"), "{after}");
    check_every_endpoint_used_usage(&out, &names, &after);
}

/// The endpoint names the race file gives (`name = "…"` of each `[[endpoint]]`).
fn summary_names_from_file() -> Vec<String> {
    let text = std::fs::read_to_string(race_file()).unwrap();
    let mut names = Vec::new();
    let mut in_endpoint = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_endpoint = line == "[[endpoint]]";
        } else if in_endpoint && let Some(name) = line.strip_prefix("name = ") {
            names.push(name.trim_matches('"').to_owned());
        }
    }
    names
}
