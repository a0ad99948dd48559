//! The race board, the default screen: one lane per endpoint, the leaderboard, and the finish
//! panel once the race is over. Lanes get denser rather than overflow, so every endpoint stays
//! on screen however many race and however short the terminal.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Widget;

use super::lane::{self, Density, Lane, Scale};
use super::{finish, leaderboard};
use crate::tui::Scene;
use crate::tui::draw::{Pen, text_width};

/// From this width the leaderboard sits beside the lanes; below it, under them.
pub const WIDE: u16 = 110;
/// Width of the side column in the wide layout.
const SIDE: u16 = 40;
/// Longest name the one-row lanes make room for.
const NAME_MAX: u16 = 20;

pub fn render(area: Rect, buf: &mut Buffer, scene: &Scene) {
    let snapshot = scene.snapshot;
    let endpoints = snapshot.endpoints.len();
    if endpoints == 0 {
        let text = "waiting for the first endpoint…";
        let mut pen = Pen::new(buf, area);
        pen.left(area.x + 2, area.y + 1, area.width, text, scene.theme.dim);
        return;
    }
    let board = leaderboard::height(endpoints);
    let finish = if snapshot.finished {
        finish::height(endpoints, scene.info.priced())
    } else {
        0
    };
    if area.width >= WIDE {
        let [lanes_area, side] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(SIDE)])
                .spacing(1)
                .areas(area);
        let [board_area, finish_area, _] = Layout::vertical([
            Constraint::Length(board),
            Constraint::Length(finish),
            Constraint::Fill(1),
        ])
        .areas(side);
        lanes(lanes_area, buf, scene);
        leaderboard::render(board_area, buf, scene);
        if snapshot.finished {
            finish::render(finish_area, buf, scene);
        }
    } else {
        // The lanes are the race: they keep a row per endpoint (up to half the height), the
        // panels below them get the rest.
        let lanes_min = u16::try_from(endpoints + 1)
            .unwrap_or(u16::MAX)
            .min(area.height / 2);
        let bottom = board.max(finish).min(area.height.saturating_sub(lanes_min));
        let [lanes_area, bottom_area] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(bottom)]).areas(area);
        lanes(lanes_area, buf, scene);
        if snapshot.finished {
            let [board_area, finish_area] =
                Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(bottom_area);
            leaderboard::render(board_area, buf, scene);
            finish::render(finish_area, buf, scene);
        } else {
            leaderboard::render(bottom_area, buf, scene);
        }
    }
}

/// The richest density (and whether a blank row separates lanes) at which `lanes` lanes fit
/// in `rows` rows.
pub fn density(lanes: u16, rows: u16) -> (Density, u16) {
    let options = [
        (Density::Tall, 1),
        (Density::Tall, 0),
        (Density::Full, 1),
        (Density::Full, 0),
        (Density::Compact, 1),
        (Density::Compact, 0),
    ];
    for (density, gap) in options {
        let needed = u32::from(lanes) * u32::from(density.rows() + gap);
        if needed.saturating_sub(u32::from(gap)) <= u32::from(rows) {
            return (density, gap);
        }
    }
    (Density::Line, 0)
}

/// The column header, then one lane per endpoint. When even one-row lanes do not all fit, the
/// lanes around the selected one are shown and the header says which.
fn lanes(area: Rect, buf: &mut Buffer, scene: &Scene) {
    if area.height < 2 {
        return;
    }
    let snapshot = scene.snapshot;
    let theme = scene.theme;
    let count = snapshot.endpoints.len();
    let rows = area.height - 1;
    let (density, gap) = density(u16::try_from(count).unwrap_or(u16::MAX), rows);
    let pitch = usize::from(density.rows() + gap);
    let visible = ((usize::from(rows) + usize::from(gap)) / pitch).clamp(1, count);
    let first = if visible < count {
        scene
            .view
            .selected
            .saturating_sub(visible / 2)
            .min(count - visible)
    } else {
        0
    };
    let name_width = snapshot
        .endpoints
        .iter()
        .map(|e| text_width(&e.name))
        .max()
        .unwrap_or(0)
        .min(NAME_MAX);
    let header = Rect { height: 1, ..area };
    lane::header(header, buf, density, name_width, theme);
    if visible < count {
        let which = format!("lanes {}–{} of {count}", first + 1, first + visible);
        let x = header.right().saturating_sub(text_width(&which) + 1);
        Pen::new(buf, header).left(x, header.y, text_width(&which), &which, theme.warn);
    }

    let scale = Scale::of(&snapshot.endpoints, area.width);
    let mut y = area.y + 1;
    for index in first..first + visible {
        let Some(endpoint) = snapshot.endpoints.get(index) else {
            break;
        };
        let info = scene.info.lanes.get(index);
        let rect = Rect {
            y,
            height: density.rows(),
            ..area
        }
        .intersection(area);
        let lane = Lane {
            index,
            info,
            endpoint,
            cost: snapshot.costs.get(&endpoint.name),
            theme,
            color: scene.lane_color(index),
            selected: index == scene.view.selected,
            finished: snapshot.finished,
            target: scene.info.requests,
            density,
            scale,
            name_width,
        };
        lane.render(rect, buf);
        y = y.saturating_add(density.rows() + gap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_get_denser_rather_than_overflow() {
        assert_eq!(density(4, 27), (Density::Tall, 1));
        assert_eq!(density(4, 24), (Density::Tall, 0));
        assert_eq!(density(3, 14), (Density::Full, 1));
        assert_eq!(density(3, 12), (Density::Full, 0));
        assert_eq!(density(8, 36), (Density::Full, 0));
        assert_eq!(density(8, 23), (Density::Compact, 1));
        assert_eq!(density(8, 16), (Density::Compact, 0));
        assert_eq!(density(8, 10), (Density::Line, 0));
        assert_eq!(density(30, 10), (Density::Line, 0));
    }
}
