//! The recorder: everything of a race that goes to disk while it runs — each event into the
//! replay, each finished request into the result files. A write that fails stops only that
//! file and is told at once (for the live notice) and at the end; the race itself goes on.

use std::path::PathBuf;

use super::replay::{ReplayEnd, ReplayWriter};
use super::results::ResultsWriter;
use super::run_info::{RunInfo, Summary};
use crate::event::RaceEvent;
use crate::stats::RequestRecord;

pub struct Recorder {
    results: ResultsWriter,
    replay: Option<ReplayWriter>,
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
            problems: Vec::new(),
        }
    }

    /// Every event of the race, in the order the aggregator saw it.
    pub fn event(&mut self, event: &RaceEvent) {
        if let Some(replay) = &mut self.replay
            && let Err(e) = replay.write(event)
        {
            self.replay_failed(&e);
        }
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
