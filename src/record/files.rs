//! The names of the files in a results folder, in one place: what a race writes, what
//! `llmrace report` and `replay` read back, and what `--force` may replace. Each file is
//! written aside under its [`partial`] name first and renamed into place once complete.

use std::path::{Path, PathBuf};

/// The race as run: `record::RunInfo`.
pub const RUN_JSON: &str = "run.json";
/// The final numbers: `record::Summary`.
pub const SUMMARY_JSON: &str = "summary.json";
/// One request record a line, as requests end.
pub const REQUESTS_JSONL: &str = "requests.jsonl";
/// The request records as a table.
pub const REQUESTS_CSV: &str = "requests.csv";
/// Every scrape of the servers' own metrics (`record::server_file`), when there was any.
pub const SERVER_METRICS_JSONL: &str = "server_metrics.jsonl";
/// The race's every event (`record::replay`).
pub const REPLAY_FILE: &str = "replay.jsonl.gz";
/// A sweep's file of every level's numbers, beside its `level-<n>/` race folders.
pub const SWEEP_FILE: &str = "sweep.json";

/// The files a race writes besides its replay.
pub const RESULT_FILES: [&str; 5] = [
    REQUESTS_JSONL,
    REQUESTS_CSV,
    RUN_JSON,
    SUMMARY_JSON,
    SERVER_METRICS_JSONL,
];

/// Where the file `name` of `dir` is written until it is complete: `NAME.partial`.
pub fn partial(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.partial"))
}
