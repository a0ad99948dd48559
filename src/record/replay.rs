//! The replay file: a race's event stream on disk, so that playing it back feeds the same
//! aggregator and views as the live race did. Gzip-compressed JSON lines: a header (format
//! version, the race as run without secrets, the endpoints, the prompts, the UTC start), one
//! line per event, and an end line. It is written as the race runs and flushed every second,
//! so a crash leaves a file that plays up to its last whole event.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};

use super::run_info::EndpointInfo;
use crate::config::RaceConfig;
use crate::event::{EVENT_FORMAT_VERSION, Offset, RaceEvent};
use crate::protocol::Message;

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

/// Writes a replay as the race runs.
pub struct ReplayWriter {
    path: PathBuf,
    out: GzEncoder<BufWriter<File>>,
    line: Vec<u8>,
}

impl ReplayWriter {
    /// Creates `replay.jsonl.gz` in `dir` and writes the header.
    pub fn create(dir: &Path, header: &ReplayHeader) -> Result<ReplayWriter, ReplayError> {
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
        writer.put(header)?;
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
        self.line.clear();
        serde_json::to_writer(&mut self.line, value)
            .map_err(|e| self.error(std::io::Error::other(e.to_string())))?;
        self.line.push(b'\n');
        self.out
            .write_all(&self.line)
            .map_err(|source| self.error(source))
    }

    fn error(&self, source: std::io::Error) -> ReplayError {
        ReplayError::Write {
            path: self.path.clone(),
            source,
        }
    }
}

/// A replay read back: its header, every whole event in order, and how it ended.
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

    /// Reads a replay file, or a results folder holding one.
    pub fn open(path: &Path) -> Result<Replay, ReplayError> {
        let path = if path.is_dir() {
            path.join(REPLAY_FILE)
        } else {
            path.to_path_buf()
        };
        let file = File::open(&path).map_err(|source| ReplayError::Read {
            path: path.clone(),
            source,
        })?;
        let mut magic = [0u8; 2];
        let is_gzip = {
            use std::io::Read;
            let mut peek = File::open(&path).map_err(|source| ReplayError::Read {
                path: path.clone(),
                source,
            })?;
            peek.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b]
        };
        if !is_gzip {
            return Err(ReplayError::NotAReplay {
                path,
                why: "it is not gzip-compressed".to_string(),
            });
        }
        read(
            // Small reads: a damaged stream fails at the read that reaches the damage, and what
            // was decompressed before it still comes out as whole lines.
            BufReader::with_capacity(8 * 1024, MultiGzDecoder::new(file)),
            &path,
        )
    }
}

fn read(mut input: impl BufRead, path: &Path) -> Result<Replay, ReplayError> {
    let not_a_replay = |why: String| ReplayError::NotAReplay {
        path: path.to_path_buf(),
        why,
    };
    let mut line = Vec::with_capacity(512);
    match input.read_until(b'\n', &mut line) {
        Ok(0) => return Err(not_a_replay("it is empty".to_string())),
        Ok(_) => {}
        Err(e) => {
            return Err(not_a_replay(format!(
                "it cannot be decompressed before the end of its header: {e}"
            )));
        }
    }
    let version: serde_json::Value = serde_json::from_slice(&line)
        .map_err(|_| not_a_replay("its first line is not a replay header".to_string()))?;
    let found = version
        .get("llmrace_replay")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| not_a_replay("its first line is not a replay header".to_string()))?;
    let found = u32::try_from(found).unwrap_or(u32::MAX);
    if found > REPLAY_FORMAT_VERSION {
        return Err(ReplayError::TooNew {
            path: path.to_path_buf(),
            found,
        });
    }
    let header: ReplayHeader = serde_json::from_value(version)
        .map_err(|e| not_a_replay(format!("its header is damaged: {e}")))?;

    let mut events = Vec::new();
    let mut end = None;
    let mut damage = None;
    let mut number = 1usize;
    loop {
        line.clear();
        number += 1;
        match input.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                damage = Some(format!(
                    "the file is cut or damaged after line {}: {e}",
                    number - 1
                ));
                break;
            }
        }
        if line.last() != Some(&b'\n') {
            damage = Some(format!("the file ends in the middle of line {number}"));
            break;
        }
        match serde_json::from_slice::<RaceEvent>(&line) {
            Ok(event) => events.push(event),
            Err(event_error) => match serde_json::from_slice::<EndLine>(&line) {
                Ok(e) => {
                    end = Some(e.end);
                    break;
                }
                Err(_) => {
                    damage = Some(format!("line {number} is damaged: {event_error}"));
                    break;
                }
            },
        }
    }
    if end.is_none() && damage.is_none() {
        damage = Some("the file stops before the race's end (was the race cut off?)".to_string());
    }
    Ok(Replay {
        header,
        events,
        end,
        damage,
    })
}
