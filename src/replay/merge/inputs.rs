//! The shard folders `merge` is given: each opened and told apart (which shard of which race),
//! then checked together: shards of one race, each once, none missing unless allowed.

use std::path::{Path, PathBuf};

use super::error::MergeError;
use super::same_race;
use crate::config::{RaceConfig, Shard};
use crate::record::replay::ReplayReader;
use crate::record::{ReplayError, RunInfo};

/// The most shards a race may be split into: more is taken for a damaged file, not a race
/// (each shard is a process, and the merge holds a slot for each).
pub(crate) const MAX_SHARDS: u32 = 100_000;

/// Missing shards named one by one in a message; past these they are counted.
const NAMED: usize = 8;

/// Why a shard is missing when no folder of it was passed.
pub(crate) const NOT_GIVEN: &str = "its folder was not given";

/// One shard's results folder, its replay open at its first event.
pub(crate) struct ShardFolder<S> {
    pub path: PathBuf,
    pub shard: Shard,
    /// Its `run.json`, when it was written (a killed shard has none).
    pub run: Option<RunInfo>,
    pub events: S,
    /// What was found wrong with it that did not stop the merge (a damaged `run.json`).
    pub notices: Vec<String>,
}

/// A shard of the race that is not merged, and why: told in every output.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Gap {
    pub index: u32,
    pub why: String,
}

/// The shards to merge, in shard order, and the ones that are not.
pub(crate) struct Shards<S> {
    pub count: u32,
    pub present: Vec<ShardFolder<S>>,
    pub missing: Vec<Gap>,
    /// Folders passed that hold no shard's results yet (killed before its first flush),
    /// merged as missing shards with `--allow-missing`: the folder and why.
    pub unstarted: Vec<(PathBuf, String)>,
}

/// A folder as opened: a shard with its replay, or one without (merged only as missing).
pub(crate) struct Opened<S> {
    pub path: PathBuf,
    pub shard: Shard,
    pub run: Option<RunInfo>,
    /// The race as the shard ran it, from its replay's header, else its `run.json`.
    pub race: RaceConfig,
    pub events: Option<S>,
    pub notices: Vec<String>,
}

/// Opens the folder `path` as a shard's results.
pub(crate) fn open(path: &Path) -> Result<Opened<ReplayReader>, MergeError> {
    if !path.exists() {
        return Err(MergeError::NotFound {
            path: path.to_path_buf(),
        });
    }
    if !path.is_dir() {
        return Err(MergeError::NotAFolder {
            path: path.to_path_buf(),
        });
    }
    let run = RunInfo::read(path);
    let mut notices = Vec::new();
    let run_json = path.join(crate::record::files::RUN_JSON);
    if run.is_none() && run_json.exists() {
        notices.push(format!(
            "{} cannot be read (damaged or cut short?): the shard is merged from its replay \
             alone, its host and start skew unknown",
            run_json.display()
        ));
    }
    let reader = open_replay(path, run.is_some())?;
    let race = match (&reader, &run) {
        (Some(reader), _) => reader.header().race.clone(),
        (None, Some(run)) => run.race.clone(),
        (None, None) => {
            return Err(match unstarted_why(path) {
                Some(why) => MergeError::Unstarted {
                    path: path.to_path_buf(),
                    why,
                },
                None => MergeError::NotResults {
                    path: path.to_path_buf(),
                },
            });
        }
    };
    if let Some(run) = run.as_ref().filter(|r| !r.shards.is_empty()) {
        return Err(MergeError::AlreadyMerged {
            path: path.to_path_buf(),
            count: run.shards.len(),
        });
    }
    let shard = shard_of(run.as_ref(), &race).ok_or_else(|| MergeError::NotAShard {
        path: path.to_path_buf(),
    })?;
    let own = run.as_ref().and_then(|r| r.shard.as_ref()).map(|s| Shard {
        index: s.index,
        count: s.count,
    });
    let recorded = reader.as_ref().and_then(|r| r.header().race.shard);
    if let (Some(own), Some(recorded)) = (own, recorded)
        && own != recorded
    {
        return Err(MergeError::ShardsDisagree {
            path: path.to_path_buf(),
            run: own.to_string(),
            replay: recorded.to_string(),
        });
    }
    if shard.count > MAX_SHARDS {
        return Err(MergeError::TooManyShards {
            path: path.to_path_buf(),
            count: shard.count,
        });
    }
    if shard.count == 0 || shard.index >= shard.count {
        return Err(MergeError::BadShard {
            path: path.to_path_buf(),
            shard: shard.to_string(),
        });
    }
    Ok(Opened {
        path: path.to_path_buf(),
        shard,
        run,
        race,
        events: reader,
        notices,
    })
}

