//! The inspected request's body, as rows: the response as it streamed in (reasoning apart from
//! the answer, the first token marked, time marks in a gutter) or, in the raw view, each stream
//! event with its arrival time. All model text is made inert here, before it is laid out.

use ratatui::text::{Line, Span};

use super::flow::{Flow, GUTTER};
use crate::stats::snapshot::{Mark, RequestState, RequestView, Segment};
use crate::tui::text::{escaped, inert};
use crate::tui::{Theme, draw};

/// The response as rows `width` wide; `elapsed_ms` is how long an in-flight request has run.
pub fn response_rows(
    req: &RequestView,
    elapsed_ms: f64,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut flow = Flow::new(width, true);
    // Headings only help when there is something to tell apart.
    let has_sections = req
        .segments
        .iter()
        .any(|s| (s.reasoning && !s.text.is_empty()) || s.tool.is_some());
    let mut section = None;
    let mut first_token_seen = false;
    let mut marked_second = None;
    // A tool call's first piece may hold only its name: it is still its first token.
    for segment in req
        .segments
        .iter()
        .filter(|s| !s.text.is_empty() || s.tool.is_some())
    {
        let mut text = inert(&segment.text);
        let this = Section::of(segment);
        if has_sections && section != Some(this) {
            // The heading already starts a row.
            if let Some(rest) = text.strip_prefix('\n') {
                text = rest.trim_start_matches('\n').to_string().into();
            }
            let (name, style) = match this {
                Section::Thinking => ("thinking".to_string(), theme.reasoning),
                Section::Answer => ("answer".to_string(), theme.text),
                Section::Tool(index) => (tool_heading(req, index), theme.title),
            };
            flow.row(heading(&name, style, width.saturating_sub(GUTTER), theme));
            section = Some(this);
        }
        let style = if segment.reasoning {
            theme.reasoning
        } else {
            theme.text
        };
        let second = seconds(segment.at_ms);
        // TTFT is the first non-empty content or reasoning token, or a tool call's first piece.
        if !first_token_seen && req.ttft_ms.is_some() {
            first_token_seen = true;
            marked_second = Some(second);
            flow.label(Span::styled("TTFT", theme.marker));
            flow.push_marked(&text, style, theme.marker);
            continue;
        }
        if text.is_empty() {
            continue;
        }
        if marked_second.is_none_or(|m| second > m) {
            marked_second = Some(second);
            flow.label(Span::styled(time_mark(segment.at_ms), theme.dim));
        }
        flow.push(&text, style);
    }
    let streaming = req.state == RequestState::InFlight;
    if !first_token_seen
        && req
            .segments
            .iter()
            .all(|s| s.text.is_empty() && s.tool.is_none())
    {
        let note = if streaming {
            format!(
                "waiting for the first token · {}",
                crate::format::ms(Some(elapsed_ms))
            )
        } else {
            "no text came back".to_string()
        };
        flow.row(Line::styled(note, theme.dim));
    } else if streaming {
        // Where the next token will land.
        flow.push("▍", theme.dim);
    }
    let ended = crate::format::ms(req.ended_ms);
    match &req.state {
        RequestState::Failed { class, .. } if !req.segments.is_empty() => {
            flow.row(Line::styled(
                format!("✗ {} after {ended}", class.name()),
                theme.bad,
            ));
        }
        RequestState::Cancelled => flow.row(Line::styled(
            format!("⊘ cancelled after {ended}"),
            theme.dim,
        )),
        _ => {}
    }
    if req.truncated {
        flow.row(Line::styled(
            "… longer text is not kept here (the result files have every timing)",
            theme.dim,
        ));
    }
    flow.finish()
}

/// Which part of the response a segment belongs to: one heading each.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Thinking,
    Answer,
    Tool(u32),
}

impl Section {
    fn of(segment: &Segment) -> Section {
        match (&segment.tool, segment.reasoning) {
            (Some(call), _) => Section::Tool(call.index),
            (None, true) => Section::Thinking,
            (None, false) => Section::Answer,
        }
    }
}

/// `tool call 1: get_weather`: the name from whichever piece of the call carried it.
fn tool_heading(req: &RequestView, index: u32) -> String {
    let name = req
        .segments
        .iter()
        .filter_map(|s| s.tool.as_ref())
        .find(|call| call.index == index && call.name.is_some())
        .and_then(|call| call.name.as_deref())
        .map_or_else(|| "?".to_string(), |name| inert(name).into_owned());
    format!("tool call {}: {name}", index.saturating_add(1))
}

