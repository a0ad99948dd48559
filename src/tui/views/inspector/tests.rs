//! Inspector screens at 120×40 and 80×24 as users see them, and the cells that carry meaning:
//! the first-token marker, reasoning text, escapes that must not reach the terminal.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use super::render;
use crate::event::{ErrorClass, PromptId};
use crate::protocol::Message;
use crate::stats::Snapshot;
use crate::stats::fixture::{endpoint_names, race};
use crate::stats::snapshot::{RequestState, RequestView};
use crate::tui::state::InspectorState;
use crate::tui::{LaneInfo, RaceInfo, Scene, Screen, Theme, ThemeName, ViewState};
use crate::workload::Prompt;

const SIZES: [(u16, u16); 2] = [(120, 40), (80, 24)];
const TURBO: usize = 0;
const STEADY: usize = 1;
const THINKER: usize = 2;
const FLAKY: usize = 3;
const SALT: &str = "[0badc0de]";

/// The fixture's race of four endpoints, 40 requests each, the newest still streaming.
fn snapshot() -> Snapshot {
    race(4, 40)
}

/// Prompts for the fixture's prompt ids: some with a system message, one long question.
pub fn race_info(endpoints: usize) -> RaceInfo {
    let message = |role: &str, content: &str| Message::new(role, content);
    let prompts: Vec<Prompt> = (0..crate::stats::fixture::PROMPTS)
        .map(|id| {
            let mut messages = Vec::new();
            if id % 2 == 0 {
                messages.push(message(
                    "system",
                    "You are a concise assistant. Answer in plain text.",
                ));
            }
            messages.push(match id % 3 {
                0 => message("user", "What is the capital of France?"),
                1 => message(
                    "user",
                    "Summarise the following paragraph in two sentences:\n\nTime to first token \
                     measures how long a user waits before anything appears, while the time to \
                     the last token measures how long the whole answer takes to stream in; both \
                     matter, for different reasons, and neither tells the whole story alone.",
                ),
                _ => message("user", "Write a haiku about latency."),
            });
            Prompt::new(PromptId(id), messages)
        })
        .collect();
    RaceInfo {
        name: "fixture".into(),
        lanes: endpoint_names(endpoints)
            .into_iter()
            .enumerate()
            .map(|(i, name)| LaneInfo {
                name,
                model: "mock-1".into(),
                protocol: "openai".into(),
                color: None,
                price: None,
                simulated: true,
                concurrency: 4,
                // The thinker raced cold: its prompts started with this salt.
                salt: (i == THINKER).then(|| SALT.to_string()),
            })
            .collect(),
        requests: Some(40),
        duration: None,
        load: "constant rate, 10 requests/s per endpoint".into(),
        prompts: prompts.into(),
        replay: false,
        notices: Vec::new(),
        metrics: None,
    }
}

fn draw(width: u16, height: u16, snapshot: &Snapshot, view: &ViewState) -> Buffer {
    let info = race_info(snapshot.endpoints.len());
    let theme = Theme::new(ThemeName::Dark);
    let scene = Scene {
        info: &info,
        view,
        snapshot,
        theme: &theme,
    };
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|frame| render(frame.area(), frame.buffer_mut(), &scene))
        .expect("draw");
    terminal.backend().buffer().clone()
}

/// The inspector on `endpoint`, its newest request that passes `want` selected.
fn view_of(
    snapshot: &Snapshot,
    endpoint: usize,
    raw: bool,
    want: impl Fn(&RequestView) -> bool,
) -> ViewState {
    let from_newest = snapshot.endpoints[endpoint]
        .requests
        .iter()
        .rev()
        .position(|r| want(r))
        .expect("the fixture has such a request");
    ViewState {
        screen: Screen::Inspector,
        selected: endpoint,
        inspector: InspectorState {
            from_newest,
            raw,
            scroll: 0,
        },
        ..ViewState::default()
    }
}

fn streaming(r: &RequestView) -> bool {
    r.state == RequestState::InFlight && !r.segments.is_empty()
}

fn reasoned(r: &RequestView) -> bool {
    r.state == RequestState::Succeeded && r.segments.iter().any(|s| s.reasoning)
}

fn cut(r: &RequestView) -> bool {
    matches!(
        r.state,
        RequestState::Failed {
            class: ErrorClass::StreamCut,
            ..
        }
    )
}

