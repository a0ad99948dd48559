//! The bodies of the fuzz targets in `fuzz/`, kept in the library so that
//! `tests/e2e/fuzz_corpus.rs` replays the saved corpus through exactly the same code on stable
//! Rust. Built only with the `test-support` feature, which the tests and `fuzz/` turn on.
//!
//! Each function takes arbitrary bytes and must neither panic nor allocate without bound. The
//! stream functions also check the decoders' promise that any split of a body decodes to the
//! same items, with split points taken from the input so the fuzzer explores them too.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::protocol::ndjson::{Line, LineSplitter};
use crate::protocol::sse::{SseItem, SseParser};
use crate::protocol::{Decoded, Decoder, Protocol};

/// The SSE parser: the events of the body fed whole equal those of the body fed in pieces.
///
/// # Panics
/// When the two disagree: that is the finding.
pub fn sse(data: &[u8]) {
    let (cuts, body) = split_plan(data);
    let whole = sse_items(body, &[]);
    let split = sse_items(body, &cuts);
    assert_eq!(
        whole, split,
        "the SSE events depend on where the body was split"
    );
}

/// The NDJSON splitter: the lines of the body fed whole equal those of the body fed in pieces.
///
/// # Panics
/// When the two disagree: that is the finding.
pub fn ndjson(data: &[u8]) {
    let (cuts, body) = split_plan(data);
    let whole = ndjson_lines(body, &[]);
    let split = ndjson_lines(body, &cuts);
    assert_eq!(
        whole, split,
        "the NDJSON lines depend on where the body was split"
    );
}

/// The OpenAI chat decoder, streaming or not as the first byte says; its fast path decodes as
/// serde does.
pub fn openai_chat(data: &[u8]) {
    decoder(Protocol::OpenAiChat, data);
    fast_path(Protocol::OpenAiChat, data);
}

/// The OpenAI completions decoder, streaming or not as the first byte says; its fast path
/// decodes as serde does.
pub fn openai_completions(data: &[u8]) {
    decoder(Protocol::OpenAiCompletions, data);
    fast_path(Protocol::OpenAiCompletions, data);
}

/// The OpenAI fast path (`protocol/openai/fast.rs`) against serde: the decoder with it and the
/// one without give the same items for the body split as planned, and each line of the body, as
/// one chunk's JSON, reads alike in both.
///
/// # Panics
/// When they differ: that is the finding.
fn fast_path(protocol: Protocol, data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let stream = flags & 1 == 1;
    let (cuts, body) = split_plan(rest);
    let fast = decode(protocol, stream, body, &cuts);
    let slow = decode_with(protocol.decoder_serde_only(stream), body, &cuts);
    assert_eq!(
        fast, slow,
        "{protocol} (stream: {stream}): the fast path decodes differently from serde"
    );
    if let Ok(text) = std::str::from_utf8(body) {
        for line in text.lines() {
            crate::protocol::fast_path_agrees(line.strip_prefix("data:").unwrap_or(line).trim());
        }
    }
}

/// The Anthropic Messages decoder, streaming or not as the first byte says.
pub fn anthropic(data: &[u8]) {
    decoder(Protocol::Anthropic, data);
}

/// The Ollama chat decoder, streaming or not as the first byte says.
pub fn ollama(data: &[u8]) {
    decoder(Protocol::Ollama, data);
}

/// The OpenAI Responses API decoder, streaming or not as the first byte says.
pub fn responses(data: &[u8]) {
    decoder(Protocol::Responses, data);
}

/// The Gemini decoder, streaming or not as the first byte says.
pub fn gemini(data: &[u8]) {
    decoder(Protocol::Gemini, data);
}

/// The Bedrock decoder (AWS event-stream frames, or a whole Converse body), streaming or not
/// as the first byte says.
pub fn bedrock(data: &[u8]) {
    decoder(Protocol::Bedrock, data);
}

/// The OpenAI embeddings decoder (one JSON body, never streamed; the first byte still picks, as
/// for the others, and the decoder must not care).
pub fn openai_embeddings(data: &[u8]) {
    decoder(Protocol::OpenAiEmbeddings, data);
}

/// A protocol's decoder with its framing: the first byte's low bit picks streaming, the rest is
/// a split plan and a body (see [`split_plan`]); whole and split must decode alike.
///
/// # Panics
/// When the two disagree: that is the finding.
pub fn decoder(protocol: Protocol, data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let stream = flags & 1 == 1;
    let (cuts, body) = split_plan(rest);
    let whole = decode(protocol, stream, body, &[]);
    let split = decode(protocol, stream, body, &cuts);
    assert_eq!(
        whole, split,
        "{protocol} (stream: {stream}) decodes differently depending on where the body was split"
    );
}

/// The replay reader, then the aggregator over what it read. A body that starts like gzip is a
/// replay file as is; anything else is taken as the decompressed line format and compressed
/// first, so the fuzzer can work on the JSON lines directly.
pub fn replay(data: &[u8]) {
    let file = if data.starts_with(&[0x1f, 0x8b]) {
        data.to_vec()
    } else {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        if gz.write_all(data).is_err() {
            return;
        }
        match gz.finish() {
            Ok(file) => file,
            Err(_) => return,
        }
    };
    let Some(path) = scratch_file(&file) else {
        return;
    };
    let whole = crate::record::Replay::open(&path);
    let streamed = crate::record::replay::ReplayReader::open(&path);
    let _ = std::fs::remove_file(&path);
    let (Ok(replay), Ok(mut reader)) = (whole, streamed) else {
        return;
    };
    let mut requests = 0usize;
    let folded = crate::fold_replay(&replay, |_| requests += 1);
    // Read whole or as a stream, a replay must give the same numbers and the same damage.
    let mut streamed_requests = 0usize;
    let streamed = crate::replay::fold_stream(&mut reader, |_| streamed_requests += 1);
    assert_eq!(folded, streamed, "streamed fold differs");
    assert_eq!(requests, streamed_requests);
    assert_eq!(replay.duration(), reader.duration());
    assert_eq!(replay.damage.as_deref(), reader.damage());
}

