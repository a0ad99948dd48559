//! Configuration errors: every message says what went wrong, where (`file:line:col` and the key
//! path, or the command-line flag) and what is allowed or what to do next.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::secret::redact_url;

/// Where a configuration value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A race file; `line_col` (1-based) is absent when the problem has no single place, such as
    /// a key that is missing.
    File {
        path: PathBuf,
        line_col: Option<(usize, usize)>,
    },
    /// A command-line flag.
    CommandLine,
}

impl Location {
    /// The place in `text` (the contents of `path`) that starts at byte `offset`.
    pub(crate) fn at_offset(path: &Path, text: &str, offset: usize) -> Location {
        Location::File {
            path: path.to_path_buf(),
            line_col: Some(line_col(text, offset)),
        }
    }

    /// The whole file, for problems with no single place in it.
    pub(crate) fn file(path: &Path) -> Location {
        Location::File {
            path: path.to_path_buf(),
            line_col: None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File {
                path,
                line_col: Some((line, col)),
            } => write!(f, "{}:{line}:{col}", path.display()),
            Location::File {
                path,
                line_col: None,
            } => write!(f, "{}", path.display()),
            Location::CommandLine => f.write_str("command line"),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset; offsets past the end or inside a
/// character are clamped so a bad span from a parser still gives a usable place.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// A race configuration that cannot be used, from a file or from the command line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The race file could not be read.
    #[error("{}", read_message(path, io))]
    Read { path: PathBuf, io: std::io::Error },
    /// The race file holds nothing but whitespace and comments.
    #[error(
        "{}: the race file is empty\n  help: a race needs at least one [[endpoint]]; \
         run `llmrace init {}` to write a commented example",
        path.display(),
        path.display()
    )]
    Empty { path: PathBuf },
    /// The file is not valid TOML.
    #[error(
        "{at}: TOML syntax error: {message}\n  help: check the quotes, brackets and \
         `key = value` pairs at this place"
    )]
    Syntax { at: Location, message: String },
    /// A key or value that is not allowed. `key` is the key path (`endpoint[1].protocol`,
    /// indices from 0) or the flag (`--endpoint`).
    #[error("{}", invalid_message(at, key, problem, help))]
    Invalid {
        at: Location,
        key: String,
        problem: String,
        help: String,
    },
    /// A header refers to an environment variable (`${NAME}`) that is not set.
    #[error(
        "endpoint `{endpoint}`: header `{header}` refers to ${{{var}}}, but the environment \
         variable {var} is not set\n  help: export {var}=... before starting the race, or \
         remove the header"
    )]
    HeaderEnv {
        endpoint: String,
        header: String,
        var: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(
        at: Location,
        key: impl Into<String>,
        problem: impl Into<String>,
        help: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            at,
            key: key.into(),
            problem: problem.into(),
            help: help.into(),
        }
    }
}

fn read_message(path: &Path, io: &std::io::Error) -> String {
    let shown = path.display();
    let help = match io.kind() {
        std::io::ErrorKind::NotFound => format!(
            "check the path, or run `llmrace init {shown}` to write a commented example race file"
        ),
        std::io::ErrorKind::PermissionDenied => "check the file's permissions".to_string(),
        std::io::ErrorKind::InvalidData => "a race file must be UTF-8 text (TOML)".to_string(),
        _ => "check that the path names a readable TOML file".to_string(),
    };
    format!("cannot read race file {shown}: {io}\n  help: {help}")
}

fn invalid_message(at: &Location, key: &str, problem: &str, help: &str) -> String {
    let mut message = if key.is_empty() {
        format!("{at}: {problem}")
    } else {
        format!("{at}: {key}: {problem}")
    };
    if !help.is_empty() {
        message.push_str("\n  help: ");
        message.push_str(help);
    }
    message
}

/// A value echoed back in a message, with secrets in URLs removed (a value the user typed may
/// hold a key in its query string).
pub(crate) fn shown(value: &str) -> String {
    format!("`{}`", redact_url(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_in_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        let eq = text.find("= 2").unwrap_or_default();
        assert_eq!(line_col(text, eq), (2, 4));
        assert_eq!(line_col(text, 999), (3, 1));
    }

    #[test]
    fn invalid_message_names_place_key_and_help() {
        let err = ConfigError::invalid(
            Location::File {
                path: "race.toml".into(),
                line_col: Some((3, 7)),
            },
            "load.requests",
            "must be at least 1",
            "write e.g. `requests = 20`",
        );
        assert_eq!(
            err.to_string(),
            "race.toml:3:7: load.requests: must be at least 1\n  help: write e.g. `requests = 20`"
        );
    }
}