fn tricky(r: &RequestView) -> bool {
    r.segments.iter().any(|s| s.text.contains('\u{1b}'))
}

/// The buffer as text, one quoted row per line (as `TestBackend` prints it).
fn text(buffer: &Buffer) -> String {
    let mut backend = TestBackend::new(buffer.area.width, buffer.area.height);
    let cells = buffer.content().iter().enumerate().map(|(i, cell)| {
        let (x, y) = buffer.pos_of(i);
        (x, y, cell)
    });
    ratatui::backend::Backend::draw(&mut backend, cells).expect("copy");
    backend.to_string()
}

fn check(name: &str, snapshot: &Snapshot, view: &ViewState) {
    for (w, h) in SIZES {
        let buffer = draw(w, h, snapshot, view);
        insta::with_settings!({ snapshot_path => "../../snapshots", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(format!("inspector_{name}_{w}x{h}"), text(&buffer));
        });
    }
}

#[test]
fn streaming_request() {
    let snapshot = snapshot();
    check(
        "streaming",
        &snapshot,
        &view_of(&snapshot, STEADY, false, streaming),
    );
}

#[test]
fn finished_reasoning_request() {
    let snapshot = snapshot();
    check(
        "reasoning",
        &snapshot,
        &view_of(&snapshot, THINKER, false, reasoned),
    );
}

#[test]
fn a_cold_race_shows_its_salt_at_the_start_of_the_prompt() {
    let snapshot = snapshot();
    let salted = draw(
        120,
        40,
        &snapshot,
        &view_of(&snapshot, THINKER, false, reasoned),
    );
    assert!(text(&salted).contains(SALT), "{}", text(&salted));
    let plain = draw(
        120,
        40,
        &snapshot,
        &view_of(&snapshot, STEADY, false, streaming),
    );
    assert!(!text(&plain).contains(SALT));
}

#[test]
fn failed_request() {
    let snapshot = snapshot();
    check("failed", &snapshot, &view_of(&snapshot, FLAKY, false, cut));
}

#[test]
fn raw_view() {
    let snapshot = snapshot();
    check(
        "raw",
        &snapshot,
        &view_of(&snapshot, THINKER, true, reasoned),
    );
}

#[test]
fn model_text_with_escapes() {
    let snapshot = snapshot();
    check(
        "tricky",
        &snapshot,
        &view_of(&snapshot, TURBO, false, tricky),
    );
}

#[test]
fn no_requests_yet() {
    let mut snapshot = snapshot();
    for endpoint in &mut snapshot.endpoints {
        endpoint.requests.clear();
    }
    let view = ViewState {
        screen: Screen::Inspector,
        ..ViewState::default()
    };
    check("empty", &snapshot, &view);
}

/// Where `needle` starts in the buffer, row by row.
fn find(buffer: &Buffer, needle: &str) -> Option<(u16, u16)> {
    let area = buffer.area;
    for y in area.top()..area.bottom() {
        let row: Vec<&str> = (area.left()..area.right())
            .map(|x| buffer[(x, y)].symbol())
            .collect();
        let line = row.concat();
        if let Some(byte) = line.find(needle) {
            // Columns, not bytes: count the cells before the match.
            let mut seen = 0;
            for (x, symbol) in row.iter().enumerate() {
                if seen == byte {
                    return Some((area.left() + u16::try_from(x).ok()?, y));
                }
                seen += symbol.len();
            }
        }
    }
    None
}

#[test]
fn first_token_is_marked() {
    let theme = Theme::new(ThemeName::Dark);
    let snapshot = snapshot();
    let view = view_of(&snapshot, TURBO, false, tricky);
    for (w, h) in SIZES {
        let buffer = draw(w, h, &snapshot, &view);
        let (x, y) = find(&buffer, "TTFT Héllo").expect("marked first token");
        let first = &buffer[(x + 5, y)];
        assert_eq!(first.symbol(), "H");
        assert_eq!(Some(first.fg), theme.marker.fg);
        assert!(first.modifier.contains(theme.marker.add_modifier));
        assert_eq!(Some(buffer[(x, y)].fg), theme.marker.fg, "the gutter label");
        // Only the first character: the rest is plain answer text.
        assert!(
            !buffer[(x + 6, y)]
                .modifier
                .contains(theme.marker.add_modifier)
        );
    }
}

