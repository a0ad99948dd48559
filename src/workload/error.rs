//! Why prompts could not be loaded, and how often a long load looks at its stop flag (a stop is
//! [`WorkloadError::Stopped`]).

use std::path::PathBuf;

/// Prompts that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error("cannot read prompts file {}: {io}\n  help: check the path (relative paths in a race file are relative to the race file)", path.display())]
    Read { path: PathBuf, io: std::io::Error },
    #[error("the prompts file {} is a folder\n  help: name a file in it: one prompt a line, a .jsonl file of {{\"prompt\": ...}} lines or a ShareGPT .json file", path.display())]
    Folder { path: PathBuf },
    #[error("{source_name}:{line}: {problem}\n  help: {help}")]
    Line {
        source_name: String,
        line: usize,
        problem: String,
        help: String,
    },
    #[error("{source_name}:{line}:{column}: {problem}\n  help: {help}")]
    Json {
        source_name: String,
        line: usize,
        column: usize,
        problem: String,
        help: String,
    },
    #[error(
        "{source_name}: no conversation has a human turn ({skipped} without one)\n  help: \
         ShareGPT turns are {{\"from\": \"human\", \"value\": \"...\"}}; the first human turn \
         of each conversation is its prompt"
    )]
    NoConversations { source_name: String, skipped: usize },
    #[error("unknown built-in prompt set `{name}`\n  help: built-in sets: chat, rag, code, long")]
    UnknownBuiltin { name: String },
    #[error("{source_name}: holds no prompts\n  help: give at least one prompt")]
    Empty { source_name: String },
    #[error("{source_name}: more than {} prompts", u32::MAX)]
    TooMany { source_name: String },
    #[error(
        "{source_name}:{line}: this conversation has {has} user turn(s), fewer than the {turns} \
         turns asked for (the longest has {longest})\n  help: lower --turns (or `turns`) to \
         {longest} or less, or use a dataset with longer conversations"
    )]
    TooFewTurns {
        source_name: String,
        line: usize,
        has: usize,
        longest: usize,
        turns: u32,
    },
    #[error("cannot read trace file {}: {io}\n  help: check the path (relative paths in a race file are relative to the race file)", path.display())]
    TraceRead { path: PathBuf, io: std::io::Error },
    #[error("{source_name}: {problem}\n  help: {help}")]
    Trace {
        source_name: String,
        problem: String,
        help: String,
    },
    #[error("making the prompts was stopped")]
    Stopped,
    #[error("cannot make the generated images: {0}")]
    Images(String),
}

/// Lines or conversations read between two looks at `stop`: a file of millions takes seconds.
pub(super) const STOP_EVERY: usize = 1024;
