//! One endpoint's column in the arena: its name in its colour with its place once finished,
//! its live figures, and its response as it streams in (reasoning set apart, the first token
//! marked), following the end. Model text is made inert before it is laid out.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Widget};

use crate::format::{ms, rate};
use crate::stats::heats::Run;
use crate::stats::snapshot::{RequestState, RequestView, Segment};
use crate::tui::text::inert;
use crate::tui::views::inspector::flow::{Flow, pack};
use crate::tui::{Scene, Theme, draw};

/// Marks where the first token landed in the text.
pub const FIRST_TOKEN: &str = "▸";

/// Draws endpoint `index`'s run into `area`.
pub fn render(area: Rect, buf: &mut Buffer, scene: &Scene, index: usize, run: &Run<'_>) {
    let theme = scene.theme;
    let lane = scene.lane_color(index);
    let name = scene
        .snapshot
        .endpoints
        .get(index)
        .map_or("?", |e| e.name.as_str());
    let (badge, badge_style) = badge(run, theme);
    let room = usize::from(area.width).saturating_sub(draw::width(&badge) + 6);
    let block = Block::bordered()
        .border_style(lane)
        .title_top(Line::from(vec![
            Span::raw(" "),
            Span::styled(draw::fit(name, room), lane.patch(theme.title)),
            Span::raw(" "),
        ]))
        .title_top(Line::styled(format!(" {badge} "), badge_style).right_aligned());
    let inner = block.inner(area);
    block.render(area, buf);
    let width = usize::from(inner.width);
    if inner.height == 0 || width < 4 {
        return;
    }
    // The figures take two rows at most; a narrow column gives up the last.
    let mut rows = figures(run, width, theme);
    rows.truncate(usize::from(inner.height / 4).clamp(1, 2));
    let room = usize::from(inner.height).saturating_sub(rows.len());
    // Only the end shows: lay out no more text than would fill the column a few times over.
    let budget = width * room * 8;
    let (body, skipped) = response(run.request, run.elapsed_ms, width, budget, theme);
    if (body.len() > room || skipped) && room > 1 {
        // Follow the end, as the stream does; say what is above.
        let above = body.len().saturating_sub(room - 1);
        let note = if skipped {
            "↑ more".to_string()
        } else {
            format!("↑ {above} more")
        };
        rows.push(Line::styled(note, theme.dim));
        rows.extend(body.into_iter().skip(above));
    } else {
        rows.extend(body.into_iter().take(room));
    }
    for (y, line) in (inner.y..inner.bottom()).zip(&rows) {
        buf.set_line(inner.x, y, line, inner.width);
    }
}

/// `1st` … once it succeeded; what it is doing otherwise.
fn badge(run: &Run<'_>, theme: &Theme) -> (String, Style) {
    match (&run.request.state, run.place) {
        (RequestState::Succeeded, Some(place)) => {
            let style = if place == 1 {
                theme.leader
            } else {
                theme.title
            };
            (ordinal(place), style)
        }
        (RequestState::Succeeded, None) => ("done".into(), theme.good),
        (RequestState::Failed { class, .. }, _) => (format!("✗ {}", class.name()), theme.bad),
        (RequestState::Cancelled, _) => ("⊘ cancelled".into(), theme.dim),
        (RequestState::InFlight, _) if run.request.ttft_ms.is_none() => {
            ("waiting".into(), theme.warn)
        }
        (RequestState::InFlight, _) => ("streaming".into(), theme.warn),
    }
}

/// `1st`, `2nd`, `3rd`, `4th` … `11th`, `12th`, `13th`, `21st`.
pub fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// TTFT, tokens/s and elapsed, in as few rows as fit. A live figure is dim.
fn figures(run: &Run<'_>, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let request = run.request;
    let running = request.ended_ms.is_none();
    let mut items = vec![match request.ttft_ms {
        Some(ttft) => Span::styled(format!("TTFT {}", ms(Some(ttft))), theme.text),
        // It ended without a first token: there will be none.
        None if !running => Span::styled("TTFT —".to_string(), theme.dim),
        None => Span::styled("TTFT …".to_string(), theme.dim),
    }];
    if let Some(per_s) = run.tokens_per_s {
        let (text, style) = if run.live {
            (format!("~{} tok/s", rate(per_s)), theme.dim)
        } else {
            (format!("{} tok/s", rate(per_s)), theme.text)
        };
        items.push(Span::styled(text, style));
    }
    let style = if running { theme.dim } else { theme.text };
    items.push(Span::styled(ms(Some(run.elapsed_ms)), style));
    pack(items, width, theme.dim)
}

