//! A finished race loaded for reporting: its run info, final summary and every request record,
//! read from a results folder or folded from a replay.

use std::io::BufRead;
use std::path::{Path, PathBuf};

mod records;
mod server_points;

#[cfg(any(test, feature = "test-support"))]
use super::fold::fold_replay;
use super::fold::fold_stream_seeing;
use crate::clock;
#[cfg(any(test, feature = "test-support"))]
use crate::record::Replay;
use crate::record::files::{REPLAY_FILE, REQUESTS_JSONL, RUN_JSON, SUMMARY_JSON};
use crate::record::replay::ReplayReader;
use crate::record::run_info::Span;
use crate::record::{ReplayEnd, ReplayError, ReplayHeader, RunInfo, Summary};
use crate::stats::{RequestRecord, Snapshot};

/// Everything a report needs about one race.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub info: RunInfo,
    pub summary: Summary,
    /// Every finished request, warm-ups included (flagged), in the order they ended.
    pub requests: Vec<RequestRecord>,
}

impl Run {
    /// The endpoints' names, in the race's order.
    pub fn endpoint_names(&self) -> Vec<&str> {
        self.summary
            .endpoints
            .iter()
            .map(|e| e.name.as_str())
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{path} does not exist")]
    NotFound { path: PathBuf },
    #[error(
        "{path} is not a race's results: it has no {missing}, and no {REPLAY_FILE} or \
         {REQUESTS_JSONL}.partial to rebuild them from"
    )]
    Incomplete { path: PathBuf, missing: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is damaged: {reason}")]
    Damaged { path: PathBuf, reason: String },
    #[error(transparent)]
    Replay(#[from] ReplayError),
}

/// Whether a loaded run keeps every request record: the HTML report and `compare` need them,
/// the other formats only the summary, and a long race has many.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Records {
    Keep,
    Skip,
}

/// Loads a race from a results folder (`summary.json`, `run.json`, `requests.jsonl`), from a
/// folder holding only its replay, or from a replay file. The result files win when all three
/// are there; otherwise the replay is folded, which gives the same numbers. A folder with
/// neither (a race killed without a replay) is rebuilt from the request records that reached
/// disk.
pub fn load(path: &Path) -> Result<Run, RunError> {
    load_with(path, Records::Keep)
}

/// [`load`], keeping the request records or not. A replay is read as a stream either way.
pub fn load_with(path: &Path, records: Records) -> Result<Run, RunError> {
    if !path.exists() {
        return Err(RunError::NotFound {
            path: path.to_path_buf(),
        });
    }
    if is_read_from_replay(path) {
        return from_replay_file(path, records);
    }
    let missing = missing_files(path);
    if missing.is_empty() {
        return from_files(path, records);
    }
    if let Some(run) = records::load(path, records)? {
        return Ok(run);
    }
    Err(RunError::Incomplete {
        path: path.to_path_buf(),
        missing: missing.join(", "),
    })
}

/// Whether [`load_with`] reads `path` from a replay: a replay file, or a folder without its
/// result files that holds one.
pub fn is_read_from_replay(path: &Path) -> bool {
    if path.is_dir() {
        !missing_files(path).is_empty() && path.join(REPLAY_FILE).is_file()
    } else {
        path.exists()
    }
}

fn missing_files(dir: &Path) -> Vec<&'static str> {
    [SUMMARY_JSON, RUN_JSON, REQUESTS_JSONL]
        .into_iter()
        .filter(|name| !dir.join(name).is_file())
        .collect()
}

fn from_files(dir: &Path, records: Records) -> Result<Run, RunError> {
    let mut summary: Summary = read_json(&dir.join(SUMMARY_JSON))?;
    let info = read_json(&dir.join(RUN_JSON))?;
    let requests = match records {
        Records::Keep => read_records(&dir.join(REQUESTS_JSONL))?,
        Records::Skip => Vec::new(),
    };
    // The servers' series, for the reports that draw them (those that keep every record).
    if records == Records::Keep {
        server_points::attach(dir, &mut summary.endpoints);
    }
    Ok(Run {
        info,
        summary,
        requests,
    })
}

