//! Production traces replayed: a trace file's rows read one at a time (Mooncake JSONL, the
//! Azure LLM inference CSV, `BurstGPT`'s CSV; the format told by the content), cut where the race
//! stops sending, and each row kept made into a prompt of exactly its input length in o200k
//! tokens (synthetic words; equal hash ids give equal 512-token blocks, so the trace's prefix
//! sharing is reproduced), with its output length as `max_tokens` and its time as `at`.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::error::WorkloadError;
use super::synthetic::text_from_seed;
use crate::config::MAX_SYNTHETIC_TOKENS;

mod azure;
mod burstgpt;
mod columns;
mod mooncake;

/// Tokens per hash id of a Mooncake trace: its block size.
pub const BLOCK_TOKENS: u32 = 512;
/// The longest output a row may ask for: beyond it, a broken trace rather than a plan.
pub const MAX_OUTPUT_TOKENS: u32 = 1_000_000;
/// The most rows a race keeps: each is made into a prompt held in memory before the start,
/// as many as a race may make synthetic prompts.
pub const MAX_ROWS: usize = 100_000;

/// Where the race stops reading a trace: after `needed` rows, at `until` in the trace's time,
/// or when `stop` is set (as the workload's `Loading` says).
#[derive(Clone, Copy, Debug)]
pub(super) struct Cut<'a> {
    pub needed: Option<u64>,
    pub until: Option<Duration>,
    pub stop: &'a AtomicBool,
}

/// A row made ready to send: its prompt's text, its output length, its time from the first row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Made {
    pub text: String,
    pub max_tokens: u32,
    pub at: Duration,
}

/// One row of a trace as its format reads it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Row {
    /// 1-based line in the file, for messages.
    pub line: usize,
    /// The row's time from the format's own origin (a Mooncake or `BurstGPT` trace's zero, an
    /// Azure trace's first row).
    pub time: Duration,
    pub input: u64,
    pub output: u64,
    /// Mooncake's block ids: equal ids, equal blocks of [`BLOCK_TOKENS`].
    pub hash_ids: Vec<u64>,
}

/// What a format's reader does with each row: `Ok(true)` to read on, `Ok(false)` to stop.
pub(super) type Visit<'v> = dyn FnMut(Row) -> Result<bool, WorkloadError> + 'v;

/// The formats llmrace replays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Mooncake,
    Azure,
    BurstGpt,
}

const FORMATS_HELP: &str = "llmrace replays Mooncake JSONL ({\"timestamp\": ms, \
     \"input_length\": N, \"output_length\": N, \"hash_ids\": [...]} per line), the Azure LLM \
     inference trace CSV (header TIMESTAMP,ContextTokens,GeneratedTokens) and BurstGPT's CSV \
     (header Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type)";

/// The format of a trace by its first line.
fn detect(first_line: &str) -> Option<Format> {
    let line = first_line.trim_start_matches('\u{feff}').trim();
    if line.starts_with('{') {
        return Some(Format::Mooncake);
    }
    let columns: Vec<&str> = line.split(',').map(str::trim).collect();
    let has = |name: &str| columns.contains(&name);
    if has("TIMESTAMP") && has("ContextTokens") && has("GeneratedTokens") {
        Some(Format::Azure)
    } else if has("Timestamp") && has("Request tokens") && has("Response tokens") {
        Some(Format::BurstGpt)
    } else {
        None
    }
}

/// Reads the trace at `path` and makes the prompts of the rows the race can send: the first
/// `loading.needed`, none at or after `loading.until` in the trace's time.
pub(super) fn load(
    path: &Path,
    seed: u64,
    notes: &mut Vec<String>,
    loading: Cut<'_>,
) -> Result<Vec<Made>, WorkloadError> {
    if path.is_dir() {
        return Err(WorkloadError::Trace {
            source_name: path.display().to_string(),
            problem: "is a folder".to_string(),
            help: "name a trace file in it".to_string(),
        });
    }
    let file = File::open(path).map_err(|io| WorkloadError::TraceRead {
        path: path.to_path_buf(),
        io,
    })?;
    let name = path.display().to_string();
    let rows = read(BufReader::new(file), &name, notes, loading)?;
    make(&rows, seed, loading)
}

