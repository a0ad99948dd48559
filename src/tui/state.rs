//! The dashboard's own state — which screen, which endpoint and request are selected, how the
//! leaderboard ranks — and how actions (what keys stand for, in `keys.rs`) change it. Pure: no
//! terminal, no clock, no statistics.

mod arena;

pub use self::arena::ArenaState;
use super::ranking::Rank;
use crate::replay::player::PlaybackCommand;
use crate::stats::Snapshot;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Screen {
    #[default]
    Board,
    Inspector,
    Charts,
    /// The same prompt's responses from every endpoint, side by side.
    Arena,
    /// The commentary's log (`l`).
    Log,
}

/// The inspector's selection: a request of the selected endpoint, counted from the newest
/// (0 = newest) so the selection stays on "latest" while requests stream in, unless pinned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InspectorState {
    pub from_newest: usize,
    /// Show each stream event with its arrival time instead of the text.
    pub raw: bool,
    /// Lines scrolled up from the end of the response (0 = follow the end).
    pub scroll: u16,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ViewState {
    pub screen: Screen,
    pub help: bool,
    /// Index of the selected endpoint.
    pub selected: usize,
    pub rank: Rank,
    /// Some endpoint has a price, so `s` can rank by cost too (set once from the race info).
    pub priced: bool,
    pub inspector: InspectorState,
    pub arena: ArenaState,
    /// Sending is paused (the engine was told so). A replay's pause is the player's.
    pub paused: bool,
    /// Playing back a replay: the playback keys apply, the race's own (`p`) do not.
    pub replay: bool,
    /// The leaderboard's previous order (endpoint indices, leader first), to show moves.
    pub previous_order: Vec<usize>,
    /// The commentary log's lines scrolled up from the newest (0 = follow the newest).
    pub log_scroll: usize,
    /// Drawn for a recording (`llmrace share --format cast`): nobody can press a key, so the
    /// footer says what the screen is instead of listing keys.
    pub recorded: bool,
}

/// What a key asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    TogglePause,
    SelectNext,
    SelectPrevious,
    Select(usize),
    Drill,
    ShowInspector,
    ShowCharts,
    ShowLog,
    CycleRank,
    ToggleHelp,
    Back,
    Up,
    Down,
    ScrollUp,
    ScrollDown,
    ToggleRaw,
    ShowArena,
    /// The arena: the prompt before (or after) the one shown.
    EarlierPrompt,
    LaterPrompt,
    /// A replay's playback: pause, speed, seek, step.
    Playback(PlaybackCommand),
}

/// What the outside world must do after an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    None,
    /// Stop the race (if running) and leave once results are saved.
    Quit,
    /// Pause (`true`) or resume sending.
    Pause(bool),
    /// Tell the replay's player.
    Playback(PlaybackCommand),
}

impl ViewState {
    /// Applies an action; `endpoints` is how many lanes there are.
    pub fn apply(&mut self, action: Action, endpoints: usize) -> Effect {
        match action {
            Action::Quit => return Effect::Quit,
            Action::Playback(command) => return Effect::Playback(command),
            Action::TogglePause => {
                self.paused = !self.paused;
                return Effect::Pause(self.paused);
            }
            Action::SelectNext if endpoints > 0 => {
                self.selected = (self.selected + 1) % endpoints;
                self.inspector = InspectorState::default();
            }
            Action::SelectPrevious if endpoints > 0 => {
                self.selected = (self.selected + endpoints - 1) % endpoints;
                self.inspector = InspectorState::default();
            }
            Action::Select(i) if i < endpoints => {
                self.selected = i;
                self.inspector = InspectorState::default();
            }
            Action::Drill | Action::ShowInspector => {
                self.screen = Screen::Inspector;
                self.help = false;
            }
            Action::ShowCharts => {
                self.screen = Screen::Charts;
                self.help = false;
            }
            Action::ShowArena => {
                self.screen = Screen::Arena;
                self.help = false;
            }
            Action::EarlierPrompt => self.arena.step = self.arena.step.saturating_sub(1),
            Action::LaterPrompt => self.arena.step = self.arena.step.saturating_add(1),
            Action::ShowLog => {
                self.screen = Screen::Log;
                self.help = false;
                self.log_scroll = 0;
            }
            Action::CycleRank => self.rank = self.rank.next(self.priced),
            Action::ToggleHelp => self.help = !self.help,
            Action::Back => {
                if self.help {
                    self.help = false;
                } else {
                    self.screen = Screen::Board;
                }
            }
            Action::Up if self.screen == Screen::Inspector => {
                self.inspector.from_newest += 1;
                self.inspector.scroll = 0;
            }
            Action::Down if self.screen == Screen::Inspector => {
                self.inspector.from_newest = self.inspector.from_newest.saturating_sub(1);
                self.inspector.scroll = 0;
            }
            // The log's view clamps the scroll to the lines there are.
            Action::Up if self.screen == Screen::Log => self.log_scroll += 1,
            Action::Down if self.screen == Screen::Log => {
                self.log_scroll = self.log_scroll.saturating_sub(1);
            }
            Action::ScrollUp if self.screen == Screen::Log => self.log_scroll += 10,
            Action::ScrollDown if self.screen == Screen::Log => {
                self.log_scroll = self.log_scroll.saturating_sub(10);
            }
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::Down if endpoints > 0 => self.selected = (self.selected + 1).min(endpoints - 1),
            Action::ToggleRaw => self.inspector.raw = !self.inspector.raw,
            // The response follows its end unless scrolled; the view clamps to what exists.
            Action::ScrollUp => self.inspector.scroll = self.inspector.scroll.saturating_add(10),
            Action::ScrollDown => self.inspector.scroll = self.inspector.scroll.saturating_sub(10),
            _ => {}
        }
        Effect::None
    }

    /// Keeps selections valid for a new snapshot (endpoints and requests come and go).
    pub fn clamp_to(&mut self, snapshot: &Snapshot) {
        self.arena.clamp_to(snapshot);
        let endpoints = snapshot.endpoints.len();
        if endpoints == 0 {
            self.selected = 0;
            return;
        }
        self.selected = self.selected.min(endpoints - 1);
        let requests = snapshot.endpoints[self.selected].requests.len();
        self.inspector.from_newest = self.inspector.from_newest.min(requests.saturating_sub(1));
    }
}
