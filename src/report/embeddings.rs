//! What the reports show of an embeddings endpoint: its inputs/s, its batch and dimension,
//! and "n/a" where a figure belongs to generated text (TTFT, TPOT, ITL, output tokens), so a
//! blank never reads as a failure.

use crate::format::{count, rate};
use crate::stats::EndpointSnapshot;

/// The cell of a figure an embeddings endpoint does not have (or, in the inputs/s column, a
/// chat endpoint): not applicable, rather than missing.
pub const NOT_APPLICABLE: &str = "n/a";

/// Whether any endpoint of the race is an embeddings endpoint.
pub fn any(endpoints: &[EndpointSnapshot]) -> bool {
    endpoints.iter().any(|e| e.embeddings.is_some())
}

/// Whether every endpoint is one: the chat-only columns are then left out altogether.
pub fn all(endpoints: &[EndpointSnapshot]) -> bool {
    !endpoints.is_empty() && endpoints.iter().all(|e| e.embeddings.is_some())
}

/// Inputs embedded per second, or "n/a" for an endpoint that generates text.
pub fn inputs_per_s(e: &EndpointSnapshot) -> String {
    e.embeddings
        .map_or(NOT_APPLICABLE.to_string(), |m| rate(m.inputs_per_s))
}

/// The line under a table about an embeddings endpoint: `e: embeddings, 16 inputs a request,
/// 384 dimensions: 320 inputs, 4096 input tokens (92.1/s)`.
pub fn note(e: &EndpointSnapshot) -> Option<String> {
    let m = e.embeddings?;
    let dimension = m
        .dimension
        .map_or(String::new(), |d| format!(", {}", count(d, "dimension")));
    Some(format!(
        "{}: embeddings, {} a request{dimension}: {}, {} ({}/s); latency is request to last byte (TTLT)",
        e.name,
        count(m.batch, "input"),
        count(m.inputs, "input"),
        count(e.tokens.input, "input token"),
        rate(m.input_tokens_per_s),
    ))
}

/// A figure only generated text has (TTFT, TPOT, ITL), in milliseconds: "n/a" for an
/// embeddings endpoint.
pub fn chat_ms(e: &EndpointSnapshot, value: Option<f64>) -> String {
    chat(e, || crate::format::ms(value))
}

/// Any other figure only generated text has (output tokens, output tokens/s): "n/a" for an
/// embeddings endpoint.
pub fn chat(e: &EndpointSnapshot, text: impl FnOnce() -> String) -> String {
    match e.embeddings {
        Some(_) => NOT_APPLICABLE.to_string(),
        None => text(),
    }
}

/// The HTML headline's latency cells, each value with its text: TTFT p50, p90, p99, TTLT p50,
/// p99, TPOT p50, ITL p50; "n/a" where an embeddings endpoint has no figure (all but TTLT).
pub fn headline_latencies(e: &EndpointSnapshot) -> [(Option<f64>, String); 7] {
    let l = &e.latency;
    let every = |v: Option<f64>| (v, crate::format::ms(v));
    let text_only = |v: Option<f64>| (v, chat_ms(e, v));
    [
        text_only(l.ttft_ms.map(|s| s.p50)),
        text_only(l.ttft_ms.map(|s| s.p90)),
        text_only(l.ttft_ms.map(|s| s.p99)),
        every(l.ttlt_ms.map(|s| s.p50)),
        every(l.ttlt_ms.map(|s| s.p99)),
        text_only(l.tpot_ms.map(|s| s.p50)),
        text_only(l.itl_ms.map(|s| s.p50)),
    ]
}
