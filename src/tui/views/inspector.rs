//! The request inspector: the selected endpoint's recent requests on the left (newest first),
//! the selected one on the right — what was sent, what came back and when, or each raw stream
//! event. Model and prompt text is made inert before it is drawn.

pub mod flow;
#[cfg(test)]
mod image_tests;
mod response;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use self::flow::{Flow, pack};
use self::response::{heading, raw_rows, response_rows};
use crate::format::{count, ms, rate};
use crate::protocol::Message;
use crate::stats::snapshot::{EndpointSnapshot, RequestState, RequestView};
use crate::tui::draw;
use crate::tui::text::inert;
use crate::tui::{Scene, Theme};
use crate::workload::Prompt;
use crate::workload::salt::with_salt;

/// Draws the inspector for `scene.view.selected` into `area`.
pub fn render(area: Rect, buf: &mut Buffer, scene: &Scene) {
    let index = scene.view.selected;
    let Some(endpoint) = scene.snapshot.endpoints.get(index) else {
        empty(area, buf, scene, "No endpoints in this race.", "");
        return;
    };
    let lane = scene.lane_color(index);
    let Some(newest) = endpoint.requests.len().checked_sub(1) else {
        let hint = format!(
            "They show here as soon as {} sends its first one.",
            endpoint.name
        );
        empty(
            area,
            buf,
            scene,
            &format!("No requests to {} yet.", endpoint.name),
            &hint,
        );
        return;
    };
    // The list needs about 40 columns to show every column; the text gets the rest.
    let list_width = match area.width {
        w if w >= 110 => 46,
        w if w >= 70 => 34,
        w => w / 2,
    };
    let [list, detail] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Fill(1)]).areas(area);
    let selected = scene.view.inspector.from_newest.min(newest);
    render_list(list, buf, scene, endpoint, lane, selected);
    if let Some(request) = endpoint.requests.get(newest - selected) {
        render_request(detail, buf, scene, request);
    }
}

/// Nothing to show on a screen titled `title`: say so kindly, in the middle, with the keys
/// that lead elsewhere (the arena's empty screen too).
pub fn empty_panel(area: Rect, buf: &mut Buffer, scene: &Scene, title: &str, text: [&str; 3]) {
    let [message, hint, keys] = text;
    let theme = scene.theme;
    let block = Block::bordered()
        .border_style(theme.border)
        .title(Span::styled(format!(" {title} "), theme.title));
    let inner = block.inner(area);
    block.render(area, buf);
    let lines = vec![
        Line::styled(message.to_string(), theme.title),
        Line::styled(hint.to_string(), theme.dim),
        Line::default(),
        Line::styled(keys.to_string(), theme.dim),
    ];
    let top = inner.y + inner.height.saturating_sub(4) / 2;
    let middle = Rect::new(
        inner.x,
        top,
        inner.width,
        inner.bottom().saturating_sub(top),
    );
    Paragraph::new(lines)
        .centered()
        .wrap(Wrap { trim: true })
        .render(middle, buf);
}

/// No request to show: say so kindly, in the middle of the screen.
fn empty(area: Rect, buf: &mut Buffer, scene: &Scene, message: &str, hint: &str) {
    let keys = "Esc back to the race · Tab next endpoint";
    empty_panel(area, buf, scene, "inspector", [message, hint, keys]);
}

fn render_list(
    area: Rect,
    buf: &mut Buffer,
    scene: &Scene,
    endpoint: &EndpointSnapshot,
    lane: Style,
    selected: usize,
) {
    let theme = scene.theme;
    let count = endpoint.requests.len();
    let block = Block::bordered()
        .border_style(theme.border)
        .title(Line::from(vec![
            Span::raw(" "),
            Span::styled(endpoint.name.clone(), lane.patch(theme.title)),
            Span::styled(format!(" · {} / {count} ", selected + 1), theme.dim),
        ]));
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height < 2 || inner.width < 8 {
        return;
    }
    let columns = Columns::fit(usize::from(inner.width), endpoint);
    buf.set_line(inner.x, inner.y, &columns.header(theme), inner.width);
    let rows = usize::from(inner.height - 1);
    // Keep the selection in sight: scroll just enough.
    let first = selected.saturating_sub(rows.saturating_sub(1));
    let now = scene.snapshot.t;
    for (row, (position, request)) in endpoint
        .requests
        .iter()
        .rev()
        .enumerate()
        .skip(first)
        .take(rows)
        .enumerate()
    {
        let elapsed = duration_ms(now.since(request.sent));
        let chosen = position == selected;
        let mut line = columns.row(request, elapsed, chosen, theme);
        let y = inner.y + 1 + u16::try_from(row).unwrap_or(u16::MAX);
        if chosen {
            line = line.patch_style(theme.selected);
            buf.set_style(Rect::new(inner.x, y, inner.width, 1), theme.selected);
        }
        buf.set_line(inner.x, y, &line, inner.width);
    }
}

