//! A replay's timeline, in the header where a live race shows its progress: position and
//! duration, a bar of what has played with ticks where requests failed, the speed, and PAUSED.
//!
//! A stretch of the bar is ticked when measured requests failed in it, and at least twice as
//! many as in the typical (median) stretch: a lone failure in a clean race shows, and so does
//! an outage, but an endpoint that fails steadily does not tick every cell into noise.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::event::Offset;
use crate::stats::snapshot::Playback;
use crate::tui::Theme;
use crate::tui::draw::clock;

/// The badge of a paused replay.
const PAUSED: &str = " PAUSED ";

/// What one cell of the bar shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cell {
    Played,
    ToCome,
    /// Failures stand out in this stretch of the race; `true` once played.
    Failure(bool),
}

impl Cell {
    fn symbol(self) -> char {
        match self {
            Cell::Played => '━',
            Cell::ToCome => '─',
            Cell::Failure(true) => '┿',
            Cell::Failure(false) => '┼',
        }
    }
}

/// The timeline at race time `t`, its bar `bar_width` cells wide.
pub fn line(playback: &Playback, t: Offset, bar_width: u16, theme: &Theme) -> Line<'static> {
    let mut spans = vec![
        Span::styled(clock(t.as_duration()), theme.title),
        Span::styled(
            format!(" / {} ", clock(playback.duration.as_duration())),
            theme.dim,
        ),
    ];
    let style = |cell: Cell| match cell {
        Cell::Played => theme.title,
        Cell::ToCome => theme.dim,
        Cell::Failure(_) => theme.bad,
    };
    // One span per run of alike cells.
    let mut run: Option<(Style, String)> = None;
    for cell in cells(t, playback.duration, &playback.marks, bar_width) {
        match &mut run {
            Some((s, text)) if *s == style(cell) => text.push(cell.symbol()),
            _ => {
                if let Some((s, text)) = run.take() {
                    spans.push(Span::styled(text, s));
                }
                run = Some((style(cell), cell.symbol().to_string()));
            }
        }
    }
    if let Some((s, text)) = run {
        spans.push(Span::styled(text, s));
    }
    // The speed and the badge keep their width whatever they say: the line is right-aligned,
    // and pausing or speeding up must not shift the bar under the user's eyes.
    let speed = match playback.speed {
        Some(factor) => format!("{factor}×"),
        None => "max".to_string(),
    };
    spans.push(Span::styled(format!(" {speed:>5}"), theme.title));
    spans.push(Span::raw(" "));
    if playback.paused {
        spans.push(Span::styled(
            PAUSED,
            theme.warn.add_modifier(Modifier::REVERSED),
        ));
    } else {
        spans.push(Span::raw(" ".repeat(PAUSED.len())));
    }
    Line::from(spans)
}

/// The bar's cells: each stands for an equal stretch of the replay; played up to `t`.
/// `marks` are in time order.
fn cells(t: Offset, duration: Offset, marks: &[Offset], width: u16) -> Vec<Cell> {
    let width_n = u128::from(width);
    let duration_n = u128::from(duration.0);
    let played = if duration.0 == 0 {
        width_n
    } else {
        u128::from(t.0.min(duration.0)) * width_n / duration_n
    };
    // Cell i covers [i·d/w, (i+1)·d/w); the last one includes the end itself.
    let boundary = |i: u128| {
        if i == width_n {
            marks.len()
        } else {
            marks.partition_point(|m| u128::from(m.0) < duration_n * i / width_n)
        }
    };
    let failures: Vec<usize> = (0..width_n)
        .map(|i| boundary(i + 1) - boundary(i))
        .collect();
    let mut sorted = failures.clone();
    sorted.sort_unstable();
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0);
    let threshold = (2 * median).max(1);
    (0..width_n)
        .zip(failures)
        .map(|(i, n)| match (i < played, n >= threshold) {
            (was, true) => Cell::Failure(was),
            (true, false) => Cell::Played,
            (false, false) => Cell::ToCome,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::tui::ThemeName;

    fn secs(s: u64) -> Offset {
        Offset(s * 1_000_000_000)
    }

    fn bar(t: Offset, duration: Offset, marks: &[Offset], width: u16) -> String {
        cells(t, duration, marks, width)
            .into_iter()
            .map(Cell::symbol)
            .collect()
    }

    #[test]
    fn the_bar_fills_as_the_replay_plays_and_ticks_failures() {
        let marks = [secs(0), secs(25), secs(26), secs(99), secs(100)];
        assert_eq!(bar(secs(0), secs(100), &marks, 10), "┼─┼──────┼");
        assert_eq!(bar(secs(50), secs(100), &marks, 10), "┿━┿━━────┼");
        assert_eq!(bar(secs(100), secs(100), &[], 10), "━━━━━━━━━━");
        // An empty replay is all played.
        assert_eq!(bar(Offset::ZERO, Offset::ZERO, &[], 4), "━━━━");
    }

    #[test]
    fn steady_failures_do_not_tick_every_cell_but_an_outage_does() {
        // One failure a second for 100 s, and ten a second from 80 s to 90 s.
        let mut marks: Vec<Offset> = (0..100).map(secs).collect();
        marks.extend((800..900).map(|d| Offset(d * 100_000_000)));
        marks.sort_unstable();
        assert_eq!(bar(secs(50), secs(100), &marks, 10), "━━━━━───┼─");
    }

    #[test]
    fn the_line_tells_time_speed_and_pause() {
        let theme = Theme::new(ThemeName::Dark);
        let mut playback = Playback {
            duration: secs(65),
            speed: Some(0.25),
            paused: true,
            marks: Arc::from(vec![secs(30)]),
            damage: None,
        };
        let text = |p: &Playback| line(p, secs(13), 13, &theme).to_string();
        assert_eq!(
            text(&playback),
            "00:13.0 / 01:05.0 ━━────┼────── 0.25×  PAUSED "
        );
        let paused = text(&playback);
        playback.paused = false;
        playback.speed = None;
        assert_eq!(
            text(&playback),
            "00:13.0 / 01:05.0 ━━────┼──────   max         "
        );
        // Right-aligned in the header: pausing or changing speed must not move the bar.
        assert_eq!(text(&playback).chars().count(), paused.chars().count());
        let marked = line(&playback, secs(13), 13, &theme)
            .spans
            .into_iter()
            .find(|s| s.content == "┼")
            .map(|s| s.style);
        assert_eq!(marked, Some(theme.bad));
    }
}
