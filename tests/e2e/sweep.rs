//! Sweeps end to end: two mocks that slow down with load, one far more than the other, swept
//! over four levels; the more sensitive one must be recommended a lower level.

use std::time::Duration;

use llmrace::sweep::{self, Level, SweepOptions, SweepReport};

use crate::common::race::race_config;

// TTFT p95 grows by `load` per other request in flight: ~100 + 10·(c−1) ms for `sturdy`,
// ~100 + 60·(c−1) ms for `touchy` (280 ms at 4, 520 ms at 8). Throughput still grows with
// the level for both, so within a 400 ms target `sturdy` is best at 8 and `touchy` at 4.
const STURDY: &str = "sturdy=openai:mock://ttft=100ms,itl=1ms,tokens=16,load=10ms#m";
const TOUCHY: &str = "touchy=openai:mock://ttft=100ms,itl=1ms,tokens=16,load=60ms#m";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_more_sensitive_endpoint_saturates_earlier() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut config = race_config(&[STURDY, TOUCHY], 16, 1);
    config.load.warmup_requests = 0;
    let options = SweepOptions {
        levels: [1, 2, 4, 8].map(Level::Concurrency).to_vec(),
        ttft_p95_target: Duration::from_millis(400),
        out: tmp.path().join("sweep"),
        quiet: true,
        replace: false,
        tell: llmrace::race::Teller::default(),
        metrics: None,
    };
    let outcome = sweep::sweep(config, std::path::Path::new("."), &options)
        .await
        .expect("sweep runs");
    assert!(!outcome.report.interrupted);
    for level in [1, 2, 4, 8] {
        let dir = sweep::level_dir(&outcome.dir, &Level::Concurrency(level));
        assert!(dir.join("summary.json").is_file(), "{}", dir.display());
    }
    let text = std::fs::read_to_string(outcome.dir.join("sweep.json")).expect("sweep.json");
    let saved: SweepReport = serde_json::from_str(&text).expect("sweep.json parses");
    // Floats may differ in the last digit after a JSON round trip; the shape may not.
    let shape = |r: &SweepReport| -> Vec<(String, Vec<String>, Option<String>)> {
        r.endpoints
            .iter()
            .map(|e| {
                let levels = e.points.iter().map(|p| p.level.clone()).collect();
                (e.name.clone(), levels, e.recommended.clone())
            })
            .collect()
    };
    assert_eq!(shape(&saved), shape(&outcome.report));
    let recommended = |name: &str| {
        let e = saved.endpoints.iter().find(|e| e.name == name).expect(name);
        assert_eq!(e.points.len(), 4);
        e.recommended.clone()
    };
    let report = |e: &sweep::EndpointSweep| sweep::chart::table(e);
    let all: String = saved.endpoints.iter().map(report).collect();
    assert_eq!(recommended("sturdy").as_deref(), Some("8"), "{all}");
    assert_eq!(recommended("touchy").as_deref(), Some("4"), "{all}");
}

#[test]
fn the_sweep_command_prints_tables_plot_and_recommendation() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("sweep");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args([
            "sweep",
            "-e",
            "a=openai:mock://ttft=50ms,itl=1ms,tokens=8#m",
        ])
        .args([
            "--concurrency",
            "1,2",
            "--per-level-requests",
            "4",
            "-q",
            "-o",
        ])
        .arg(&out)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("llmrace runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("TTFT p95"), "{stdout}");
    assert!(stdout.contains("a: concurrency 2"), "{stdout}");
    assert!(out.join("sweep.json").is_file());
    assert!(out.join("level-1").is_dir() && out.join("level-2").is_dir());
}

#[test]
fn a_sweep_over_open_loop_rates() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("sweep");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args([
            "sweep",
            "-e",
            "a=openai:mock://ttft=50ms,itl=1ms,tokens=8#m",
        ])
        .args([
            "--rates",
            "4/s,8/s",
            "--per-level-requests",
            "4",
            "-q",
            "-o",
        ])
        .arg(&out)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("llmrace runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("a: rate 8/s"), "{stdout}");
    assert!(out.join("level-4ps").is_dir() && out.join("level-8ps").is_dir());
    let text = std::fs::read_to_string(out.join("sweep.json")).expect("sweep.json");
    assert!(text.contains("\"rate_per_s\": 8.0"), "{text}");
}

#[test]
fn a_sweep_takes_the_races_workload_and_open_loop_flags() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("sweep");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args(["sweep", "-e", "a=openai:mock://ttft=5ms,itl=1ms,tokens=4#m"])
        .args(["--rates", "20/s", "--poisson", "--max-in-flight", "2"])
        .args(["--synthetic", "32..64", "--shuffle", "--seed", "11"])
        .args(["--temperature", "0.5", "--retries", "1"])
        .args(["--per-level-requests", "3", "-q", "-o"])
        .arg(&out)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("llmrace runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let run_json = std::fs::read_to_string(out.join("level-20ps").join("run.json"))
        .expect("the level's run.json");
    let run: serde_json::Value = serde_json::from_str(&run_json).expect("run.json parses");
    let race = &run["race"];
    let synthetic = &race["workload"]["prompts"]["synthetic"];
    assert_eq!(synthetic["seed"], 11, "{race}");
    assert_eq!(synthetic["distribution"], "uniform", "{race}");
    assert_eq!(race["workload"]["shuffle"], true, "{race}");
    assert_eq!(race["workload"]["seed"], 11, "{race}");
    assert_eq!(race["workload"]["temperature"], 0.5, "{race}");
    assert_eq!(race["load"]["arrivals"], "poisson", "{race}");
    assert_eq!(race["load"]["arrival_seed"], 11, "{race}");
    assert_eq!(race["load"]["max_in_flight"], 2, "{race}");
    assert_eq!(race["load"]["retries"], 1, "{race}");
}

#[test]
fn open_loop_flags_need_rate_levels() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_llmrace"))
        .args(["sweep", "-e", "a=openai:mock://turbo#m", "--poisson"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("llmrace runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--poisson") && stderr.contains("--rates"),
        "{stderr}"
    );
}