/// The race-file parser and validator, including the text of any error it reports.
pub fn race_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(err) = crate::config::from_toml_str(text, Path::new("fuzz.toml")) {
        let _ = err.to_string();
    }
}

/// The trace parsers (Mooncake JSONL, Azure and `BurstGPT` CSV), including the text of any
/// error they report.
pub fn trace(data: &[u8]) {
    match crate::workload::read_trace(data) {
        Ok(rows) => assert!((1..=64).contains(&rows), "{rows} rows kept"),
        Err(err) => {
            let _ = err.to_string();
        }
    }
}

/// The threshold-expression parser, including the text of any error it reports (which points
/// into the expression, so its spans must fall on character boundaries).
pub fn threshold(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for expr in std::iter::once(text).chain(text.lines()) {
        match crate::threshold::parse(expr) {
            Ok(threshold) => {
                let _ = format!("{threshold:?}");
            }
            Err(err) => {
                let _ = err.to_string();
            }
        }
    }
}

/// The `/metrics` page reader (`server_metrics::read`): never panics on any text, and a page
/// it reads, written back as one `series value` line per series, reads to the same series and
/// the same reading.
///
/// # Panics
/// When the page written back reads differently: that is the finding.
pub fn server_metrics(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(page) = crate::server_metrics::read(&text, Some("m")) else {
        return;
    };
    let mut written = String::new();
    for (series, value) in &page.series {
        let _ = writeln!(written, "{series} {value}");
    }
    let again = crate::server_metrics::read(&written, Some("m"))
        .unwrap_or_else(|e| panic!("the page written back does not read: {e}\n{written}"));
    assert_eq!(again.reading, page.reading, "the reading changed");
    let same = |(a, x): &(String, f64), (b, y): &(String, f64)| {
        // Exactly the same number: it was written in full and read back.
        a == b && (x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
    };
    assert!(
        again.series.len() == page.series.len()
            && again
                .series
                .iter()
                .zip(&page.series)
                .all(|(a, b)| same(a, b)),
        "the series changed: {:?} became {:?}",
        page.series,
        again.series
    );
}

/// Splits the input into cut points and a body: the first byte (if any) sets the largest piece,
/// and the pieces' lengths follow from it, so every input names one fixed way to cut its body.
fn split_plan(data: &[u8]) -> (Vec<usize>, &[u8]) {
    let Some((&seed, body)) = data.split_first() else {
        return (Vec::new(), data);
    };
    let largest = usize::from(seed % 64) + 1;
    let mut state = u32::from(seed) | 1;
    let mut cuts = Vec::new();
    let mut at = 0;
    loop {
        // A small LCG: varied piece lengths, including runs of one-byte pieces.
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        at += (state >> 16) as usize % largest + 1;
        if at >= body.len() {
            break;
        }
        cuts.push(at);
    }
    (cuts, body)
}

/// The body's pieces between `cuts` (ascending, inside the body).
fn pieces<'b>(body: &'b [u8], cuts: &[usize]) -> impl Iterator<Item = &'b [u8]> {
    let starts = std::iter::once(0).chain(cuts.iter().copied());
    let ends = cuts.iter().copied().chain(std::iter::once(body.len()));
    starts
        .zip(ends)
        .map(move |(start, end)| body.get(start..end).unwrap_or_default())
}

fn sse_items(body: &[u8], cuts: &[usize]) -> Vec<String> {
    let mut parser = SseParser::new();
    let mut got = Vec::new();
    let mut on = |item: SseItem<'_>| got.push(format!("{item:?}"));
    for piece in pieces(body, cuts) {
        parser.feed(piece, &mut on);
    }
    parser.finish(&mut on);
    got
}

fn ndjson_lines(body: &[u8], cuts: &[usize]) -> Vec<String> {
    let mut splitter = LineSplitter::new();
    let mut got = Vec::new();
    let mut on = |line: Line<'_>| got.push(format!("{line:?}"));
    for piece in pieces(body, cuts) {
        splitter.feed(piece, &mut on);
    }
    splitter.finish(&mut on);
    got
}

fn decode(protocol: Protocol, stream: bool, body: &[u8], cuts: &[usize]) -> Vec<Decoded> {
    decode_with(protocol.decoder(stream), body, cuts)
}

fn decode_with(mut decoder: Box<dyn Decoder>, body: &[u8], cuts: &[usize]) -> Vec<Decoded> {
    let mut out = Vec::new();
    for piece in pieces(body, cuts) {
        decoder.feed(piece, &mut out);
    }
    decoder.finish(&mut out);
    out
}

/// Writes `bytes` to a scratch file of this thread's (the replay reader only reads files).
fn scratch_file(bytes: &[u8]) -> Option<PathBuf> {
    let thread = format!("{:?}", std::thread::current().id());
    let thread: String = thread.chars().filter(char::is_ascii_digit).collect();
    let path = std::env::temp_dir().join(format!(
        "llmrace-fuzz-replay-{}-{thread}.jsonl.gz",
        std::process::id()
    ));
    std::fs::write(&path, bytes).ok()?;
    Some(path)
}
