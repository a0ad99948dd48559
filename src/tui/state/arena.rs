//! The arena's view state: which prompt it shows. It follows the newest prompt every endpoint
//! has started until ←/→ step back through earlier ones; a step is resolved against the next
//! snapshot's prompts, since keys arrive without one.

use crate::event::PromptId;
use crate::stats::Snapshot;
use crate::stats::heats;

impl super::ViewState {
    /// The race finished: the board gives way to the arena on the last prompt (the demo's
    /// ending). Someone looking at another screen, or the help, is left there.
    pub fn finale(&mut self) {
        if self.screen == super::Screen::Board && !self.help {
            self.screen = super::Screen::Arena;
            self.arena = ArenaState::default();
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArenaState {
    /// The prompt stepped back to; `None` follows the newest.
    pub pinned: Option<PromptId>,
    /// Prompts to step (negative: earlier) not yet resolved against a snapshot.
    pub step: i32,
}

impl ArenaState {
    /// Applies the pending step against `snapshot`'s prompts. Stepping onto the newest
    /// follows it again; a pinned prompt no longer kept (pushed out of the recent requests)
    /// gives way to the newest.
    pub fn clamp_to(&mut self, snapshot: &Snapshot) {
        if self.step == 0 && self.pinned.is_none() {
            return;
        }
        let prompts = heats::prompts(snapshot);
        let step = std::mem::take(&mut self.step);
        let Some(newest) = prompts.len().checked_sub(1) else {
            self.pinned = None;
            return;
        };
        let at = self
            .pinned
            .and_then(|p| prompts.iter().position(|q| *q == p))
            .unwrap_or(newest);
        let moved = i64::try_from(at).unwrap_or(i64::MAX) + i64::from(step);
        let target = usize::try_from(moved.max(0))
            .unwrap_or(usize::MAX)
            .min(newest);
        self.pinned = (target != newest).then(|| prompts[target]);
    }

    /// The prompt shown among `prompts` (oldest first), and its place in them.
    #[must_use]
    pub fn shown(&self, prompts: &[PromptId]) -> Option<(usize, PromptId)> {
        let pinned = self
            .pinned
            .and_then(|p| prompts.iter().position(|q| *q == p));
        let at = pinned.or(prompts.len().checked_sub(1))?;
        Some((at, prompts[at]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::fixture::race;

    #[test]
    fn steps_back_pins_and_stepping_forward_to_the_newest_follows_again() {
        let snapshot = race(4, 40);
        let prompts = heats::prompts(&snapshot);
        assert!(prompts.len() > 3);
        let newest = prompts.len() - 1;
        let mut state = ArenaState::default();
        assert_eq!(state.shown(&prompts), Some((newest, prompts[newest])));
        state.step = -2;
        state.clamp_to(&snapshot);
        assert_eq!(state.pinned, Some(prompts[newest - 2]));
        assert_eq!(
            state.shown(&prompts),
            Some((newest - 2, prompts[newest - 2]))
        );
        state.step = 1;
        state.clamp_to(&snapshot);
        assert_eq!(state.pinned, Some(prompts[newest - 1]));
        state.step = 5;
        state.clamp_to(&snapshot);
        assert_eq!((state.pinned, state.step), (None, 0));
        // Past the oldest stays on the oldest.
        state.step = -1000;
        state.clamp_to(&snapshot);
        assert_eq!(state.pinned, Some(prompts[0]));
    }

    #[test]
    fn the_finale_leaves_the_board_only() {
        let mut view = super::super::ViewState::default();
        view.finale();
        assert_eq!(view.screen, super::super::Screen::Arena);
        let mut charts = super::super::ViewState {
            screen: super::super::Screen::Charts,
            ..Default::default()
        };
        charts.finale();
        assert_eq!(charts.screen, super::super::Screen::Charts);
    }

    #[test]
    fn nothing_in_common_shows_nothing() {
        let mut snapshot = race(2, 4);
        snapshot.endpoints[1].requests.clear();
        let mut state = ArenaState {
            pinned: Some(PromptId(1)),
            step: -1,
        };
        state.clamp_to(&snapshot);
        assert_eq!(state, ArenaState::default());
        assert_eq!(state.shown(&heats::prompts(&snapshot)), None);
    }
}
