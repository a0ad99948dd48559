//! Decoders against the recorded-style bodies in `tests/fixtures/streams/<protocol>/`: each
//! `<case>.stream` (decoded as a streaming response) or `<case>.body` (non-streaming) must give
//! the items in `<case>.expected`, whole, split at every byte boundary, and byte by byte.
//! Adding a regression case means adding two files; `BLESS=1` writes missing `.expected` files
//! for review.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use llmrace::protocol::{Decoded, Part, Protocol, ReadParts};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/streams");

struct Case {
    name: String,
    protocol: Protocol,
    stream: bool,
    bytes: Vec<u8>,
    expected: PathBuf,
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for dir in std::fs::read_dir(ROOT).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let dir_name = dir.file_name().unwrap().to_str().unwrap().to_owned();
        let protocol = Protocol::parse(&dir_name)
            .unwrap_or_else(|| panic!("{dir_name}: folder is not a protocol name"));
        assert_eq!(
            protocol.name(),
            dir_name,
            "use the protocol's canonical name"
        );
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            let stream = match path.extension().and_then(|e| e.to_str()) {
                Some("stream") => true,
                Some("body") => false,
                _ => continue,
            };
            cases.push(Case {
                name: format!("{dir_name}/{}", path.file_name().unwrap().to_str().unwrap()),
                protocol,
                stream,
                bytes: std::fs::read(&path).unwrap(),
                expected: PathBuf::from(format!("{}.expected", path.display())),
            });
        }
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

fn decode<'a>(
    protocol: Protocol,
    stream: bool,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Vec<Decoded> {
    let mut decoder = protocol.decoder(stream);
    let mut out = Vec::new();
    for chunk in chunks {
        decoder.feed(chunk, &mut out);
    }
    decoder.finish(&mut out);
    out
}

/// One line per item; strings are quoted with escapes so line ends and controls stay visible.
fn render(items: &[Decoded]) -> String {
    let opt = |v: Option<u64>| v.map_or("-".to_owned(), |v| v.to_string());
    let mut s = String::new();
    for item in items {
        match item {
            Decoded::Content { text, reasoning: false } => writeln!(s, "content {text:?}"),
            Decoded::Content { text, reasoning: true } => writeln!(s, "reasoning {text:?}"),
            Decoded::Usage { input, output, cached_input, cache_write, reasoning, reported } => {
                let reported = reported.iter().fold(String::new(), |mut all, (name, n)| {
                    write!(all, " {name}={n}").unwrap();
                    all
                });
                writeln!(
                    s,
                    "usage input={} output={} cached_input={} cache_write={} reasoning={}\n  reported{reported}",
                    opt(input.map(u64::from)),
                    opt(output.map(u64::from)),
                    opt(cached_input.map(u64::from)),
                    opt(cache_write.map(u64::from)),
                    opt(reasoning.map(u64::from)),
                )
            }
            Decoded::ServerTimings(t) => writeln!(
                s,
                "timings prompt_eval_count={} eval_count={} prompt_eval_ns={} eval_ns={} load_ns={} total_ns={}",
                opt(t.prompt_eval_count),
                opt(t.eval_count),
                opt(t.prompt_eval_ns),
                opt(t.eval_ns),
                opt(t.load_ns),
                opt(t.total_ns),
            ),
            Decoded::ToolCall { index, id, name, arguments } => writeln!(
                s,
                "tool_call {index} id={} name={} {arguments:?}",
                id.as_deref().unwrap_or("-"),
                name.as_deref().unwrap_or("-"),
            ),
            Decoded::Embeddings { vectors, dimension } => {
                writeln!(s, "embeddings vectors={vectors} dimension={dimension}")
            }
            Decoded::ResponseId(id) => writeln!(s, "id {id:?}"),
            Decoded::FinishReason(r) => writeln!(s, "finish {r:?}"),
            Decoded::End => writeln!(s, "end"),
            Decoded::ServerError { message } => writeln!(s, "server_error {message:?}"),
            Decoded::StatusError { status, message } => {
                writeln!(s, "status_error {status} {message:?}")
            }
            Decoded::Blocked { message } => writeln!(s, "blocked {message:?}"),
            Decoded::Malformed { message } => writeln!(s, "malformed {message:?}"),
        }
        .unwrap();
    }
    s
}

