//! The frame around every screen: lays out the header, the commentary's feed, the body of the current screen, the
//! notices strip, the footer of keys and the help overlay on top, and has each view draw its
//! part — or, below 80×24, a plain request for a bigger terminal instead of a broken layout.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::draw::text_width;
use super::views::{arena, board, charts, feed, footer, header, help, inspector, log, notices};
use super::{Scene, Screen};

/// The smallest terminal the dashboard lays itself out in.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Draws one frame of the dashboard.
pub fn draw(frame: &mut Frame, scene: &Scene) {
    let area = frame.area();
    render(area, frame.buffer_mut(), scene);
}

/// Draws the dashboard into `area` of `buf` (what `draw` does, without a terminal).
pub fn render(area: Rect, buf: &mut Buffer, scene: &Scene) {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(area, buf, scene);
        return;
    }
    let notices = notices::notices(scene.info, scene.snapshot);
    let [header_area, feed_area, body, strip, footer_area] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(feed::HEIGHT),
        Constraint::Fill(1),
        Constraint::Length(notices::height(&notices)),
        Constraint::Length(1),
    ])
    .areas(area);
    header::render(header_area, buf, scene);
    feed::render(feed_area, buf, scene);
    match scene.view.screen {
        Screen::Board => board::render(body, buf, scene),
        Screen::Inspector => inspector::render(body, buf, scene),
        Screen::Charts => charts::render(body, buf, scene),
        Screen::Arena => arena::render(body, buf, scene),
        Screen::Log => log::render(body, buf, scene),
    }
    notices::render(strip, buf, &notices, scene.theme);
    footer::render(footer_area, buf, scene);
    if scene.view.help {
        help::render(area, buf, scene);
    }
}

fn too_small(area: Rect, buf: &mut Buffer, scene: &Scene) {
    let theme = scene.theme;
    let ask = format!(
        "enlarge the terminal to at least {MIN_WIDTH}×{MIN_HEIGHT} (now {}×{})",
        area.width, area.height
    );
    // Wrapped at word breaks, so one row more than the even split leaves room for ragged ends.
    let rows =
        text_width(&ask).div_ceil(area.width.max(1)) + u16::from(text_width(&ask) > area.width);
    let height = (rows + 1).min(area.height);
    let text = vec![
        Line::styled(ask, theme.title),
        Line::styled("q quits", theme.dim),
    ];
    let paragraph = Paragraph::new(text).centered().wrap(Wrap { trim: true });
    let middle = area.centered_vertically(Constraint::Length(height));
    paragraph.render(middle, buf);
}

#[cfg(test)]
#[path = "screen_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "commentary_tests.rs"]
mod commentary_tests;
