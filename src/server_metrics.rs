//! What a serving stack says about itself on its Prometheus `/metrics` page, read into one
//! vocabulary: queue, running, KV-cache use, prefix-cache hits, speculative decoding. vLLM,
//! SGLang, llama.cpp and TGI name these differently; a reading names them once.
//!
//! This module only parses and maps text; fetching it (on a connection of its own, never a
//! racing one) is the scraper's job, and turning readings into figures over time is `stats`'s.

mod reading;
mod text;
mod vocabulary;

pub use reading::{MOCK_MARKER, ServerKind, ServerReading};

/// One `/metrics` page read: the reading, and every series on it as written
/// (`name{labels}` → value), for the files, so a server llmrace does not know is still
/// recorded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Page {
    pub reading: ServerReading,
    pub series: Vec<(String, f64)>,
}

/// Reads a `/metrics` page (the Prometheus text format or `OpenMetrics`). `model`, when given,
/// picks the series labelled with that model where a server serves several.
///
/// # Errors
/// When the text is not a metrics page: says what was wrong, in words for a notice.
pub fn read(text: &str, model: Option<&str>) -> Result<Page, String> {
    let samples = text::parse(text)?;
    let reading = vocabulary::reading(&samples, model);
    let series = samples.iter().map(|s| (s.series(), s.value)).collect();
    Ok(Page { reading, series })
}

#[cfg(test)]
mod tests;

/// Whether an error of [`read`] says the page has more series than llmrace reads (a page too
/// large, not one that is not a metrics page).
pub fn too_many_series(why: &str) -> bool {
    why.starts_with(text::TOO_MANY_SERIES)
}