#[test]
fn reasoning_is_drawn_in_its_own_style() {
    let theme = Theme::new(ThemeName::Dark);
    let snapshot = snapshot();
    let view = view_of(&snapshot, THINKER, false, reasoned);
    for (w, h) in SIZES {
        let buffer = draw(w, h, &snapshot, &view);
        let (x, y) = find(&buffer, "consider").expect("reasoning on screen");
        // Not the first letter: that may be the first token's marker.
        let cell = &buffer[(x + 1, y)];
        assert_eq!(Some(cell.fg), theme.reasoning.fg);
        assert!(cell.modifier.contains(theme.reasoning.add_modifier));
        let (x, y) = find(&buffer, "─ answer").expect("answer heading");
        let below = &buffer[(x + 2, y + 1)];
        assert!(!below.modifier.contains(ratatui::style::Modifier::ITALIC));
    }
}

#[test]
fn escapes_in_model_text_never_reach_the_buffer() {
    let snapshot = snapshot();
    for raw in [false, true] {
        let view = view_of(&snapshot, TURBO, raw, tricky);
        for (w, h) in SIZES {
            let buffer = draw(w, h, &snapshot, &view);
            for cell in buffer.content() {
                assert!(!cell.symbol().contains('\u{1b}'), "ESC drawn at {w}x{h}");
                assert!(
                    !cell.symbol().chars().any(char::is_control),
                    "control character {:?} drawn",
                    cell.symbol()
                );
            }
            if !raw {
                // The text around the escapes is there; what they would have done is not.
                assert!(find(&buffer, "red if").is_some());
                assert!(find(&buffer, "[31m").is_none());
                assert!(find(&buffer, "pwned").is_none());
            }
        }
    }
}

/// A long answer still streaming: the view follows its end until scrolled up.
#[test]
fn follows_the_end_until_scrolled_up() {
    let mut snapshot = snapshot();
    let view = view_of(&snapshot, STEADY, false, streaming);
    let requests = &mut snapshot.endpoints[STEADY].requests;
    let newest = requests.len() - 1;
    let request = std::sync::Arc::make_mut(&mut requests[newest - view.inspector.from_newest]);
    let first = request.segments[0].clone();
    request.segments = (0..200)
        .map(|n| crate::stats::snapshot::Segment {
            at_ms: first.at_ms + f64::from(n) * 20.0,
            text: format!(" word{n}").into(),
            ..first.clone()
        })
        .collect();
    let buffer = draw(80, 24, &snapshot, &view);
    assert!(find(&buffer, "word199▍").is_some(), "{}", text(&buffer));
    assert!(find(&buffer, "above").is_some(), "{}", text(&buffer));
    assert!(
        find(&buffer, "+4.0s word190").is_some(),
        "time marks in the gutter: {}",
        text(&buffer)
    );

    let mut scrolled = view.clone();
    scrolled.inspector.scroll = 3;
    let buffer = draw(80, 24, &snapshot, &scrolled);
    assert!(find(&buffer, "↓ 3 more").is_some(), "{}", text(&buffer));
    assert!(find(&buffer, "word199").is_none(), "{}", text(&buffer));
}

#[test]
fn tiny_areas_do_not_panic() {
    let snapshot = snapshot();
    for raw in [false, true] {
        let view = view_of(&snapshot, THINKER, raw, reasoned);
        for (w, h) in [(1, 1), (10, 3), (30, 6), (50, 8), (69, 12)] {
            draw(w, h, &snapshot, &view);
        }
    }
}

