//! The race board, the default screen: the race-track strip on top, one lane per endpoint,
//! the leaderboard, and the finish panel once the race is over. Lanes get denser rather than
//! overflow, so every endpoint stays on screen however many race and however short the
//! terminal; on a big one they grow taller sparklines, on a wide one with many endpoints they
//! go two abreast, and rows they leave over on a tall one get the charts.

use std::ops::Range;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Widget;

use super::lane::{self, Density, Lane, Scale};
use super::{charts, finish, leaderboard, track};
use crate::tui::Scene;
use crate::tui::draw::{Pen, text_width};

/// From this width the leaderboard sits beside the lanes; below it, under them.
pub const WIDE: u16 = 110;
/// Width of the side column in the wide layout.
const SIDE: u16 = 40;
/// From this width the side column widens so that the leaderboard shows every metric.
const WIDER: u16 = 160;
/// Width of the side column from [`WIDER`].
const SIDE_WIDE: u16 = 64;
/// Longest name the one-row lanes make room for.
const NAME_MAX: u16 = 20;
/// Tallest sparklines (rows per chart) a lane gets on a tall terminal, when the rows left
/// under the lanes are enough for the charts: more would only be a taller block of the same
/// values.
const TOWER_MAX: u16 = 4;
/// Tallest sparklines when the rows left would not hold the charts: the lanes take them.
const TOWER_TALLEST: u16 = 8;
/// Rows left under the lanes from which the board draws the charts there (the charts
/// screen's time charts and distributions, every endpoint overlaid), rather than leave them
/// empty.
const CHARTS_MIN: u16 = 14;
/// Narrowest column of lanes when they go two abreast: a Tall lane's numbers and 20 s of
/// sparkline.
const COLUMN_MIN: u16 = 80;

pub fn render(area: Rect, buf: &mut Buffer, scene: &Scene) {
    let snapshot = scene.snapshot;
    let endpoints = snapshot.endpoints.len();
    if endpoints == 0 {
        let text = "waiting for the first endpoint…";
        let mut pen = Pen::new(buf, area);
        pen.left(area.x + 2, area.y + 1, area.width, text, scene.theme.dim);
        return;
    }
    // The race track goes on top when the lanes can spare its rows: they keep the density
    // they would have without it, or at least their one-row sparklines, and never drop to
    // one row each for it.
    let strip = track::height(endpoints);
    let score = |area: Rect| {
        let lanes = panels(area, scene).lanes;
        score(arrangement(lanes, endpoints), endpoints, lanes)
    };
    let with = score(below(area, strip));
    let strip = if with >= Density::Compact.rows() && with >= score(area).min(Density::Full.rows())
    {
        strip
    } else {
        0
    };
    let [track_area, area] =
        Layout::vertical([Constraint::Length(strip), Constraint::Fill(1)]).areas(area);
    if strip > 0 {
        track::render(track_area, buf, scene);
    }
    let panels = panels(area, scene);
    lanes(panels.lanes, buf, scene);
    // A tall terminal with few endpoints has rows to spare under the lanes: the charts.
    let arrangement = arrangement(panels.lanes, endpoints);
    let spare = below(
        panels.lanes,
        used_rows(arrangement, endpoints, panels.lanes) + 1,
    );
    if spare.height >= CHARTS_MIN {
        charts::render(spare, buf, scene);
    } else {
        // Else the latency distributions go under the leaderboard, where they fit.
        charts::distributions(below(panels.rest, 1), buf, scene);
    }
    leaderboard::render(panels.leaderboard, buf, scene);
    if snapshot.finished {
        finish::render(panels.finish, buf, scene);
    }
}

/// How good an arrangement of `count` lanes in `area` is: its lanes' rows, or 0 when even
/// one-row lanes do not all fit (some scroll out of view).
fn score(arrangement: Arrangement, count: usize, area: Rect) -> u16 {
    let lanes = area.height.saturating_sub(1);
    let per_column = count.div_ceil(usize::from(arrangement.columns.max(1)));
    if arrangement.density == Density::Line && per_column > usize::from(lanes) {
        0
    } else {
        arrangement.density.rows()
    }
}

/// `area` without its top `rows`.
fn below(area: Rect, rows: u16) -> Rect {
    let rows = rows.min(area.height);
    Rect {
        y: area.y + rows,
        height: area.height - rows,
        ..area
    }
}

