//! Everything the dashboard draws, one file per screen or panel. Each view renders a
//! [`Scene`](super::Scene) (or a part of one) into an area of the buffer with the toolkit in
//! [`draw`](super::draw); none reads the clock, locks or does I/O.

pub mod arena;
pub mod board;
pub mod charts;
pub mod feed;
pub mod finish;
pub mod footer;
pub mod header;
pub mod help;
pub mod inspector;
pub mod lane;
pub mod leaderboard;
pub mod log;
pub mod medals;
pub mod notices;
pub mod timeline;
pub mod track;
