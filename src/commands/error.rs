//! Why a subcommand could not do what it was asked, and the exit code each reason gives (the
//! README's table): 2 for what the user asked for, 1 for a file that could not be written, a
//! race's own code for a race.

use std::path::PathBuf;

use crate::race::RaceError;
use crate::replay::RunError;
use crate::threshold::ThresholdError;

/// Why a subcommand failed. Its message is printed after `error: `.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// A race, a sweep or a replay that could not run: the code is the race's own.
    #[error(transparent)]
    Race(Box<RaceError>),
    /// A `--fail-if` threshold that does not parse, or that names what the race does not have.
    #[error(transparent)]
    Threshold(#[from] ThresholdError),
    /// A saved race (`report`, `compare`) that cannot be read.
    #[error(transparent)]
    Run(#[from] RunError),
    /// `report --format` names no format.
    #[error("{0}")]
    Format(String),
    /// `replay --speed` that is not a speed.
    #[error("--speed {given}: {why}")]
    Speed { given: String, why: String },
    /// `replay N` past the recorded races.
    #[error(
        "there is no race number {n}: {count} recorded races in {} (run `llmrace replay` to list them)",
        .folder.display()
    )]
    NoSuchRace {
        n: usize,
        count: usize,
        folder: PathBuf,
    },
    #[error("compare needs two runs: BASE CURRENT")]
    TwoRunsNeeded,
    /// `compare --fail-on-regression` cannot give a verdict on these runs; `help` starts
    /// with `help: `.
    #[error("cannot gate {} against {}: {why}\n  {help}", .current.display(), .base.display())]
    CannotGate {
        current: PathBuf,
        base: PathBuf,
        why: String,
        help: String,
    },
    /// A file the command would write exists, and `--force` was not given.
    #[error(
        "cannot write {}: {source} (it exists; pass --force to overwrite it)",
        .path.display()
    )]
    Exists {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `--metrics-addr` (or `[export] prometheus`) where nothing can listen.
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
    /// `llmrace merge` refused its folders, or could not write the merged race.
    #[error(transparent)]
    Merge(#[from] crate::replay::MergeError),
    /// A file the command was asked to write (`report -o`, `init`) could not be written.
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl CommandError {
    /// The process exit code: 2 for a problem with what was asked, 1 for a file that could not
    /// be written, the race's own code for a race.
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        match self {
            CommandError::Race(e) => e.exit_code(),
            CommandError::Merge(e) => e.exit_code(),
            CommandError::Threshold(_)
            | CommandError::Run(_)
            | CommandError::Format(_)
            | CommandError::Speed { .. }
            | CommandError::NoSuchRace { .. }
            | CommandError::TwoRunsNeeded
            | CommandError::CannotGate { .. }
            | CommandError::Exists { .. }
            | CommandError::Export(_) => 2,
            CommandError::Write { .. } => 1,
        }
    }

    /// A file the command writes: refused when it exists (without `--force`), failed otherwise.
    pub(super) fn writing(path: &std::path::Path, source: std::io::Error) -> CommandError {
        let path = path.to_path_buf();
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            CommandError::Exists { path, source }
        } else {
            CommandError::Write { path, source }
        }
    }
}

impl From<RaceError> for CommandError {
    fn from(error: RaceError) -> CommandError {
        CommandError::Race(Box::new(error))
    }
}

/// A replay read (or rebuilt from) by a command fails as a race's replay does.
impl From<crate::record::ReplayError> for CommandError {
    fn from(error: crate::record::ReplayError) -> CommandError {
        CommandError::Race(Box::new(error.into()))
    }
}

/// Result files rebuilt by a command that cannot be written fail as a race's do.
impl From<crate::record::RecordError> for CommandError {
    fn from(error: crate::record::RecordError) -> CommandError {
        CommandError::Race(Box::new(error.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_exists_is_refused_and_one_that_cannot_be_written_fails() {
        let path = std::path::Path::new("race.toml");
        let exists = CommandError::writing(path, std::io::ErrorKind::AlreadyExists.into());
        assert_eq!(exists.exit_code(), 2);
        assert!(
            exists
                .to_string()
                .ends_with("(it exists; pass --force to overwrite it)"),
            "{exists}"
        );
        let denied = CommandError::writing(path, std::io::ErrorKind::PermissionDenied.into());
        assert_eq!(denied.exit_code(), 1);
        assert!(
            denied.to_string().starts_with("cannot write race.toml: "),
            "{denied}"
        );
    }
}
