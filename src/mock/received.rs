//! The request bodies the mock received, kept for tests only (built under `test-support`):
//! an end-to-end test reads what the engine really sent, e.g. that a session's second turn
//! carries the first turn's answer. Bounded, so a long run under test keeps little.

use std::sync::Mutex;

use bytes::Bytes;

/// Bodies kept at most: the first ones a test sends.
const KEPT: usize = 1024;

#[derive(Default)]
pub(crate) struct Received(Mutex<Vec<Bytes>>);

impl Received {
    /// Keeps a generation request's body, while fewer than [`KEPT`] are.
    pub(crate) fn keep(&self, body: &Bytes) {
        if let Ok(mut bodies) = self.0.lock()
            && bodies.len() < KEPT
        {
            bodies.push(body.clone());
        }
    }

    /// The bodies kept, in the order they arrived.
    pub(crate) fn bodies(&self) -> Vec<Bytes> {
        self.0.lock().map(|b| b.clone()).unwrap_or_default()
    }
}
