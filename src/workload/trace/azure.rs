//! The Azure LLM inference trace (Azure/AzurePublicDataset): CSV with the header
//! `TIMESTAMP,ContextTokens,GeneratedTokens`, each time a date and time such as
//! `2023-11-16 18:15:46.6805900`; the trace's time runs from its first row.

use std::io::BufRead;
use std::time::Duration;

use chrono::NaiveDateTime;

use super::columns::{each_record, tokens};
use super::{Row, Visit};
use crate::workload::error::WorkloadError;

const COLUMNS: [&str; 3] = ["TIMESTAMP", "ContextTokens", "GeneratedTokens"];
const HELP: &str = "an Azure LLM inference trace has the header \
     TIMESTAMP,ContextTokens,GeneratedTokens and rows such as \
     `2023-11-16 18:15:46.6805900,374,44`";

/// Visits every row, until the visit says stop. Nothing is ever skipped: returns 0.
pub(super) fn read(
    reader: impl BufRead,
    name: &str,
    visit: &mut Visit<'_>,
) -> Result<usize, WorkloadError> {
    let mut origin: Option<NaiveDateTime> = None;
    each_record(reader, name, &COLUMNS, HELP, |record| {
        let line = record.line;
        let bad = |problem: String| WorkloadError::Line {
            source_name: name.to_string(),
            line,
            problem,
            help: HELP.to_string(),
        };
        let [stamp, context, generated] = record.fields[..] else {
            return Err(bad("the row has too few fields".to_string()));
        };
        let when = parse_time(stamp).ok_or_else(|| {
            bad(format!(
                "`TIMESTAMP` is `{stamp}`, not a date and time like 2023-11-16 18:15:46.6805900"
            ))
        })?;
        let first = *origin.get_or_insert(when);
        let time = (when - first)
            .to_std()
            .ok()
            .or_else(|| (when == first).then_some(Duration::ZERO))
            .ok_or_else(|| {
                bad(format!(
                    "`TIMESTAMP` {stamp} is before the first row's: a trace must be in time \
                     order"
                ))
            })?;
        visit(Row {
            line,
            time,
            input: tokens(context, COLUMNS[1], line, name, HELP)?,
            output: tokens(generated, COLUMNS[2], line, name, HELP)?,
            hash_ids: Vec::new(),
        })
    })?;
    Ok(0)
}

/// `2023-11-16 18:15:46.6805900`, a fraction of a second or none, `T` or a space between.
fn parse_time(text: &str) -> Option<NaiveDateTime> {
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
}
