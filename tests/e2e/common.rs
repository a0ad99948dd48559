//! Helpers shared by the end-to-end modules.

pub mod browser;
pub mod proxy;
pub mod race;
pub mod refusing;
pub mod replay_lines;
pub mod running;
pub mod shards;
pub mod tmux;
