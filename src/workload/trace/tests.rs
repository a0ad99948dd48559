//! Trace replay's reading and prompts: each format's fixture (tests/fixtures/traces) read to
//! its times and lengths, prompts of exactly the input length sharing what their hash ids
//! share, the cuts, and a clear message for every malformed trace.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::*;
use crate::tokenizer::count_tokens;

/// Never set: these traces are read to the end.
static GO: AtomicBool = AtomicBool::new(false);

fn loading(needed: Option<u64>, until: Option<Duration>) -> Cut<'static> {
    Cut {
        needed,
        stop: &GO,
        until,
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/traces")
        .join(name)
}

fn prompts_of(name: &str, seed: u64) -> Vec<Made> {
    load(&fixture(name), seed, &mut Vec::new(), loading(None, None)).expect("a good trace")
}

fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// Each prompt's time, output budget and exact input length.
fn shape(prompts: &[Made]) -> Vec<(Duration, u32, u32)> {
    prompts
        .iter()
        .map(|p| (p.at, count_tokens(&p.text), p.max_tokens))
        .collect()
}

#[test]
fn a_mooncake_trace_gives_its_times_lengths_and_outputs() {
    let prompts = prompts_of("mooncake.jsonl", 0);
    assert_eq!(
        shape(&prompts),
        [
            (millis(0), 1100, 12),
            (millis(250), 700, 8),
            (millis(250), 300, 5),
            (millis(1000), 1024, 16),
        ]
    );
}

#[test]
fn an_azure_trace_runs_from_its_first_row() {
    let prompts = prompts_of("azure.csv", 0);
    assert_eq!(
        shape(&prompts),
        [
            (millis(0), 374, 44),
            (millis(300), 396, 10),
            (millis(500), 91, 16),
            (millis(1000), 200, 8),
        ]
    );
}

#[test]
fn a_burstgpt_trace_leaves_out_failed_rows_and_says_so() {
    let mut notes = Vec::new();
    let prompts =
        load(&fixture("burstgpt.csv"), 0, &mut notes, loading(None, None)).expect("a good trace");
    assert_eq!(
        shape(&prompts),
        [
            (millis(0), 472, 18),
            (millis(400), 417, 6),
            (millis(1000), 90, 9)
        ]
    );
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("1 row(s) with 0 response tokens"),
        "{notes:?}"
    );
}

/// The number of whole tokens two texts share from their start.
fn shared_tokens(a: &str, b: &str) -> u32 {
    let bytes = a
        .char_indices()
        .zip(b.chars())
        .take_while(|((_, x), y)| x == y)
        .last()
        .map_or(0, |((at, x), _)| at + x.len_utf8());
    // The last shared word may be cut: count up to the last space.
    let whole = a[..bytes].rfind(' ').unwrap_or(0);
    count_tokens(&a[..whole])
}

#[test]
fn equal_hash_ids_give_equal_text() {
    let prompts = prompts_of("mooncake.jsonl", 0);
    let text: Vec<&str> = prompts.iter().map(|p| p.text.as_str()).collect();
    // Row 3 is blocks 0 and 1 whole: exactly the start of row 0 (blocks 0, 1 and part of 2).
    assert!(text[0].starts_with(&format!("{} ", text[3])));
    // Row 1 shares block 0 with row 0, and no more.
    let shared = shared_tokens(text[0], text[1]);
    assert!(
        (BLOCK_TOKENS..BLOCK_TOKENS + 3).contains(&shared),
        "{shared}"
    );
    // Row 2 shares no block with row 0.
    assert!(shared_tokens(text[0], text[2]) < 3);
    // The same trace and seed give the same text; another seed other text.
    assert_eq!(prompts, prompts_of("mooncake.jsonl", 0));
    assert_ne!(text[0], prompts_of("mooncake.jsonl", 7)[0].text);
}

#[test]
fn rows_without_hash_ids_get_text_of_their_own() {
    let prompts = prompts_of("azure.csv", 3);
    assert!(shared_tokens(&prompts[0].text, &prompts[1].text) < 3);
}

#[test]
fn the_race_cuts_the_trace_by_count_and_by_time() {
    let path = fixture("mooncake.jsonl");
    let first_two = load(&path, 0, &mut Vec::new(), loading(Some(2), None)).expect("read");
    assert_eq!(first_two.len(), 2);
    // Rows at or after the cut are not sent: 0 and 250 ms are kept, 1000 ms is not.
    let early = load(&path, 0, &mut Vec::new(), loading(None, Some(millis(600)))).expect("read");
    assert_eq!(early.len(), 3);
    let both = load(
        &path,
        0,
        &mut Vec::new(),
        loading(Some(1), Some(millis(600))),
    )
    .expect("read");
    assert_eq!(both.len(), 1);
}

/// The message for a trace of `text` named `name`.
fn error_of(name: &str, text: &str) -> String {
    match read(
        Cursor::new(text.as_bytes()),
        name,
        &mut Vec::new(),
        loading(None, None),
    ) {
        Ok(rows) => panic!("{name} was read: {rows:?}"),
        Err(e) => e.to_string(),
    }
}

fn assert_says(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{part:?} not in {message}");
    }
    assert!(message.contains("help: "), "{message}");
}

const MOONCAKE_ROW: &str = r#"{"timestamp": 0, "input_length": 10, "output_length": 2}"#;
const AZURE_HEADER: &str = "TIMESTAMP,ContextTokens,GeneratedTokens\n";
const BURST_HEADER: &str = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n";

