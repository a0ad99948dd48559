//! Why shard folders could not be merged: each message says which folder or shard, what is
//! wrong, and what to do. Refusals are setup errors (exit 2); files that could not be written
//! exit 1.

use std::path::PathBuf;

use crate::record::{RecordError, ReplayError};

const SHARDS_HELP: &str = "help: pass the results folders of one race's shards (each written \
                           by `llmrace race … --shard K/N -o DIR`)";

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{} does not exist\n  {SHARDS_HELP}", .path.display())]
    NotFound { path: PathBuf },
    #[error(
        "{} is a file, not a results folder: give the folder a shard wrote (its replay's \
         folder)\n  {SHARDS_HELP}",
        .path.display()
    )]
    NotAFolder { path: PathBuf },
    #[error(
        "{} is not a race's results folder: it holds neither run.json nor replay.jsonl.gz\n  \
         {SHARDS_HELP}",
        .path.display()
    )]
    NotResults { path: PathBuf },
    #[error(
        "{} holds no shard's results: {why}\n  help: pass --allow-missing to merge the other \
         shards with this one said to be missing, or leave the folder out",
        .path.display()
    )]
    Unstarted { path: PathBuf, why: String },
    #[error(
        "{}: its run.json says it is shard {run}, its replay says shard {replay}: are two \
         shards' files mixed in one folder?\n  help: put each shard's files back in its own \
         folder (a shard's run.json and replay are written by one process)",
        .path.display()
    )]
    ShardsDisagree {
        path: PathBuf,
        run: String,
        replay: String,
    },
    #[error(
        "{} holds a race run without --shard K/N, not a shard: only shards of one race merge\n  \
         {SHARDS_HELP}",
        .path.display()
    )]
    NotAShard { path: PathBuf },
    #[error(
        "{} is already a merged race (of {count} shards): merge the shards' own folders\n  \
         {SHARDS_HELP}",
        .path.display()
    )]
    AlreadyMerged { path: PathBuf, count: usize },
    #[error(
        "{} says it is shard {shard}, which no race has (K counts from 0 and stays below N): \
         is its run.json damaged?",
        .path.display()
    )]
    BadShard { path: PathBuf, shard: String },
    #[error(
        "{} says its race was split into {count} shards, more than merge takes ({}): is its \
         run.json damaged?",
        .path.display(), super::inputs::MAX_SHARDS
    )]
    TooManyShards { path: PathBuf, count: u32 },
    #[error(
        "shard {shard} ({}) has no replay (replay.jsonl.gz; was it run with --no-replay?): merge \
         rebuilds the race's numbers from every event, which only the replay holds\n  help: run \
         the shard again without --no-replay, or pass --allow-missing to merge the others \
         without it",
        .path.display()
    )]
    NoReplay { shard: String, path: PathBuf },
    #[error("{}: {source}", .path.display())]
    Replay { path: PathBuf, source: ReplayError },
    #[error(
        "shard {first} ({}) and shard {other} ({}) are shards of different races: {what}\n  \
         help: merge only the shards of one race (the same race file, flags, seed and N)",
        .first_path.display(), .other_path.display()
    )]
    DifferentRaces {
        first: String,
        first_path: PathBuf,
        other: String,
        other_path: PathBuf,
        what: String,
    },
    #[error(
        "shard {shard} is given twice: {} and {}\n  help: pass each shard's folder once",
        .first.display(), .second.display()
    )]
    Duplicate {
        shard: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("{what} missing: pass {their} folder{s} or --allow-missing", s = if *.several { "s" } else { "" }, their = if *.several { "their" } else { "its" })]
    Missing { what: String, several: bool },
    #[error(
        "no shard left to merge: {why}\n  help: pass the folders of shards that ran (with their \
         replays)"
    )]
    Nothing { why: String },
    #[error(
        "shard {shard} ({}) numbers a request {id}, too high to be made unique across {count} \
         shards: is its replay damaged?",
        .path.display()
    )]
    RequestId {
        shard: String,
        path: PathBuf,
        id: u64,
        count: u32,
    },
    /// The output folder refused (`record::folder::check_named_folder`'s message), or one of
    /// the shards' own folders.
    #[error("{0}")]
    Out(String),
    #[error("cannot write the merged race: {0}")]
    Write(#[from] RecordError),
    #[error("cannot write the merged race: {0}")]
    WriteReplay(ReplayError),
}

impl MergeError {
    /// 1 for files that could not be written, 2 for everything refused.
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        match self {
            MergeError::Write(_) | MergeError::WriteReplay(_) => 1,
            _ => 2,
        }
    }
}