/// The rows the race can send, from a trace's text.
pub(super) fn read(
    mut reader: impl BufRead,
    name: &str,
    notes: &mut Vec<String>,
    loading: Cut<'_>,
) -> Result<Vec<(Duration, Row)>, WorkloadError> {
    let whole = |problem: &str, help: &str| WorkloadError::Trace {
        source_name: name.to_string(),
        problem: problem.to_string(),
        help: help.to_string(),
    };
    let first_line = {
        let buffer = reader
            .fill_buf()
            .map_err(|e| whole(&format!("cannot be read: {e}"), "check the file"))?;
        let end = buffer
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(buffer.len());
        String::from_utf8_lossy(&buffer[..end]).into_owned()
    };
    if first_line.trim().is_empty() {
        return Err(whole(
            "holds no rows (the file is empty or starts with a blank line)",
            FORMATS_HELP,
        ));
    }
    let format = detect(&first_line).ok_or_else(|| WorkloadError::Line {
        source_name: name.to_string(),
        line: 1,
        problem: "not a trace format llmrace knows (a JSON object per line, or a CSV header \
                  naming its columns)"
            .to_string(),
        help: FORMATS_HELP.to_string(),
    })?;
    let needed = loading
        .needed
        .map(|n| usize::try_from(n.max(1)).unwrap_or(usize::MAX));
    let mut rows: Vec<(Duration, Row)> = Vec::new();
    let mut origin: Option<Duration> = None;
    let mut previous = Duration::ZERO;
    let mut visit = |row: Row| -> Result<bool, WorkloadError> {
        if loading.stop.load(Ordering::Relaxed) {
            return Err(WorkloadError::Stopped);
        }
        check_lengths(&row, name)?;
        if origin.is_some() && row.time < previous {
            return Err(WorkloadError::Line {
                source_name: name.to_string(),
                line: row.line,
                problem: format!(
                    "this row's time is {:.3} s before the row above's: a trace must be in \
                     time order",
                    previous.saturating_sub(row.time).as_secs_f64()
                ),
                help: "sort the trace by its time column".to_string(),
            });
        }
        previous = row.time;
        let at = row.time.saturating_sub(*origin.get_or_insert(row.time));
        if loading.until.is_some_and(|until| at >= until) {
            return Ok(false);
        }
        if rows.len() == MAX_ROWS {
            return Err(WorkloadError::Line {
                source_name: name.to_string(),
                line: row.line,
                problem: format!("the race would send more than {MAX_ROWS} rows of this trace"),
                help: "send fewer: -n N (`requests`) sends the first N rows, --duration D \
                       (`duration`) the rows due in the first D"
                    .to_string(),
            });
        }
        rows.push((at, row));
        Ok(needed.is_none_or(|n| rows.len() < n))
    };
    let skipped = match format {
        Format::Mooncake => mooncake::read(reader, name, &mut visit)?,
        Format::Azure => azure::read(reader, name, &mut visit)?,
        Format::BurstGpt => burstgpt::read(reader, name, &mut visit)?,
    };
    if skipped > 0 {
        notes.push(format!(
            "{name}: {skipped} row(s) with 0 response tokens (requests that failed in the \
             trace) were left out"
        ));
    }
    if rows.is_empty() && skipped > 0 {
        return Err(whole(
            &format!(
                "all its {skipped} row(s) have 0 response tokens: requests that failed in the \
                 trace, left out, so nothing is left to send"
            ),
            "use a part of the trace with requests that succeeded",
        ));
    }
    if rows.is_empty() {
        return Err(whole("holds no rows after its header", FORMATS_HELP));
    }
    Ok(rows)
}

