//! The arena: one prompt's responses from every endpoint, side by side in columns (in rows of
//! columns when they do not fit the width), each headed by its endpoint with its live figures
//! and, once it finished, its place. It shows the newest prompt every endpoint has started (in
//! a race of laps, the current lap) unless ←/→ stepped back. Drawn from the snapshot alone:
//! the heats and their figures come from `stats::heats`, "elapsed" from the snapshot's time.

mod column;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};

use crate::stats::heats::{self, Heat};
use crate::tui::text::inert;
use crate::tui::{Scene, draw};

/// The most columns the arena shows; a larger race shows its first endpoints.
pub const MAX_COLUMNS: usize = 8;
/// The narrowest column worth drawing, borders included.
const MIN_COLUMN_WIDTH: u16 = 26;

/// Draws the arena into `area`.
pub fn render(area: Rect, buf: &mut Buffer, scene: &Scene) {
    let snapshot = scene.snapshot;
    if snapshot.endpoints.is_empty() {
        empty(area, buf, scene, "No endpoints in this race.", "");
        return;
    }
    let prompts = heats::prompts(snapshot);
    let shown = scene.view.arena.shown(&prompts);
    let Some(heat) = shown.and_then(|(_, prompt)| heats::heat(snapshot, prompt)) else {
        let hint = waiting_hint(scene);
        empty(
            area,
            buf,
            scene,
            "Waiting for every endpoint to start the same prompt.",
            &hint,
        );
        return;
    };
    let position = shown.map_or(0, |(at, _)| at);
    let [top, grid] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    let title = title_line(
        scene,
        &heat,
        position,
        prompts.len(),
        usize::from(top.width),
    );
    buf.set_line(top.x, top.y, &title, top.width);
    let columns = heat.runs.len().min(MAX_COLUMNS);
    for (i, cell) in cells(grid, columns).into_iter().enumerate() {
        column::render(cell, buf, scene, i, &heat.runs[i]);
    }
}

/// The areas of `n` columns: as many abreast as fit, in balanced rows.
fn cells(area: Rect, n: usize) -> Vec<Rect> {
    if n == 0 {
        return Vec::new();
    }
    let fit = usize::from((area.width / MIN_COLUMN_WIDTH).max(1));
    let rows = n.div_ceil(fit.min(n));
    let across = n.div_ceil(rows);
    let row_areas = Layout::vertical(vec![Constraint::Fill(1); rows]).split(area);
    let mut cells = Vec::with_capacity(n);
    for (r, row) in row_areas.iter().enumerate() {
        let here = across.min(n - r * across);
        // Every row is split as the first, so a short last row's columns line up with it.
        let parts = Layout::horizontal(vec![Constraint::Fill(1); across]).split(*row);
        cells.extend(parts.iter().take(here));
    }
    cells
}

/// `prompt 7 · What is the capital of France? · 3 of 12 · ← earlier` with the room there is.
fn title_line(
    scene: &Scene,
    heat: &Heat<'_>,
    position: usize,
    count: usize,
    width: usize,
) -> Line<'static> {
    let theme = scene.theme;
    let newest = position + 1 == count;
    let mut right = format!(" {} of {count} ", position + 1);
    right.push_str(match (position > 0, newest) {
        (true, true) => "· ← earlier",
        (true, false) => "· ← earlier → later",
        (false, true) => "",
        (false, false) => "· → later",
    });
    if newest {
        right.push_str(if scene.snapshot.finished {
            " · the last"
        } else {
            " · following the newest"
        });
    }
    if heat.runs.len() > MAX_COLUMNS {
        let _ = write!(
            right,
            " · the first {MAX_COLUMNS} of {} endpoints",
            heat.runs.len()
        );
    }
    let id = format!(" prompt {} ", heat.prompt.0);
    let room = width.saturating_sub(draw::width(&id) + draw::width(&right) + 3);
    let words = first_words(scene, heat);
    let words = draw::fit(&words, room);
    Line::from(vec![
        Span::styled(id, theme.title),
        Span::styled("· ", theme.dim),
        Span::styled(words, theme.text),
        Span::styled(" ", theme.dim),
        Span::styled(right, theme.dim),
    ])
}

/// The prompt's question on one line: its last message's text, inert, whitespace folded.
fn first_words(scene: &Scene, heat: &Heat<'_>) -> String {
    let prompt = scene.info.prompts.get(heat.prompt.0 as usize);
    let Some(message) = prompt.and_then(|p| p.messages.last()) else {
        return "(not in this race's workload)".to_string();
    };
    let text = inert(&message.content);
    let words: Vec<&str> = text.split_whitespace().collect();
    format!("\u{201c}{}\u{201d}", words.join(" "))
}

/// Why no heat shows yet: an endpoint that has sent nothing, or one that ran far ahead.
fn waiting_hint(scene: &Scene) -> String {
    let snapshot = scene.snapshot;
    let idle: Vec<&str> = snapshot
        .endpoints
        .iter()
        .filter(|e| e.requests.iter().all(|r| r.warmup))
        .map(|e| e.name.as_str())
        .collect();
    if !idle.is_empty() {
        return format!("Not sent yet: {}.", idle.join(", "));
    }
    format!(
        "No prompt is among every endpoint's last {} requests: one is far ahead of another. \
         The inspector (i) shows each endpoint's own.",
        crate::stats::recent::RECENT_REQUESTS
    )
}

/// Nothing to show: say so kindly, in the middle.
fn empty(area: Rect, buf: &mut Buffer, scene: &Scene, message: &str, hint: &str) {
    let keys = "Esc back to the race";
    super::inspector::empty_panel(area, buf, scene, "arena", [message, hint, keys]);
}
