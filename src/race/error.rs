//! Why a race could not run, and the exit code each reason gives: 2 for what the user asked
//! for (found before anything is sent), 1 for failures while running, a signal's own code.

use std::path::PathBuf;

use crate::{aws_auth, capacity, config, engine, record, secret, signals, workload};

/// Why a race could not run. Setup problems (exit code 2) are found before anything is sent.
#[derive(Debug, thiserror::Error)]
pub enum RaceError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Workload(#[from] workload::WorkloadError),
    #[error(transparent)]
    Secret(#[from] secret::SecretError),
    #[error(transparent)]
    AwsAuth(#[from] aws_auth::AwsAuthError),
    #[error(transparent)]
    Target(#[from] engine::TargetError),
    #[error(transparent)]
    Capacity(#[from] capacity::CapacityError),
    #[error(transparent)]
    Proxy(#[from] crate::proxy_env::ProxyError),
    /// A signal came before the first request was sent: there is nothing to save.
    #[error("stopped by {} before the race started: nothing was sent", .0.name())]
    StoppedBeforeStart(signals::Signal),
    #[error("endpoint `{endpoint}`: cannot start the built-in mock server: {message}")]
    Mock { endpoint: String, message: String },
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    #[error(transparent)]
    Record(#[from] record::RecordError),
    #[error(transparent)]
    Replay(#[from] record::ReplayError),
    #[error(
        "no results folder: the platform data folder is unknown here; choose one with --out DIR"
    )]
    NoDataDir,
    /// The results folder asked for cannot take this race: it holds results llmrace did not
    /// write, or an earlier race's files (without `--force`) that cannot be replaced.
    #[error("{0}")]
    ResultsFolder(String),
    /// A task of the start-up panicked (a bug): `what` it was doing, and the panic's text.
    #[error("{what} failed: {why}")]
    StartUpFailed { what: &'static str, why: String },
    #[error("the dashboard failed: {0}")]
    Dashboard(String),
    #[error(
        "llmrace failed inside ({why}) and stopped the race. What was recorded until then is in \
         {dir}: requests.jsonl.partial, and replay.jsonl.gz, which `llmrace report {dir}` reads. \
         Please report this as a bug."
    )]
    Crashed { why: String, dir: PathBuf },
}

impl RaceError {
    /// 2 for problems with what the user asked for, 1 for failures while running (llmrace's
    /// own included), a signal's code (128 + its number) for a stop before the start.
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        match self {
            RaceError::StoppedBeforeStart(signal) => signal.exit_code(),
            // The replay's file failing as the race writes it, not a replay that is read.
            RaceError::Replay(record::ReplayError::Write { .. }) => 1,
            RaceError::Config(_)
            | RaceError::Workload(_)
            | RaceError::Secret(_)
            | RaceError::AwsAuth(_)
            | RaceError::Target(_)
            | RaceError::Capacity(_)
            | RaceError::Proxy(_)
            | RaceError::Mock { .. }
            | RaceError::NoDataDir
            | RaceError::ResultsFolder(_)
            | RaceError::Tls(_)
            | RaceError::Replay(_)
            | RaceError::Record(
                record::RecordError::CreateFolder { .. }
                | record::RecordError::NotWritable { .. }
                | record::RecordError::LowSpace { .. },
            ) => 2,
            RaceError::Record(_)
            | RaceError::StartUpFailed { .. }
            | RaceError::Dashboard(_)
            | RaceError::Crashed { .. } => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llmrace_failing_at_start_up_is_not_a_usage_error() {
        let error = RaceError::StartUpFailed {
            what: "loading the prompts",
            why: "a panic".to_string(),
        };
        assert_eq!(error.to_string(), "loading the prompts failed: a panic");
        assert_eq!(error.exit_code(), 1);
    }

    #[test]
    fn a_results_folder_refused_is_a_usage_error() {
        let error = RaceError::ResultsFolder("cannot replace out/run.json: gone".to_string());
        assert_eq!(error.to_string(), "cannot replace out/run.json: gone");
        assert_eq!(error.exit_code(), 2);
    }
}
