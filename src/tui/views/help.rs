//! The help overlay (`?`): every key and what it does — a live race's or a replay's — drawn
//! over the middle of the screen. Kept in step with `state::action_for`, which is what the
//! keys really do.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Widget};

use crate::tui::Scene;
use crate::tui::draw::{Pen, text_width};

/// The keys of a live race that a replay does not have.
const RACE_KEYS: [(&str, &str); 2] = [
    (
        "q  ctrl-c",
        "quit: stop the race and leave once results are saved",
    ),
    ("p", "pause / resume sending"),
];

/// A replay's own keys; its digits seek rather than select.
const PLAYBACK_KEYS: [(&str, &str); 7] = [
    ("q  ctrl-c", "quit the replay"),
    ("space", "pause / play (at the end: play again)"),
    ("+  -", "speed: 0.25× … 16×, then max"),
    ("<  >", "seek back / forward 10 s"),
    ("home  end", "jump to the start / the end"),
    ("0 … 9", "jump to 0 % … 90 % of the replay"),
    (".", "step to the next event (pauses)"),
];

const SELECT_KEYS: [(&str, &str); 2] = [
    ("tab  →", "select the next endpoint"),
    ("shift-tab  ←", "select the previous endpoint"),
];

const VIEW_KEYS: [(&str, &str); 9] = [
    ("enter", "inspect the selected endpoint's requests"),
    ("i", "inspector: requests and responses as they arrive"),
    ("c", "charts: latency and throughput over time"),
    ("s", "rank by: TTFT p50, tokens/s, TTLT p50, success, cost"),
    (
        "↑ k  ↓ j",
        "board: select endpoint · inspector: older / newer",
    ),
    ("r", "inspector: raw stream events with arrival times"),
    ("pgup  pgdn", "inspector: scroll the response"),
    ("esc", "close this help, or back to the race board"),
    ("?", "show / hide this help"),
];

/// Every key, as `action_for` maps it, in a live race or a replay.
pub fn keys(replay: bool) -> Vec<(&'static str, &'static str)> {
    let mut keys = Vec::with_capacity(PLAYBACK_KEYS.len() + 11);
    if replay {
        keys.extend(PLAYBACK_KEYS);
        keys.extend(SELECT_KEYS);
    } else {
        keys.extend(RACE_KEYS);
        keys.extend(SELECT_KEYS);
        keys.push(("1 … 9", "select endpoint 1 to 9"));
    }
    keys.extend(VIEW_KEYS);
    keys
}

const KEY_WIDTH: u16 = 14;

pub fn render(area: Rect, buf: &mut Buffer, scene: &Scene) {
    let theme = scene.theme;
    let keys = keys(scene.view.replay);
    let widest = keys
        .iter()
        .map(|(_, what)| text_width(what))
        .max()
        .unwrap_or(0);
    let width = (KEY_WIDTH + widest + 4).min(area.width);
    let height = (u16::try_from(keys.len()).unwrap_or(0) + 4).min(area.height);
    let popup = area.centered(Constraint::Length(width), Constraint::Length(height));
    Clear.render(popup, buf);
    let block = Block::bordered()
        .border_style(theme.title)
        .title(Line::styled(" Keys ", theme.title))
        .title_bottom(Line::styled(" esc or ? to close ", theme.dim).right_aligned());
    let inner = block.inner(popup);
    block.render(popup, buf);
    let rows = (inner.y + 1)..inner.bottom();
    let pen = &mut Pen::new(buf, inner);
    for (y, (key, what)) in rows.zip(&keys) {
        pen.left(inner.x + 1, y, KEY_WIDTH, key, theme.title);
        let rest = inner.width.saturating_sub(KEY_WIDTH + 1);
        pen.left(inner.x + 1 + KEY_WIDTH, y, rest, what, theme.text);
    }
}