/// The folder's replay, `None` when it has none. Without a `run.json` (`has_run`), a replay
/// that is empty or unreadable is a shard killed before its first flush.
fn open_replay(path: &Path, has_run: bool) -> Result<Option<ReplayReader>, MergeError> {
    match ReplayReader::open(path) {
        Ok(reader) => Ok(Some(reader)),
        Err(ReplayError::NoReplay { .. }) => Ok(None),
        Err(ReplayError::NotAReplay { why, .. }) if !has_run => {
            let replay = path.join(crate::record::files::REPLAY_FILE);
            let empty = std::fs::metadata(&replay).is_ok_and(|m| m.len() == 0);
            Err(MergeError::Unstarted {
                path: path.to_path_buf(),
                why: if empty {
                    "its replay.jsonl.gz is empty and it has no run.json: killed before its \
                     first flush?"
                        .to_string()
                } else {
                    format!("it has no run.json and its replay is unreadable ({why})")
                },
            })
        }
        Err(source) => Err(MergeError::Replay {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Why a folder without `run.json` or a replay holds no results yet: empty, or only the files a
/// race opens at its start (killed before it wrote anything). `None`: it holds other files, so
/// it is not a race's results folder at all.
fn unstarted_why(path: &Path) -> Option<String> {
    let names: Vec<String> = std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    if names.is_empty() {
        Some("it is empty: killed before it started?".to_string())
    } else if names.iter().all(|n| n.ends_with(".partial")) {
        Some("it holds only unfinished .partial files: killed before its first flush?".to_string())
    } else {
        None
    }
}

/// Which shard a folder holds: its `run.json` says, or else the race its replay recorded.
fn shard_of(run: Option<&RunInfo>, race: &RaceConfig) -> Option<Shard> {
    run.and_then(|r| {
        r.shard.as_ref().map(|s| Shard {
            index: s.index,
            count: s.count,
        })
    })
    .or(race.shard)
}

/// Checks the opened folders together: one race (the first folder's), each shard once, and
/// every shard there unless `allow_missing` (a shard without a replay counts as missing then).
pub(crate) fn check<S>(
    opened: Vec<Opened<S>>,
    allow_missing: bool,
) -> Result<(Shards<S>, RaceConfig), MergeError> {
    let Some(first) = opened.first() else {
        return Err(MergeError::Nothing {
            why: "no folder was given".to_string(),
        });
    };
    let (count, race) = (first.shard.count, first.race.clone());
    let (first_shard, first_path) = (first.shard, first.path.clone());
    let mut seen: Vec<Option<PathBuf>> = vec![None; count as usize];
    let mut present = Vec::new();
    let mut missing = Vec::new();
    for folder in opened {
        let what = if folder.shard.count == count {
            same_race::differences(&race, &folder.race)
        } else {
            format!(
                "one splits the race into {count} shards, the other into {}",
                folder.shard.count
            )
        };
        if !what.is_empty() {
            return Err(MergeError::DifferentRaces {
                first: first_shard.to_string(),
                first_path: first_path.clone(),
                other: folder.shard.to_string(),
                other_path: folder.path,
                what,
            });
        }
        let slot = &mut seen[folder.shard.index as usize];
        if let Some(earlier) = slot {
            return Err(MergeError::Duplicate {
                shard: folder.shard.to_string(),
                first: earlier.clone(),
                second: folder.path,
            });
        }
        *slot = Some(folder.path.clone());
        match folder.events {
            Some(events) => present.push(ShardFolder {
                path: folder.path,
                shard: folder.shard,
                run: folder.run,
                events,
                notices: folder.notices,
            }),
            None if allow_missing => missing.push(Gap {
                index: folder.shard.index,
                why: format!(
                    "{} has no replay (run with --no-replay?)",
                    folder.path.display()
                ),
            }),
            None => {
                return Err(MergeError::NoReplay {
                    shard: folder.shard.to_string(),
                    path: folder.path,
                });
            }
        }
    }
    let absent: Vec<u32> = (0..count)
        .filter(|&index| seen[index as usize].is_none())
        .collect();
    if !absent.is_empty() && !allow_missing {
        return Err(missing_error(&absent, count));
    }
    missing.extend(absent.into_iter().map(|index| Gap {
        index,
        why: NOT_GIVEN.to_string(),
    }));
    missing.sort_by_key(|gap| gap.index);
    if present.is_empty() {
        let why = missing.iter().take(NAMED).map(|gap| gap_told(gap, count));
        return Err(MergeError::Nothing {
            why: why.collect::<Vec<_>>().join("; "),
        });
    }
    present.sort_by_key(|folder| folder.shard.index);
    Ok((
        Shards {
            count,
            present,
            missing,
            unstarted: Vec::new(),
        },
        race,
    ))
}

/// "shard 2/4 missing", or "shards 0/4, 2/4 missing".
fn missing_error(absent: &[u32], count: u32) -> MergeError {
    let mut names: Vec<String> = absent
        .iter()
        .take(NAMED)
        .map(|&index| Shard { index, count }.to_string())
        .collect();
    if absent.len() > NAMED {
        names.push(format!("and {} more", absent.len() - NAMED));
    }
    let several = absent.len() > 1;
    let what = if several {
        format!("shards {}", names.join(", "))
    } else {
        format!("shard {}", names.join(""))
    };
    MergeError::Missing { what, several }
}

fn gap_told(gap: &Gap, count: u32) -> String {
    let shard = Shard {
        index: gap.index,
        count,
    };
    format!("shard {shard}: {}", gap.why)
}
