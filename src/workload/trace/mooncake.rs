//! Mooncake (Alibaba) traces: JSON lines of `{"timestamp": ms, "input_length": N,
//! "output_length": N, "hash_ids": [...]}`, the timestamp in milliseconds from the trace's
//! start (whole or not).

use std::io::BufRead;

use serde::Deserialize;

use super::{Row, Visit, time_of};
use crate::workload::error::WorkloadError;

/// One line as written; other fields are ignored.
#[derive(Deserialize)]
struct Line {
    timestamp: f64,
    input_length: u64,
    output_length: u64,
    #[serde(default)]
    hash_ids: Vec<u64>,
}

const HELP: &str = "each line must be {\"timestamp\": 27482, \"input_length\": 6955, \
     \"output_length\": 52, \"hash_ids\": [46, 47]} (timestamp in milliseconds; hash_ids may be \
     left out)";

/// Visits every row, until the visit says stop. Nothing is ever skipped: returns 0.
pub(super) fn read(
    reader: impl BufRead,
    name: &str,
    visit: &mut Visit<'_>,
) -> Result<usize, WorkloadError> {
    let bad = |line: usize, problem: String| WorkloadError::Line {
        source_name: name.to_string(),
        line,
        problem,
        help: HELP.to_string(),
    };
    for (index, text) in reader.lines().enumerate() {
        let line = index + 1;
        let text = text.map_err(|e| bad(line, format!("cannot read this line: {e}")))?;
        let text = text.trim_start_matches('\u{feff}');
        if text.trim().is_empty() {
            continue;
        }
        let parsed: Line = serde_json::from_str(text)
            .map_err(|e| bad(line, format!("not a Mooncake trace row: {e}")))?;
        let time = time_of(parsed.timestamp, 1e6).ok_or_else(|| {
            bad(
                line,
                format!(
                    "timestamp {} is not a time: it must be milliseconds, 0 or more",
                    parsed.timestamp
                ),
            )
        })?;
        let row = Row {
            line,
            time,
            input: parsed.input_length,
            output: parsed.output_length,
            hash_ids: parsed.hash_ids,
        };
        if !visit(row)? {
            break;
        }
    }
    Ok(0)
}