/// Where the lanes, the leaderboard and the finish panel go.
struct Panels {
    lanes: Rect,
    leaderboard: Rect,
    finish: Rect,
    /// What the side column has left under them.
    rest: Rect,
}

fn panels(area: Rect, scene: &Scene) -> Panels {
    let snapshot = scene.snapshot;
    let endpoints = snapshot.endpoints.len();
    let board = leaderboard::height(endpoints);
    let finish = if snapshot.finished {
        finish::height(endpoints, scene.info.priced())
    } else {
        0
    };
    if area.width >= WIDE {
        let side = if area.width >= WIDER { SIDE_WIDE } else { SIDE };
        let [lanes, side] = Layout::horizontal([Constraint::Fill(1), Constraint::Length(side)])
            .spacing(1)
            .areas(area);
        let [leaderboard, finish, rest] = Layout::vertical([
            Constraint::Length(board),
            Constraint::Length(finish),
            Constraint::Fill(1),
        ])
        .areas(side);
        Panels {
            lanes,
            leaderboard,
            finish,
            rest,
        }
    } else {
        // The lanes are the race: they keep a row per endpoint (up to half the height), the
        // panels below them get the rest.
        let lanes_min = u16::try_from(endpoints + 1)
            .unwrap_or(u16::MAX)
            .min(area.height / 2);
        let bottom = board.max(finish).min(area.height.saturating_sub(lanes_min));
        let [lanes, bottom_area] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(bottom)]).areas(area);
        if snapshot.finished {
            let [leaderboard, finish] =
                Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(bottom_area);
            Panels {
                lanes,
                leaderboard,
                finish,
                rest: Rect::default(),
            }
        } else {
            Panels {
                lanes,
                leaderboard: bottom_area,
                finish: Rect::default(),
                rest: Rect::default(),
            }
        }
    }
}

/// The richest density (and whether a blank row separates lanes) at which `lanes` lanes fit
/// in `rows` rows: a tall terminal's lanes get taller sparklines (up to [`TOWER_MAX`] rows).
pub fn density(lanes: u16, rows: u16) -> (Density, u16) {
    density_up_to(lanes, rows, TOWER_MAX)
}

/// [`density`] with sparklines up to `tower` rows high.
fn density_up_to(lanes: u16, rows: u16, tower: u16) -> (Density, u16) {
    let towers = (3..=tower).rev().map(|h| (Density::Tower(h), 1));
    let options = [
        (Density::Tall, 1),
        (Density::Tall, 0),
        (Density::Full, 1),
        (Density::Full, 0),
        (Density::Compact, 1),
        (Density::Compact, 0),
    ];
    for (density, gap) in towers.chain(options) {
        let needed = u32::from(lanes) * u32::from(density.rows() + gap);
        if needed.saturating_sub(u32::from(gap)) <= u32::from(rows) {
            return (density, gap);
        }
    }
    (Density::Line, 0)
}

/// How the lanes are laid out in their area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrangement {
    /// Lanes side by side: 1, or 2 on a wide terminal when that makes them richer.
    pub columns: u16,
    pub density: Density,
    /// Blank rows between lanes.
    pub gap: u16,
}

/// The lanes of `count` endpoints in `area` (its first row is the column header). Below
/// Tall density in one column, lanes go two abreast when the area is wide enough for two
/// columns of at least [`COLUMN_MIN`] and that gives them a richer density.
pub fn arrangement(area: Rect, count: usize) -> Arrangement {
    let rows = area.height.saturating_sub(1);
    let count16 = u16::try_from(count).unwrap_or(u16::MAX);
    let (density, gap) = density(count16, rows);
    let one = Arrangement {
        columns: 1,
        density,
        gap,
    };
    if density == Density::Tower(TOWER_MAX) {
        // Towers as tall as the charts' rows allow; taller when the charts would not fit.
        let spare = area.height.saturating_sub(used_rows(one, count, area) + 1);
        if spare < CHARTS_MIN {
            let (density, gap) = density_up_to(count16, rows, TOWER_TALLEST);
            return Arrangement {
                density,
                gap,
                ..one
            };
        }
    }
    if count < 2 || density.rows() >= Density::Tall.rows() || area.width < 2 * COLUMN_MIN + 1 {
        return one;
    }
    let (density, gap) = self::density(count16.div_ceil(2), rows);
    if density.rows() > one.density.rows() {
        Arrangement {
            columns: 2,
            density,
            gap,
        }
    } else {
        one
    }
}

