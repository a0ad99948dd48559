//! llmrace: race LLM endpoints head to head. The modules, bottom to top, are mapped in
//! ARCHITECTURE.md; `race` wires one live race together, `replay_dashboard` a recorded one, and
//! `commands` is the command edge that prints and chooses exit codes.
//!
//! # The crate's surface
//!
//! In a normal build every module is `pub(crate)` or private, so the compiler flags any item
//! nothing in the crate uses (`cargo clippy` without `--all-targets` is what catches it), and
//! the public surface is the short `pub use` list at the end: what the binary (`main.rs`) calls
//! and what the benches use beyond the `test-support` feature.
//!
//! The integration tests (`tests/e2e`, `tests/llamacpp.rs`), the benches and the fuzz targets
//! reach further in: they build the crate with the `test-support` feature (the dev-dependency
//! on itself, `fuzz/Cargo.toml`), and with it every module that is not private is `pub`. Each
//! module is therefore declared twice, once per side of the feature, rather than by a macro:
//! `rustfmt` does not follow module declarations inside a macro, and would leave the whole crate
//! unformatted.
//! Items only the tests, benches or fuzz targets use are gated with
//! `#[cfg(any(test, feature = "test-support"))]`, so the release binary is built without them.

#[cfg(feature = "test-support")]
pub mod aws_auth;
#[cfg(not(feature = "test-support"))]
pub(crate) mod aws_auth;
#[cfg(feature = "test-support")]
pub mod capacity;
#[cfg(not(feature = "test-support"))]
pub(crate) mod capacity;
#[cfg(feature = "test-support")]
pub mod cli;
#[cfg(not(feature = "test-support"))]
pub(crate) mod cli;
#[cfg(feature = "test-support")]
pub mod clock;
#[cfg(not(feature = "test-support"))]
pub(crate) mod clock;
#[cfg(feature = "test-support")]
pub mod commands;
#[cfg(not(feature = "test-support"))]
pub(crate) mod commands;
#[cfg(feature = "test-support")]
pub mod config;
#[cfg(not(feature = "test-support"))]
pub(crate) mod config;
mod convert;
#[cfg(feature = "test-support")]
pub mod engine;
#[cfg(not(feature = "test-support"))]
pub(crate) mod engine;
#[cfg(feature = "test-support")]
pub mod event;
#[cfg(not(feature = "test-support"))]
pub(crate) mod event;
#[cfg(feature = "test-support")]
pub mod export;
#[cfg(not(feature = "test-support"))]
pub(crate) mod export;
#[cfg(feature = "test-support")]
pub mod format;
#[cfg(not(feature = "test-support"))]
pub(crate) mod format;
#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "test-support")]
pub mod mock;
#[cfg(not(feature = "test-support"))]
pub(crate) mod mock;
#[cfg(feature = "test-support")]
pub mod pace;
#[cfg(not(feature = "test-support"))]
pub(crate) mod pace;
#[cfg(feature = "test-support")]
pub mod print;
#[cfg(not(feature = "test-support"))]
pub(crate) mod print;
#[cfg(feature = "test-support")]
pub mod protocol;
#[cfg(not(feature = "test-support"))]
pub(crate) mod protocol;
#[cfg(feature = "test-support")]
pub mod proxy_env;
#[cfg(not(feature = "test-support"))]
pub(crate) mod proxy_env;
#[cfg(feature = "test-support")]
pub mod race;
#[cfg(not(feature = "test-support"))]
pub(crate) mod race;
#[cfg(feature = "test-support")]
pub mod record;
#[cfg(not(feature = "test-support"))]
pub(crate) mod record;
#[cfg(feature = "test-support")]
pub mod replay;
#[cfg(not(feature = "test-support"))]
pub(crate) mod replay;
#[cfg(feature = "test-support")]
pub mod replay_dashboard;
#[cfg(not(feature = "test-support"))]
pub(crate) mod replay_dashboard;
#[cfg(feature = "test-support")]
pub mod report;
#[cfg(not(feature = "test-support"))]
pub(crate) mod report;
mod runtime_lag;
#[cfg(feature = "test-support")]
pub mod rx_time;
#[cfg(not(feature = "test-support"))]
pub(crate) mod rx_time;
#[cfg(feature = "test-support")]
pub mod secret;
#[cfg(not(feature = "test-support"))]
pub(crate) mod secret;
#[cfg(feature = "test-support")]
pub mod server_metrics;
#[cfg(not(feature = "test-support"))]
pub(crate) mod server_metrics;
#[cfg(feature = "test-support")]
pub mod share;
#[cfg(not(feature = "test-support"))]
pub(crate) mod share;
#[cfg(feature = "test-support")]
pub mod signals;
#[cfg(not(feature = "test-support"))]
pub(crate) mod signals;
mod spelling;
#[cfg(feature = "test-support")]
pub mod stats;
#[cfg(not(feature = "test-support"))]
pub(crate) mod stats;
#[cfg(feature = "test-support")]
pub mod sweep;
#[cfg(not(feature = "test-support"))]
pub(crate) mod sweep;
#[cfg(feature = "test-support")]
pub mod threshold;
#[cfg(not(feature = "test-support"))]
pub(crate) mod threshold;
#[cfg(feature = "test-support")]
pub mod tokenizer;
#[cfg(not(feature = "test-support"))]
pub(crate) mod tokenizer;
#[cfg(feature = "test-support")]
pub mod tui;
#[cfg(not(feature = "test-support"))]
pub(crate) mod tui;
#[cfg(feature = "test-support")]
pub mod workload;
#[cfg(not(feature = "test-support"))]
pub(crate) mod workload;

// What `main.rs` calls: the flags, the subcommands, the exit codes and the last word printed.
pub use capacity::raise_open_file_limit;
pub use cli::{Cli, Command};
pub use commands::{
    compare_command, init_command, merge_command, mock_command, race_command, replay_command,
    report_command, share_command, sweep_command,
};
pub use print::err as print_error;
pub use rx_time::gather::before_park as gather_before_park;
// What the benches and the end-to-end tests fold a replay with.
pub use replay::fold_replay;
#[cfg(feature = "test-support")]
pub use replay::report;
pub(crate) use replay_dashboard::play;
