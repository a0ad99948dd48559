//! The replay file: a race's event stream on disk, so that playing it back feeds the same
//! aggregator and views as the live race did. Gzip-compressed JSON lines: a header (format
//! version, the race as run without secrets, the endpoints, the prompts, the UTC start), one
//! line per event, and an end line. It is written as the race runs and flushed every second,
//! so a crash leaves a file that plays up to its last whole event.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};

use super::run_info::EndpointInfo;
use crate::config::RaceConfig;
use crate::event::{EVENT_FORMAT_VERSION, Offset, RaceEvent};
use crate::protocol::Message;

mod read_ahead;
mod reader;

pub(crate) use reader::{Line, read_line};
pub use reader::{MAX_LINE_BYTES, Progress, ReplayReader, Tally};

/// The replay's file name inside a results folder.
pub const REPLAY_FILE: &str = "replay.jsonl.gz";

/// Bumped when a change would make an older llmrace misread a replay.
pub const REPLAY_FORMAT_VERSION: u32 = 1;

/// The first line of a replay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplayHeader {
    /// Marks the file as a replay and says which format it is in.
    pub llmrace_replay: u32,
    pub event_format: u32,
    pub llmrace_version: String,
    pub name: String,
    pub started_at: DateTime<Utc>,
    pub endpoints: Vec<EndpointInfo>,
    /// The race as run, secrets removed.
    pub race: RaceConfig,
    /// The workload's prompts, by `PromptId`, so the inspector can show what was sent.
    pub prompts: Vec<Vec<Message>>,
}

impl ReplayHeader {
    pub fn new(
        race: RaceConfig,
        endpoints: Vec<EndpointInfo>,
        prompts: Vec<Vec<Message>>,
        started_at: DateTime<Utc>,
    ) -> Self {
        ReplayHeader {
            llmrace_replay: REPLAY_FORMAT_VERSION,
            event_format: EVENT_FORMAT_VERSION,
            llmrace_version: env!("CARGO_PKG_VERSION").to_string(),
            name: race.name.clone(),
            started_at,
            endpoints,
            race,
            prompts,
        }
    }
}

/// The last line of a complete replay.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplayEnd {
    /// Race time at which the race ended.
    pub t: Offset,
    pub interrupted: bool,
}

#[derive(Serialize, Deserialize)]
struct EndLine {
    end: ReplayEnd,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not an llmrace replay ({why}). Replays are the {REPLAY_FILE} files in a race's \
         results folder."
    )]
    NotAReplay { path: PathBuf, why: String },
    #[error(
        "{path} is a replay of format {found}, newer than this llmrace understands ({REPLAY_FORMAT_VERSION}); \
         upgrade llmrace to play it"
    )]
    TooNew { path: PathBuf, found: u32 },
    #[error("cannot write the replay {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The header is compressed this much at a time between looks at the stop.
const HEADER_CHUNK: usize = 1 << 20;

/// The stop of everything but a replay's header, which is never set.
static NEVER: AtomicBool = AtomicBool::new(false);

/// A line being serialised, given up on once `stop` is set.
struct Until<'a> {
    line: &'a mut Vec<u8>,
    stop: &'a AtomicBool,
}

impl Write for Until<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        // Not `Interrupted`: `write_all` would try again.
        if self.stop.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("stopped"));
        }
        self.line.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes a replay as the race runs.
pub struct ReplayWriter {
    path: PathBuf,
    out: GzEncoder<BufWriter<File>>,
    line: Vec<u8>,
}

impl ReplayWriter {
    /// Creates `replay.jsonl.gz` in `dir` and writes the header.
    pub fn create(dir: &Path, header: &ReplayHeader) -> Result<ReplayWriter, ReplayError> {
        Self::create_until(dir, header, &NEVER)
    }