/// The list's column widths for the room there is; tokens go first when it is tight.
struct Columns {
    id: usize,
    status: usize,
    tokens: bool,
}

impl Columns {
    /// TTFT and time, 8 columns each with their gap.
    const TIMES: usize = 16;

    fn fit(width: usize, endpoint: &EndpointSnapshot) -> Columns {
        let id = endpoint
            .requests
            .iter()
            .map(|r| r.request.0.to_string().len() + 1)
            .max()
            .unwrap_or(2)
            .max(3);
        // Cursor, id, warm-up flag, status, times; tokens (6) when the status keeps 10 columns.
        let fixed = 1 + id + 2 + Self::TIMES;
        let tokens = width >= fixed + 10 + 6;
        let status = width.saturating_sub(fixed + if tokens { 6 } else { 0 });
        Columns { id, status, tokens }
    }

    fn header(&self, theme: &Theme) -> Line<'static> {
        let mut text = format!(
            " {:<id$}  {:<status$}",
            "req",
            "status",
            id = self.id,
            status = self.status
        );
        text.push_str("    TTFT");
        if self.tokens {
            text.push_str("   tok");
        }
        text.push_str("    time");
        Line::styled(text, theme.dim)
    }

    fn row(
        &self,
        request: &RequestView,
        elapsed_ms: f64,
        chosen: bool,
        theme: &Theme,
    ) -> Line<'static> {
        let (status, style) = status(request, theme);
        let status = draw::pad(&draw::fit(&status, self.status), self.status);
        let id = format!("#{}", request.request.0);
        let mut spans = vec![
            // Visible without colour too (NO_COLOR, screen readers, snapshots).
            Span::styled(if chosen { "›" } else { " " }, theme.title),
            Span::styled(format!("{id:<w$}", w = self.id), theme.text),
            Span::styled(if request.warmup { "w " } else { "  " }, theme.dim),
            Span::styled(status, style),
            Span::styled(format!("{:>8}", ms(request.ttft_ms)), theme.text),
        ];
        if self.tokens {
            let chunks: u32 = request.segments.iter().map(|s| s.chunks).sum();
            spans.push(match request.output_tokens {
                Some(n) => Span::styled(format!("{n:>6}"), theme.text),
                // Tokens are counted when the request ends; until then its chunks so far, as
                // quiet as the time so far.
                None if chunks > 0 && request.ended_ms.is_none() => {
                    Span::styled(format!("{chunks:>6}"), theme.dim)
                }
                None => Span::styled(format!("{:>6}", "—"), theme.text),
            });
        }
        spans.push(match request.ended_ms {
            Some(ended) => Span::styled(format!("{:>8}", ms(Some(ended))), theme.text),
            // Still running: how long so far, quieter than a final time.
            None => Span::styled(format!("{:>8}", ms(Some(elapsed_ms))), theme.dim),
        });
        let line = Line::from(spans);
        if request.warmup {
            line.patch_style(theme.dim)
        } else {
            line
        }
    }
}

/// A request's state as a word and its colour.
fn status(request: &RequestView, theme: &Theme) -> (String, Style) {
    match &request.state {
        RequestState::InFlight if request.segments.is_empty() => ("⋯ waiting".into(), theme.warn),
        RequestState::InFlight => ("⋯ streaming".into(), theme.warn),
        RequestState::Succeeded => ("✓ ok".into(), theme.good),
        RequestState::Failed { class, .. } => (format!("✗ {}", class.name()), theme.bad),
        RequestState::Cancelled => ("⊘ cancelled".into(), theme.dim),
    }
}

