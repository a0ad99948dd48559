//! The commentary's log (`l`): every line the commentary said, oldest at the top, following
//! the newest unless scrolled (↑↓ a line, pgup/pgdn ten).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Widget};

use super::feed;
use crate::tui::Scene;
use crate::tui::draw::Pen;

pub fn render(area: Rect, buf: &mut Buffer, scene: &Scene) {
    let lines = &scene.snapshot.commentary;
    let rows = usize::from(area.height.saturating_sub(2));
    // Scrolled up by at most what keeps the view full.
    let scroll = scene.view.log_scroll.min(lines.len().saturating_sub(rows));
    let end = lines.len() - scroll;
    let start = end.saturating_sub(rows);
    let title = if scroll > 0 {
        format!(
            " Commentary · lines {}–{end} of {} ",
            start + 1,
            lines.len()
        )
    } else {
        format!(" Commentary · {} lines ", lines.len())
    };
    let block = Block::bordered()
        .border_style(scene.theme.border)
        .title(Line::styled(title, scene.theme.title));
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.is_empty() {
        return;
    }
    let pen = &mut Pen::new(buf, inner);
    let (x, width) = (inner.x + 1, inner.width.saturating_sub(2));
    if lines.is_empty() {
        let quiet = "nothing to tell yet: lines come as the race unfolds";
        pen.left(x, inner.y, width, quiet, scene.theme.dim);
        return;
    }
    for (comment, y) in lines.range(start..end).zip(inner.y..inner.bottom()) {
        feed::line(pen, x, y, width, comment, scene);
    }
}