    /// [`ReplayWriter::create`], giving up soon after `stop` is set (a write error, the file
    /// left for the caller): the header holds every prompt, and serialising and compressing a
    /// large set takes seconds.
    pub fn create_until(
        dir: &Path,
        header: &ReplayHeader,
        stop: &AtomicBool,
    ) -> Result<ReplayWriter, ReplayError> {
        let path = dir.join(REPLAY_FILE);
        let file = File::create(&path).map_err(|source| ReplayError::Write {
            path: path.clone(),
            source,
        })?;
        // Level 6: most of the ratio of 9 at a fraction of the CPU, on the aggregator's task.
        let out = GzEncoder::new(
            BufWriter::with_capacity(64 * 1024, file),
            Compression::new(6),
        );
        let mut writer = ReplayWriter {
            path,
            out,
            line: Vec::with_capacity(512),
        };
        writer.serialise(header, stop)?;
        for chunk in writer.line.chunks(HEADER_CHUNK) {
            if stop.load(Ordering::Relaxed) {
                return Err(writer.error(std::io::Error::other("stopped")));
            }
            writer.out.write_all(chunk).map_err(|e| writer.error(e))?;
        }
        Ok(writer)
    }

    pub fn write(&mut self, event: &RaceEvent) -> Result<(), ReplayError> {
        self.put(event)
    }

    /// Pushes what is written so far to the file, so a crash loses at most this much.
    pub fn flush(&mut self) -> Result<(), ReplayError> {
        self.out.flush().map_err(|source| self.error(source))
    }

    /// Writes the end line and completes the file.
    pub fn finish(mut self, end: ReplayEnd) -> Result<PathBuf, ReplayError> {
        self.put(&EndLine { end })?;
        let inner = self.out.finish().map_err(|source| ReplayError::Write {
            path: self.path.clone(),
            source,
        })?;
        inner
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|file| file.sync_all())
            .map_err(|source| ReplayError::Write {
                path: self.path.clone(),
                source,
            })?;
        Ok(self.path)
    }

    fn put<T: Serialize>(&mut self, value: &T) -> Result<(), ReplayError> {
        self.serialise(value, &NEVER)?;
        self.out
            .write_all(&self.line)
            .map_err(|source| self.error(source))
    }

    /// `value` as one line in `self.line`, unless `stop` is set first.
    fn serialise<T: Serialize>(&mut self, value: &T, stop: &AtomicBool) -> Result<(), ReplayError> {
        self.line.clear();
        let line = Until {
            line: &mut self.line,
            stop,
        };
        serde_json::to_writer(line, value)
            .map_err(|e| self.error(std::io::Error::other(e.to_string())))?;
        self.line.push(b'\n');
        Ok(())
    }

    fn error(&self, source: std::io::Error) -> ReplayError {
        ReplayError::Write {
            path: self.path.clone(),
            source,
        }
    }
}

/// A replay read back whole: its header, every whole event in order, and how it ended. The
/// dashboard's player needs every event at hand to seek; everything that only folds the
/// events streams them with [`ReplayReader`] instead.
#[derive(Clone, Debug)]
pub struct Replay {
    pub header: ReplayHeader,
    pub events: Vec<RaceEvent>,
    /// `None` when the file stops before its end line (a crash, a cut download).
    pub end: Option<ReplayEnd>,
    /// What was wrong with the file past its last whole event, if anything.
    pub damage: Option<String>,
}

impl Replay {
    /// The race time the replay covers: its end, or its last event when cut short.
    pub fn duration(&self) -> Offset {
        self.end
            .map(|e| e.t)
            .or_else(|| self.events.last().map(|e| e.t))
            .unwrap_or(Offset::ZERO)
    }

    /// Reads a replay file, or a results folder holding one, into memory.
    pub fn open(path: &Path) -> Result<Replay, ReplayError> {
        ReplayReader::open(path).map(Replay::read_all)
    }

    /// Reads the rest of a stream into memory.
    pub fn read_all<R: std::io::BufRead>(mut reader: ReplayReader<R>) -> Replay {
        let events = reader.by_ref().collect();
        let (header, end, damage) = reader.into_parts();
        Replay {
            header,
            events,
            end,
            damage,
        }
    }
}
