//! The replay file: a race's event stream on disk, so that playing it back feeds the same
//! aggregator and views as the live race did. One gzip stream: a JSON header line (format
//! version, the race as run without secrets, the endpoints, the UTC start), one JSON line per
//! prompt, then (format 3) the events as compact binary records (`binary.rs`) and an end
//! record with the number of events. It is written as the race runs and flushed every second,
//! so a crash leaves a file that plays up to its last whole event. Formats 1 and 2 (every
//! event a JSON line) are still read.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};

use super::endpoint_info::EndpointInfo;
use super::files::REPLAY_FILE;
use crate::config::RaceConfig;
use crate::event::{EVENT_FORMAT_VERSION, Offset, RaceEvent};
use crate::protocol::Message;

pub(crate) mod binary;
mod compress;
#[cfg(test)]
mod cut_tests;
pub mod damage;
#[cfg(test)]
pub(crate) mod fixture;
pub mod json_lines;
mod prompt_line;
mod read_ahead;
mod reader;

pub(crate) use reader::{Line, read_line};
pub use reader::{MAX_LINE_BYTES, ReplayReader};

/// Bumped when a change would make an older llmrace misread a replay. Format 2 moved the
/// prompts out of the header (a big workload made it longer than a line may be) and numbered
/// the events; format 3 writes the events and the end as binary records instead of JSON
/// lines (a tenth of the work per event). Formats 1 and 2 are still read.
pub const REPLAY_FORMAT_VERSION: u32 = 3;

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
    /// The workload's prompts, by `PromptId`, so the inspector can show what was sent. Format
    /// 1 kept them in the header line; they now follow it, one line each.
    #[serde(default, skip_serializing)]
    pub prompts: Vec<Vec<Message>>,
    /// A merged race's (`llmrace merge`): how many shards it was split into. Its request ids
    /// are `id × N + K`, so each request's shard is its id modulo this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<u32>,
    /// A merged race's: its shards as its `run.json` lists them (host, start skew, folder), so
    /// that every output rebuilt from the replay names them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shard_runs: Vec<super::shard_run::ShardRun>,
    /// A merged race's (`merge --allow-missing`): the shard numbers not merged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_shards: Vec<u32>,
    /// A merged race's: what the merge found that every output must say (the gap of missing
    /// shards, a shard's damaged files), known before its events were merged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
}

/// The header as its line holds it: without the prompts, which follow it one a line.
#[derive(Serialize)]
struct HeaderLine<'a> {
    #[serde(flatten)]
    header: &'a ReplayHeader,
    prompt_lines: usize,
}

/// One prompt of the workload, on a line of its own after the header.
#[derive(Serialize, Deserialize)]
struct PromptLine<'a> {
    prompt: usize,
    messages: Cow<'a, [Message]>,
}

/// An event as a format-2 line holds it: numbered, so that a line lost or repeated shows.
#[derive(Serialize)]
struct EventLine<'a> {
    n: u64,
    #[serde(flatten)]
    event: &'a RaceEvent,
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
            shards: None,
            shard_runs: Vec::new(),
            missing_shards: Vec::new(),
            notices: Vec::new(),
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
    /// How many events the file holds (format 2 on), so that lines lost at the end show too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    events: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{} holds no replay ({REPLAY_FILE}): the race was run with --no-replay, or this is not \
         a race's results folder\n  help: `llmrace report {}` reports from its result files; \
         `llmrace replay` with no argument lists the races that can be played",
        dir.display(),
        dir.display()
    )]
    NoReplay { dir: PathBuf },
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

/// Gzip's level. 2 rather than the usual 6: zlib-rs deflates a replay's lines about 2.4 times
/// as fast for about 16 % more bytes (BENCHMARKS.md, "Pipeline and replay"); compressing was
/// the pipeline's largest cost per event.
const LEVEL: u32 = 2;

/// The header is compressed this much at a time between looks at the stop.
const HEADER_CHUNK: usize = 1 << 20;

/// The stop of a replay created without one (tests, benches): never set.
#[cfg(any(test, feature = "test-support"))]
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

/// Writes a replay as the race runs: the header and prompts at once, then events serialised
/// into blocks that a thread of their own compresses (`compress.rs`).
pub struct ReplayWriter {
    path: PathBuf,
    /// The gzip stream while the header and prompts are written, then handed to `compressor`.
    out: Option<compress::Out>,
    compressor: Option<compress::Compressor>,
    line: Vec<u8>,
    /// Whole event records not yet handed to the compressor.
    block: Vec<u8>,
    encoder: binary::Encoder,
    /// The events written so far.
    events: u64,
}