/// The response as rows `width` wide: reasoning under its own heading and dimmed, the first
/// token marked, a cursor while it streams, how it ended when it did not succeed. Only its
/// last `budget` bytes of text or so are laid out; `true` when earlier text was left out.
fn response(
    request: &RequestView,
    elapsed_ms: f64,
    width: usize,
    budget: usize,
    theme: &Theme,
) -> (Vec<Line<'static>>, bool) {
    let mut flow = Flow::new(width, false);
    let shown = |s: &&Segment| !s.text.is_empty() || s.tool.is_some();
    let sections = request
        .segments
        .iter()
        .filter(shown)
        .any(|s| s.reasoning || s.tool.is_some());
    let mut section = None;
    let mut first = true;
    let mut kept = 0;
    let mut from = request.segments.len();
    while from > 0 && kept <= budget {
        from -= 1;
        kept += request.segments[from].text.len();
    }
    let skipped = kept > budget && from > 0;
    if skipped {
        // The first token is out of sight.
        first = false;
    } else {
        from = 0;
    }
    for segment in request.segments.iter().skip(from).filter(shown) {
        let mut text = inert(&segment.text).into_owned();
        let this = (segment.reasoning, segment.tool.as_ref().map(|t| t.index));
        if sections && section != Some(this) {
            // The heading starts a row already.
            text = text.trim_start_matches('\n').to_string();
            let (name, style) = match (segment.tool.as_ref(), segment.reasoning) {
                (Some(call), _) => (
                    format!(
                        "tool {}",
                        inert(call.name.as_deref().unwrap_or("call")).into_owned()
                    ),
                    theme.title,
                ),
                (None, true) => ("thinking".to_string(), theme.reasoning),
                (None, false) => ("answer".to_string(), theme.text),
            };
            flow.row(heading(&name, style, width, theme));
            section = Some(this);
        }
        let style = if segment.reasoning {
            theme.reasoning
        } else {
            theme.text
        };
        if first {
            first = false;
            flow.push(FIRST_TOKEN, theme.marker);
            flow.push(text.trim_start_matches(' '), style);
        } else {
            flow.push(&text, style);
        }
    }
    let streaming = request.state == RequestState::InFlight;
    if first {
        let note = if streaming {
            format!("waiting for the first token · {}", ms(Some(elapsed_ms)))
        } else {
            "no text came back".to_string()
        };
        flow.push(&note, theme.dim);
        flow.break_row();
    } else if streaming {
        flow.push("▍", theme.dim);
    }
    match &request.state {
        RequestState::Failed { class, message } => {
            // Wrapped, not cut: a narrow column keeps the time's unit.
            let mut failed = Flow::new(width, false);
            failed.push(
                &format!("✗ {} after {}", class.name(), ms(request.ended_ms)),
                theme.bad,
            );
            for row in failed.finish() {
                flow.row(row);
            }
            let mut error = Flow::new(width, false);
            error.push(&inert(message), theme.dim);
            for row in error.finish().into_iter().take(2) {
                flow.row(row);
            }
        }
        RequestState::Cancelled => flow.row(Line::styled(
            format!("⊘ cancelled after {}", ms(request.ended_ms)),
            theme.dim,
        )),
        _ => {}
    }
    if request.truncated {
        flow.row(Line::styled("… longer text is not kept", theme.dim));
    }
    (flow.finish(), skipped)
}

/// A rule with a name: `─ thinking ─────`.
fn heading(name: &str, style: Style, width: usize, theme: &Theme) -> Line<'static> {
    let name = draw::fit(name, width.saturating_sub(4));
    let used = 3 + draw::width(&name);
    Line::from(vec![
        Span::styled("─ ", theme.border),
        Span::styled(name, style),
        Span::styled(
            format!(" {}", "─".repeat(width.saturating_sub(used))),
            theme.border,
        ),
    ])
}
