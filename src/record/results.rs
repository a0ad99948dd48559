//! Writes a race's result files as the race runs: request records are appended as they end,
//! the run and summary files at the end. Each file is written aside (`.partial`) and renamed
//! into place once complete, so a reader never sees half a file under a final name.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::files::{REQUESTS_CSV, REQUESTS_JSONL, RUN_JSON, SUMMARY_JSON, partial};
use super::run_info::{RunInfo, Summary};
use crate::stats::RequestRecord;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot create the results folder {path}: {source}. Choose another with --out DIR.")]
    CreateFolder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot write into the results folder {path}: {source}. Choose another with --out DIR."
    )]
    NotWritable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the results folder {path} has only {free} free, less than the {needed} a race needs at \
         least. Free some space or choose another folder with --out DIR."
    )]
    LowSpace {
        path: PathBuf,
        free: String,
        needed: String,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode {what}: {reason}")]
    Encode { what: &'static str, reason: String },
}

pub struct ResultsWriter {
    dir: PathBuf,
    jsonl: BufWriter<File>,
    csv: csv::Writer<File>,
    /// Set once a file fails: it is written no further and never renamed into place, so a
    /// reader never takes a cut file for a whole one.
    jsonl_failed: bool,
    csv_failed: bool,
    line: Vec<u8>,
    written: u64,
}

/// What completing the result files left: the folder, and every file that could not be
/// completed (each already kept aside as `NAME.partial` where it had been started).
#[derive(Debug)]
pub struct Finished {
    pub dir: PathBuf,
    pub failures: Vec<RecordError>,
}

impl ResultsWriter {
    /// Creates the folder (and its parents) and opens the request files, so a folder that
    /// cannot be written is found before the race starts, not after.
    pub fn create(dir: &Path) -> Result<ResultsWriter, RecordError> {
        std::fs::create_dir_all(dir).map_err(|source| RecordError::CreateFolder {
            path: dir.to_path_buf(),
            source,
        })?;
        let open = |name: &str| {
            let path = partial(dir, name);
            File::create(&path).map_err(|source| RecordError::Write { path, source })
        };
        let jsonl = BufWriter::with_capacity(64 * 1024, open(REQUESTS_JSONL)?);
        // The header is written by hand so that a race with no requests still has one.
        let mut csv = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(open(REQUESTS_CSV)?);
        csv.write_record(CsvRow::HEADER)
            .map_err(|e| write_error(dir, REQUESTS_CSV, &e))?;
        Ok(ResultsWriter {
            dir: dir.to_path_buf(),
            jsonl,
            csv,
            jsonl_failed: false,
            csv_failed: false,
            line: Vec::with_capacity(1024),
            written: 0,
        })
    }

    /// Appends a request to both request files. A file that fails stops there (the other goes
    /// on); the error is returned once, when it happens.
    pub fn write(&mut self, record: &RequestRecord) -> Result<(), RecordError> {
        let mut failure = None;
        if !self.jsonl_failed {
            self.line.clear();
            serde_json::to_writer(&mut self.line, record).map_err(|e| RecordError::Encode {
                what: "a request record",
                reason: e.to_string(),
            })?;
            self.line.push(b'\n');
            if let Err(source) = self.jsonl.write_all(&self.line) {
                self.jsonl_failed = true;
                failure = Some(RecordError::Write {
                    path: partial(&self.dir, REQUESTS_JSONL),
                    source,
                });
            }
        }
        if !self.csv_failed
            && let Err(e) = self.csv.serialize(CsvRow::from(record))
        {
            self.csv_failed = true;
            failure.get_or_insert_with(|| write_error(&self.dir, REQUESTS_CSV, &e));
        }
        self.written += 1;
        failure.map_or(Ok(()), Err)
    }

    /// Pushes the request records written so far to disk, so that after a crash the
    /// `.partial` files hold all but the last moment's requests.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        let mut failure = None;
        if !self.jsonl_failed
            && let Err(source) = self.jsonl.flush()
        {
            self.jsonl_failed = true;
            failure = Some(RecordError::Write {
                path: partial(&self.dir, REQUESTS_JSONL),
                source,
            });
        }
        if !self.csv_failed
            && let Err(source) = self.csv.flush()
        {
            self.csv_failed = true;
            failure.get_or_insert(RecordError::Write {
                path: partial(&self.dir, REQUESTS_CSV),
                source,
            });
        }
        failure.map_or(Ok(()), Err)
    }

    /// Completes every file it can: the request files are flushed, synced and renamed into
    /// place, then `summary.json` and `run.json` are written. One file failing does not stop
    /// the others; `run.json`, written last, lists what failed before it.
    pub fn finish(mut self, run: &RunInfo, summary: &Summary) -> Finished {
        let mut failures = Vec::new();
        if !self.jsonl_failed {
            let path = partial(&self.dir, REQUESTS_JSONL);
            let done = self
                .jsonl
                .flush()
                .and_then(|()| self.jsonl.get_ref().sync_all())
                .map_err(|source| RecordError::Write { path, source })
                .and_then(|()| promote(&self.dir, REQUESTS_JSONL));
            failures.extend(done.err());
        }
        if !self.csv_failed {
            let path = partial(&self.dir, REQUESTS_CSV);
            let done = self
                .csv
                .flush()
                .and_then(|()| self.csv.get_ref().sync_all())
                .map_err(|source| RecordError::Write { path, source })
                .and_then(|()| promote(&self.dir, REQUESTS_CSV));
            failures.extend(done.err());
        }
        failures.extend(write_json(&self.dir, SUMMARY_JSON, summary).err());
        let mut run = run.clone();
        run.notices.extend(failures.iter().map(ToString::to_string));
        failures.extend(write_json(&self.dir, RUN_JSON, &run).err());
        Finished {
            dir: self.dir,
            failures,
        }
    }
}

