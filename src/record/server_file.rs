//! `server_metrics.jsonl`: every scrape of the race's server metrics, one line each, as the
//! scrapes arrive: when (race time and UTC), for which endpoints, from where (redacted), what
//! it read, what went wrong, and the page's raw series (at most
//! [`crate::event::MAX_SCRAPE_SERIES`]). Created at the first scrape, so a race that scraped
//! nothing has no such file; written aside (`.partial`) until complete, like every result file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::files::{SERVER_METRICS_JSONL, partial};
use super::results::RecordError;
use crate::event::{EventKind, RaceEvent, ScrapeError, ServerScrape};
use crate::server_metrics::ServerReading;

/// One line of the file.
#[derive(Serialize)]
struct Line<'a> {
    /// Seconds since the race's start.
    t_s: f64,
    time: String,
    endpoints: Vec<&'a str>,
    url: &'a str,
    took_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    reading: Option<&'a ServerReading>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a ScrapeError>,
    series: &'a [(String, f64)],
    #[serde(skip_serializing_if = "is_zero")]
    series_left_out: u32,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes &T"
)]
fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The file, opened at the first scrape.
pub struct ServerMetricsFile {
    dir: PathBuf,
    wall_start: DateTime<Utc>,
    /// Endpoint names in `EndpointId` order.
    names: Vec<String>,
    file: Option<BufWriter<File>>,
    /// Set once a write failed: nothing more is written and the file is never put in place.
    failed: bool,
    line: Vec<u8>,
}

impl ServerMetricsFile {
    pub fn new(dir: &Path, wall_start: DateTime<Utc>, names: Vec<String>) -> Self {
        ServerMetricsFile {
            dir: dir.to_path_buf(),
            wall_start,
            names,
            file: None,
            failed: false,
            line: Vec::new(),
        }
    }

    /// Writes `event` if it is a scrape; other events are not this file's. The error is
    /// returned once, when the file fails.
    pub fn write(&mut self, event: &RaceEvent) -> Result<(), RecordError> {
        let EventKind::ServerMetrics(scrape) = &event.kind else {
            return Ok(());
        };
        if self.failed {
            return Ok(());
        }
        let mut buffer = std::mem::take(&mut self.line);
        buffer.clear();
        let encoded = serde_json::to_writer(&mut buffer, &self.line_of(event, scrape));
        buffer.push(b'\n');
        self.line = buffer;
        encoded.map_err(|e| RecordError::Encode {
            what: "a server metrics scrape",
            reason: e.to_string(),
        })?;
        let path = partial(&self.dir, SERVER_METRICS_JSONL);
        let written = match &mut self.file {
            Some(file) => file.write_all(&self.line),
            None => File::create(&path).and_then(|file| {
                let mut file = BufWriter::with_capacity(256 * 1024, file);
                file.write_all(&self.line)?;
                self.file = Some(file);
                Ok(())
            }),
        };
        written.map_err(|source| {
            self.failed = true;
            RecordError::Write { path, source }
        })
    }

    fn line_of<'a>(&'a self, event: &RaceEvent, scrape: &'a ServerScrape) -> Line<'a> {
        let endpoints = std::iter::once(event.endpoint)
            .chain(scrape.also.iter().copied())
            .filter_map(|id| self.names.get(usize::from(id.0)).map(String::as_str))
            .collect();
        Line {
            t_s: event.t.as_secs_f64(),
            time: crate::clock::wall_time(self.wall_start, event.t)
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            endpoints,
            url: &scrape.url,
            took_ms: (scrape.took_ms * 1000.0).round() / 1000.0,
            reading: scrape.reading.as_ref(),
            error: scrape.error.as_ref(),
            series: &scrape.series,
            series_left_out: scrape.series_left_out,
        }
    }

    pub fn flush(&mut self) -> Result<(), RecordError> {
        if self.failed {
            return Ok(());
        }
        let Some(file) = &mut self.file else {
            return Ok(());
        };
        file.flush().map_err(|source| {
            self.failed = true;
            RecordError::Write {
                path: partial(&self.dir, SERVER_METRICS_JSONL),
                source,
            }
        })
    }

    /// Puts the file in place, if there was any scrape and it was written whole.
    pub fn finish(mut self) -> Result<(), RecordError> {
        if self.failed {
            return Ok(());
        }
        let Some(mut file) = self.file.take() else {
            return Ok(());
        };
        let from = partial(&self.dir, SERVER_METRICS_JSONL);
        let to = self.dir.join(SERVER_METRICS_JSONL);
        file.flush()
            .and_then(|()| file.get_ref().sync_all())
            .and_then(|()| std::fs::rename(&from, &to))
            .map_err(|source| RecordError::Write { path: to, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EndpointId, Offset, RequestId, ScrapeFailure};

    fn scrape(also: Vec<EndpointId>, error: Option<ScrapeError>) -> RaceEvent {
        let reading = error.is_none().then(|| ServerReading {
            queue: Some(3.0),
            ..ServerReading::default()
        });
        RaceEvent {
            t: Offset(1_500_000_000),
            endpoint: EndpointId(0),
            request: RequestId::SERVER,
            kind: EventKind::ServerMetrics(Box::new(ServerScrape {
                url: "http://127.0.0.1:9/metrics?key=[REDACTED]".into(),
                also,
                reading,
                series: vec![("vllm:num_requests_waiting".into(), 3.0)],
                error,
                ..ServerScrape::default()
            })),
        }
    }

    #[test]
    fn every_scrape_is_a_line_and_nothing_else_is() {
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["a".to_string(), "b".to_string()];
        let mut file = ServerMetricsFile::new(dir.path(), DateTime::UNIX_EPOCH, names);
        let request = RaceEvent {
            kind: EventKind::Cancelled { bytes: 0 },
            request: RequestId(1),
            ..scrape(Vec::new(), None)
        };
        file.write(&request).unwrap();
        assert!(
            !partial(dir.path(), SERVER_METRICS_JSONL).exists(),
            "no scrape, no file"
        );
        file.write(&scrape(vec![EndpointId(1)], None)).unwrap();
        let timeout = ScrapeError {
            class: ScrapeFailure::Timeout,
            message: "slow".into(),
        };
        file.write(&scrape(Vec::new(), Some(timeout))).unwrap();
        file.finish().unwrap();
        let text = std::fs::read_to_string(dir.path().join(SERVER_METRICS_JSONL)).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["endpoints"], serde_json::json!(["a", "b"]));
        assert_eq!(lines[0]["t_s"], 1.5);
        assert_eq!(lines[0]["time"], "1970-01-01T00:00:01.500Z");
        assert_eq!(lines[0]["reading"]["queue"], 3.0);
        assert_eq!(
            lines[0]["series"],
            serde_json::json!([["vllm:num_requests_waiting", 3.0]])
        );
        assert_eq!(lines[1]["error"]["class"], "timeout");
        assert!(lines[1].get("reading").is_none());
    }

    #[test]
    fn a_race_without_scrapes_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = ServerMetricsFile::new(dir.path(), DateTime::UNIX_EPOCH, Vec::new());
        file.finish().unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
