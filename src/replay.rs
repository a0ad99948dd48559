//! A recorded race read back. The replay file's format is what a race leaves on disk
//! (`record::replay`: writer, reader, damage); this module is everything done with it after:
//!
//! - [`fold`]: a replay's events folded through the same aggregator a live race feeds, so the
//!   numbers are the race's own;
//! - [`load`]: a finished race loaded for reports, from its result files, its replay, or the
//!   request records a cut race left (those too folded by the aggregator);
//! - [`rebuild`]: a race's result files written again from its replay;
//! - [`merge`]: the shards of one race (`--shard K/N`) merged into one results folder, their
//!   replays interleaved on the shared wall clock and folded as one race;
//! - [`player`]: the virtual clock of `llmrace replay` (pause, speed, seek), over a compressed
//!   event log, and the task that moves it with real time.
//!
//! Wiring the player to the dashboard is `replay_dashboard.rs`'s job, above this module and
//! `tui/`; nothing here draws.

pub mod fold;
pub mod load;
pub mod merge;
pub mod player;
pub mod rebuild;

pub use fold::{fold_replay, fold_stream};
pub use load::{Records, Run, RunError};
pub use merge::{MergeError, MergeOptions, merge};
pub use player::load_for_playback;
#[cfg(any(test, feature = "test-support"))]
pub use rebuild::report;
pub use rebuild::report_file;

#[cfg(test)]
mod tests;
