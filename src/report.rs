//! Human-readable views of a race outside the dashboard: the live progress line of a headless
//! race and the final per-endpoint table.

pub mod format;
pub mod progress;
pub mod table;