#[test]
fn malformed_mooncake_rows_are_refused_with_their_line() {
    let broken = format!("{MOONCAKE_ROW}\n{{\"timestamp\": 5, \"input_length\": \n");
    assert_says(
        &error_of("t.jsonl", &broken),
        &["t.jsonl:2:", "not a Mooncake trace row", "\"timestamp\""],
    );
    let missing = format!("{MOONCAKE_ROW}\n{{\"timestamp\": 5, \"output_length\": 2}}\n");
    assert_says(
        &error_of("t.jsonl", &missing),
        &["t.jsonl:2:", "missing field `input_length`"],
    );
    let negative = r#"{"timestamp": -5, "input_length": 10, "output_length": 2}"#;
    assert_says(
        &error_of("t.jsonl", negative),
        &["t.jsonl:1:", "timestamp -5", "0 or more"],
    );
    let backwards = format!(
        "{}\n{MOONCAKE_ROW}\n",
        r#"{"timestamp": 900, "input_length": 10, "output_length": 2}"#
    );
    assert_says(
        &error_of("t.jsonl", &backwards),
        &[
            "t.jsonl:2:",
            "0.900 s before the row above",
            "sort the trace",
        ],
    );
}

#[test]
fn zero_and_huge_lengths_are_refused() {
    let zero_in = r#"{"timestamp": 0, "input_length": 0, "output_length": 2}"#;
    assert_says(
        &error_of("t.jsonl", zero_in),
        &["t.jsonl:1:", "input length is 0", "fix or remove the row"],
    );
    let zero_out = format!("{AZURE_HEADER}2023-11-16 18:15:46.68,10,0\n");
    assert_says(
        &error_of("a.csv", &zero_out),
        &["a.csv:2:", "output length is 0"],
    );
    let huge = r#"{"timestamp": 0, "input_length": 5000000, "output_length": 2}"#;
    assert_says(
        &error_of("t.jsonl", huge),
        &["t.jsonl:1:", "input length 5000000", "1000000"],
    );
    let huge_out = format!("{BURST_HEADER}1,ChatGPT,10,99999999,0,API log\n");
    assert_says(
        &error_of("b.csv", &huge_out),
        &["b.csv:2:", "output length 99999999"],
    );
}

#[test]
fn malformed_csv_traces_are_refused_with_their_line() {
    let no_column = "TIMESTAMP,ContextTokens,Tokens\n2023-11-16 18:15:46.68,10,2\n";
    // Not an Azure header, nor another format's.
    assert_says(
        &error_of("a.csv", no_column),
        &[
            "a.csv:1:",
            "not a trace format",
            "TIMESTAMP,ContextTokens,GeneratedTokens",
        ],
    );
    let bad_time = format!("{AZURE_HEADER}2023-11-16 18:15:46.68,10,2\nyesterday,10,2\n");
    assert_says(
        &error_of("a.csv", &bad_time),
        &["a.csv:3:", "`TIMESTAMP` is `yesterday`"],
    );
    let earlier = format!("{AZURE_HEADER}2023-11-16 18:15:46.68,10,2\n2023-11-16 18:15:40,10,2\n");
    assert_says(
        &error_of("a.csv", &earlier),
        &["a.csv:3:", "before the first row"],
    );
    let short_row = format!("{BURST_HEADER}1,ChatGPT,10\n");
    assert_says(
        &error_of("b.csv", &short_row),
        &["b.csv:2:", "not a CSV row"],
    );
    let bad_count = format!("{BURST_HEADER}1,ChatGPT,ten,5,15,API log\n");
    assert_says(
        &error_of("b.csv", &bad_count),
        &["b.csv:2:", "`Request tokens` is `ten`"],
    );
    let negative = format!("{BURST_HEADER}-1,ChatGPT,10,5,15,API log\n");
    assert_says(
        &error_of("b.csv", &negative),
        &["b.csv:2:", "`Timestamp` is `-1`"],
    );
}

#[test]
fn empty_unknown_and_missing_traces_are_refused() {
    assert_says(&error_of("e.jsonl", ""), &["e.jsonl: holds no rows"]);
    assert_says(
        &error_of("h.csv", AZURE_HEADER),
        &["h.csv: holds no rows after its header"],
    );
    let all_failed = format!("{BURST_HEADER}1,ChatGPT,10,0,10,API log\n2,ChatGPT,9,0,9,API log\n");
    assert_says(
        &error_of("f.csv", &all_failed),
        &["f.csv: all its 2 row(s) have 0 response tokens"],
    );
    assert_says(
        &error_of("x.txt", "hello, world\n"),
        &["x.txt:1:", "not a trace format", "Mooncake JSONL"],
    );
    let missing = load(
        Path::new("/nonexistent/trace.jsonl"),
        0,
        &mut Vec::new(),
        loading(None, None),
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert_says(
        &missing,
        &["cannot read trace file /nonexistent/trace.jsonl"],
    );
}

#[test]
fn a_race_keeps_at_most_so_many_rows_unless_cut() {
    let text = format!("{MOONCAKE_ROW}\n").repeat(MAX_ROWS + 1);
    assert_says(
        &error_of("big.jsonl", &text),
        &[
            &format!("big.jsonl:{}:", MAX_ROWS + 1),
            "more than 100000 rows",
            "-n N",
        ],
    );
    let cut = read(
        Cursor::new(text.as_bytes()),
        "big.jsonl",
        &mut Vec::new(),
        loading(Some(10), None),
    );
    assert_eq!(cut.map(|rows| rows.len()).ok(), Some(10));
}

#[test]
fn a_stop_ends_reading() {
    static STOPPED: AtomicBool = AtomicBool::new(true);
    let stopped = Cut {
        stop: &STOPPED,
        ..loading(None, None)
    };
    let result = load(&fixture("mooncake.jsonl"), 0, &mut Vec::new(), stopped);
    assert!(matches!(result, Err(WorkloadError::Stopped)), "{result:?}");
}
