//! A race in the test process through the library: build one against built-in mocks, run it
//! into a temporary folder, read the result files back. Also included by path into
//! tests/llamacpp.rs, so it declares no modules of its own.

use std::path::Path;
use std::time::Duration;

use llmrace::config::{RaceConfig, demo_race, parse_endpoint_spec};
use llmrace::stats::RequestRecord;

/// A race of `requests` requests at concurrency `concurrency` against `endpoints`
/// (`NAME=PROTOCOL:URL#MODEL` specs), short timeouts so fault tests end quickly.
pub fn race_config(endpoints: &[&str], requests: u64, concurrency: u32) -> RaceConfig {
    let mut config = demo_race();
    config.name = "test".to_string();
    config.endpoints = endpoints
        .iter()
        .map(|spec| parse_endpoint_spec(spec).expect("valid endpoint spec"))
        .collect();
    config.load.requests = Some(requests);
    config.load.concurrency = concurrency;
    config.workload.max_tokens = Some(16);
    config.timeouts.first_token = Duration::from_secs(2);
    config.timeouts.idle = Duration::from_millis(500);
    config.timeouts.total = Duration::from_secs(20);
    config
}

pub async fn run(config: RaceConfig, out: &Path) -> llmrace::race::RaceOutcome {
    attempt(config, out).await.expect("race runs")
}

/// The race of `config`, quietly, its results in `out`: its outcome, or why it did not run.
pub async fn attempt(
    config: RaceConfig,
    out: &Path,
) -> Result<llmrace::race::RaceOutcome, llmrace::race::RaceError> {
    let options = llmrace::race::RaceOptions {
        out: Some(out.to_path_buf()),
        quiet: true,
        replay: true,
        dashboard: None,
        replace: None,
        tell: llmrace::race::Teller::default(),
        metrics: None,
        start_at: None,
    };
    llmrace::race::race(
        config,
        Path::new("."),
        &options,
        llmrace::signals::Shutdown::listen(),
    )
    .await
}

pub fn records(dir: &Path) -> Vec<RequestRecord> {
    let text = std::fs::read_to_string(dir.join("requests.jsonl")).expect("requests.jsonl");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("a request record"))
        .collect()
}
