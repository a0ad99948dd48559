//! The real `llmrace` binary as a child process, for the tests that signal it, kill it or
//! starve it of disk: its stderr is read line by line so a test can wait for a moment of the
//! race (a progress line) instead of sleeping, and it is waited on with a deadline.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long any one wait may take before the test fails (a hang is a failure, not a stall).
const PATIENCE: Duration = Duration::from_secs(60);

pub const BIN: &str = env!("CARGO_BIN_EXE_llmrace");

pub struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Vec<String>,
    stdout: std::thread::JoinHandle<String>,
}

/// How a run ended and what it printed.
pub struct Ended {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Running {
    pub fn start(args: &[&str]) -> Running {
        Running::spawn(Command::new(BIN).args(args))
    }

    pub fn spawn(command: &mut Command) -> Running {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stdout = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text);
            text
        });
        Running {
            child,
            lines,
            stderr: Vec::new(),
            stdout,
        }
    }

    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Waits for a stderr line that `found` accepts and returns it.
    pub fn wait_for_line(&mut self, what: &str, found: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            // Timed out, or stderr ended without it.
            let Ok(line) = self.lines.recv_timeout(left) else {
                panic!("no {what} on stderr; it said:\n{}", self.stderr.join("\n"));
            };
            self.stderr.push(line.clone());
            if found(&line) {
                return line;
            }
        }
    }

    /// Waits for the `n`th progress line (`[  2.0s] …`): the race is under way.
    pub fn wait_for_progress(&mut self, n: usize) {
        for _ in 0..n {
            self.wait_for_line("progress line", |l| l.starts_with('['));
        }
    }

    /// Sends `signal` (`TERM`, `INT`, `HUP`, `KILL`) with kill(1): no unsafe code here.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the exit; fails the test if it takes longer than a minute (a hang).
    pub fn end(self) -> Ended {
        let Running {
            mut child,
            lines,
            mut stderr,
            stdout,
        } = self;
        let pid = child.id().to_string();
        let (tx, exited) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let Ok(status) = exited.recv_timeout(PATIENCE) else {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            panic!("llmrace did not exit; stderr:\n{}", stderr.join("\n"));
        };
        let status = status.unwrap();
        // Until the reader sees the end of stderr: every line the run printed.
        while let Ok(line) = lines.recv_timeout(PATIENCE) {
            stderr.push(line);
        }
        Ended {
            code: status.code(),
            stdout: stdout.join().unwrap(),
            stderr: stderr.join("\n"),
        }
    }
}

/// Runs `command` to its end; its exit code (-1 when killed) and stdout then stderr as one text.
pub fn run_to_end(command: &mut Command) -> (i32, String) {
    let output = command.output().unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

/// The per-endpoint counts of a results folder's summary, each checked:
/// sent = succeeded + failed + cancelled, and as many request records as requests sent.
pub fn check_accounting(dir: &Path) -> Vec<(String, Counts)> {
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    let records: Vec<serde_json::Value> = std::fs::read_to_string(dir.join("requests.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    summary["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let name = e["name"].as_str().unwrap().to_string();
            let n = |k: &str| e["counts"][k].as_u64().unwrap();
            let counts = Counts {
                sent: n("sent"),
                succeeded: n("succeeded"),
                failed: n("failed"),
                cancelled: n("cancelled"),
            };
            assert_eq!(
                counts.sent,
                counts.succeeded + counts.failed + counts.cancelled,
                "{name}: {counts:?}"
            );
            let recorded = records
                .iter()
                .filter(|r| r["endpoint_name"] == name.as_str())
                .count();
            assert_eq!(recorded as u64, counts.sent, "{name}: records vs sent");
            (name, counts)
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts {
    pub sent: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub cancelled: u64,
}
