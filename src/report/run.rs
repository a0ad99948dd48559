//! A finished race loaded for reporting: its run info, final summary and every request record,
//! read from a results folder or folded from a replay.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::record::{self, REPLAY_FILE, Replay, ReplayError, RunInfo, Summary};
use crate::stats::RequestRecord;
use crate::{clock, fold_replay};

const SUMMARY_JSON: &str = "summary.json";
const RUN_JSON: &str = "run.json";
const REQUESTS_JSONL: &str = "requests.jsonl";

/// Everything a report needs about one race.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub info: RunInfo,
    pub summary: Summary,
    /// Every finished request, warm-ups included (flagged), in the order they ended.
    pub requests: Vec<RequestRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{path} does not exist")]
    NotFound { path: PathBuf },
    #[error(
        "{path} is not a race's results: it has no {missing} and no {REPLAY_FILE} to rebuild them \
         from"
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

/// Loads a race from a results folder (`summary.json`, `run.json`, `requests.jsonl`), from a
/// folder holding only its replay, or from a replay file. The result files win when all three
/// are there; otherwise the replay is folded, which gives the same numbers.
pub fn load(path: &Path) -> Result<Run, RunError> {
    if !path.exists() {
        return Err(RunError::NotFound {
            path: path.to_path_buf(),
        });
    }
    if !path.is_dir() {
        return Ok(from_replay(&Replay::open(path)?));
    }
    let missing: Vec<&str> = [SUMMARY_JSON, RUN_JSON, REQUESTS_JSONL]
        .into_iter()
        .filter(|name| !path.join(name).is_file())
        .collect();
    if missing.is_empty() {
        return from_files(path);
    }
    if path.join(REPLAY_FILE).is_file() {
        return Ok(from_replay(&Replay::open(path)?));
    }
    Err(RunError::Incomplete {
        path: path.to_path_buf(),
        missing: missing.join(", "),
    })
}

fn from_files(dir: &Path) -> Result<Run, RunError> {
    let summary = read_json(&dir.join(SUMMARY_JSON))?;
    let info = read_json(&dir.join(RUN_JSON))?;
    let path = dir.join(REQUESTS_JSONL);
    let read_error = |source| RunError::Read {
        path: path.clone(),
        source,
    };
    let file = std::fs::File::open(&path).map_err(read_error)?;
    let mut requests = Vec::new();
    for (number, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(read_error)?;
        if line.trim().is_empty() {
            continue;
        }
        let record = serde_json::from_str(&line).map_err(|e| RunError::Damaged {
            path: path.clone(),
            reason: format!("line {}: {e}", number + 1),
        })?;
        requests.push(record);
    }
    Ok(Run {
        info,
        summary,
        requests,
    })
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
pub fn from_replay(replay: &Replay) -> Run {
    let mut requests = Vec::new();
    let last = fold_replay(replay, |r| requests.push(r.clone()));
    let header = &replay.header;
    let interrupted = replay.end.is_none_or(|e| e.interrupted);
    let duration_s = last.t.as_secs_f64();
    let summary = Summary {
        format_version: record::run_info::RESULTS_FORMAT_VERSION,
        name: header.name.clone(),
        started_at: header.started_at,
        duration_s,
        interrupted,
        costs: record::run_info::costs(&header.race, &last.endpoints),
        endpoints: last.endpoints,
    };
    let info = RunInfo {
        format_version: record::run_info::RESULTS_FORMAT_VERSION,
        llmrace_version: header.llmrace_version.clone(),
        name: header.name.clone(),
        started_at: header.started_at,
        ended_at: clock::wall_time(header.started_at, last.t),
        duration_s,
        interrupted,
        // A replay does not say where it was raced.
        host: "unknown".to_string(),
        endpoints: header.endpoints.clone(),
        notices: replay.damage.iter().cloned().collect(),
        race: header.race.clone(),
    };
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
    let mut run = from_replay(&crate::player::fixture::replay(endpoints, requests));
    run.info.llmrace_version = "0.0.0-test".to_string();
    run
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::player::fixture;

    #[test]
    fn a_results_folder_and_its_replay_load_alike() {
        let replay = fixture::replay(3, 20);
        let dir = tempfile::tempdir().unwrap();
        crate::report(&replay, dir.path()).unwrap();
        let from_folder = load(dir.path()).unwrap();
        let folded = from_replay(&replay);
        // Through the files as the folder went: the snapshot's view-only fields are not
        // stored, and JSON may move a float by its last bit.
        fn through_json<T: serde::Serialize + serde::de::DeserializeOwned>(value: &T) -> T {
            serde_json::from_str(&serde_json::to_string(value).unwrap()).unwrap()
        }
        assert!(from_folder.summary == through_json(&folded.summary));
        assert!(from_folder.requests == through_json(&folded.requests));
        assert_eq!(from_folder.info.endpoints, folded.info.endpoints);
        assert!(!from_folder.requests.is_empty());
    }

    #[test]
    fn a_folder_with_only_a_replay_or_the_replay_file_is_folded() {
        let dir = tempfile::tempdir().unwrap();
        let replay = fixture::replay(2, 5);
        let mut writer = record::ReplayWriter::create(dir.path(), &replay.header).unwrap();
        for event in &replay.events {
            writer.write(event).unwrap();
        }
        let file = writer.finish(replay.end.unwrap()).unwrap();
        let folded = from_replay(&replay);
        assert!(load(dir.path()).unwrap().summary == folded.summary);
        assert!(load(&file).unwrap().requests == folded.requests);
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
}