fn render_request(area: Rect, buf: &mut Buffer, scene: &Scene, request: &RequestView) {
    let theme = scene.theme;
    let view = &scene.view.inspector;
    let mut title = vec![
        Span::styled(format!(" #{} ", request.request.0), theme.title),
        Span::styled(
            format!(
                "· prompt {} · sent at {} ",
                request.prompt.0,
                ms(Some(duration_ms(request.sent.as_duration())))
            ),
            theme.dim,
        ),
    ];
    if view.raw {
        title.push(Span::styled("· raw ", theme.warn));
    }
    let block = Block::bordered()
        .border_style(theme.border)
        .title(Line::from(title));
    let inner = block.inner(area);
    block.render(area, buf);
    let width = usize::from(inner.width);
    let height = usize::from(inner.height);
    if width < 10 || height < 3 {
        return;
    }
    let elapsed = duration_ms(scene.snapshot.t.since(request.sent));
    let mut top = summary(request, elapsed, width, theme);
    if !view.raw {
        // A few lines of what was asked; the answer gets the room.
        let budget = (height.saturating_sub(10) / 6).clamp(1, 4);
        let prompt = scene.info.prompts.get(request.prompt.0 as usize);
        let turn = request.session.map(|(_, turn)| turn);
        let conversation = prompt
            .zip(turn)
            .and_then(|(p, t)| conversation_so_far(p, t));
        let prompt = conversation.as_ref().or(prompt);
        let salt = scene.info.lanes.get(scene.view.selected);
        let salt = salt.and_then(|lane| lane.salt.as_deref());
        top.extend(prompt_rows(
            prompt,
            request.prompt.0,
            salt,
            width,
            budget,
            theme,
        ));
    }
    let body = if view.raw {
        raw_rows(request, width, theme)
    } else {
        response_rows(request, elapsed, width, theme)
    };
    // The summary and prompt give way before the body does.
    top.truncate(height.saturating_sub(4));
    let room = height.saturating_sub(top.len() + 1);
    let scroll = usize::from(view.scroll).min(body.len().saturating_sub(room));
    let start = body.len().saturating_sub(room + scroll);
    let mut position = String::new();
    if scroll > 0 {
        position = format!(" ↓ {scroll} more ");
    } else if start > 0 {
        position = format!(" ↑ {start} above ");
    }
    let name = if view.raw {
        "stream events"
    } else {
        "response"
    };
    top.push(rule(name, &position, width, theme));
    let rows = top.iter().chain(body.iter().skip(start).take(room));
    for (y, line) in (inner.y..inner.bottom()).zip(rows) {
        buf.set_line(inner.x, y, line, inner.width);
    }
}

/// The request's outcome and numbers, packed into as few rows as fit, then any error.
fn summary(
    request: &RequestView,
    elapsed_ms: f64,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let (state, style) = status(request, theme);
    let mut items = vec![Span::styled(state, style)];
    if let Some(code) = request.http_status {
        let style = if code >= 400 { theme.bad } else { theme.text };
        items.push(Span::styled(format!("HTTP {code}"), style));
    }
    if let Some(ttft) = request.ttft_ms {
        items.push(Span::styled(format!("TTFT {}", ms(Some(ttft))), theme.text));
    }
    match request.ended_ms {
        Some(ended) => items.push(Span::styled(
            format!("total {}", ms(Some(ended))),
            theme.text,
        )),
        None => items.push(Span::styled(
            format!("{} so far", ms(Some(elapsed_ms))),
            theme.dim,
        )),
    }
    let chunks: u32 = request.segments.iter().map(|s| s.chunks).sum();
    match (request.output_tokens, request.ended_ms) {
        (Some(tokens), Some(ended)) if ended > 0.0 => {
            items.push(Span::styled(count(tokens, "token"), theme.text));
            let per_s = f64::from(tokens) / (ended / 1000.0);
            items.push(Span::styled(format!("{} tok/s", rate(per_s)), theme.text));
        }
        (Some(tokens), _) => items.push(Span::styled(count(tokens, "token"), theme.text)),
        // Tokens are counted when the request ends; until then the chunks tell the progress.
        (None, _) if chunks > 0 => items.push(Span::styled(count(chunks, "chunk"), theme.dim)),
        (None, _) => {}
    }
    if let Some(reason) = &request.finish_reason {
        items.push(Span::styled(
            format!("finish: {}", inert(reason)),
            theme.dim,
        ));
    }
    if request.new_connection {
        items.push(Span::styled("new connection", theme.warn));
    }
    if request.warmup {
        items.push(Span::styled("warm-up", theme.dim));
    }
    if let Some((session, turn)) = request.session {
        items.push(Span::styled(
            format!("session {session} · turn {turn}"),
            theme.dim,
        ));
    }
    if let Some(id) = &request.server_request_id {
        items.push(Span::styled(format!("id {}", inert(id)), theme.dim));
    }
    let mut rows = pack(items, width, theme.dim);
    if let RequestState::Failed { message, .. } = &request.state {
        let mut flow = Flow::new(width, false);
        flow.push(&inert(message), theme.bad);
        rows.extend(flow.finish().into_iter().take(3));
    }
    rows
}