fn read_records(path: &Path) -> Result<Vec<RequestRecord>, RunError> {
    let read_error = |source| RunError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut requests = Vec::new();
    for (number, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(read_error)?;
        if line.trim().is_empty() {
            continue;
        }
        let record = serde_json::from_str(&line).map_err(|e| RunError::Damaged {
            path: path.to_path_buf(),
            reason: format!("line {}: {e}", number + 1),
        })?;
        requests.push(record);
    }
    Ok(requests)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, RunError> {
    let text = std::fs::read(path).map_err(|source| RunError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&text).map_err(|e| RunError::Damaged {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Folds a replay into a run, as `llmrace report` does when it rebuilds the result files;
/// what is wrong with the replay becomes a notice.
#[cfg(any(test, feature = "test-support"))]
pub fn from_replay(replay: &Replay) -> Run {
    let mut requests = Vec::new();
    let last = fold_replay(replay, |r| requests.push(r.clone()));
    assemble(
        &replay.header,
        last,
        replay.end,
        replay.damage.as_deref(),
        requests,
    )
}

/// [`from_replay`] on a replay file (or a folder holding one) read as it is folded, so that
/// only the records kept, never the events, grow with the race's length.
pub fn from_replay_file(path: &Path, records: Records) -> Result<Run, RunError> {
    Ok(fold_file(ReplayReader::open(path)?, records, |_| {}))
}

/// The run a replay describes, folded as it is read; every request record also goes to
/// `each` as it ends.
pub(crate) fn fold_file(
    reader: ReplayReader,
    records: Records,
    each: impl FnMut(&RequestRecord),
) -> Run {
    fold_file_seeing(reader, records, each, |_| {})
}

/// [`fold_file`], each event also handed to `on_event`.
pub(crate) fn fold_file_seeing(
    mut reader: ReplayReader,
    records: Records,
    mut each: impl FnMut(&RequestRecord),
    on_event: impl FnMut(&crate::event::RaceEvent),
) -> Run {
    let mut requests = Vec::new();
    let last = fold_stream_seeing(
        &mut reader,
        |r| {
            each(r);
            if records == Records::Keep {
                requests.push(r.clone());
            }
        },
        on_event,
    );
    let (header, end, damage) = reader.into_parts();
    assemble(&header, last, end, damage.as_deref(), requests)
}

/// The run a replay's header and final snapshot describe.
pub(crate) fn assemble(
    header: &ReplayHeader,
    last: Snapshot,
    end: Option<ReplayEnd>,
    damage: Option<&str>,
    requests: Vec<RequestRecord>,
) -> Run {
    let span = Span {
        started_at: header.started_at,
        ended_at: clock::wall_time(header.started_at, last.t),
        duration_s: last.t.as_secs_f64(),
        interrupted: end.is_none_or(|e| e.interrupted),
    };
    let info = RunInfo::of_replay(header, span, damage, &last.endpoints);
    let summary = Summary::new(&info, span.duration_s, last.endpoints, last.costs);
    Run {
        info,
        summary,
        requests,
    }
}

/// The fixture race of [`crate::stats::fixture`] as a run, for report tests: deterministic,
/// with the version pinned so snapshots survive releases.
#[cfg(test)]
pub(crate) fn fixture(endpoints: usize, requests: usize) -> Run {
    let mut run = from_replay(&crate::record::replay::fixture::replay(endpoints, requests));
    run.info.llmrace_version = "0.0.0-test".to_string();
    run
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::replay::fixture;

    #[test]
    fn a_folder_with_only_a_replay_or_the_replay_file_is_folded() {
        let dir = tempfile::tempdir().unwrap();
        let replay = fixture::replay(2, 5);
        fixture::write_file(dir.path(), &replay, None);
        let file = dir.path().join(REPLAY_FILE);
        let folded = from_replay(&replay);
        assert!(load(dir.path()).unwrap().summary == folded.summary);
        assert!(load(&file).unwrap().requests == folded.requests);
    }

    #[test]
    fn a_replay_file_streams_into_the_same_run() {
        let dir = tempfile::tempdir().unwrap();
        let replay = fixture::replay(3, 30);
        fixture::write_file(dir.path(), &replay, None);
        let whole = from_replay(&replay);
        assert!(from_replay_file(dir.path(), Records::Keep).unwrap() == whole);
        let summary_only = load_with(dir.path(), Records::Skip).unwrap();
        assert!(summary_only.summary == whole.summary);
        assert!(summary_only.requests.is_empty());
    }

    #[test]
    fn errors_name_the_path_and_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(SUMMARY_JSON), "{}").unwrap();
        let message = load(dir.path()).unwrap_err().to_string();
        assert!(
            message.contains(&dir.path().display().to_string()),
            "{message}"
        );
        assert!(message.contains("run.json, requests.jsonl"), "{message}");
        assert!(message.contains(REPLAY_FILE), "{message}");

        let gone = dir.path().join("nope");
        let message = load(&gone).unwrap_err().to_string();
        assert!(message.contains("nope") && message.contains("does not exist"));

        for name in [RUN_JSON, REQUESTS_JSONL] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let message = load(dir.path()).unwrap_err().to_string();
        assert!(message.contains("summary.json is damaged"), "{message}");

        let not_replay = dir.path().join("x.txt");
        std::fs::write(&not_replay, "hello").unwrap();
        let message = load(&not_replay).unwrap_err().to_string();
        assert!(message.contains("not an llmrace replay"), "{message}");
    }

    #[test]
    fn an_anthropic_replay_of_event_format_1_says_its_input_left_out_the_cache() {
        let mut replay = fixture::replay(2, 4);
        replay.header.endpoints[1].protocol = "anthropic".to_string();
        let anthropic = replay.header.endpoints[1].name.clone();
        assert!(from_replay(&replay).info.notices.is_empty());
        replay.header.event_format = 1;
        let notices = from_replay(&replay).info.notices;
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(
            notices[0].starts_with(&format!("{anthropic}: recorded by llmrace")),
            "{notices:?}"
        );
        assert!(
            notices[0].contains(
                "event format 1), its input tokens leave out those read from or \
                 written to the prompt cache"
            ),
            "{notices:?}"
        );
    }
}
