//! The finish panel, shown once the race is over: the winner of each headline metric and the
//! podium under the leaderboard's current ranking, and the medals under them when the race
//! gave any.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Widget};

use crate::tui::draw::{Pen, fit, text_width};
use crate::tui::ranking::{order, show, value, winner};
use crate::tui::{Rank, Scene};

/// Places on the podium.
const PODIUM: usize = 3;

/// Rows the panel needs for `endpoints` (borders included): one per metric (cost too when
/// `priced`), the podium heading and up to three places; then, in a race of two endpoints or
/// more, the medals' box (a row per medal).
pub fn height(endpoints: usize, priced: bool) -> u16 {
    let medals = if endpoints >= 2 {
        2 + 5 + u16::from(priced)
    } else {
        0
    };
    podium_height(endpoints, priced) + medals
}

fn podium_height(endpoints: usize, priced: bool) -> u16 {
    let places = u16::try_from(endpoints.min(PODIUM)).unwrap_or(0);
    let metrics = u16::try_from(Rank::available(priced).len()).unwrap_or(4);
    2 + metrics + 1 + places
}

pub fn render(area: Rect, buf: &mut Buffer, scene: &Scene) {
    let medals = crate::stats::medals::medals(scene.snapshot);
    let endpoints = scene.snapshot.endpoints.len();
    let podium_height = podium_height(endpoints, scene.info.priced());
    if medals.is_empty() || area.height <= podium_height {
        podium(area, buf, scene);
        return;
    }
    let [top, bottom] =
        Layout::vertical([Constraint::Length(podium_height), Constraint::Fill(1)]).areas(area);
    podium(top, buf, scene);
    super::medals::render(bottom, buf, scene, &medals);
}

fn podium(area: Rect, buf: &mut Buffer, scene: &Scene) {
    let theme = scene.theme;
    let block = Block::bordered()
        .border_style(theme.border)
        .title(Line::styled(" Finish · winners ", theme.title));
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.is_empty() {
        return;
    }
    let pen = &mut Pen::new(buf, inner);
    let x = inner.x + 1;
    let width = inner.width.saturating_sub(2);
    let label_width = 13;
    let name_x = x + label_width;
    // A name takes all the row its value leaves (after the dot and a space before the value).
    let name_room = |value: &str| width.saturating_sub(label_width + 2 + text_width(value) + 1);
    let endpoints = &scene.snapshot.endpoints;
    let mut rows = inner.y..inner.bottom();

    for &rank in Rank::available(scene.info.priced()) {
        let Some(y) = rows.next() else { return };
        pen.left(x, y, label_width, rank.label(), theme.dim);
        let Some(w) = winner(scene.snapshot, rank) else {
            pen.left(name_x, y, width.saturating_sub(label_width), "—", theme.dim);
            continue;
        };
        let text = show(rank, Some(w.value));
        let room = name_room(&text);
        let name = endpoints.get(w.endpoint).map_or("", |e| e.name.as_str());
        let name = if w.tied > 0 {
            let tied = format!(" +{} tied", w.tied);
            let left = usize::from(room.saturating_sub(text_width(&tied)));
            format!("{}{tied}", fit(name, left))
        } else {
            fit(name, usize::from(room))
        };
        pen.left(name_x, y, 1, "●", scene.lane_color(w.endpoint));
        pen.left(name_x + 2, y, room, &name, theme.leader);
        pen.right(x, y, width, &text, theme.text);
    }

    let rank = scene.view.rank;
    let Some(y) = rows.next() else { return };
    let heading = format!("podium · {}", rank.label());
    pen.left(x, y, width, &heading, theme.title);
    for ((place, &index), y) in ["1st", "2nd", "3rd"]
        .iter()
        .zip(&order(scene.snapshot, rank))
        .zip(rows)
    {
        let Some(endpoint) = endpoints.get(index) else {
            continue;
        };
        let v = value(endpoint, rank, scene.snapshot.costs.get(&endpoint.name));
        let style = if *place == "1st" && v.is_some() {
            theme.leader
        } else {
            theme.text
        };
        pen.left(x + 2, y, 4, place, style);
        pen.left(name_x, y, 1, "●", scene.lane_color(index));
        let text = show(rank, v);
        let room = name_room(&text);
        let name = fit(&endpoint.name, usize::from(room));
        pen.left(name_x + 2, y, room, &name, style);
        pen.right(x, y, width, &text, theme.text);
    }
}