/// What a session's later turn sent: the prompt, then each earlier turn's answer (shown as a
/// placeholder: the answers are other requests') and the next user message. `None` for a first
/// turn, or when the prompt's follow-ups are not known (a replay keeps only the messages).
fn conversation_so_far(prompt: &Prompt, turn: u32) -> Option<Prompt> {
    let earlier = usize::try_from(turn).ok()?.checked_sub(1)?;
    if earlier == 0 || prompt.follow_ups.len() < earlier {
        return None;
    }
    let mut messages = prompt.messages.clone();
    for (n, next) in (1..).zip(&prompt.follow_ups[..earlier]) {
        messages.push(Message::assistant(format!("(the answer of turn {n})")));
        messages.push(Message::user(next.as_str()));
    }
    Some(Prompt::new(prompt.id, messages))
}

/// The prompt as sent: each message's role and its text on one flowing line, in `budget` rows
/// at most (the last message, usually the question, gets what the others leave); a cold
/// race's salt before the first message's text, as it was sent.
fn prompt_rows(
    prompt: Option<&Prompt>,
    id: u32,
    salt: Option<&str>,
    width: usize,
    budget: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut rows = vec![heading(&format!("prompt {id}"), theme.dim, width, theme)];
    let Some(prompt) = prompt else {
        rows.push(Line::styled("not in this race's workload", theme.dim));
        return rows;
    };
    let messages = &prompt.messages;
    let shown = if messages.len() <= budget {
        messages.len()
    } else {
        budget.saturating_sub(1).max(1)
    };
    let hidden = messages.len() - shown;
    let role_width = messages
        .iter()
        .map(|m| draw::width(&m.role))
        .max()
        .unwrap_or(0)
        .min(9)
        + 1;
    let text_width = width.saturating_sub(role_width);
    let mut left = budget;
    if hidden > 0 && left > shown {
        let plural = if hidden == 1 { "" } else { "s" };
        rows.push(Line::styled(
            format!("… {hidden} earlier message{plural}"),
            theme.dim,
        ));
        left -= 1;
    }
    for (n, message) in messages.iter().skip(hidden).enumerate() {
        let lines = if n + 1 == shown { left.max(1) } else { 1 };
        left = left.saturating_sub(lines);
        let content = match salt {
            Some(salt) if n + hidden == 0 => Cow::Owned(with_salt(&message.content, salt)),
            _ => Cow::Borrowed(message.content.as_str()),
        };
        // Line breaks in a prompt are not worth rows here. Images follow the text, described,
        // in the order the request sends them (a cold race's salt first).
        let words = inert(&content);
        let text = words
            .split_whitespace()
            .map(str::to_string)
            .chain(
                message
                    .images
                    .iter()
                    .map(|image| inert(&image.to_string()).into_owned()),
            )
            .collect::<Vec<_>>()
            .join(" ");
        let mut flow = Flow::new(text_width, false);
        flow.push(&text, theme.text);
        let wrapped = flow.finish();
        let cut = wrapped.len() > lines;
        for (i, row) in wrapped.into_iter().take(lines).enumerate() {
            let role = if i == 0 {
                draw::fit(&inert(&message.role), role_width - 1)
            } else {
                String::new()
            };
            let mut text = row.to_string();
            if cut && i + 1 == lines {
                text = format!("{}…", draw::take_width(&text, text_width.saturating_sub(1)));
            }
            rows.push(Line::from(vec![
                Span::styled(draw::pad(&role, role_width), theme.dim),
                Span::styled(text, theme.text),
            ]));
        }
    }
    rows
}

/// The rule above the body, with where the view is in it on the right.
fn rule(name: &str, position: &str, width: usize, theme: &Theme) -> Line<'static> {
    let mut line = heading(name, theme.title, width, theme);
    if !position.is_empty() {
        let used = draw::width(position) + 1;
        line = heading(name, theme.title, width.saturating_sub(used), theme);
        line.spans
            .push(Span::styled(position.to_string(), theme.warn));
        line.spans.push(Span::styled("─", theme.border));
    }
    line
}

fn duration_ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
