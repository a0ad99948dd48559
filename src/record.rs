//! What a race leaves on disk: one folder per race with `run.json`, `requests.jsonl`,
//! `requests.csv` and `summary.json`. Request records stream to disk as requests end, so memory
//! stays flat however long the race runs; every file appears under its final name only once
//! complete (written aside, then renamed).

pub mod disk;
mod endpoint_info;
pub mod expected_cache;
pub mod files;
pub mod folder;
pub mod recorder;
pub mod replay;
pub mod results;
pub mod run_info;
pub mod server_file;
mod shard_run;

pub use endpoint_info::EndpointInfo;
pub use files::REPLAY_FILE;
pub use folder::{default_runs_dir, race_folder, recent_races};
pub use recorder::Recorder;
pub use replay::{Replay, ReplayEnd, ReplayError, ReplayHeader, ReplayWriter};
pub use results::{RecordError, ResultsWriter};
pub use run_info::{RunInfo, Summary};
