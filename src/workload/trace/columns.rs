//! The CSV traces' common reading: a header naming the columns, then one record a line, each
//! field found by its column's name and numbered by its line for messages.

use std::io::BufRead;

use crate::workload::error::WorkloadError;

/// A record's fields by the columns asked for, in their order, and its 1-based line.
pub(super) struct Record<'r> {
    pub line: usize,
    pub fields: Vec<&'r str>,
}

/// Reads `reader` as CSV with a header holding `columns`, visiting each record's fields of
/// those columns until the visit says stop. `help` says how the format is written.
pub(super) fn each_record(
    reader: impl BufRead,
    name: &str,
    columns: &[&str],
    help: &str,
    mut visit: impl FnMut(Record<'_>) -> Result<bool, WorkloadError>,
) -> Result<(), WorkloadError> {
    let bad = |line: usize, problem: String| WorkloadError::Line {
        source_name: name.to_string(),
        line,
        problem,
        help: help.to_string(),
    };
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let header = csv
        .headers()
        .map_err(|e| bad(1, format!("cannot read the header: {e}")))?
        .clone();
    let header_names: Vec<&str> = header
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}'))
        .collect();
    let mut at = Vec::with_capacity(columns.len());
    for column in columns {
        let index = header_names
            .iter()
            .position(|h| h == column)
            .ok_or_else(|| bad(1, format!("the header has no `{column}` column")))?;
        at.push(index);
    }
    let mut record = csv::StringRecord::new();
    loop {
        let line = usize::try_from(csv.position().line()).unwrap_or(usize::MAX);
        match csv.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => return Err(bad(line, format!("not a CSV row: {e}"))),
        }
        let line = record
            .position()
            .and_then(|p| usize::try_from(p.line()).ok())
            .unwrap_or(line);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let mut fields = Vec::with_capacity(at.len());
        for (&index, column) in at.iter().zip(columns) {
            let field = record
                .get(index)
                .ok_or_else(|| bad(line, format!("the row has no `{column}` field")))?;
            fields.push(field);
        }
        if !visit(Record { line, fields })? {
            return Ok(());
        }
    }
}

/// A count of tokens in `column`: a whole number, 0 or more.
pub(super) fn tokens(
    field: &str,
    column: &str,
    line: usize,
    name: &str,
    help: &str,
) -> Result<u64, WorkloadError> {
    field.parse().map_err(|_| WorkloadError::Line {
        source_name: name.to_string(),
        line,
        problem: format!("`{column}` is `{field}`, not a whole number of tokens"),
        help: help.to_string(),
    })
}
