//! The header above every screen: the race's name and clock, its badges (replay, paused,
//! finished), the load, and how far the race has come — or, in a replay, the timeline.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::timeline;
use crate::format::percent;
use crate::tui::Scene;
use crate::tui::draw::{Pen, bar, clock, fit};

/// How far the race is toward its stop (requests per endpoint, time limit or both) and the
/// words for it, e.g. `156/200 requests · 00:23.4 of 01:00.0`.
fn progress(scene: &Scene) -> Option<(f64, String)> {
    let snapshot = scene.snapshot;
    let mut fraction: f64 = 0.0;
    let mut parts = Vec::new();
    if let Some(per_endpoint) = scene.info.requests {
        let target = per_endpoint * snapshot.endpoints.len() as u64;
        let ended: u64 = snapshot
            .endpoints
            .iter()
            .map(|e| e.counts.requests_done())
            .sum();
        if target > 0 {
            fraction = fraction.max(ended as f64 / target as f64);
        }
        parts.push(format!("{ended}/{target} requests"));
    }
    if let Some(limit) = scene.info.duration {
        let elapsed = snapshot.t.as_duration().min(limit);
        if !limit.is_zero() {
            fraction = fraction.max(elapsed.as_secs_f64() / limit.as_secs_f64());
        }
        parts.push(format!("{} of {}", clock(elapsed), clock(limit)));
    }
    (!parts.is_empty()).then(|| (fraction.min(1.0), parts.join(" · ")))
}

pub fn render(area: Rect, buf: &mut Buffer, scene: &Scene) {
    let theme = scene.theme;
    let (top, second) = (area.y, area.y + 1);
    let badge = |text: &'static str, style: Style| {
        Span::styled(format!(" {text} "), style.add_modifier(Modifier::REVERSED))
    };
    let mut right: Vec<Span> = Vec::new();
    if scene.info.replay {
        right.extend([badge("REPLAY", theme.title), Span::raw(" ")]);
    }
    if scene.view.paused {
        right.extend([badge("PAUSED", theme.warn), Span::raw(" ")]);
    }
    if scene.snapshot.finished {
        right.extend([badge("FINISHED", theme.good), Span::raw(" ")]);
    }
    right.extend([
        Span::styled(" race ", theme.dim),
        Span::styled(clock(scene.snapshot.t.as_duration()), theme.title),
    ]);
    let right = Line::from(right);
    let right_width = u16::try_from(right.width()).unwrap_or(u16::MAX);
    let right_x = area.right().saturating_sub(right_width + 1);
    buf.set_line(right_x, top, &right, right_width);

    let pen = &mut Pen::new(buf, area);
    let name_room = right_x.saturating_sub(area.x + 12);
    let name = fit(&scene.info.name, usize::from(name_room));
    pen.left(area.x + 1, top, 7, "llmrace", theme.title);
    pen.left(area.x + 9, top, 2, "·", theme.dim);
    pen.left(area.x + 11, top, name_room, &name, theme.title);

    let mut load_room = area.width.saturating_sub(2);
    // A replay shows where playback stands instead of how far the race has come.
    let status = match &scene.snapshot.playback {
        Some(playback) => {
            let bar_width = if area.width >= 100 { 30 } else { 16 };
            Some(timeline::line(playback, scene.snapshot.t, bar_width, theme))
        }
        None => progress(scene).map(|(fraction, words)| {
            let bar_width = if area.width >= 100 { 20 } else { 10 };
            let text = format!(
                "{} {:>4}  {words}",
                bar(fraction, bar_width),
                percent(fraction)
            );
            Line::styled(text, theme.text)
        }),
    };
    if let Some(status) = status {
        let width = u16::try_from(status.width()).unwrap_or(u16::MAX);
        let x = area.right().saturating_sub(width + 1).max(area.x);
        pen.buf
            .set_line(x, second, &status, area.right().saturating_sub(x));
        load_room = x.saturating_sub(area.x + 3);
    }
    let load = fit(&scene.info.load, usize::from(load_room));
    pen.left(area.x + 1, second, load_room, &load, theme.dim);
}