impl ReplayWriter {
    /// Creates `replay.jsonl.gz` in `dir` and writes the header.
    #[cfg(any(test, feature = "test-support"))]
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
        let out = GzEncoder::new(
            BufWriter::with_capacity(64 * 1024, file),
            Compression::new(LEVEL),
        );
        let mut writer = ReplayWriter {
            path,
            out: Some(out),
            compressor: None,
            line: Vec::with_capacity(512),
            block: Vec::new(),
            encoder: binary::Encoder::default(),
            events: 0,
        };
        writer.put_until(
            &HeaderLine {
                header,
                prompt_lines: header.prompts.len(),
            },
            stop,
        )?;
        for (prompt, messages) in header.prompts.iter().enumerate() {
            writer.put_until(
                &PromptLine {
                    prompt,
                    messages: prompt_line::fit(messages),
                },
                stop,
            )?;
        }
        let compressor = writer
            .out
            .take()
            .ok_or_else(stopped)
            .and_then(compress::Compressor::start)
            .map_err(|e| writer.error(e))?;
        writer.compressor = Some(compressor);
        writer.block = Vec::with_capacity(compress::BLOCK_BYTES + 1024);
        Ok(writer)
    }

    pub fn write(&mut self, event: &RaceEvent) -> Result<(), ReplayError> {
        self.events += 1;
        self.encoder.event(event, &mut self.block);
        self.hand_over_if_full()
    }

    /// Pushes what is written so far to the file, so a crash loses at most this much (and
    /// what the compressor has not reached yet, a few milliseconds' worth).
    pub fn flush(&mut self) -> Result<(), ReplayError> {
        self.hand_over()?;
        self.compressor()?
            .flush()
            .map_err(|source| self.error(source))
    }

    /// Writes the end record and completes the file.
    pub fn finish(mut self, end: ReplayEnd) -> Result<PathBuf, ReplayError> {
        self.encoder.end(end, self.events, &mut self.block);
        self.hand_over()?;
        let compressor = self.compressor.take();
        compressor
            .map_or_else(|| Err(stopped()), compress::Compressor::finish)
            .map_err(|source| self.error(source))?;
        Ok(std::mem::take(&mut self.path))
    }

    /// The block, to the compressor once it is full.
    fn hand_over_if_full(&mut self) -> Result<(), ReplayError> {
        if self.block.len() >= compress::BLOCK_BYTES {
            self.hand_over()?;
        }
        Ok(())
    }

    /// The block's whole records, to the compressor.
    fn hand_over(&mut self) -> Result<(), ReplayError> {
        if self.block.is_empty() {
            return Ok(());
        }
        let block = std::mem::replace(
            &mut self.block,
            Vec::with_capacity(compress::BLOCK_BYTES + 1024),
        );
        let sent = self.compressor()?.block(block);
        sent.map_err(|source| {
            self.compressor = None;
            self.error(source)
        })
    }

    fn compressor(&mut self) -> Result<&mut compress::Compressor, ReplayError> {
        let path = &self.path;
        self.compressor.as_mut().ok_or_else(|| ReplayError::Write {
            path: path.clone(),
            source: stopped(),
        })
    }

    /// One line written, unless `stop` is set first; compressed a chunk at a time so that a
    /// long line (a prompt of megabytes) gives up soon after `stop` too.
    fn put_until<T: Serialize>(&mut self, value: &T, stop: &AtomicBool) -> Result<(), ReplayError> {
        self.serialise(value, stop)?;
        for chunk in self.line.chunks(HEADER_CHUNK) {
            if stop.load(Ordering::Relaxed) {
                return Err(self.error(std::io::Error::other("stopped")));
            }
            let out = self.out.as_mut().ok_or_else(|| ReplayError::Write {
                path: self.path.clone(),
                source: stopped(),
            })?;
            out.write_all(chunk).map_err(|e| ReplayError::Write {
                path: self.path.clone(),
                source: e,
            })?;
        }
        Ok(())
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

impl Drop for ReplayWriter {
    /// Without `finish` (the race unwound, or the recorder gave the replay up): the whole lines
    /// written still reach the file, which then plays up to them.
    fn drop(&mut self) {
        if self.compressor.is_some() {
            let _ = self.hand_over();
        }
    }
}

/// The error of a replay whose compression has stopped already (at an error told before).
fn stopped() -> std::io::Error {
    std::io::Error::other("the replay's compression stopped")
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

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(content: String) -> Vec<Message> {
        vec![Message::user(content)]
    }

    #[test]
    fn prompts_past_the_line_cap_are_written_so_that_they_read_back() {
        let mut replay = fixture::replay(2, 3);
        // Together more than a line may hold (the header held them all in format 1).
        let mib = |c: char| c.to_string().repeat(1 << 20);
        replay.header.prompts = ('a'..='q').map(|c| prompt(mib(c))).collect();
        // One prompt alone past the cap: kept cut, and the file still reads.
        replay
            .header
            .prompts
            .push(prompt("z".repeat(MAX_LINE_BYTES + 1)));
        let dir = tempfile::tempdir().unwrap();
        fixture::write_file(dir.path(), &replay, None);
        let read = Replay::open(dir.path()).unwrap();
        assert_eq!(read.damage, None);
        assert_eq!(read.events, replay.events);
        let prompts = &replay.header.prompts;
        assert_eq!(read.header.prompts[..17], prompts[..17]);
        let cut = &read.header.prompts[17][0].content;
        assert!(cut.starts_with("zzz") && cut.ends_with(prompt_line::CUT_MARK));
        assert!(cut.len() < MAX_LINE_BYTES);
    }
}