/// The files [`ResultsWriter::create`] opens in `dir`.
pub fn opened_files(dir: &Path) -> [PathBuf; 2] {
    [partial(dir, REQUESTS_JSONL), partial(dir, REQUESTS_CSV)]
}

fn promote(dir: &Path, name: &str) -> Result<(), RecordError> {
    let path = dir.join(name);
    std::fs::rename(partial(dir, name), &path).map_err(|source| RecordError::Write { path, source })
}

fn write_error(dir: &Path, name: &str, e: &csv::Error) -> RecordError {
    RecordError::Write {
        path: partial(dir, name),
        source: std::io::Error::other(e.to_string()),
    }
}

/// Writes pretty JSON aside, syncs it and renames it into place: after a crash or a power cut
/// the final name holds the whole file or nothing.
pub fn write_json<T: Serialize>(dir: &Path, name: &str, value: &T) -> Result<(), RecordError> {
    let text = serde_json::to_vec_pretty(value).map_err(|e| RecordError::Encode {
        what: "a results file",
        reason: e.to_string(),
    })?;
    let aside = partial(dir, name);
    let written = File::create(&aside).and_then(|mut file| {
        file.write_all(&text)?;
        file.sync_all()
    });
    if let Err(source) = written {
        // A cut `.partial` is worth nothing and would only confuse.
        let _ = std::fs::remove_file(&aside);
        return Err(RecordError::Write {
            path: dir.join(name),
            source,
        });
    }
    promote(dir, name)
}

