//! The recorder: everything of a race that goes to disk while it runs — each event into the
//! replay, each finished request into the result files. A write that fails is reported at the
//! end and stops only that file; the race itself goes on.

use std::path::PathBuf;

use super::replay::{ReplayEnd, ReplayWriter};
use super::results::{RecordError, ResultsWriter};
use super::run_info::{RunInfo, Summary};
use crate::event::RaceEvent;
use crate::stats::RequestRecord;

pub struct Recorder {
    results: ResultsWriter,
    results_failed: bool,
    replay: Option<ReplayWriter>,
    problems: Vec<String>,
}

impl Recorder {
    pub fn new(results: ResultsWriter, replay: Option<ReplayWriter>) -> Self {
        Recorder {
            results,
            results_failed: false,
            replay,
            problems: Vec::new(),
        }
    }

    /// Every event of the race, in the order the aggregator saw it.
    pub fn event(&mut self, event: &RaceEvent) {
        if let Some(replay) = &mut self.replay
            && let Err(e) = replay.write(event)
        {
            self.problems
                .push(format!("the replay stopped being written: {e}"));
            self.replay = None;
        }
    }

    /// A request that ended.
    pub fn request(&mut self, record: &RequestRecord) {
        if self.results_failed {
            return;
        }
        if let Err(e) = self.results.write(record) {
            self.problems
                .push(format!("writing request records failed part-way: {e}"));
            self.results_failed = true;
        }
    }

    /// Pushes the replay written so far to disk (called about once a second).
    pub fn flush(&mut self) {
        if let Some(replay) = &mut self.replay
            && let Err(e) = replay.flush()
        {
            self.problems
                .push(format!("the replay stopped being written: {e}"));
            self.replay = None;
        }
    }

    /// What went wrong while recording, for the run's notices.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// Completes every file. The replay is completed first so that `run.json`, written last,
    /// can say whether it is whole.
    pub fn finish(
        self,
        run: &RunInfo,
        summary: &Summary,
        end: ReplayEnd,
    ) -> Result<PathBuf, RecordError> {
        let mut run = run.clone();
        if let Some(replay) = self.replay
            && let Err(e) = replay.finish(end)
        {
            run.notices
                .push(format!("the replay could not be completed: {e}"));
        }
        self.results.finish(&run, summary)
    }
}
