//! The leaderboard: endpoints ranked by the metric the user chose (`s` cycles), with each
//! one's move since the previous order and the leader picked out.

use std::cmp::Ordering;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Widget};

use crate::tui::draw::{Pen, fit, text_width};
use crate::tui::ranking::{order, show, value};
use crate::tui::{Rank, Scene};

/// Rows the leaderboard needs for `endpoints` (borders and column header included).
pub fn height(endpoints: usize) -> u16 {
    u16::try_from(endpoints)
        .unwrap_or(u16::MAX)
        .saturating_add(3)
}

/// `▲2` when the endpoint climbed two places since `previous`, `▼1` when it fell one.
fn movement(previous: &[usize], endpoint: usize, now: usize) -> Option<(bool, usize)> {
    let before = previous.iter().position(|&e| e == endpoint)?;
    match before.cmp(&now) {
        Ordering::Greater => Some((true, before - now)),
        Ordering::Less => Some((false, now - before)),
        Ordering::Equal => None,
    }
}

/// Width of a metric column.
const METRIC: u16 = 10;
/// Longest name the table makes room for when it shows every metric.
const NAME_MAX: u16 = 24;

pub fn render(area: Rect, buf: &mut Buffer, scene: &Scene) {
    let theme = scene.theme;
    let rank = scene.view.rank;
    let title = Line::styled(format!(" Leaderboard · {} ", rank.label()), theme.title);
    let block = Block::bordered()
        .border_style(theme.border)
        .title(title)
        .title_bottom(Line::styled(" s: next metric ", theme.dim).right_aligned());
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.is_empty() {
        return;
    }
    let pen = &mut Pen::new(buf, inner);
    let endpoints = &scene.snapshot.endpoints;
    let names = endpoints
        .iter()
        .map(|e| text_width(&e.name))
        .max()
        .unwrap_or(0);
    // `  1 ▲2 ● name`: place, move, lane colour, name.
    let name_x = inner.x + 9;
    let used = name_x - inner.x + 1;
    let available = Rank::available(scene.info.priced());
    let columns = u16::try_from(available.len()).unwrap_or(4);
    let all = inner.width >= used + names.min(NAME_MAX) + 2 + METRIC * columns;
    let metrics: Vec<Rank> = if all { available.to_vec() } else { vec![rank] };
    let metrics_width = METRIC * u16::try_from(metrics.len()).unwrap_or(1);
    let room = inner.width.saturating_sub(used + metrics_width);
    // Every metric: a table as narrow as its names. One metric: the value at the right edge.
    let name_width = if all {
        (names + 2).clamp(10, NAME_MAX + 2).min(room)
    } else {
        room
    };
    let metrics_x = name_x + name_width;

    let order = order(scene.snapshot, rank);
    let mut rows = inner.y..inner.bottom();
    // The column header goes first when there is room for it and every endpoint.
    if usize::from(inner.height) > order.len() {
        let y = inner.y;
        rows.next();
        pen.right(inner.x + 1, y, 2, "#", theme.dim);
        pen.left(name_x, y, name_width, "endpoint", theme.dim);
        for (i, m) in (0u16..).zip(&metrics) {
            let style = if *m == rank { theme.title } else { theme.dim };
            let label = short_label(*m);
            pen.right(metrics_x + i * METRIC, y, METRIC, label, style);
        }
    }
    let shown = if rows.len() < order.len() {
        rows.len().saturating_sub(1)
    } else {
        order.len()
    };
    for (place, (y, &index)) in rows.clone().zip(&order[..shown]).enumerate() {
        let Some(endpoint) = endpoints.get(index) else {
            continue;
        };
        let cost = scene.snapshot.costs.get(&endpoint.name);
        let has_value = value(endpoint, rank, cost).is_some();
        let style = match (place, has_value) {
            (0, true) => theme.leader,
            (_, true) => theme.text,
            (_, false) => theme.dim,
        };
        let place_text = (place + 1).to_string();
        pen.right(inner.x + 1, y, 2, &place_text, style);
        // An endpoint without data has no place to have moved from or to.
        let moved = movement(&scene.view.previous_order, index, place).filter(|_| has_value);
        if let Some((up, by)) = moved {
            let (arrow, arrow_style) = if up {
                ("▲", theme.good)
            } else {
                ("▼", theme.warn)
            };
            let text = format!("{arrow}{by}");
            pen.left(inner.x + 4, y, 3, &text, arrow_style);
        }
        pen.left(name_x - 2, y, 1, "●", scene.lane_color(index));
        let name = fit(&endpoint.name, usize::from(name_width.saturating_sub(1)));
        pen.left(name_x, y, name_width, &name, style);
        for (i, m) in (0u16..).zip(&metrics) {
            let text = match (*m, endpoint.embeddings) {
                // Figures of generated text, which an embeddings endpoint has none of.
                (Rank::TtftP50 | Rank::OutputTokensPerS, Some(_)) => "n/a".to_string(),
                _ => show(*m, value(endpoint, *m, cost)),
            };
            let cell_style = if *m == rank { style } else { theme.text };
            let x = metrics_x + i * METRIC;
            pen.right(x, y, METRIC, &text, cell_style);
        }
    }
    if shown < order.len()
        && let Some(y) = rows.nth(shown)
    {
        let more = format!("… {} more", order.len() - shown);
        pen.left(name_x, y, name_width, &more, theme.dim);
    }
}

/// Column headers short enough for a 10-cell column.
fn short_label(rank: Rank) -> &'static str {
    match rank {
        Rank::TtftP50 => "TTFT p50",
        Rank::OutputTokensPerS => "tok/s",
        Rank::TtltP50 => "TTLT p50",
        Rank::SuccessRate => "ok",
        Rank::Cost => "$/1k req",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_against_the_previous_order() {
        let previous = [2, 0, 1];
        assert_eq!(movement(&previous, 1, 0), Some((true, 2)));
        assert_eq!(movement(&previous, 2, 1), Some((false, 1)));
        assert_eq!(movement(&previous, 0, 1), None);
        assert_eq!(movement(&[], 0, 0), None);
        assert_eq!(show(Rank::SuccessRate, None), "—");
        assert_eq!(show(Rank::TtftP50, Some(212.0)), "212 ms");
    }
}
