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

/// `2023-11-16 18:15:46.6805900`, a fraction of a second or none, `T` or a space between, and
/// a UTC offset or none (the 2024 trace writes `2024-05-10 00:00:00.009930+00:00`): times with
/// an offset are taken in UTC.
fn parse_time(text: &str) -> Option<NaiveDateTime> {
    let naive = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok());
    naive.or_else(|| {
        ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%:z"]
            .iter()
            .find_map(|format| chrono::DateTime::parse_from_str(text, format).ok())
            .map(|time| time.naive_utc())
    })
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn times_with_and_without_an_offset_are_read() {
        let plain = parse_time("2023-11-16 18:15:46.6805900").expect("2023's format");
        let offset = parse_time("2023-11-16 20:15:46.6805900+02:00").expect("an offset");
        assert_eq!(plain, offset);
        assert!(parse_time("2024-05-10 00:00:00.009930+00:00").is_some());
        assert!(parse_time("yesterday").is_none());
    }
}
