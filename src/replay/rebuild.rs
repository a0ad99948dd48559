//! A race's result files written again from its replay (`llmrace report … --results`): the
//! same files, byte for byte, that the race wrote, since the replay folds through the same
//! aggregator into the same records.

use std::path::{Path, PathBuf};

use super::load::{self, Records, Run};
#[cfg(any(test, feature = "test-support"))]
use crate::record::Replay;
use crate::record::replay::ReplayReader;
use crate::record::server_file::ServerMetricsFile;
use crate::record::{RecordError, ResultsWriter, Summary};

/// Regenerates a race's result files (summary.json, requests.jsonl, requests.csv, run.json,
/// and `server_metrics.jsonl` when it scraped any) in `dir` from its replay.
#[cfg(any(test, feature = "test-support"))]
pub fn report(replay: &Replay, dir: &Path) -> Result<(PathBuf, Summary), RecordError> {
    let run = load::from_replay(replay);
    let mut results = ResultsWriter::create(dir)?;
    for request in &run.requests {
        results.write(request)?;
    }
    let mut scrapes = server_file(&replay.header, dir);
    for event in &replay.events {
        scrapes.write(event)?;
    }
    scrapes.finish()?;
    finish_results(results, &run)
}

/// `server_metrics.jsonl` as the race wrote it: its start and endpoint names are the header's.
fn server_file(header: &crate::record::ReplayHeader, dir: &Path) -> ServerMetricsFile {
    let names = header.endpoints.iter().map(|e| e.name.clone()).collect();
    ServerMetricsFile::new(dir, header.started_at, names)
}

/// [`report`] from a replay file (or a folder holding one) that `reader` opened, read as a
/// stream: each request record goes to disk as it is folded, so nothing grows with the race's
/// length. Returns the run as the files describe it, with its request records if asked; what
/// is wrong with the replay, if anything, is among its notices.
pub fn report_file(
    reader: ReplayReader,
    dir: &Path,
    records: Records,
) -> Result<(PathBuf, Run), RecordError> {
    let mut results = ResultsWriter::create(dir)?;
    let mut scrapes = server_file(reader.header(), dir);
    let mut failed = None;
    let mut scrapes_failed = None;
    let run = load::fold_file_seeing(
        reader,
        records,
        |request| {
            if failed.is_none() {
                failed = results.write(request).err();
            }
        },
        |event| {
            if scrapes_failed.is_none() {
                scrapes_failed = scrapes.write(event).err();
            }
        },
    );
    if let Some(failure) = failed.or(scrapes_failed) {
        return Err(failure);
    }
    scrapes.finish()?;
    let (dir, _) = finish_results(results, &run)?;
    Ok((dir, run))
}

fn finish_results(results: ResultsWriter, run: &Run) -> Result<(PathBuf, Summary), RecordError> {
    let finished = results.finish(&run.info, &run.summary);
    if let Some(failure) = finished.failures.into_iter().next() {
        return Err(failure);
    }
    Ok((finished.dir, run.summary.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::files::{REQUESTS_CSV, REQUESTS_JSONL, SUMMARY_JSON};
    use crate::record::replay::fixture;
    use crate::replay::{fold_replay, fold_stream};

    #[test]
    fn a_replay_folded_as_a_stream_gives_what_folding_it_whole_gives() {
        let dir = tempfile::tempdir().unwrap();
        let replay = fixture::replay(3, 40);
        fixture::write_file(dir.path(), &replay, None);
        let (mut whole, mut streamed) = (Vec::new(), Vec::new());
        let folded = fold_replay(&replay, |r| whole.push(r.clone()));
        let mut reader = ReplayReader::open(dir.path()).unwrap();
        assert_eq!(
            fold_stream(&mut reader, |r| streamed.push(r.clone())),
            folded
        );
        assert_eq!(streamed, whole);

        // Written as a stream too, the result files are those of the replay held whole.
        let (from_stream, from_memory) = (dir.path().join("a"), dir.path().join("b"));
        let open = || ReplayReader::open(dir.path()).unwrap();
        let (_, run) = report_file(open(), &from_stream, Records::Skip).unwrap();
        // No damage to tell; only the fixture's repeats and what its reads say about its times.
        let endpoints = &run.summary.endpoints;
        let mut told: Vec<String> = endpoints
            .iter()
            .filter_map(crate::record::run_info::repeat_notice)
            .collect();
        told.extend(crate::record::run_info::read_notices(endpoints, None));
        assert_eq!(run.info.notices, told);
        assert!(run.requests.is_empty());
        let summary = run.summary;
        // Kept, the records are those the files hold.
        let kept = dir.path().join("kept");
        let (_, run) = report_file(open(), &kept, Records::Keep).unwrap();
        assert_eq!(run.requests, whole);
        assert_eq!(run.summary, summary);
        let (_, held) = report(&replay, &from_memory).unwrap();
        assert_eq!(summary, held);
        for name in [REQUESTS_JSONL, REQUESTS_CSV, SUMMARY_JSON] {
            let read = |d: &Path| std::fs::read(d.join(name)).unwrap();
            assert_eq!(read(&from_stream), read(&from_memory), "{name}");
        }
    }
}
