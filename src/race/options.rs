//! How a race is run, beyond what is raced: the options the command edge gives `race`, apart
//! from `race.rs` so the steps it wires (start-up, the view) read them without importing it.

use std::path::PathBuf;

use crate::tui;

use super::tell::Teller;

/// How a race is run, beyond what is raced.
#[derive(Clone, Debug, Default)]
pub struct RaceOptions {
    /// The results folder; a fresh folder under the platform data folder when `None`.
    pub out: Option<PathBuf>,
    /// No progress lines, only the final table.
    pub quiet: bool,
    /// Record the race's event stream into a replay file in the results folder.
    pub replay: bool,
    /// Show the live dashboard in this theme (the terminal must be a terminal).
    pub dashboard: Option<tui::Theme>,
    /// A folder whose earlier results `--force` replaces (checked by
    /// [`record::folder::check_named_folder`](crate::record::folder::check_named_folder)): removed only once this race is about to write.
    pub replace: Option<PathBuf>,
    /// Who hears what the race tells as it goes (that it can start, notices, a second signal):
    /// the command edge prints it; nobody by default.
    pub tell: Teller,
    /// Where the race's snapshots are served for Prometheus (`--metrics-addr`), if anywhere.
    pub metrics: Option<crate::export::Publisher>,
    /// `--start-at`: the measured race starts at this wall-clock instant, start-up done before.
    pub start_at: Option<chrono::DateTime<chrono::Utc>>,
}