fn read_expected(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

#[test]
fn every_protocol_has_fixtures() {
    let cases = cases();
    for protocol in Protocol::ALL {
        for stream in [true, false] {
            if stream && protocol.is_embeddings() {
                continue; // never streamed
            }
            assert!(
                cases
                    .iter()
                    .any(|c| c.protocol == protocol && c.stream == stream),
                "no {} fixture with stream={stream}",
                protocol.name()
            );
        }
    }
}

#[test]
fn fixtures_decode_to_the_expected_items() {
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    for case in cases() {
        let got = render(&decode(case.protocol, case.stream, [case.bytes.as_slice()]));
        match read_expected(&case.expected) {
            Some(expected) if expected == got => {}
            Some(expected) => failures.push(format!(
                "{}:\n--- expected\n{expected}--- got\n{got}",
                case.name
            )),
            None if bless => std::fs::write(&case.expected, &got).unwrap(),
            None => failures.push(format!("{}: no .expected file; got\n{got}", case.name)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn fixtures_decode_the_same_however_the_bytes_are_split() {
    for case in cases() {
        let whole = decode(case.protocol, case.stream, [case.bytes.as_slice()]);
        for cut in 0..=case.bytes.len() {
            let (a, b) = case.bytes.split_at(cut);
            let split = decode(case.protocol, case.stream, [a, b]);
            assert_eq!(split, whole, "{} split at byte {cut}", case.name);
        }
        let bytewise = decode(case.protocol, case.stream, case.bytes.chunks(1));
        assert_eq!(bytewise, whole, "{} fed byte by byte", case.name);
        // An empty read between two halves must not disturb a pending CR or partial character.
        let mid = case.bytes.len() / 2;
        let (a, b) = case.bytes.split_at(mid);
        let with_empty = decode(case.protocol, case.stream, [a, &[][..], b, &[][..]]);
        assert_eq!(with_empty, whole, "{} with empty reads", case.name);
    }
}

/// The OpenAI fast path (`protocol/openai/fast.rs`) decodes every fixture as serde alone does,
/// whole and split at every byte.
#[test]
fn the_fast_path_decodes_every_fixture_as_serde_does() {
    let serde_only = |case: &Case, chunks: &[&[u8]]| {
        let mut decoder = case.protocol.decoder_serde_only(case.stream);
        let mut out = Vec::new();
        for chunk in chunks {
            decoder.feed(chunk, &mut out);
        }
        decoder.finish(&mut out);
        out
    };
    let mut openai = 0;
    for case in cases() {
        if !matches!(
            case.protocol,
            Protocol::OpenAiChat | Protocol::OpenAiCompletions
        ) {
            continue;
        }
        openai += 1;
        for cut in 0..=case.bytes.len() {
            let (a, b) = case.bytes.split_at(cut);
            assert_eq!(
                decode(case.protocol, case.stream, [a, b]),
                serde_only(&case, &[a, b]),
                "{} split at byte {cut}",
                case.name
            );
        }
        if let Ok(text) = std::str::from_utf8(&case.bytes) {
            for line in text.lines() {
                llmrace::protocol::fast_path_agrees(
                    line.strip_prefix("data:").unwrap_or(line).trim(),
                );
            }
        }
    }
    assert!(openai > 40, "only {openai} OpenAI fixtures");
}

#[test]
fn finish_twice_adds_nothing() {
    for case in cases() {
        let mut decoder = case.protocol.decoder(case.stream);
        let mut out = Vec::new();
        decoder.feed(&case.bytes, &mut out);
        decoder.finish(&mut out);
        let n = out.len();
        decoder.finish(&mut out);
        assert_eq!(
            out.len(),
            n,
            "{}: a second finish emitted {:?}",
            case.name,
            &out[n..]
        );
    }
}

/// `chunks` decoded as the engine does: each read split by `ReadParts`, its whole token events
/// read straight, the rest fed. Also counts the events the fast path read.
fn decode_content_first<'a>(
    protocol: Protocol,
    stream: bool,
    chunks: impl IntoIterator<Item = &'a [u8]>,
    fast: &mut usize,
) -> Vec<Decoded> {
    let mut decoder = protocol.decoder(stream);
    let mut out = Vec::new();
    for chunk in chunks {
        let mut parts = ReadParts::new(chunk);
        while let Some(part) = parts.next_part(&mut *decoder) {
            match part {
                Part::Content(event) => {
                    assert!(!event.text.is_empty() && event.len > 0, "{event:?}");
                    out.push(Decoded::Content {
                        text: event.text.into(),
                        reasoning: event.reasoning,
                    });
                    *fast += 1;
                }
                Part::Feed(piece) => decoder.feed(piece, &mut out),
            }
        }
    }
    decoder.finish(&mut out);
    out
}

/// `bytes` cut after every blank line (LF LF), as a server that writes each event on its own
/// is read, and at `cut` too.
fn event_reads(bytes: &[u8], cut: usize) -> Vec<&[u8]> {
    let mut ends: Vec<usize> = bytes
        .windows(2)
        .enumerate()
        .filter(|(_, w)| *w == b"\n\n")
        .map(|(i, _)| i + 2)
        .collect();
    ends.push(cut);
    ends.push(bytes.len());
    ends.sort_unstable();
    let mut reads = Vec::new();
    let mut start = 0;
    for end in ends {
        reads.push(&bytes[start..end]);
        start = end;
    }
    reads
}

/// The engine's fast path for whole token events (`Decoder::content_event`, the template
/// read straight from the read) gives every fixture's items as `feed` alone does: each event
/// a read of its own with one of them split at every byte, the whole body in one read, and
/// byte by byte.
#[test]
fn the_content_fast_path_decodes_every_fixture_as_feed_does() {
    let mut fast = 0;
    for case in cases() {
        let whole = decode(case.protocol, case.stream, [case.bytes.as_slice()]);
        for cut in 0..=case.bytes.len() {
            let reads = event_reads(&case.bytes, cut);
            assert_eq!(
                decode_content_first(case.protocol, case.stream, reads, &mut fast),
                whole,
                "{}: events read one by one, cut at byte {cut}",
                case.name
            );
        }
        let once = decode_content_first(
            case.protocol,
            case.stream,
            [case.bytes.as_slice()],
            &mut fast,
        );
        assert_eq!(once, whole, "{} in one read", case.name);
        let bytewise =
            decode_content_first(case.protocol, case.stream, case.bytes.chunks(1), &mut fast);
        assert_eq!(bytewise, whole, "{} byte by byte", case.name);
    }
    assert!(fast > 1000, "the fast path read only {fast} events");
}