/// Each stream event (text segments and marks, in arrival order) as one row.
pub fn raw_rows(req: &RequestView, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    // `   1234.5 ms ` before each event.
    const OFFSET: usize = 13;
    enum Event<'a> {
        Segment(&'a Segment),
        Mark(&'a Mark),
    }
    let mut events: Vec<(f64, Event<'_>)> = req
        .segments
        .iter()
        .map(|s| (s.at_ms, Event::Segment(s)))
        .chain(req.marks.iter().map(|m| (m.at_ms, Event::Mark(m))))
        .collect();
    // Stable: at the same moment the text comes before what ended it.
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    if events.is_empty() {
        return vec![Line::styled("no stream events yet", theme.dim)];
    }
    let mut rows: Vec<Line<'static>> = events
        .into_iter()
        .map(|(at, event)| {
            let mut spans = vec![
                Span::styled(format!("{at:>9.1}"), theme.text),
                Span::styled(" ms ", theme.dim),
            ];
            match event {
                Event::Segment(segment) => {
                    let (kind, style) = match (&segment.tool, segment.reasoning) {
                        (Some(_), _) => ("tool ", theme.text),
                        (None, true) => ("think", theme.reasoning),
                        (None, false) => ("text ", theme.text),
                    };
                    let chunks = format!("×{:<3}", segment.chunks);
                    let room = width.saturating_sub(OFFSET + 6 + draw::width(&chunks) + 3);
                    // A call's pieces say which call; the one that names it, its name.
                    let text = match &segment.tool {
                        Some(call) => format!(
                            "#{} {}{}",
                            call.index.saturating_add(1),
                            call.name
                                .as_deref()
                                .map_or(String::new(), |n| format!("{n} ")),
                            segment.text
                        ),
                        None => segment.text.to_string(),
                    };
                    // Escaped, so line breaks and controls show as `\n`, `\u{1b}`.
                    let excerpt = draw::fit(&escaped(&text), room);
                    spans.push(Span::styled(kind, style));
                    spans.push(Span::styled(format!(" {chunks}"), theme.dim));
                    spans.push(Span::styled(format!(" \"{excerpt}\""), style));
                }
                Event::Mark(mark) => {
                    let room = width.saturating_sub(OFFSET);
                    spans.push(Span::styled(
                        draw::fit(&inert(&mark.label), room),
                        theme.title,
                    ));
                }
            }
            Line::from(spans)
        })
        .collect();
    if !req.headers.is_empty() {
        // Sensitive headers were never recorded; values are the server's, so made inert.
        rows.push(heading("response headers", theme.dim, width, theme));
        for (name, value) in req.headers.iter() {
            let name = inert(name);
            let room = width.saturating_sub(draw::width(&name) + 2);
            rows.push(Line::from(vec![
                Span::styled(format!("{name}: "), theme.dim),
                Span::styled(draw::fit(&inert(value), room), theme.text),
            ]));
        }
    }
    rows
}

/// A rule with a name: `─ thinking ──────`.
pub fn heading(
    name: &str,
    style: ratatui::style::Style,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let used = 3 + draw::width(name);
    Line::from(vec![
        Span::styled("─ ", theme.border),
        Span::styled(name.to_string(), style),
        Span::styled(
            format!(" {}", "─".repeat(width.saturating_sub(used))),
            theme.border,
        ),
    ])
}

fn seconds(at_ms: f64) -> u64 {
    draw::whole(at_ms / 1000.0)
}

/// `+1.2s` (fits the gutter up to a few minutes).
fn time_mark(at_ms: f64) -> String {
    let s = at_ms / 1000.0;
    if s < 100.0 {
        format!("+{s:.1}s")
    } else {
        format!("+{s:.0}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{PromptId, RequestId};
    use crate::tui::ThemeName;

    fn request(segments: Vec<Segment>) -> RequestView {
        RequestView {
            request: RequestId(1),
            prompt: PromptId(0),
            warmup: false,
            session: None,
            sent: crate::event::Offset::ZERO,
            state: RequestState::Succeeded,
            http_status: Some(200),
            server_request_id: None,
            headers: std::sync::Arc::default(),
            new_connection: false,
            ttft_ms: segments.first().map(|s| s.at_ms),
            ended_ms: Some(3000.0),
            output_tokens: Some(9),
            finish_reason: None,
            segments: segments.into(),
            marks: vec![Mark {
                at_ms: 2900.0,
                label: "finished: stop".into(),
            }],
            truncated: false,
        }
    }

    fn segment(at_ms: f64, text: &str, reasoning: bool) -> Segment {
        Segment {
            at_ms,
            text: text.into(),
            reasoning,
            chunks: 1,
            tool: None,
        }
    }

    fn texts(rows: &[Line<'_>]) -> Vec<String> {
        rows.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn marks_the_first_token_and_each_new_second() {
        let theme = Theme::new(ThemeName::Dark);
        let req = request(vec![
            segment(300.0, "One", false),
            segment(700.0, " two", false),
            segment(1200.0, "\nthree", false),
            segment(1500.0, " four", false),
            segment(2100.0, "\nfive", false),
        ]);
        let rows = response_rows(&req, 0.0, 40, &theme);
        assert_eq!(
            texts(&rows),
            ["  TTFT One two", " +1.2s three four", " +2.1s five"]
        );
        assert_eq!(rows[0].spans[1].style, theme.marker);
        assert_eq!(rows[0].spans[1].content, "O");
    }

    #[test]
    fn reasoning_gets_its_own_section_and_style() {
        let theme = Theme::new(ThemeName::Dark);
        let req = request(vec![
            segment(100.0, "hmm", true),
            segment(400.0, "Yes.", false),
        ]);
        let rows = response_rows(&req, 0.0, 24, &theme);
        let shown = texts(&rows);
        assert!(shown[0].contains("─ thinking ─"), "{shown:?}");
        assert_eq!(shown[1], "  TTFT hmm");
        assert!(shown[2].contains("─ answer ─"), "{shown:?}");
        assert_eq!(shown[3], "       Yes.");
        assert_eq!(rows[1].spans[2].style, theme.reasoning);
    }

    fn tool_piece(at_ms: f64, index: u32, name: Option<&str>, arguments: &str) -> Segment {
        Segment {
            tool: Some(Box::new(crate::event::ToolCall {
                index,
                id: None,
                name: name.map(Into::into),
            })),
            ..segment(at_ms, arguments, false)
        }
    }

    #[test]
    fn each_tool_call_gets_a_heading_with_its_name_and_its_arguments() {
        let theme = Theme::new(ThemeName::Dark);
        let req = request(vec![
            tool_piece(100.0, 0, Some("get_weather"), ""),
            tool_piece(150.0, 0, None, "{\"city\": \"Oslo\"}"),
            tool_piece(1300.0, 1, Some("get_\u{1b}[31mtime"), "{}"),
        ]);
        let shown = texts(&response_rows(&req, 0.0, 40, &theme));
        assert!(
            shown[0].contains("─ tool call 1: get_weather ─"),
            "{shown:?}"
        );
        assert_eq!(shown[1], "  TTFT {\"city\": \"Oslo\"}");
        assert!(shown[2].contains("tool call 2: get_"), "{shown:?}");
        assert!(!shown[2].contains('\u{1b}'), "{shown:?}");
        assert_eq!(shown[3], " +1.3s {}");
        let raw = texts(&raw_rows(&req, 60, &theme));
        assert_eq!(raw[0], "    100.0 ms tool  ×1   \"#1 get_weather \"");
        assert_eq!(
            raw[1],
            "    150.0 ms tool  ×1   \"#1 {\\\"city\\\": \\\"Oslo\\\"}\""
        );
    }

    #[test]
    fn raw_rows_merge_segments_and_marks_in_time_order() {
        let theme = Theme::new(ThemeName::Dark);
        let mut req = request(vec![segment(300.0, "a\x1b[31mb\n", false)]);
        req.marks.insert(
            0,
            Mark {
                at_ms: 120.0,
                label: "headers 200".into(),
            },
        );
        let shown = texts(&raw_rows(&req, 60, &theme));
        assert_eq!(
            shown,
            [
                "    120.0 ms headers 200",
                "    300.0 ms text  ×1   \"a\\u{1b}[31mb\\n\"",
                "   2900.0 ms finished: stop",
            ]
        );
    }
}
