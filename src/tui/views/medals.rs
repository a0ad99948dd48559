//! The medals beside the podium in the finish panel: one row per medal, its winners (ties
//! share it) in their colours and the figure that won it (`stats::medals` has the rules).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Widget};

use crate::stats::medals::{Medal, MedalKind};
use crate::tui::Scene;
use crate::tui::draw::{Pen, fit, text_width};

pub fn render(area: Rect, buf: &mut Buffer, scene: &Scene, medals: &[Medal]) {
    let theme = scene.theme;
    let block = Block::bordered()
        .border_style(theme.border)
        .title(Line::styled(" Medals ", theme.title));
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.is_empty() {
        return;
    }
    let pen = &mut Pen::new(buf, inner);
    let x = inner.x + 1;
    let width = inner.width.saturating_sub(2);
    // The medals' names, short enough for the podium's width.
    let label_width = 12;
    let endpoints = &scene.snapshot.endpoints;
    let kinds = MedalKind::ALL
        .into_iter()
        .filter(|k| medals.iter().any(|m| m.kind == *k));
    for (kind, y) in kinds.zip(inner.y..inner.bottom()) {
        let won: Vec<&Medal> = medals.iter().filter(|m| m.kind == kind).collect();
        pen.left(x, y, label_width, short(kind), theme.dim);
        // One figure: a shared medal's winners tied on it (zero errors: each its own count).
        let figure = if won.len() == 1 || kind != MedalKind::ZeroErrors {
            won[0].figure.as_str()
        } else {
            ""
        };
        let figure_width = text_width(figure);
        pen.right(x, y, width, figure, theme.text);
        let mut cx = x + label_width;
        let end = (x + width).saturating_sub(figure_width + 1);
        for (n, medal) in won.iter().enumerate() {
            let name = endpoints
                .get(medal.endpoint)
                .map_or("", |e| e.name.as_str());
            let room = end.saturating_sub(cx + 2);
            if room < 2 {
                break;
            }
            let more = won.len() - n - 1;
            let name = if more > 0 && usize::from(room) < name.len() + 4 {
                fit(&format!("+{}", more + 1), usize::from(room))
            } else {
                fit(name, usize::from(room))
            };
            pen.left(cx, y, 1, "●", scene.lane_color(medal.endpoint));
            pen.left(cx + 2, y, room, &name, theme.leader);
            cx += 2 + text_width(&name) + 2;
        }
    }
}

/// A medal's name in at most 11 columns.
fn short(kind: MedalKind) -> &'static str {
    match kind {
        MedalKind::FastestFirstToken => "first token",
        MedalKind::FastestFinisher => "finisher",
        MedalKind::Steadiest => "steadiest",
        MedalKind::MostOutput => "most output",
        MedalKind::ZeroErrors => "zero errors",
        MedalKind::Cheapest => "cheapest",
    }
}