#[test]
fn the_raw_view_shows_apostrophes_as_they_are() {
    let mut snapshot = snapshot();
    let view = view_of(&snapshot, THINKER, true, reasoned);
    let requests = &mut snapshot.endpoints[THINKER].requests;
    let selected = requests.len() - 1 - view.inspector.from_newest;
    let request = std::sync::Arc::make_mut(&mut requests[selected]);
    if let Some(last) = request.segments.last_mut() {
        last.text = "it's \"fine\"\n".into();
    }
    for (w, h) in SIZES {
        let buffer = draw(w, h, &snapshot, &view);
        assert!(
            find(&buffer, r#""it's \"fine\"\n""#).is_some(),
            "{}",
            text(&buffer)
        );
    }
}

#[test]
fn a_streaming_row_counts_its_chunks_so_far() {
    let snapshot = snapshot();
    let view = view_of(&snapshot, STEADY, false, streaming);
    let request = snapshot.endpoints[STEADY]
        .requests
        .iter()
        .rev()
        .find(|r| streaming(r))
        .expect("a streaming request");
    let chunks: u32 = request.segments.iter().map(|s| s.chunks).sum();
    let frame = text(&draw(120, 40, &snapshot, &view));
    let row = frame
        .lines()
        .find(|l| l.contains(&format!("›#{}", request.request.0)))
        .expect("the selected row");
    let tok = row.split('│').nth(1).expect("the list");
    assert!(
        tok.split_whitespace().any(|w| w == chunks.to_string()),
        "{chunks} chunks: {row}"
    );
    assert!(!tok.contains('—') || request.ttft_ms.is_none(), "{row}");
}

/// A finished request whose answer is two tool calls, their arguments streamed in pieces.
#[test]
fn tool_calls_request() {
    use crate::event::ToolCall;
    use crate::stats::snapshot::Segment;
    let mut snapshot = snapshot();
    let requests = &mut snapshot.endpoints[TURBO].requests;
    let index = requests
        .iter()
        .rposition(|r| r.state == RequestState::Succeeded)
        .expect("a finished request");
    let mut request = (*requests[index]).clone();
    let piece = |at_ms: f64, index: u32, name: Option<&str>, text: &str| Segment {
        at_ms,
        text: text.into(),
        reasoning: false,
        chunks: 1,
        tool: Some(Box::new(ToolCall {
            index,
            id: name.map(|_| format!("call_{index}")),
            name: name.map(Into::into),
        })),
    };
    request.segments = vec![
        piece(81.0, 0, Some("get_weather"), ""),
        piece(90.0, 0, None, "{\"city\": \""),
        piece(98.0, 0, None, "Lisbon\", \"unit\": \"celsius\"}"),
        piece(101.0, 1, Some("calculator"), "{\"expression\": "),
        piece(110.0, 1, None, "\"(1200 * 0.15) + 42\"}"),
    ]
    .into();
    request.ttft_ms = Some(81.0);
    request.finish_reason = Some("tool_calls".into());
    requests[index] = std::sync::Arc::new(request);
    let view = view_of(&snapshot, TURBO, false, |r| {
        r.finish_reason.as_deref() == Some("tool_calls")
    });
    check("tool_calls", &snapshot, &view);
    let raw = ViewState {
        inspector: InspectorState {
            raw: true,
            ..view.inspector
        },
        ..view
    };
    check("tool_calls_raw", &snapshot, &raw);
}

#[test]
fn a_sessions_turn_names_its_session_and_turn() {
    let mut snapshot = snapshot();
    let newest = snapshot.endpoints[STEADY]
        .requests
        .last_mut()
        .expect("the fixture has requests");
    std::sync::Arc::make_mut(newest).session = Some((7, 2));
    let view = view_of(&snapshot, STEADY, false, |r| r.session.is_some());
    let frame = text(&draw(120, 40, &snapshot, &view));
    assert!(frame.contains("session 7 · turn 2"), "{frame}");
}

#[test]
fn a_later_turn_shows_the_conversation_so_far() {
    let mut prompt = Prompt::new(PromptId(3), vec![Message::user("What is TCP?")]);
    prompt.follow_ups = vec!["And UDP?".into(), "Which one for video?".into()];
    assert!(super::conversation_so_far(&prompt, 1).is_none());
    let third = super::conversation_so_far(&prompt, 3).expect("a later turn");
    let said: Vec<_> = third
        .messages
        .iter()
        .map(|m| (m.role.as_str(), m.content.as_str()))
        .collect();
    assert_eq!(
        said,
        [
            ("user", "What is TCP?"),
            ("assistant", "(the answer of turn 1)"),
            ("user", "And UDP?"),
            ("assistant", "(the answer of turn 2)"),
            ("user", "Which one for video?"),
        ]
    );
    // A replay keeps no follow-ups: the prompt is shown as it is.
    prompt.follow_ups.clear();
    assert!(super::conversation_so_far(&prompt, 2).is_none());
}
