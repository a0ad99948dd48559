//! The dashboard: draws immutable snapshots of a race, live or played back, in the terminal
//! and turns keys into view changes and race or playback commands. It never computes
//! statistics and never talks to the engine directly.

pub mod app;
pub mod draw;
pub mod info;
pub mod keys;
pub mod ranking;
pub mod screen;
pub mod state;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod views;

pub use info::{LaneInfo, RaceInfo};
pub use ranking::Rank;
pub use state::{Screen, ViewState};
pub use theme::{Theme, ThemeName};

/// Everything one frame is drawn from. Views take this and nothing else: no clock, no I/O.
pub struct Scene<'a> {
    pub info: &'a RaceInfo,
    pub view: &'a ViewState,
    pub snapshot: &'a crate::stats::Snapshot,
    pub theme: &'a Theme,
}

impl Scene<'_> {
    /// Lane `index`'s colour: the race file's choice, else the theme's.
    pub fn lane_color(&self, index: usize) -> ratatui::style::Style {
        let chosen = self.info.lanes.get(index).and_then(|l| l.color.as_deref());
        self.theme.lane(index, chosen)
    }
}
