//! `llmrace merge`: the results folders of one race's shards (`--shard K/N`) made into one
//! results folder, as if one process had raced every request. The shards' replays are read
//! side by side and their events interleaved on the shared wall clock (`merge/stream.rs`),
//! then folded through the same aggregator a live race feeds: the numbers are not averaged
//! from the shards' but counted again from every event, so percentiles are exact (HDR
//! histograms of all the requests). What is written is what a race writes: the request files
//! (each record naming its shard), `summary.json`, `run.json` (listing the shards and any gap),
//! one replay, and `server_metrics.jsonl` when the servers were scraped.

mod error;
mod header;
mod inputs;
mod proxy;
mod same_race;
mod stream;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

pub use error::MergeError;
use inputs::{Gap, ShardFolder, Shards};
use stream::{Interleave, LaneEnd, Source, TooHigh};

use super::fold::Fold;
use super::load::Run;
use crate::clock;
use crate::config::{RaceConfig, Shard};
use crate::record::run_info::{ShardRun, Span, note_reads, read_notices};
use crate::record::server_file::ServerMetricsFile;
use crate::record::{
    RecordError, ReplayEnd, ReplayHeader, ReplayWriter, ResultsWriter, RunInfo, Summary,
};
use crate::stats::{RequestRecord, Snapshot};

/// Shards whose first requests left further apart than this are said to have.
const START_SPREAD_NOTICE_MS: f64 = 1_000.0;

/// Missing shards named one by one in the notice; past these they are counted.
const NAMED_GAPS: usize = 8;

/// How to merge.
#[derive(Clone, Copy, Debug, Default)]
pub struct MergeOptions {
    /// Merge the shards there are, the others said to be missing in every output.
    pub allow_missing: bool,
    /// `--force`: replace earlier results in the output folder.
    pub replace: bool,
}

/// A merged race: its folder, its run as written, and the files that could not be completed.
#[derive(Debug)]
pub struct Merged {
    pub dir: PathBuf,
    pub run: Run,
    pub write_failures: Vec<RecordError>,
}

