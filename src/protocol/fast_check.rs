//! The OpenAI fast path (`openai/fast.rs`) checked against serde, chunk by chunk: for the
//! differential tests and the fuzz targets.

use super::{completions, openai};

/// Checks that the fast path reads `data` (one chunk's JSON) as serde does, for chat and for
/// legacy completions: where it gives parts, serde gives the same ones.
///
/// # Panics
/// When they differ: that is the finding.
pub fn agrees(data: &str) {
    openai::fast_agrees(data, None);
    openai::fast_agrees(data, Some(completions::parse_serde));
}

/// Whether the fast path reads `data` itself, for chat or for legacy completions.
#[cfg(test)]
fn fast_reads(data: &str) -> bool {
    openai::fast_reads(data)
}

#[cfg(test)]
mod tests;
