//! The commentary's feed: one line under the header saying the latest thing that happened in
//! the race (`stats::commentary` decides what and when), with its race time, in the colour of
//! the endpoint it is about. `l` opens the whole log.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::stats::commentary::Comment;
use crate::tui::Scene;
use crate::tui::draw::{Pen, clock, fit, text_width};

/// What the feed says before the commentary has said anything.
const WAITING: &str = "commentary: waiting for the first answers";

/// One comment as the feed and the log write it: its race time, a dot in its endpoint's
/// colour, its text cut to `width` columns.
pub fn line(pen: &mut Pen, x: u16, y: u16, width: u16, comment: &Comment, scene: &Scene) {
    let time = clock(comment.t.as_duration());
    let time_width = text_width(&time);
    pen.left(x, y, width, &time, scene.theme.dim);
    let dot_x = x + time_width + 1;
    let dot_style = comment
        .endpoint
        .map_or(scene.theme.dim, |i| scene.lane_color(i));
    pen.left(
        dot_x,
        y,
        width.saturating_sub(time_width + 1),
        "●",
        dot_style,
    );
    let room = width.saturating_sub(time_width + 3);
    let style = if comment.text.starts_with("Finish") {
        scene.theme.leader
    } else {
        scene.theme.text
    };
    let text = fit(&comment.text, usize::from(room));
    pen.left(dot_x + 2, y, room, &text, style);
}

/// Rows the feed takes under the header.
pub const HEIGHT: u16 = 1;

pub fn render(area: Rect, buf: &mut Buffer, scene: &Scene) {
    if area.is_empty() {
        return;
    }
    let pen = &mut Pen::new(buf, area);
    let x = area.x + 1;
    let width = area.width.saturating_sub(2);
    match scene.snapshot.commentary.back() {
        Some(comment) => line(pen, x, area.y, width, comment, scene),
        None => pen.left(x, area.y, width, WAITING, scene.theme.dim),
    }
}
