//! The footer under every screen: the keys that matter on the current screen, as many as the
//! width allows; `?` lists them all.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::tui::{Scene, Screen};

/// The keys that matter on the current screen; `?` lists them all.
pub fn render(area: Rect, buf: &mut Buffer, scene: &Scene) {
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