/// Merges the shard folders `folders` into the results folder `out`. Everything is checked
/// before anything is written: the folders must hold shards of one race, each once, all of
/// them unless `allow_missing`.
pub fn merge(folders: &[PathBuf], out: &Path, options: MergeOptions) -> Result<Merged, MergeError> {
    crate::record::folder::check_named_folder(out, options.replace).map_err(MergeError::Out)?;
    let mut opened = Vec::with_capacity(folders.len());
    let mut unstarted = Vec::new();
    for path in folders {
        match inputs::open(path) {
            Ok(folder) => opened.push(folder),
            // A shard killed before it wrote anything: which shard it was, nothing says.
            Err(MergeError::Unstarted { path, why }) if options.allow_missing => {
                unstarted.push((path, why));
            }
            Err(e) => return Err(e),
        }
    }
    if opened.is_empty() && !unstarted.is_empty() {
        let why = unstarted.iter().take(NAMED_GAPS);
        return Err(MergeError::Nothing {
            why: why
                .map(|(path, why)| format!("{}: {why}", path.display()))
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    let (mut shards, race) = inputs::check(opened, options.allow_missing)?;
    if !unstarted.is_empty() {
        for gap in shards
            .missing
            .iter_mut()
            .filter(|g| g.why == inputs::NOT_GIVEN)
        {
            "no folder holding its results was given".clone_into(&mut gap.why);
        }
    }
    shards.unstarted = unstarted;
    if let Some(own) = shards.present.iter().find(|f| same_folder(&f.path, out)) {
        return Err(MergeError::Out(format!(
            "-o {} is shard {}'s own folder: name a new folder for the merged race",
            out.display(),
            own.shard
        )));
    }
    if options.replace {
        crate::record::folder::remove_earlier(out).map_err(MergeError::Out)?;
    }
    merge_shards(shards, &race, out)
}

fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Merges checked shards into `out`.
pub(crate) fn merge_shards<S: Source>(
    shards: Shards<S>,
    race: &RaceConfig,
    out: &Path,
) -> Result<Merged, MergeError> {
    let Shards {
        count,
        present,
        missing,
        unstarted,
    } = shards;
    let start = present
        .iter()
        .map(|f| f.events.header().started_at)
        .min()
        .ok_or_else(|| MergeError::Nothing {
            why: "no shard has a replay".to_string(),
        })?;
    let mut header = merged_header(&present, race, start)?;
    header.shards = Some(count);
    let routes: Vec<_> = (present.iter())
        .map(|f| (f.shard, f.events.header()))
        .collect();
    let proxy_notices = proxy::notices(&routes);
    // What is known before the events are merged goes into the replay's header, so that every
    // output rebuilt from it says it too.
    let mut notices: Vec<String> = missing_notice(&missing, count, present.len(), &unstarted)
        .into_iter()
        .collect();
    if missing.is_empty() && !unstarted.is_empty() {
        notices.push(format!(
            "left out, holding no shard's results (every shard of the race is merged from the \
             other folders): {}",
            unstarted_told(&unstarted)
        ));
    }
    notices.extend(proxy_notices);
    let mut listed = Vec::with_capacity(present.len());
    let mut sources = Vec::with_capacity(present.len());
    for folder in present {
        let shift = header::shift(folder.events.header().started_at, start);
        notices.extend(
            folder
                .notices
                .iter()
                .map(|n| format!("shard {}: {n}", folder.shard)),
        );
        listed.push(Listed {
            shard: header::shard_run(&folder),
            path: folder.path.clone(),
            run: folder.run.clone(),
        });
        sources.push((folder.shard, shift, folder.events));
    }
    header.shard_runs = listed.iter().map(|l| l.shard.clone()).collect();
    header.missing_shards = missing.iter().map(|gap| gap.index).collect();
    header.notices = notices;
    let (results, last, ends, kept) = write_events(&header, sources, out, count).map_err(|e| {
        e.unwrap_or_else(|too_high| {
            let lane = &listed[too_high.lane];
            MergeError::RequestId {
                shard: Shard {
                    index: lane.shard.index,
                    count,
                }
                .to_string(),
                path: lane.path.clone(),
                id: too_high.id,
                count,
            }
        })
    })?;
    let info = run_info(&header, &last, &ends, &listed, &kept);
    let summary = Summary::new(&info, info.duration_s, last.endpoints, last.costs);
    let finished = results.finish(&info, &summary);
    Ok(Merged {
        dir: finished.dir,
        run: Run {
            info,
            summary,
            requests: Vec::new(),
        },
        write_failures: finished.failures,
    })
}

/// The merged replay's header; refused when two shards sent different prompts.
fn merged_header<S: Source>(
    present: &[ShardFolder<S>],
    race: &RaceConfig,
    start: chrono::DateTime<chrono::Utc>,
) -> Result<ReplayHeader, MergeError> {
    let headers: Vec<_> = present.iter().map(|f| f.events.header()).collect();
    header::merged(race, &headers, start).map_err(|prompt| {
        let differs = |f: &&ShardFolder<S>| {
            let p = f.events.header().prompts.get(prompt);
            p.is_some_and(|p| !p.is_empty() && headers[0].prompts.get(prompt) != Some(p))
        };
        let other = present.iter().find(differs).unwrap_or(&present[0]);
        MergeError::DifferentRaces {
            first: present[0].shard.to_string(),
            first_path: present[0].path.clone(),
            other: other.shard.to_string(),
            other_path: other.path.clone(),
            what: format!(
                "they sent different prompts as prompt {prompt} (was the prompt file changed \
                 between them?)"
            ),
        }
    })
}

/// Why writing the events stopped: a file, or an id that could not be made unique.
type Stopped = Result<MergeError, TooHigh>;

/// The shards' events interleaved into `out`: folded (each request record written as it ends,
/// naming its shard), written to the one replay and, for scrapes, to `server_metrics.jsonl`.
/// Returns the request files still to complete, the final numbers, how each shard ended and
/// how many request records each shard (by index, of `count`) gave.
fn write_events<S: Source>(
    header: &ReplayHeader,
    sources: Vec<(Shard, crate::event::Offset, S)>,
    out: &Path,
    count: u32,
) -> Result<(ResultsWriter, Snapshot, Vec<LaneEnd>, Vec<u64>), Stopped> {
    let never = AtomicBool::new(false);
    let mut results = ResultsWriter::create(out).map_err(|e| Ok(e.into()))?;
    let mut replay = ReplayWriter::create_until(out, header, &never)
        .map_err(|e| Ok(MergeError::WriteReplay(e)))?;
    let names = header.endpoints.iter().map(|e| e.name.clone()).collect();
    let mut scrapes = ServerMetricsFile::new(out, header.started_at, names);
    let mut fold = Fold::new(header);
    let mut failed: Option<RecordError> = None;
    let mut kept = vec![0_u64; count as usize];
    // The fold names each record's shard, as the merged replay's header gives their count.
    let mut on_request = |record: &RequestRecord| {
        if let Some(n) = record.shard.and_then(|k| kept.get_mut(k as usize)) {
            *n += 1;
        }
        if let Err(e) = results.write(record) {
            failed.get_or_insert(e);
        }
    };
    let mut events = Interleave::new(sources);
    for event in events.by_ref() {
        fold.apply(&event, &mut on_request);
        replay
            .write(&event)
            .map_err(|e| Ok(MergeError::WriteReplay(e)))?;
        scrapes.write(&event).map_err(|e| Ok(e.into()))?;
    }
    let ends = events.ends().map_err(Err)?;
    let end = ReplayEnd {
        t: ends.iter().map(|e| e.t).max().unwrap_or_default(),
        interrupted: ends.iter().any(|e| e.interrupted),
    };
    let last = fold.finish(Some(end), end.t, &mut on_request);
    if let Some(failure) = failed {
        return Err(Ok(failure.into()));
    }
    replay
        .finish(end)
        .map_err(|e| Ok(MergeError::WriteReplay(e)))?;
    scrapes.finish().map_err(|e| Ok(e.into()))?;
    Ok((results, last, ends, kept))
}

/// The merged `run.json`: the race as its replay tells it, the shards listed (hosts, start
/// skew, folders), the gaps and what each shard's stream said, and the client's lateness at
/// its worst over the shards.
fn run_info(
    header: &ReplayHeader,
    last: &Snapshot,
    ends: &[LaneEnd],
    listed: &[Listed],
    kept: &[u64],
) -> RunInfo {
    let (start, duration) = (header.started_at, last.t);
    let span = Span {
        started_at: start,
        ended_at: clock::wall_time(start, duration),
        duration_s: duration.as_secs_f64(),
        interrupted: ends.iter().any(|e| e.interrupted),
    };
    let mut info = RunInfo::of_replay(header, span, None, &last.endpoints);
    // The header's notices come first; then what the shards' streams said as they ended.
    let mut rest = info
        .notices
        .split_off(header.notices.len().min(info.notices.len()));
    // Told again below, with the shards' own lateness, which a replay does not hold.
    let without_runtime = read_notices(&last.endpoints, None);
    rest.retain(|n| !without_runtime.contains(n));
    info.notices.extend(shard_notices(ends, listed, kept));
    info.notices.extend(start_notice(ends));
    info.notices.append(&mut rest);
    let runs = listed.iter().filter_map(|l| l.run.as_ref());
    let max = |of: fn(&RunInfo) -> Option<f64>| runs.clone().filter_map(of).reduce(f64::max);
    info.runtime_late_max_ms = max(|r| r.runtime_late_max_ms);
    info.event_backlog_age_max_ms = max(|r| r.event_backlog_age_max_ms);
    info.event_backlog_max = runs.clone().filter_map(|r| r.event_backlog_max).max();
    info.llmrace_version = env!("CARGO_PKG_VERSION").to_string();
    note_reads(&mut info, &last.endpoints);
    info
}

/// A merged shard as `run.json` lists it, with where it came from.
struct Listed {
    shard: ShardRun,
    path: PathBuf,
    run: Option<RunInfo>,
}

/// The notice of the shards not merged, said in every output of the merged race, with the
/// folders passed that held no shard's results (`unstarted`).
fn missing_notice(
    missing: &[Gap],
    count: u32,
    merged: usize,
    unstarted: &[(PathBuf, String)],
) -> Option<String> {
    if missing.is_empty() {
        return None;
    }
    let mut each: Vec<String> = missing
        .iter()
        .take(NAMED_GAPS)
        .map(|gap| {
            let shard = Shard {
                index: gap.index,
                count,
            };
            format!("shard {shard} ({})", gap.why)
        })
        .collect();
    if missing.len() > NAMED_GAPS {
        each.push(format!("{} more", missing.len() - NAMED_GAPS));
    }
    let (are, them) = if missing.len() == 1 {
        ("is", "its")
    } else {
        ("are", "their")
    };
    let mut notice = format!(
        "{} {are} missing: this race merges {merged} of its {count} shards, so its counts, \
         token totals and rates leave out {them} requests (merged with --allow-missing)",
        each.join(", ")
    );
    if !unstarted.is_empty() {
        let _ = write!(
            notice,
            "; taken for missing shards, holding no shard's results: {}",
            unstarted_told(unstarted)
        );
    }
    Some(notice)
}

/// The folders passed that held no shard's results, each with why.
fn unstarted_told(unstarted: &[(PathBuf, String)]) -> String {
    let mut folders: Vec<String> = unstarted
        .iter()
        .take(NAMED_GAPS)
        .map(|(path, why)| format!("{} ({why})", path.display()))
        .collect();
    if unstarted.len() > NAMED_GAPS {
        folders.push(format!("{} more", unstarted.len() - NAMED_GAPS));
    }
    folders.join(", ")
}

/// What the shards' streams said as they ended: damage, a cut, a stop. A shard whose
/// `run.json` says it finished while its replay is cut lost requests in the merge: said loudly,
/// with how many its `requests.jsonl` holds that the merged race lacks.
fn shard_notices(ends: &[LaneEnd], listed: &[Listed], kept: &[u64]) -> Vec<String> {
    let mut notices = Vec::new();
    for (end, lane) in ends.iter().zip(listed) {
        let which = format!("shard {} ({})", end.shard, lane.path.display());
        if let Some(damage) = &end.damage {
            notices.push(crate::record::replay::damage::notice(&format!(
                "{which}: {damage}"
            )));
        }
        let finished = lane.run.as_ref().is_some_and(|r| !r.interrupted);
        let kept = kept.get(end.shard.index as usize).copied().unwrap_or(0);
        match end.cut_in_flight {
            Some(n) if finished => notices.push(finished_but_cut(&which, &lane.path, n, kept)),
            Some(n) => notices.push(format!(
                "{which} was cut off (its replay stops without its end: killed?): {} in flight \
                 counted as cancelled at its last event, {:.1} s into the merged race",
                crate::format::count(n as u64, "request"),
                end.t.as_secs_f64()
            )),
            None if end.interrupted => notices.push(format!(
                "{which} was stopped early: the requests it had in flight were cancelled"
            )),
            None => {}
        }
    }
    notices
}

/// A shard that finished (its `run.json` says so) whose replay is cut: the merge counts what
/// the replay holds, which is less than the shard raced.
fn finished_but_cut(which: &str, path: &Path, in_flight: usize, kept: u64) -> String {
    // Counted a line at a time: a long race's requests.jsonl need not fit in memory.
    let recorded = std::fs::File::open(path.join(crate::record::files::REQUESTS_JSONL))
        .map(|file| {
            let lines = std::io::BufRead::lines(std::io::BufReader::new(file));
            lines
                .map_while(Result::ok)
                .filter(|l| !l.trim().is_empty())
                .count() as u64
        })
        .ok();
    let lost = match recorded {
        Some(recorded) => format!(
            "its requests.jsonl holds {}, the merged race {kept} of them ({in_flight} counted as \
             cancelled where the replay stops), so {} it raced are not in the merged counts",
            crate::format::count(recorded, "request"),
            crate::format::count(recorded.saturating_sub(kept), "request"),
        ),
        None => format!(
            "the merged race counts {kept} of its requests ({in_flight} as cancelled where the \
             replay stops), fewer than it raced"
        ),
    };
    format!(
        "{which} FINISHED (its run.json says so) but its replay is cut short (damaged after the \
         race?): {lost}; restore its replay.jsonl.gz from a copy and merge again, or leave the \
         shard out with --allow-missing"
    )
}

/// Said when the shards started sending far apart on the merged clock (the hosts' clocks),
/// each shard's first request taken against when its schedule had it leave: for that long, not
/// every shard was sending.
fn start_notice(ends: &[LaneEnd]) -> Option<String> {
    let firsts = ends.iter().filter_map(|e| e.started_sending);
    let spread = firsts.clone().max()?.since(firsts.min()?);
    let spread_ms = spread.as_secs_f64() * 1000.0;
    (spread_ms > START_SPREAD_NOTICE_MS).then(|| {
        format!(
            "the shards started sending {:.1} s apart by their hosts' clocks (each shard's first \
             request against when its schedule had it leave): for that long at the start, not \
             every shard was sending (see each shard's start_skew_ms)",
            spread_ms / 1000.0
        )
    })
}
