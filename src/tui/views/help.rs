//! The help overlay (`?`): every key and what it does — a live race's or a replay's — drawn
//! over the middle of the screen, from the key map that key handling dispatches from.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Widget};

use crate::tui::draw::{Pen, text_width};
use crate::tui::{Scene, keys};

const KEY_WIDTH: u16 = 14;

pub fn render(area: Rect, buf: &mut Buffer, scene: &Scene) {
    let theme = scene.theme;
    let mut keys: Vec<(&str, &str)> = keys::help(scene.view.replay, scene.snapshot.finished);
    // Where Prometheus scrapes the race: the terminal line saying so is under the dashboard.
    if let Some(url) = &scene.info.metrics {
        keys.push(("", ""));
        keys.push(("metrics", url.as_str()));
    }
    let widest = keys
        .iter()
        .map(|(_, what)| text_width(what))
        .max()
        .unwrap_or(0);
    let width = (KEY_WIDTH + widest + 4).min(area.width);
    let height = (u16::try_from(keys.len()).unwrap_or(0) + 4).min(area.height);
    let popup = area.centered(Constraint::Length(width), Constraint::Length(height));
    Clear.render(popup, buf);
    let block = Block::bordered()
        .border_style(theme.title)
        .title(Line::styled(" Keys ", theme.title))
        .title_bottom(Line::styled(" esc or ? to close ", theme.dim).right_aligned());
    let inner = block.inner(popup);
    block.render(popup, buf);
    let rows = (inner.y + 1)..inner.bottom();
    let pen = &mut Pen::new(buf, inner);
    for (y, (key, what)) in rows.zip(&keys) {
        pen.left(inner.x + 1, y, KEY_WIDTH, key, theme.title);
        let rest = inner.width.saturating_sub(KEY_WIDTH + 1);
        pen.left(inner.x + 1 + KEY_WIDTH, y, rest, what, theme.text);
    }
}
