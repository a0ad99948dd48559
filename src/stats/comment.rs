//! One line of the race's commentary (`stats::commentary` says what and when): what the
//! snapshots carry for the dashboard's feed and log.

use crate::event::Offset;

/// One line of commentary.
#[derive(Clone, Debug, PartialEq)]
pub struct Comment {
    /// Race time it happened at.
    pub t: Offset,
    /// The endpoint it is about (index into `Snapshot::endpoints`), for its colour.
    pub endpoint: Option<usize>,
    pub text: String,
}
