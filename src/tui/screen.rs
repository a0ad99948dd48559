//! The frame around every screen: the header (race, clock, load, progress or a replay's
//! timeline, badges), the body of the current screen, the notices strip, the footer of keys and
//! the help overlay on top — or, below 80×24, a plain request for a bigger terminal instead of
//! a broken layout.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::draw::{Pen, bar, clock, fit, text_width};
use super::{Scene, Screen, board, help, notices, timeline};
use crate::report::format::percent;

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
    let [header_area, body, strip, footer_area] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Fill(1),
        Constraint::Length(notices::height(&notices)),
        Constraint::Length(1),
    ])
    .areas(area);
    header(header_area, buf, scene);
    match scene.view.screen {
        Screen::Board => board::render(body, buf, scene),
        Screen::Inspector => super::inspector::render(body, buf, scene),
        Screen::Charts => super::charts::render(body, buf, scene),
    }
    notices::render(strip, buf, &notices, scene.theme);
    footer(footer_area, buf, scene);
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

fn header(area: Rect, buf: &mut Buffer, scene: &Scene) {
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

/// The keys that matter on the current screen; `?` lists them all.
fn footer(area: Rect, buf: &mut Buffer, scene: &Scene) {
    if scene.view.replay {
        return fit_footer(area, buf, scene, replay_keys(scene));
    }
    let pause = if scene.view.paused {
        ("p", "resume")
    } else {
        ("p", "pause")
    };
    let mut keys: Vec<(&str, &str)> = match scene.view.screen {
        Screen::Board => vec![
            ("q", "quit"),
            pause,
            ("tab", "select"),
            ("enter", "inspect"),
            ("i", "inspector"),
            ("c", "charts"),
            ("s", "rank"),
            ("?", "help"),
        ],
        Screen::Inspector => vec![
            ("q", "quit"),
            ("esc", "board"),
            pause,
            ("tab", "endpoint"),
            ("↑↓", "request"),
            ("r", "raw"),
            ("c", "charts"),
            ("?", "help"),
        ],
        Screen::Charts => vec![
            ("q", "quit"),
            ("esc", "board"),
            pause,
            ("tab", "endpoint"),
            ("i", "inspector"),
            ("?", "help"),
        ],
    };
    // A finished race has nothing left to pause.
    if scene.snapshot.finished {
        keys.retain(|&(key, _)| key != "p");
    }
    fit_footer(area, buf, scene, keys);
}

/// A replay's footer: its playback keys first, then the views'.
fn replay_keys(scene: &Scene) -> Vec<(&'static str, &'static str)> {
    let paused = scene.snapshot.playback.as_ref().is_some_and(|p| p.paused);
    // At the end, space plays the replay again from its start.
    let space = if scene.snapshot.finished {
        "restart"
    } else if paused {
        "play"
    } else {
        "pause"
    };
    let mut keys = vec![
        ("q", "quit"),
        ("space", space),
        ("+-", "speed"),
        ("<>", "seek"),
        (".", "step"),
    ];
    keys.extend_from_slice(match scene.view.screen {
        Screen::Board => &[
            ("tab", "select"),
            ("enter", "inspect"),
            ("i", "inspector"),
            ("c", "charts"),
            ("s", "rank"),
            ("?", "help"),
        ][..],
        Screen::Inspector => &[
            ("esc", "board"),
            ("tab", "endpoint"),
            ("↑↓", "request"),
            ("r", "raw"),
            ("c", "charts"),
            ("?", "help"),
        ],
        Screen::Charts => &[
            ("esc", "board"),
            ("tab", "endpoint"),
            ("i", "inspector"),
            ("?", "help"),
        ],
    });
    keys
}

/// Keys that give way when the footer is too narrow, first to go first: ones that another key
/// also reaches (`i`: `enter` inspects too) or that the help lists, so `? help` always shows.
const OPTIONAL_KEYS: [&str; 5] = ["i", "s", "c", "r", "."];

fn fit_footer(area: Rect, buf: &mut Buffer, scene: &Scene, keys: Vec<(&str, &str)>) {
    // Three spaces between keys where they fit, two where not; then optional keys give way.
    let mut keys = keys;
    let line = loop {
        let fits = |gap: usize| {
            let width: usize = keys
                .iter()
                .map(|(k, w)| k.len() + 1 + w.chars().count())
                .sum();
            1 + width + gap * keys.len().saturating_sub(1) <= usize::from(area.width)
        };
        let gap = if fits(3) { 3 } else { 2 };
        let optional = OPTIONAL_KEYS
            .iter()
            .find_map(|o| keys.iter().position(|(k, _)| k == o));
        if fits(gap) || optional.is_none() {
            break footer_line(&keys, gap, scene);
        }
        if let Some(i) = optional {
            keys.remove(i);
        }
    };
    buf.set_line(area.x, area.y, &line, area.width);
}

fn footer_line<'a>(keys: &[(&'a str, &'a str)], gap: usize, scene: &Scene) -> Line<'a> {
    let mut spans = vec![Span::raw(" ")];
    for (i, (key, what)) in keys.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" ".repeat(gap)));
        }
        spans.push(Span::styled(*key, scene.theme.title));
        spans.push(Span::styled(format!(" {what}"), scene.theme.dim));
    }
    Line::from(spans)
}

#[cfg(test)]
#[path = "screen_tests.rs"]
mod tests;
