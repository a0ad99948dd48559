//! A replay folded through the aggregator and sampled at a fixed step of race time: the frames
//! a shared race is shown from. The step starts at [`BASE_STEP_MS`] and doubles (every other
//! frame dropped) whenever there would be more than [`MAX_FRAMES`], so a race of any length
//! gives a bounded number of frames in one pass, with memory flat; the final snapshot is the
//! race's own, exact whatever the step.

use std::path::Path;

use crate::event::Offset;
use crate::record::replay::ReplayReader;
use crate::record::{ReplayError, ReplayHeader};
use crate::replay::fold::Fold;
use crate::stats::Snapshot;

/// The finest step between frames: ten a second.
pub const BASE_STEP_MS: u64 = 100;
/// Most frames kept (the final snapshot comes on top).
pub const MAX_FRAMES: usize = 600;

/// A recorded race as a shared race is shown: its header, its snapshots at a fixed step and
/// its final snapshot.
#[derive(Debug)]
pub struct Recording {
    pub header: ReplayHeader,
    /// Snapshot `i` is the race at `i × step`.
    pub frames: Vec<Snapshot>,
    pub step: Offset,
    /// The race's final numbers, exactly as the live race ended (`finished` set).
    pub last: Snapshot,
    /// The race time the replay covers.
    pub duration: Offset,
    /// The race was stopped early.
    pub interrupted: bool,
    /// What is wrong with the file, when the replay is damaged or cut short.
    pub damage: Option<String>,
}

/// Reads the replay of a results folder (or a replay file) and samples it.
pub fn record(path: &Path) -> Result<Recording, ReplayError> {
    let reader = ReplayReader::open(path)?;
    Ok(sample(reader))
}

/// Folds `reader`'s events, taking a snapshot at every multiple of the step.
pub fn sample<R: std::io::BufRead + Send>(mut reader: ReplayReader<R>) -> Recording {
    let mut fold = Fold::new(reader.header());
    let mut sampler = Sampler::new();
    reader.read_ahead(|event| {
        sampler.up_to(event.t, &mut fold);
        fold.apply(event, &mut |_| {});
    });
    let duration = reader.duration();
    sampler.up_to(duration, &mut fold);
    let last = fold.finish(reader.end(), duration, |_| {});
    let interrupted = reader.end().is_none_or(|end| end.interrupted);
    let (header, _, damage) = reader.into_parts();
    Recording {
        header,
        frames: sampler.frames,
        step: sampler.step,
        last,
        duration,
        interrupted,
        damage,
    }
}

/// The frames so far, at multiples of `step`.
struct Sampler {
    frames: Vec<Snapshot>,
    step: Offset,
}

impl Sampler {
    fn new() -> Sampler {
        Sampler {
            frames: Vec::new(),
            step: Offset(BASE_STEP_MS * 1_000_000),
        }
    }

    /// The time of the next frame.
    fn next(&self) -> Offset {
        Offset(self.step.0.saturating_mul(self.frames.len() as u64))
    }

    /// Frames for every multiple of the step before `t` (the events at `t` are not folded
    /// yet: a frame shows what happened up to and including its time).
    fn up_to(&mut self, t: Offset, fold: &mut Fold) {
        while self.next() < t {
            let at = self.next();
            self.frames.push(fold.snapshot_at(at));
            if self.frames.len() > MAX_FRAMES {
                self.halve();
            }
        }
    }

    /// Every other frame dropped and the step doubled: frame `i` stays at `i × step`.
    fn halve(&mut self) {
        let mut i = 0;
        self.frames.retain(|_| {
            i += 1;
            i % 2 == 1
        });
        self.step = Offset(self.step.0.saturating_mul(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Replay;
    use crate::record::replay::fixture;

    fn recording(replay: &Replay) -> Recording {
        let dir = tempfile::tempdir().unwrap();
        fixture::write_file(dir.path(), replay, None);
        record(dir.path()).unwrap()
    }

    #[test]
    fn frames_are_at_the_step_and_the_last_is_the_race_s_own() {
        let replay = fixture::replay(3, 40);
        let shared = recording(&replay);
        let exact = crate::replay::fold_replay(&replay, |_| {});
        assert_eq!(shared.last, exact, "the final numbers are exact");
        assert!(shared.last.finished);
        assert!(!shared.frames.is_empty());
        for (i, frame) in shared.frames.iter().enumerate() {
            assert_eq!(frame.t, Offset(shared.step.0 * i as u64), "frame {i}");
            assert!(!frame.finished);
        }
        // Progress only grows from frame to frame.
        for pair in shared.frames.windows(2) {
            for (a, b) in pair[0].endpoints.iter().zip(&pair[1].endpoints) {
                assert!(a.counts.requests_done() <= b.counts.requests_done());
            }
        }
        assert!(shared.frames.len() <= MAX_FRAMES);
        assert_eq!(shared.damage, None);
        assert!(!shared.interrupted);
    }

    #[test]
    fn a_long_race_is_sampled_at_a_coarser_step_within_the_bound() {
        let mut sampler = Sampler::new();
        let header = fixture::replay(1, 1).header;
        let mut fold = Fold::new(&header);
        // An hour: the step doubles until the hour fits in the bound.
        sampler.up_to(Offset(3_600_000_000_000), &mut fold);
        assert!(sampler.frames.len() <= MAX_FRAMES);
        assert!(sampler.frames.len() > MAX_FRAMES / 2);
        assert_eq!(sampler.step.0 % (BASE_STEP_MS * 1_000_000), 0);
        for (i, frame) in sampler.frames.iter().enumerate() {
            assert_eq!(frame.t, Offset(sampler.step.0 * i as u64));
        }
    }
}
