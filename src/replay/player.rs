//! Replay playback: a pure state machine that moves a virtual clock over a loaded replay and
//! folds its events, in file order, through the same [`Aggregator`] the live race used — so a
//! paused, sped-up or sought replay shows exactly the numbers the live race showed at that
//! moment. No I/O and no clock reads: it is told how much real time passed ([`task::play`]
//! is the task that tells it).

pub mod log;
pub mod speed;
pub mod task;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use super::fold::aggregator_for;
use crate::event::Offset;
use crate::stats::snapshot::Playback;
use crate::stats::{Aggregator, Snapshot};
pub use log::{EventLog, load_for_playback};
pub use speed::Speed;
pub use task::play;

/// What the dashboard asks of a replay's playback (the keys of replay mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaybackCommand {
    /// Pause or resume; at the end, play again from the start.
    TogglePause,
    Faster,
    Slower,
    /// Move this many seconds forward (negative: back).
    SeekBy(i64),
    /// Move to this share of the replay, in percent (0 to 100).
    SeekToPercent(u8),
    ToStart,
    ToEnd,
    /// Move to the next event's time and pause there.
    Step,
}

pub struct Player {
    log: EventLog,
    /// The block of events being folded, decoded.
    cursor: log::Cursor,
    aggregator: Aggregator,
    /// Index of the next event to fold.
    next: usize,
    /// The latest race time among the folded events: past the position means a rewind.
    folded_to: Offset,
    /// Where playback stands, in race time.
    position: Offset,
    duration: Offset,
    speed: Speed,
    paused: bool,
    marks: Arc<[Offset]>,
    /// Something a snapshot shows moved since the last snapshot.
    changed: bool,
}

impl Player {
    /// A player at the start of `log`, playing at `speed`.
    pub fn new(log: EventLog, speed: Speed) -> Player {
        let aggregator = aggregator_for(&log.header);
        let marks = log.marks();
        let duration = log.duration();
        let mut player = Player {
            log,
            cursor: log::Cursor::default(),
            aggregator,
            next: 0,
            folded_to: Offset::ZERO,
            position: Offset::ZERO,
            duration,
            speed,
            paused: false,
            marks,
            changed: true,
        };
        player.settle();
        player
    }

    /// Moves playback on by `real` time passed at the current speed (at `MAX`, to the end),
    /// folding every event up to the new position. Paused or at the end, nothing moves.
    pub fn advance(&mut self, real: Duration) {
        if self.is_idle() {
            return;
        }
        self.position = match self.speed.factor() {
            None => self.duration,
            Some(factor) => {
                let race = Duration::try_from_secs_f64(real.as_secs_f64() * factor)
                    .unwrap_or(Duration::MAX);
                Offset(
                    self.position
                        .0
                        .saturating_add(Offset::from_duration(race).0)
                        .min(self.duration.0),
                )
            }
        };
        self.changed = true;
        self.settle();
    }

    /// Carries out a command from the dashboard.
    pub fn obey(&mut self, command: PlaybackCommand) {
        match command {
            PlaybackCommand::TogglePause => self.toggle_pause(),
            PlaybackCommand::Faster => self.faster(),
            PlaybackCommand::Slower => self.slower(),
            PlaybackCommand::SeekBy(seconds) => self.seek_by(seconds),
            PlaybackCommand::SeekToPercent(percent) => self.seek_to(f64::from(percent) / 100.0),
            PlaybackCommand::ToStart => self.go_to_start(),
            PlaybackCommand::ToEnd => self.go_to_end(),
            PlaybackCommand::Step => self.step(),
        }
    }

    /// Pauses or resumes. Resuming at the end plays the replay again from the start, as a
    /// player's play button does.
    pub fn toggle_pause(&mut self) {
        if self.at_end() {
            self.paused = false;
            self.move_to(Offset::ZERO);
        } else {
            self.paused = !self.paused;
        }
        self.changed = true;
    }

    pub fn faster(&mut self) {
        self.speed = self.speed.faster();
        self.changed = true;
    }