/// One row of `requests.csv`: the record's scalar fields, with the gaps summarised.
#[derive(Serialize)]
struct CsvRow<'a> {
    request: u64,
    endpoint: &'a str,
    prompt: u32,
    warmup: bool,
    request_time: String,
    sent_at_s: f64,
    outcome: &'static str,
    http_status: Option<u16>,
    error_class: Option<&'static str>,
    error_message: Option<&'a str>,
    finish_reason: Option<&'a str>,
    ttfb_ms: Option<f64>,
    ttft_ms: Option<f64>,
    ttfa_ms: Option<f64>,
    ttlt_ms: Option<f64>,
    tpot_ms: Option<f64>,
    itl_mean_ms: Option<f64>,
    itl_max_ms: Option<f64>,
    output_tps: Option<f64>,
    chunks: u32,
    input_tokens: Option<u32>,
    input_tokens_source: Option<&'static str>,
    output_tokens: Option<u32>,
    output_tokens_source: Option<&'static str>,
    cached_input_tokens: Option<u32>,
    reasoning_tokens: Option<u32>,
    bytes_sent: u64,
    bytes_received: u64,
    new_connection: bool,
    connect_ms: Option<f64>,
    server_request_id: Option<&'a str>,
    response_id: Option<&'a str>,
    send_lag_ms: Option<f64>,
    attempt: u32,
    retry_of: Option<u64>,
    // Columns added later go last, so scripts that read columns by position keep working.
    cache_write_input_tokens: Option<u32>,
    usage_contradicted: bool,
    batched_first_token: bool,
    first_read_events: Option<u32>,
    ttft_min_ms: Option<f64>,
    read_late_max_ms: Option<f64>,
    unstamped_reads: u32,
    resent_after: Option<&'a str>,
    lost_ms: Option<f64>,
    tool_calls: u32,
    json_valid: Option<bool>,
    session: Option<u64>,
    turn: Option<u32>,
    repeat: bool,
    shard: Option<u32>,
    inputs: Option<u32>,
    embedding_dimension: Option<u32>,
}

impl CsvRow<'_> {
    const HEADER: [&'static str; 52] = [
        "request",
        "endpoint",
        "prompt",
        "warmup",
        "request_time",
        "sent_at_s",
        "outcome",
        "http_status",
        "error_class",
        "error_message",
        "finish_reason",
        "ttfb_ms",
        "ttft_ms",
        "ttfa_ms",
        "ttlt_ms",
        "tpot_ms",
        "itl_mean_ms",
        "itl_max_ms",
        "output_tps",
        "chunks",
        "input_tokens",
        "input_tokens_source",
        "output_tokens",
        "output_tokens_source",
        "cached_input_tokens",
        "reasoning_tokens",
        "bytes_sent",
        "bytes_received",
        "new_connection",
        "connect_ms",
        "server_request_id",
        "response_id",
        "send_lag_ms",
        "attempt",
        "retry_of",
        "cache_write_input_tokens",
        "usage_contradicted",
        "batched_first_token",
        "first_read_events",
        "ttft_min_ms",
        "read_late_max_ms",
        "unstamped_reads",
        "resent_after",
        "lost_ms",
        "tool_calls",
        "json_valid",
        "session",
        "turn",
        "repeat",
        "shard",
        "inputs",
        "embedding_dimension",
    ];
}

