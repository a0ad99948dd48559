//! The row under the header that the live commentary feed writes into (issue 17). The screen
//! lays the row out on every screen and hands it here; until the feed exists it stays empty.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::tui::Scene;

/// Rows the feed takes under the header.
pub const HEIGHT: u16 = 1;

/// Draws the feed into its row. Nothing yet: the commentary feed fills this in.
pub fn render(area: Rect, buf: &mut Buffer, scene: &Scene) {
    let _ = (area, buf, scene);
}