/// The lanes, in one column or two abreast (see [`arrangement`]).
fn lanes(area: Rect, buf: &mut Buffer, scene: &Scene) {
    let count = scene.snapshot.endpoints.len();
    let arrangement = arrangement(area, count);
    if arrangement.columns == 1 {
        column(area, buf, scene, 0..count, arrangement);
        return;
    }
    let [left, right] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)])
        .spacing(1)
        .areas(area);
    let half = count.div_ceil(2);
    column(left, buf, scene, 0..half, arrangement);
    column(right, buf, scene, half..count, arrangement);
}

/// The rows the lanes of `arrangement` take in their area (their header included).
fn used_rows(arrangement: Arrangement, count: usize, area: Rect) -> u16 {
    let per_column = count.div_ceil(usize::from(arrangement.columns.max(1)));
    let per_column = u16::try_from(per_column).unwrap_or(u16::MAX);
    let pitch = arrangement.density.rows() + arrangement.gap;
    let used = 1 + per_column
        .saturating_mul(pitch)
        .saturating_sub(arrangement.gap);
    used.min(area.height)
}

/// The column header, then one lane per endpoint of `range`. When even one-row lanes do not
/// all fit, the lanes around the selected one are shown and the header says which.
fn column(
    area: Rect,
    buf: &mut Buffer,
    scene: &Scene,
    range: Range<usize>,
    arrangement: Arrangement,
) {
    if area.height < 2 || range.is_empty() {
        return;
    }
    let snapshot = scene.snapshot;
    let theme = scene.theme;
    let count = range.len();
    let rows = area.height - 1;
    let Arrangement { density, gap, .. } = arrangement;
    let pitch = usize::from(density.rows() + gap);
    let visible = ((usize::from(rows) + usize::from(gap)) / pitch).clamp(1, count);
    let first = if visible < count {
        scene
            .view
            .selected
            .saturating_sub(range.start)
            .saturating_sub(visible / 2)
            .min(count - visible)
    } else {
        0
    };
    let first = range.start + first;
    let name_width = snapshot
        .endpoints
        .iter()
        .map(|e| text_width(&e.name))
        .max()
        .unwrap_or(0)
        .min(NAME_MAX);
    let header = Rect { height: 1, ..area };
    let race = snapshot.t.as_duration();
    lane::header(header, buf, density, name_width, race, theme);
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
        // A tall terminal's lanes grow taller sparklines, up to four rows each.
        assert_eq!(density(4, 35), (Density::Tower(3), 1));
        assert_eq!(density(2, 40), (Density::Tower(TOWER_MAX), 1));
        assert_eq!(density_up_to(2, 40, TOWER_TALLEST), (Density::Tower(8), 1));
    }

    #[test]
    fn lanes_go_two_abreast_only_when_wide_and_richer_for_it() {
        let area = |width, height| Rect::new(0, 0, width, height);
        // Eight endpoints, 30 rows: one column gives Compact lanes; two give Tall ones.
        let wide = arrangement(area(200, 30), 8);
        assert_eq!((wide.columns, wide.density), (2, Density::Tall));
        // Too narrow for two columns of COLUMN_MIN: one column, denser.
        let narrow = arrangement(area(150, 30), 8);
        assert_eq!((narrow.columns, narrow.density), (1, Density::Compact));
        // Tall lanes already fit in one column: the sparklines keep the whole width.
        let tall = arrangement(area(200, 60), 8);
        assert_eq!((tall.columns, tall.density), (1, Density::Tall));
        assert_eq!(arrangement(area(200, 10), 1).columns, 1);
    }

    #[test]
    fn towers_leave_room_for_the_charts_or_take_it() {
        let area = |height| Rect::new(0, 0, 160, height);
        // Two lanes of four-row sparklines take 22 rows; 40 leave the charts 17.
        let roomy = arrangement(area(40), 2);
        assert_eq!(roomy.density, Density::Tower(TOWER_MAX));
        assert!(area(40).height - used_rows(roomy, 2, area(40)) > CHARTS_MIN);
        // 30 rows would leave the charts too few: the lanes take them.
        let cramped = arrangement(area(30), 2);
        assert_eq!(cramped.density, Density::Tower(6));
    }
}
