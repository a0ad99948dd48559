//! llmrace against the real llama.cpp server (PyPI's `xllamacpp`, serving a tiny random-weight
//! model that `tests/llamacpp/tiny_gguf.py` writes): it answers `Keep-Alive` yet closes the
//! connection after every streamed response, and not one request may fail for it.
//!
//! Ignored by default: it needs `python3 -m pip install xllamacpp gguf`. CI installs them and
//! runs it on its own: `cargo test --test llamacpp -- --ignored`. `LLMRACE_PYTHON` names
//! another interpreter.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

#[path = "e2e/common/race.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{race_config, records, run};

/// How long the server may take to write its model and start: far more than the few seconds
/// it takes, far less than a CI job's limit.
const START_LIMIT: Duration = Duration::from_secs(60);

/// The llama.cpp server, stopped when dropped.
struct LlamaCpp {
    child: Child,
    url: String,
}

impl LlamaCpp {
    fn start() -> LlamaCpp {
        LlamaCpp::start_with(&[])
    }

    /// The server with `serve.py`'s extra `args` (`--metrics`: its `/metrics` page on).
    fn start_with(args: &[&str]) -> LlamaCpp {
        let python = std::env::var("LLMRACE_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/llamacpp/serve.py");
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new(&python)
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
        // Read on a thread of its own, so that a server that hangs before its line is given
        // up on in time.
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if let Some(found) = line.strip_prefix("listening ") {
                    let _ = tx.send(found.trim().to_string());
                    return;
                }
            }
        });
        let why = match rx.recv_timeout(START_LIMIT) {
            Ok(url) => return LlamaCpp { child, url },
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => "was not listening after 60 s",
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => "stopped before listening",
        };
        let _ = child.kill();
        let _ = child.wait();
        let stderr = std::fs::read_to_string(log.path()).unwrap_or_default();
        panic!(
            "the llama.cpp server {why}: is xllamacpp installed \
             (`{python} -m pip install xllamacpp gguf`)? Its stderr:\n{stderr}"
        );
    }
}

impl Drop for LlamaCpp {
    /// Closing its stdin stops the server and removes its model; killed if it lingers.
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let asked = std::time::Instant::now();
        while matches!(self.child.try_wait(), Ok(None)) {
            if asked.elapsed() > Duration::from_secs(10) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs llama.cpp: python3 -m pip install xllamacpp gguf"]
async fn llama_cpp_closing_after_each_stream_costs_no_request() {
    let server = LlamaCpp::start();
    let spec = format!("l=openai:{}/v1#tiny", server.url);
    for concurrency in [1, 4] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = race_config(&[&spec], 50, concurrency);
        config.timeouts.first_token = Duration::from_secs(20);
        config.timeouts.idle = Duration::from_secs(10);
        config.timeouts.total = Duration::from_secs(60);
        let outcome = run(config, dir.path()).await;
        let counts = outcome.summary.endpoints[0].counts;
        let records = records(dir.path());
        let errors: Vec<_> = records
            .iter()
            .filter_map(|r| r.error_message.as_ref())
            .collect();
        assert_eq!(
            (counts.sent, counts.succeeded, counts.failed),
            (50, 50, 0),
            "at -c {concurrency}: {errors:?}"
        );
        assert!(records.iter().all(|r| r.output_tokens > Some(0)));
        // Every request after a worker's first found its connection closed (or lost it as it
        // was sent, and sent it again): the fix is exercised, not just passed.
        let connected = records.iter().filter(|r| r.new_connection).count();
        let resent = records.iter().filter(|r| r.resent_after.is_some()).count();
        eprintln!("-c {concurrency}: {connected} new connections, {resent} of them resent");
        assert!(
            connected >= 50 - concurrency as usize,
            "-c {concurrency}: {connected} new connections"
        );
        for r in records.iter().filter(|r| r.resent_after.is_some()) {
            assert!(r.new_connection && r.lost_ms.is_some(), "{r:?}");
        }
    }
}

/// The real server's `/metrics`, found by llmrace itself on the endpoint's origin and read once
/// a second: `server_metrics.jsonl` holds a reading per scrape, recognised as llama.cpp, with
/// its queue and running requests and its prompt-cache counters growing to the race's prompt
/// tokens. (This llama.cpp publishes no KV-cache gauge: `kv_cache` stays absent.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs llama.cpp: python3 -m pip install xllamacpp gguf"]
async fn llama_cpp_server_metrics_are_scraped_and_read() {
    let server = LlamaCpp::start_with(&["--metrics"]);
    let spec = format!("l=openai:{}/v1#tiny", server.url);
    let dir = tempfile::tempdir().unwrap();
    let mut config = race_config(&[&spec], 40, 4);
    config.timeouts.first_token = Duration::from_secs(20);
    config.timeouts.total = Duration::from_secs(60);
    let outcome = run(config, dir.path()).await;
    assert_eq!(outcome.summary.endpoints[0].counts.succeeded, 40);
    let text = std::fs::read_to_string(dir.path().join("server_metrics.jsonl"))
        .expect("server_metrics.jsonl in the results folder");
    let readings: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["reading"].clone())
        .filter(serde_json::Value::is_object)
        .collect();
    assert!(
        !readings.is_empty(),
        "no reading in server_metrics.jsonl:\n{text}"
    );
    for r in &readings {
        assert_eq!(r["server"], "llamacpp", "{r}");
        assert!(
            r["queue"].as_f64().is_some() && r["running"].as_f64().is_some(),
            "{r}"
        );
    }
    // Counters only grow, and the last scrape (after the finish) has every prompt token.
    let looked_up: Vec<f64> = readings
        .iter()
        .map(|r| r["prefix_queries_total"].as_f64().unwrap())
        .collect();
    assert!(looked_up.windows(2).all(|w| w[0] <= w[1]), "{looked_up:?}");
    let input: u64 = records(dir.path())
        .iter()
        .filter_map(|r| r.input_tokens)
        .map(u64::from)
        .sum();
    assert!(
        looked_up.last().copied().unwrap_or_default() >= input as f64 * 0.9,
        "{looked_up:?} against {input} input tokens"
    );
}
