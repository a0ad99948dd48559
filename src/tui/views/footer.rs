//! The footer under every screen: the keys that matter on the current screen, from the key
//! map, as many as the width allows; `?` lists them all.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::tui::keys::{self, FooterKey};
use crate::tui::{Scene, draw};

pub fn render(area: Rect, buf: &mut Buffer, scene: &Scene) {
    if scene.view.recorded {
        let line = Line::styled(
            " a race recorded by llmrace (llmrace share)",
            scene.theme.dim,
        );
        buf.set_line(area.x, area.y, &line, area.width);
        return;
    }
    // Three spaces between keys where they fit, two where not; then optional keys give way.
    let mut keys = keys::footer(scene.view, scene.snapshot);
    let line = loop {
        let fits = |gap: usize| {
            let width: usize = keys
                .iter()
                .map(|k| draw::width(k.key) + 1 + draw::width(k.word))
                .sum();
            1 + width + gap * keys.len().saturating_sub(1) <= usize::from(area.width)
        };
        let gap = if fits(3) { 3 } else { 2 };
        let optional = (keys.iter().enumerate())
            .filter_map(|(i, k)| Some((k.gives_way?, i)))
            .min()
            .map(|(_, i)| i);
        match optional {
            Some(i) if !fits(gap) => {
                keys.remove(i);
            }
            _ => break footer_line(&keys, gap, scene),
        }
    };
    buf.set_line(area.x, area.y, &line, area.width);
}

fn footer_line(keys: &[FooterKey], gap: usize, scene: &Scene) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" ".repeat(gap)));
        }
        spans.push(Span::styled(key.key, scene.theme.title));
        spans.push(Span::styled(format!(" {}", key.word), scene.theme.dim));
    }
    Line::from(spans)
}
