//! How the mock hands a streamed answer to its socket: coalesced (whatever is due leaves in
//! one write, so a client reads dozens of events per system call when there are no delays) or
//! one write per event, as inference servers write each token as soon as it is decoded.

use std::fmt;

/// How a streamed body's pieces reach the socket (`delivery=` in a profile spec).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Delivery {
    /// Every piece that is due goes into one frame, and hyper writes the frames it has queued
    /// together: cheap for the mock, flattering for a client.
    #[default]
    Coalesced,
    /// Every piece (an SSE event, an NDJSON line, an event-stream frame) is a frame of its own
    /// and is flushed before the next is made: one write per event on the `TCP_NODELAY`
    /// socket, even with zero delays. The opening and the closing pieces (a role or start event;
    /// the usage and the end marker) are one write each.
    PerEvent,
}

impl Delivery {
    /// What `delivery=` accepts, for error messages.
    pub(crate) const EXPECTED: &'static str = "`coalesced` or `per-event`";

    /// Reads a `delivery=` value.
    pub(crate) fn parse(value: &str) -> Option<Delivery> {
        match value {
            "coalesced" => Some(Delivery::Coalesced),
            "per-event" | "per_event" => Some(Delivery::PerEvent),
            _ => None,
        }
    }
}

impl fmt::Display for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Delivery::Coalesced => "coalesced",
            Delivery::PerEvent => "per-event",
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_from_their_names() {
        for delivery in [Delivery::Coalesced, Delivery::PerEvent] {
            assert_eq!(Delivery::parse(&delivery.to_string()), Some(delivery));
        }
        assert_eq!(Delivery::parse("per_event"), Some(Delivery::PerEvent));
        assert_eq!(Delivery::parse("batched"), None);
        assert_eq!(Delivery::parse(""), None);
    }
}