/// A row's lengths: at least one token each, and within what a prompt may hold.
fn check_lengths(row: &Row, name: &str) -> Result<(), WorkloadError> {
    let problem = if row.input == 0 {
        Some("the input length is 0".to_string())
    } else if row.input > u64::from(MAX_SYNTHETIC_TOKENS) {
        Some(format!(
            "the input length {} is beyond the {MAX_SYNTHETIC_TOKENS} tokens a prompt may hold",
            row.input
        ))
    } else if row.output == 0 {
        Some("the output length is 0".to_string())
    } else if row.output > u64::from(MAX_OUTPUT_TOKENS) {
        Some(format!(
            "the output length {} is beyond {MAX_OUTPUT_TOKENS} tokens",
            row.output
        ))
    } else {
        None
    };
    match problem {
        Some(problem) => Err(WorkloadError::Line {
            source_name: name.to_string(),
            line: row.line,
            problem,
            help: format!(
                "every row needs an input and an output length from 1 token (inputs up to \
                 {MAX_SYNTHETIC_TOKENS}, outputs up to {MAX_OUTPUT_TOKENS}): fix or remove \
                 the row"
            ),
        }),
        None => Ok(()),
    }
}

/// The prompts of the kept rows, in order.
fn make(rows: &[(Duration, Row)], seed: u64, loading: Cut<'_>) -> Result<Vec<Made>, WorkloadError> {
    let mut made = Vec::with_capacity(rows.len());
    for (index, (at, row)) in rows.iter().enumerate() {
        if loading.stop.load(Ordering::Relaxed) {
            return Err(WorkloadError::Stopped);
        }
        made.push(Made {
            text: prompt_text(row, index, seed, loading.stop),
            // Checked against MAX_OUTPUT_TOKENS, so it fits.
            max_tokens: u32::try_from(row.output).unwrap_or(MAX_OUTPUT_TOKENS),
            at: *at,
        });
    }
    Ok(made)
}

/// A row's prompt: exactly its input length in tokens. Its hash ids' blocks first (each
/// [`BLOCK_TOKENS`], the last cut to the length), then, past them, text of the row's own.
fn prompt_text(row: &Row, index: usize, seed: u64, stop: &AtomicBool) -> String {
    // Checked against MAX_SYNTHETIC_TOKENS, so it fits.
    let mut left = u32::try_from(row.input).unwrap_or(MAX_SYNTHETIC_TOKENS);
    let mut parts = Vec::new();
    for &id in &row.hash_ids {
        if left == 0 {
            break;
        }
        let tokens = left.min(BLOCK_TOKENS);
        parts.push(text_from_seed(tokens, mixed(seed, id, 1), stop));
        left -= tokens;
    }
    if left > 0 {
        parts.push(text_from_seed(left, mixed(seed, index as u64, 2), stop));
    }
    parts.join(" ")
}

/// The seed of one block (`kind` 1, by hash id) or one row's own text (`kind` 2, by row):
/// distinct for every seed, id and kind.
fn mixed(seed: u64, id: u64, kind: u64) -> u64 {
    // SplitMix64's finaliser, a bijection, over a mix of the three.
    let mut z = seed
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(id.rotate_left(2) ^ kind);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A time in a trace from a number of `unit`s (milliseconds, seconds), which must be finite
/// and 0 or more.
pub(super) fn time_of(value: f64, nanos_per_unit: f64) -> Option<Duration> {
    let nanos = (value * nanos_per_unit).round();
    // Beyond about 300 years, a broken column rather than a trace.
    (value.is_finite() && (0.0..1e19).contains(&nanos)).then(|| {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "checked to be in 0..1e19 nanoseconds, within u64"
        )]
        let nanos = nanos as u64;
        Duration::from_nanos(nanos)
    })
}

#[cfg(test)]
mod tests;