    pub fn slower(&mut self) {
        self.speed = self.speed.slower();
        self.changed = true;
    }

    /// Moves `seconds` forward or (negative) back, within the replay.
    pub fn seek_by(&mut self, seconds: i64) {
        let by = Duration::from_secs(seconds.unsigned_abs());
        let by = Offset::from_duration(by).0;
        let target = if seconds >= 0 {
            self.position.0.saturating_add(by)
        } else {
            self.position.0.saturating_sub(by)
        };
        self.move_to(Offset(target));
    }

    /// Moves to `fraction` (0 = start, 1 = end) of the replay.
    pub fn seek_to(&mut self, fraction: f64) {
        let fraction = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        // Rounded to the nanosecond; `as` saturates, and the fraction is within [0, 1].
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a share in [0, 1] of a duration in u64: within 0..=duration"
        )]
        let target = (self.duration.0 as f64 * fraction).round() as u64;
        self.move_to(Offset(target));
    }

    pub fn go_to_start(&mut self) {
        self.move_to(Offset::ZERO);
    }

    pub fn go_to_end(&mut self) {
        self.move_to(self.duration);
    }

    /// Moves to the next event's time (folding every event at that time) and pauses.
    pub fn step(&mut self) {
        self.settle();
        self.paused = true;
        self.changed = true;
        // Not yet folded means later than the position (or the position is the end).
        if let Some(event) = self.cursor.get(&self.log, self.next) {
            let t = event.t;
            self.move_to(t.max(self.position));
        }
        self.settle();
    }

    /// Where playback stands now, for the views.
    pub fn snapshot(&mut self) -> Snapshot {
        self.settle();
        self.changed = false;
        let mut snapshot = self.aggregator.snapshot(self.position, self.at_end());
        snapshot.playback = Some(Playback {
            duration: self.duration,
            speed: self.speed.factor(),
            paused: self.paused,
            marks: Arc::clone(&self.marks),
            damage: self.log.damage.clone(),
        });
        snapshot
    }

    /// Whether a new snapshot would show something new.
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// Nothing moves until a command comes: paused, or played to the end.
    pub fn is_idle(&self) -> bool {
        self.paused || self.at_end()
    }

    #[cfg(test)]
    pub fn position(&self) -> Offset {
        self.position
    }

    #[cfg(test)]
    pub fn duration(&self) -> Offset {
        self.duration
    }

    #[cfg(test)]
    pub fn speed(&self) -> Speed {
        self.speed
    }

    #[cfg(test)]
    pub fn paused(&self) -> bool {
        self.paused
    }

    fn at_end(&self) -> bool {
        self.position >= self.duration
    }

    /// Sets the position; the events follow when they are next needed, so several seeks in a
    /// row (a held key) cost one fold.
    fn move_to(&mut self, target: Offset) {
        let target = target.min(self.duration);
        if target != self.position {
            self.position = target;
            self.changed = true;
        }
    }

    /// Folds events up to the position: from the log's kept state nearest before it when the
    /// position went back before an event already folded (the aggregator is a fold: it cannot
    /// unfold), or when a kept state lies ahead of what is folded (a long seek forward).
    /// Events go in file order, the order the live aggregator took them in: folding stops at
    /// the first one later than the position, so any position gives the same prefix however it
    /// was reached. At the end every event is folded, whatever its time.
    fn settle(&mut self) {
        let at_end = self.at_end();
        let kept = if at_end {
            self.log.last_checkpoint()
        } else {
            self.log.checkpoint_for(self.position)
        };
        let rewind = !at_end && self.folded_to > self.position;
        if rewind || kept.next > self.next {
            self.aggregator = kept.aggregator.clone();
            self.next = kept.next;
            self.folded_to = kept.folded_to;
        }
        while let Some(event) = self.cursor.get(&self.log, self.next) {
            if !at_end && event.t > self.position {
                break;
            }
            self.aggregator.apply(event);
            self.folded_to = self.folded_to.max(event.t);
            self.next += 1;
        }
    }
}
