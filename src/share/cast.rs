//! The dashboard as an asciinema recording (format v2: a JSON header line, then one
//! `[seconds, "o", text]` line per frame): each frame of the recording drawn with the
//! dashboard's own views into a buffer the size of the cast, and only the cells that changed
//! since the previous frame written, as ANSI, by ratatui's crossterm backend. The race plays at
//! its own pace, sped up when it is longer than [`MAX_PLAY_S`], once per screen of [`SCREENS`],
//! each ending on the finished race held for [`HOLD_S`].

use std::sync::Arc;

use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use serde::Serialize;

use crate::share::Recording;
use crate::stats::Snapshot;
use crate::stats::snapshot::Playback;
use crate::tui::{RaceInfo, Scene, Screen, Theme, ViewState, ranking, screen};

/// The screens recorded, in order: each plays the whole race (the arena following the newest
/// prompt every endpoint has started, as it does live).
pub const SCREENS: &[Screen] = &[Screen::Board, Screen::Arena];
/// Longest a screen plays in the recording, in seconds: a longer race is sped up to fit.
pub const MAX_PLAY_S: f64 = 60.0;
/// Seconds each screen's finished race stays on before the next screen (or the end).
pub const HOLD_S: f64 = 3.0;

#[derive(Serialize)]
struct Header<'a> {
    version: u8,
    width: u16,
    height: u16,
    timestamp: i64,
    title: String,
    env: Env<'a>,
}

#[derive(Serialize)]
struct Env<'a> {
    #[serde(rename = "TERM")]
    term: &'a str,
}

/// The recording of `recording` on a `width` × `height` terminal, drawn with `theme`.
pub fn render(recording: &Recording, (width, height): (u16, u16), theme: &Theme) -> String {
    let header = Header {
        version: 2,
        width,
        height,
        timestamp: recording.header.started_at.timestamp(),
        title: format!("llmrace: {}", recording.header.name),
        env: Env {
            term: "xterm-256color",
        },
    };
    let mut out = serde_json::to_string(&header).unwrap_or_default();
    out.push('\n');
    let info = crate::replay_dashboard::race_info(
        &recording.header,
        recording.interrupted,
        recording.damage.as_deref(),
    );
    let duration = recording.duration.as_secs_f64();
    let speedup = (duration / MAX_PLAY_S).max(1.0);
    let playback = Playback {
        duration: recording.duration,
        speed: Some(speedup),
        paused: false,
        marks: Arc::from(Vec::new()),
        damage: recording.damage.clone(),
    };
    let area = Rect::new(0, 0, width, height);
    let mut shown = Buffer::empty(area);
    // Hide the cursor, clear the screen.
    event(&mut out, 0.0, "\u{1b}[?25l\u{1b}[2J\u{1b}[H");
    let mut start = 0.0;
    for &which in SCREENS {
        let mut view = ViewState {
            screen: which,
            replay: true,
            recorded: true,
            priced: info.priced(),
            ..ViewState::default()
        };
        let mut order: Vec<usize> = Vec::new();
        for snapshot in recording.frames.iter().chain([&recording.last]) {
            let mut snapshot = snapshot.clone();
            snapshot.playback = Some(playback.clone());
            follow_ranking(&mut view, &mut order, &snapshot);
            let frame = draw(area, &info, &view, &snapshot, theme);
            let ansi = changes(&shown, &frame);
            if !ansi.is_empty() {
                event(&mut out, start + snapshot.t.as_secs_f64() / speedup, &ansi);
            }
            shown = frame;
        }
        start += duration / speedup + HOLD_S;
    }
    // The cursor back, on the last row (a new line would scroll the finish off the top).
    event(&mut out, start, &format!("\u{1b}[{height};1H\u{1b}[?25h"));
    out
}

/// The leaderboard's previous order, as the dashboard keeps it, so moves are shown.
fn follow_ranking(view: &mut ViewState, order: &mut Vec<usize>, snapshot: &Snapshot) {
    let now = ranking::order(snapshot, view.rank);
    if order.is_empty() {
        view.previous_order.clone_from(&now);
        *order = now;
    } else if now != *order {
        view.previous_order = std::mem::replace(order, now);
    }
}

fn draw(
    area: Rect,
    info: &RaceInfo,
    view: &ViewState,
    snapshot: &Snapshot,
    theme: &Theme,
) -> Buffer {
    let mut buf = Buffer::empty(area);
    let scene = Scene {
        info,
        view,
        snapshot,
        theme,
    };
    screen::render(area, &mut buf, &scene);
    buf
}

/// The ANSI that turns a terminal showing `before` into one showing `after`.
fn changes(before: &Buffer, after: &Buffer) -> String {
    let diff = before.diff(after);
    if diff.is_empty() {
        return String::new();
    }
    let mut bytes = Vec::new();
    // Writing into memory cannot fail.
    let _ = CrosstermBackend::new(&mut bytes).draw(diff.into_iter());
    String::from_utf8_lossy(&bytes).into_owned()
}

fn event(out: &mut String, t: f64, data: &str) {
    // Microseconds are what players read; rounding keeps the file short.
    let t = (t * 1e6).round() / 1e6;
    if let Ok(line) = serde_json::to_string(&(t, "o", data)) {
        out.push_str(&line);
        out.push('\n');
    }
}

/// `--size`: `WIDTHxHEIGHT`, at least the dashboard's smallest.
pub fn parse_size(text: &str) -> Result<(u16, u16), String> {
    let (w, h) = text
        .split_once(['x', 'X', '×'])
        .ok_or_else(|| format!("`{text}` is not WIDTHxHEIGHT (such as 120x40)"))?;
    // Wider than u16, so that 99999x99999 is said to be too large rather than not a size.
    let number = |s: &str| {
        s.trim()
            .parse::<u64>()
            .map_err(|_| format!("`{text}` is not WIDTHxHEIGHT (such as 120x40)"))
    };
    let (w, h) = (number(w)?, number(h)?);
    if w < u64::from(screen::MIN_WIDTH) || h < u64::from(screen::MIN_HEIGHT) || w > 1000 || h > 500
    {
        return Err(format!(
            "{w}x{h} is outside the sizes the dashboard draws ({}x{} to 1000x500)",
            screen::MIN_WIDTH,
            screen::MIN_HEIGHT
        ));
    }
    // Within 1000x500: both fit.
    Ok((
        u16::try_from(w).unwrap_or(1000),
        u16::try_from(h).unwrap_or(500),
    ))
}

#[cfg(test)]
#[path = "cast_tests.rs"]
mod tests;
