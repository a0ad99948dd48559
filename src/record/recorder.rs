//! The recorder: everything of a race that goes to disk while it runs — each event into the
//! replay, each finished request into the result files. A write that fails stops only that
//! file and is told at once (for the live notice) and at the end; the race itself goes on.

use std::path::PathBuf;

use super::replay::{ReplayEnd, ReplayWriter};
use super::results::ResultsWriter;
use super::run_info::{RunInfo, Summary};
use super::server_file::ServerMetricsFile;
use crate::event::RaceEvent;
use crate::stats::RequestRecord;

pub struct Recorder {
    results: ResultsWriter,
    replay: Option<ReplayWriter>,
    /// `server_metrics.jsonl`, when the race may scrape servers.
    server: Option<ServerMetricsFile>,
    problems: Vec<String>,
}

/// What the recorder left: the folder, and every file that could not be written whole.
#[derive(Debug)]
pub struct Recorded {
    pub dir: PathBuf,
    /// What went wrong, one line per file, worded for the user.
    pub problems: Vec<String>,
}

impl Recorder {
    pub fn new(results: ResultsWriter, replay: Option<ReplayWriter>) -> Self {
        Recorder {
            results,
            replay,
            server: None,
            problems: Vec::new(),
        }
    }

    /// Writes every scrape of the servers' metrics into `server_metrics.jsonl` too.
    #[must_use]
    pub fn with_server_metrics(mut self, file: ServerMetricsFile) -> Self {
        self.server = Some(file);
        self
    }

    /// Every event of the race, in the order the aggregator saw it.
    pub fn event(&mut self, event: &RaceEvent) {
        if let Some(replay) = &mut self.replay
            && let Err(e) = replay.write(event)
        {
            self.replay_failed(&e);
        }
        // Only scrapes are the server file's: the other events (nearly all) skip its call.
        if let crate::event::EventKind::ServerMetrics(_) = event.kind
            && let Some(server) = &mut self.server
            && let Err(e) = server.write(event)
        {
            self.server_failed(&e);
        }
    }

    fn server_failed(&mut self, e: &super::RecordError) {
        self.problems.push(format!(
            "server metrics stopped being written: {e}; the scrapes before it are kept in \
             the .partial file"
        ));
    }

    /// A request that ended.
    pub fn request(&mut self, record: &RequestRecord) {
        if let Err(e) = self.results.write(record) {
            self.problems.push(format!(
                "request records stopped being written: {e}; the requests before it are kept in \
                 the .partial file"
            ));
        }
    }

    /// Pushes what is written so far to disk (called about once a second).
    pub fn flush(&mut self) {
        if let Err(e) = self.results.flush() {
            self.problems.push(format!(
                "request records stopped being written: {e}; the requests before it are kept in \
                 the .partial file"
            ));
        }
        if let Some(replay) = &mut self.replay
            && let Err(e) = replay.flush()
        {
            self.replay_failed(&e);
        }
        if let Some(server) = &mut self.server
            && let Err(e) = server.flush()
        {
            self.server_failed(&e);
        }
    }

    fn replay_failed(&mut self, e: &super::ReplayError) {
        self.problems.push(format!(
            "the replay stopped being written: {e}; it plays up to the failure"
        ));
        self.replay = None;
    }

    /// What went wrong while recording so far, oldest first (new ones are appended).
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// Completes every file it can. The replay is completed first so that `run.json`, written
    /// last, can say whether it is whole.
    pub fn finish(self, run: &RunInfo, summary: &Summary, end: ReplayEnd) -> Recorded {
        let mut run = run.clone();
        let mut problems = Vec::new();
        if let Some(replay) = self.replay
            && let Err(e) = replay.finish(end)
        {
            problems.push(format!("the replay could not be completed: {e}"));
        }
        if let Some(server) = self.server
            && let Err(e) = server.finish()
        {
            problems.push(format!("server metrics could not be completed: {e}"));
        }
        run.notices.extend(problems.iter().cloned());
        let finished = self.results.finish(&run, summary);
        let mut all = self.problems;
        all.extend(problems);
        all.extend(finished.failures.iter().map(ToString::to_string));
        Recorded {
            dir: finished.dir,
            problems: all,
        }
    }
}