impl<'a> From<&'a RequestRecord> for CsvRow<'a> {
    fn from(r: &'a RequestRecord) -> Self {
        use crate::event::TokenSource;
        use crate::stats::Outcome;
        let source = |s: Option<TokenSource>| {
            s.map(|s| match s {
                TokenSource::Usage => "usage",
                TokenSource::Estimate => "estimate",
            })
        };
        let itl_mean =
            (!r.itl_ms.is_empty()).then(|| r.itl_ms.iter().sum::<f64>() / r.itl_ms.len() as f64);
        CsvRow {
            request: r.request.0,
            endpoint: &r.endpoint_name,
            prompt: r.prompt.0,
            warmup: r.warmup,
            request_time: r
                .request_time
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            sent_at_s: r.sent_at_s,
            outcome: match r.outcome {
                Outcome::Succeeded => "succeeded",
                Outcome::Failed => "failed",
                Outcome::Cancelled => "cancelled",
            },
            http_status: r.http_status,
            error_class: r.error_class.map(crate::event::ErrorClass::name),
            error_message: r.error_message.as_deref(),
            finish_reason: r.finish_reason.as_deref(),
            ttfb_ms: r.ttfb_ms,
            ttft_ms: r.ttft_ms,
            ttfa_ms: r.ttfa_ms,
            ttlt_ms: r.ttlt_ms,
            tpot_ms: r.tpot_ms,
            itl_mean_ms: itl_mean,
            itl_max_ms: r.itl_ms.iter().copied().reduce(f64::max),
            output_tps: r.output_tps,
            chunks: r.chunks,
            input_tokens: r.input_tokens,
            input_tokens_source: source(r.input_tokens_source),
            output_tokens: r.output_tokens,
            output_tokens_source: source(r.output_tokens_source),
            cached_input_tokens: r.cached_input_tokens,
            reasoning_tokens: r.reasoning_tokens,
            bytes_sent: r.bytes_sent,
            bytes_received: r.bytes_received,
            new_connection: r.new_connection,
            connect_ms: r.connect_ms,
            server_request_id: r.server_request_id.as_deref(),
            response_id: r.response_id.as_deref(),
            send_lag_ms: r.send_lag_ms,
            attempt: r.attempt,
            retry_of: r.retry_of.map(|r| r.0),
            cache_write_input_tokens: r.cache_write_input_tokens,
            usage_contradicted: r.usage_contradicted,
            batched_first_token: r.batched_first_token,
            first_read_events: r.first_read_events,
            ttft_min_ms: r.ttft_min_ms,
            read_late_max_ms: r.read_late_max_ms,
            unstamped_reads: r.unstamped_reads,
            resent_after: r.resent_after.as_deref(),
            lost_ms: r.lost_ms,
            tool_calls: r.tool_calls,
            json_valid: r.json_valid,
            session: r.session,
            turn: r.turn,
            repeat: r.repeat,
            shard: r.shard,
            inputs: r.inputs,
            embedding_dimension: r.embedding_dimension,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_header_names_every_column_in_order() {
        let mut w = csv::WriterBuilder::new()
            .has_headers(true)
            .from_writer(Vec::new());
        let record: RequestRecord = serde_json::from_str(SAMPLE_RECORD).unwrap();
        w.serialize(CsvRow::from(&record)).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let header = text.lines().next().unwrap();
        assert_eq!(header, CsvRow::HEADER.join(","));
        // Columns are only ever added at the end: a script reading by position keeps working.
        assert!(header.starts_with(
            "request,endpoint,prompt,warmup,request_time,sent_at_s,outcome,http_status,\
             error_class,error_message,finish_reason,ttfb_ms,ttft_ms,ttfa_ms,ttlt_ms,tpot_ms,\
             itl_mean_ms,itl_max_ms,output_tps,chunks,input_tokens,input_tokens_source,\
             output_tokens,output_tokens_source,cached_input_tokens,reasoning_tokens,bytes_sent,\
             bytes_received,new_connection,connect_ms,server_request_id,response_id,\
             send_lag_ms,attempt,retry_of,"
        ));
        assert!(header.ends_with(
            ",retry_of,cache_write_input_tokens,usage_contradicted,batched_first_token,\
             first_read_events,ttft_min_ms,read_late_max_ms,unstamped_reads,resent_after,lost_ms,\
             tool_calls,json_valid,session,turn,repeat,shard,inputs,embedding_dimension"
        ));
    }

    #[test]
    fn rows_tell_the_send_lag_and_the_attempt() {
        let row = |record: &RequestRecord| {
            let mut w = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(Vec::new());
            w.serialize(CsvRow::from(record)).unwrap();
            String::from_utf8(w.into_inner().unwrap()).unwrap()
        };
        // A closed-loop first attempt (written before these columns existed): empty lag,
        // attempt 1, no retry_of.
        let closed: RequestRecord = serde_json::from_str(SAMPLE_RECORD).unwrap();
        assert_eq!(
            (closed.send_lag_ms, closed.attempt, closed.retry_of),
            (None, 1, None)
        );
        assert!(
            row(&closed)
                .trim_end()
                .ends_with(",x,,1,,,false,false,,,,0,,,0,,,,false,,,"),
            "{}",
            row(&closed)
        );
        let mut retry = closed.clone();
        retry.send_lag_ms = Some(1.5);
        retry.attempt = 2;
        retry.retry_of = Some(crate::event::RequestId(2));
        assert!(
            row(&retry)
                .trim_end()
                .ends_with(",x,1.5,2,2,,false,false,,,,0,,,0,,,,false,,,"),
            "{}",
            row(&retry)
        );
        let json = serde_json::to_value(&retry).unwrap();
        assert_eq!(json["send_lag_ms"], 1.5);
        assert_eq!(json["attempt"], 2);
        assert_eq!(json["retry_of"], 2);
        let json = serde_json::to_value(&closed).unwrap();
        assert!(json.get("send_lag_ms").is_none() && json.get("retry_of").is_none());
    }

    /// The CSV holds what requests.jsonl does about the client's reads and a request sent
    /// again, in the last columns.
    #[test]
    fn rows_tell_how_far_the_reads_can_be_trusted() {
        let mut record: RequestRecord = serde_json::from_str(SAMPLE_RECORD).unwrap();
        record.batched_first_token = true;
        record.first_read_events = Some(3);
        record.ttft_min_ms = Some(0.5);
        record.read_late_max_ms = Some(12.5);
        record.unstamped_reads = 2;
        record.resent_after = Some("connection_lost: closed".into());
        record.lost_ms = Some(3.5);
        record.session = Some(4);
        record.turn = Some(2);
        record.repeat = true;
        let mut w = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        w.serialize(CsvRow::from(&record)).unwrap();
        let row = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert!(
            row.trim_end()
                .ends_with(",true,3,0.5,12.5,2,connection_lost: closed,3.5,0,,4,2,true,,,"),
            "{row}"
        );
        // Tool calls and the JSON check, in the two columns after them.
        record.tool_calls = 2;
        record.json_valid = Some(false);
        let mut w = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        w.serialize(CsvRow::from(&record)).unwrap();
        let row = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert!(
            row.trim_end().ends_with(",3.5,2,false,4,2,true,,,"),
            "{row}"
        );
        // An embeddings request's batch and dimension, in the last two (after a merged race's shard).
        record.inputs = Some(16);
        record.embedding_dimension = Some(384);
        let mut w = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        w.serialize(CsvRow::from(&record)).unwrap();
        let row = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert!(row.trim_end().ends_with(",true,,16,384"), "{row}");
        let n = CsvRow::HEADER.len();
        assert_eq!(
            CsvRow::HEADER[n - 3..],
            ["shard", "inputs", "embedding_dimension"]
        );
        let n = n - 3;
        assert_eq!(
            CsvRow::HEADER[n - 5..n],
            ["tool_calls", "json_valid", "session", "turn", "repeat"]
        );
        let tail = &CsvRow::HEADER[n - 12..n - 5];
        assert_eq!(
            tail,
            [
                "batched_first_token",
                "first_read_events",
                "ttft_min_ms",
                "read_late_max_ms",
                "unstamped_reads",
                "resent_after",
                "lost_ms",
            ]
        );
    }

    const SAMPLE_RECORD: &str = r#"{"request":3,"endpoint":0,"endpoint_name":"a","prompt":1,"warmup":false,
        "request_time":"2026-11-23T06:00:00Z","sent_at_s":0.5,"outcome":"succeeded","http_status":200,
        "error_class":null,"error_message":null,"finish_reason":"stop","ttfb_ms":1.0,"ttft_ms":2.0,
        "ttfa_ms":2.0,"ttlt_ms":10.0,"tpot_ms":1.0,"output_tps":900.0,"itl_ms":[1.0,3.0],"chunks":3,
        "input_tokens":5,"input_tokens_source":"usage","output_tokens":9,"output_tokens_source":"estimate",
        "cached_input_tokens":null,"reasoning_tokens":null,"bytes_sent":100,"bytes_received":200,
        "new_connection":false,"connect_ms":null,"server_request_id":null,"response_id":"x"}"#;

    #[test]
    fn a_json_file_that_cannot_be_written_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("removed");
        let err = write_json(&gone, SUMMARY_JSON, &serde_json::json!({"a": 1})).unwrap_err();
        assert!(err.to_string().contains("summary.json"), "{err}");
        assert!(!gone.join(SUMMARY_JSON).exists());
        write_json(dir.path(), SUMMARY_JSON, &serde_json::json!({"a": 1})).unwrap();
        assert!(dir.path().join(SUMMARY_JSON).is_file());
        assert!(!dir.path().join("summary.json.partial").exists());
    }

    #[test]
    fn files_appear_only_when_finished() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = ResultsWriter::create(dir.path()).unwrap();
        let record: RequestRecord = serde_json::from_str(SAMPLE_RECORD).unwrap();
        w.write(&record).unwrap();
        assert!(!dir.path().join(REQUESTS_JSONL).exists());
        assert!(dir.path().join("requests.jsonl.partial").exists());
    }
}
