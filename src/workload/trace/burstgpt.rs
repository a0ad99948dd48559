//! `BurstGPT`'s traces (HPMLL/BurstGPT): CSV with the header
//! `Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type`, `Timestamp` in
//! seconds. Rows with 0 response tokens are requests that failed (the dataset says so): they
//! are left out and counted.

use std::io::BufRead;

use super::columns::{each_record, tokens};
use super::{Row, Visit, time_of};
use crate::workload::error::WorkloadError;

const COLUMNS: [&str; 3] = ["Timestamp", "Request tokens", "Response tokens"];
const HELP: &str = "a BurstGPT trace has the header Timestamp,Model,Request tokens,Response \
     tokens,Total tokens,Log Type and rows such as `5,ChatGPT,472,18,490,Conversation log` \
     (Timestamp in seconds)";

/// Visits every row but failed ones, until the visit says stop; returns how many failed rows
/// were left out.
pub(super) fn read(
    reader: impl BufRead,
    name: &str,
    visit: &mut Visit<'_>,
) -> Result<usize, WorkloadError> {
    let mut failed = 0;
    each_record(reader, name, &COLUMNS, HELP, |record| {
        let line = record.line;
        let bad = |problem: String| WorkloadError::Line {
            source_name: name.to_string(),
            line,
            problem,
            help: HELP.to_string(),
        };
        let [stamp, request, response] = record.fields[..] else {
            return Err(bad("the row has too few fields".to_string()));
        };
        let time = stamp
            .parse::<f64>()
            .ok()
            .and_then(|seconds| time_of(seconds, 1e9))
            .ok_or_else(|| {
                bad(format!(
                    "`Timestamp` is `{stamp}`, not a time: it must be seconds, 0 or more"
                ))
            })?;
        let output = tokens(response, COLUMNS[2], line, name, HELP)?;
        if output == 0 {
            failed += 1;
            return Ok(true);
        }
        visit(Row {
            line,
            time,
            input: tokens(request, COLUMNS[1], line, name, HELP)?,
            output,
            hash_ids: Vec::new(),
        })
    })?;
    Ok(failed)
}
