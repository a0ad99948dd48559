//! llmrace: race LLM endpoints head to head. The modules, bottom to top, are mapped in
//! ARCHITECTURE.md; `race` wires one live race together, `playback` a recorded one, and
//! `commands` is the command edge that prints and chooses exit codes.

pub mod capacity;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
mod convert;
pub mod engine;
pub mod event;
pub mod format;
#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod mock;
pub mod pace;
pub mod print;
pub mod protocol;
pub mod race;
pub mod record;
pub mod replay;
pub mod replay_dashboard;
pub mod report;
mod runtime_lag;
pub mod rx_time;
pub mod secret;
pub mod signals;
mod spelling;
pub mod stats;
pub mod sweep;
pub mod threshold;
pub mod tokenizer;
pub mod tui;
pub mod workload;

pub use replay::{fold_replay, report};
pub use replay_dashboard::play;
