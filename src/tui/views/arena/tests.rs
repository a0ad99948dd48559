//! The arena as users see it, the screen's body at several sizes (insta snapshots of the
//! fixture's races: streaming, finished, reasoning, 2, 4 and 8 endpoints), and the cells that
//! carry meaning: the first-token marker, reasoning set apart, the lane colours, inert text.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use super::column::ordinal;
use crate::event::PromptId;
use crate::protocol::Message;
use crate::stats::Snapshot;
use crate::stats::fixture::{endpoint_names, finished_race, race};
use crate::stats::heats;
use crate::stats::snapshot::RequestState;
use crate::tui::state::ArenaState;
use crate::tui::{LaneInfo, RaceInfo, Scene, Screen, Theme, ThemeName, ViewState};
use crate::workload::Prompt;

const THINKER: usize = 2;

fn info(endpoints: usize) -> RaceInfo {
    let questions = [
        "What is the capital of France?",
        "Explain in two sentences why the sky is blue.",
        "Write a haiku about latency.",
        "List three uses of a hash map.",
    ];
    let prompts: Vec<Prompt> = (0..crate::stats::fixture::PROMPTS)
        .map(|id| {
            let question = questions[id as usize % questions.len()];
            Prompt::new(PromptId(id), vec![Message::new("user", question)])
        })
        .collect();
    RaceInfo {
        name: "fixture".into(),
        lanes: endpoint_names(endpoints)
            .into_iter()
            .map(|name| LaneInfo {
                name,
                model: "mock-1".into(),
                protocol: "openai".into(),
                color: None,
                price: None,
                simulated: true,
                concurrency: 4,
                salt: None,
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

fn arena(state: ArenaState) -> ViewState {
    ViewState {
        screen: Screen::Arena,
        arena: state,
        ..ViewState::default()
    }
}

fn draw(width: u16, height: u16, snapshot: &Snapshot, view: &ViewState) -> Buffer {
    let info = info(snapshot.endpoints.len());
    let theme = Theme::new(ThemeName::Dark);
    let scene = Scene {
        info: &info,
        view,
        snapshot,
        theme: &theme,
    };
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|frame| super::render(frame.area(), frame.buffer_mut(), &scene))
        .expect("draw");
    terminal.backend().buffer().clone()
}

fn text(buf: &Buffer) -> String {
    let area = buf.area;
    (area.top()..area.bottom())
        .map(|y| {
            let row: String = (area.left()..area.right())
                .map(|x| buf[(x, y)].symbol())
                .collect();
            row.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn check(name: &str, width: u16, height: u16, snapshot: &Snapshot, view: &ViewState) -> Buffer {
    let buffer = draw(width, height, snapshot, view);
    insta::with_settings!({ snapshot_path => "../../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(format!("arena_{name}_{width}x{height}"), text(&buffer));
    });
    buffer
}

/// The prompt whose heat in `snapshot` has the thinker's reasoning in it.
fn reasoning_prompt(snapshot: &Snapshot) -> PromptId {
    heats::prompts(snapshot)
        .into_iter()
        .rev()
        .find(|p| {
            heats::heat(snapshot, *p)
                .is_some_and(|h| h.runs[THINKER].request.segments.iter().any(|s| s.reasoning))
        })
        .expect("the fixture's thinker reasons")
}

#[test]
fn streaming_and_finished_at_two_sizes() {
    let live = race(4, 40);
    let finished = finished_race(4, 40);
    for (w, h) in [(120, 40), (80, 24)] {
        check("streaming_4", w, h, &live, &arena(ArenaState::default()));
        check("finished_4", w, h, &finished, &arena(ArenaState::default()));
    }
}

#[test]
fn two_and_eight_endpoints_narrow_and_wide() {
    check(
        "finished_2",
        120,
        40,
        &finished_race(2, 40),
        &arena(ArenaState::default()),
    );
    check(
        "finished_2",
        80,
        24,
        &finished_race(2, 40),
        &arena(ArenaState::default()),
    );
    let eight = race(8, 40);
    for (w, h) in [(200, 50), (120, 40), (80, 24)] {
        check("streaming_8", w, h, &eight, &arena(ArenaState::default()));
    }
}

#[test]
fn reasoning_is_labelled_and_dimmed() {
    let snapshot = race(4, 40);
    let view = arena(ArenaState {
        pinned: Some(reasoning_prompt(&snapshot)),
        step: 0,
    });
    let buffer = check("reasoning", 120, 40, &snapshot, &view);
    let shown = text(&buffer);
    assert!(shown.contains("─ thinking"), "{shown}");
    assert!(shown.contains("← earlier → later"), "{shown}");
    let theme = Theme::new(ThemeName::Dark);
    assert!(
        buffer
            .content()
            .iter()
            .any(|c| c.fg == theme.reasoning.fg.unwrap_or_default()
                && c.modifier.contains(ratatui::style::Modifier::ITALIC)),
        "reasoning is drawn in the reasoning style"
    );
}

#[test]
fn the_first_token_is_marked_and_places_are_badged() {
    let snapshot = finished_race(4, 40);
    let buffer = draw(120, 40, &snapshot, &arena(ArenaState::default()));
    let shown = text(&buffer);
    let theme = Theme::new(ThemeName::Dark);
    let markers: Vec<_> = buffer
        .content()
        .iter()
        .filter(|c| c.symbol() == super::column::FIRST_TOKEN)
        .collect();
    let prompt = *heats::prompts(&snapshot).last().unwrap();
    let heat = heats::heat(&snapshot, prompt).unwrap();
    let with_text = heat
        .runs
        .iter()
        .filter(|r| r.request.segments.iter().any(|s| !s.text.is_empty()))
        .count();
    assert_eq!(markers.len(), with_text, "one marker per column with text");
    assert!(
        markers
            .iter()
            .all(|c| c.modifier == theme.marker.add_modifier)
    );
    for run in &heat.runs {
        if let Some(place) = run.place {
            assert!(shown.contains(&format!(" {} ", ordinal(place))), "{shown}");
        }
        if let RequestState::Failed { class, .. } = &run.request.state {
            assert!(shown.contains(&format!("✗ {}", class.name())), "{shown}");
        }
    }
}

#[test]
fn each_column_is_framed_in_its_lane_colour() {
    let snapshot = finished_race(4, 40);
    let info = info(4);
    let theme = Theme::new(ThemeName::Dark);
    let buffer = draw(120, 40, &snapshot, &arena(ArenaState::default()));
    // The top-left corner of each column, on the row under the prompt's title.
    let corners: Vec<(u16, u16)> = (0..120)
        .filter_map(|x| (buffer[(x, 1)].symbol() == "┌").then_some((x, 1)))
        .collect();
    assert_eq!(corners.len(), 4, "{}", text(&buffer));
    for (i, corner) in corners.into_iter().enumerate() {
        let want = theme.lane(i, info.lanes[i].color.as_deref()).fg;
        assert_eq!(Some(buffer[corner].fg), want, "column {i}");
    }
}

#[test]
fn model_text_is_inert_in_every_heat() {
    let snapshot = race(4, 40);
    for prompt in heats::prompts(&snapshot) {
        let view = arena(ArenaState {
            pinned: Some(prompt),
            step: 0,
        });
        let buffer = draw(120, 40, &snapshot, &view);
        assert!(
            buffer
                .content()
                .iter()
                .all(|c| !c.symbol().chars().any(char::is_control)),
            "prompt {prompt:?}"
        );
    }
}

#[test]
fn without_a_prompt_in_common_it_says_why() {
    let mut snapshot = race(3, 40);
    snapshot.endpoints[2].requests.clear();
    let shown = text(&draw(120, 40, &snapshot, &arena(ArenaState::default())));
    assert!(
        shown.contains("Waiting for every endpoint to start the same prompt"),
        "{shown}"
    );
    assert!(shown.contains("Not sent yet: thinker."), "{shown}");
}

#[test]
fn ordinals() {
    let words: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22].map(ordinal).into();
    assert_eq!(
        words,
        [
            "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd"
        ]
    );
}

#[test]
fn a_long_answer_shows_its_end_without_laying_out_the_rest() {
    let mut snapshot = finished_race(2, 40);
    let prompt = *heats::prompts(&snapshot).last().unwrap();
    let ring = &mut snapshot.endpoints[1].requests;
    let newest = ring.iter().rposition(|r| r.prompt == prompt).unwrap();
    let request = std::sync::Arc::make_mut(&mut ring[newest]);
    let template = request.segments[0].clone();
    request.segments = (0..4000)
        .map(|i| crate::stats::snapshot::Segment {
            text: format!("w{i} ").into(),
            ..template.clone()
        })
        .collect();
    let shown = text(&draw(80, 24, &snapshot, &arena(ArenaState::default())));
    assert!(shown.contains("↑ more"), "{shown}");
    assert!(shown.contains("w3999"), "the end shows:\n{shown}");
}

#[test]
fn a_failure_without_a_first_token_says_so_in_a_narrow_column() {
    let mut snapshot = finished_race(4, 40);
    let prompt = *heats::prompts(&snapshot).last().unwrap();
    let request = (snapshot.endpoints[1].requests.iter_mut())
        .rev()
        .find(|r| r.prompt == prompt)
        .expect("the last prompt's request");
    let request = std::sync::Arc::make_mut(request);
    request.state = RequestState::Failed {
        class: crate::event::ErrorClass::ServerError,
        message: "HTTP 500 Internal Server Error".into(),
    };
    request.ttft_ms = None;
    request.ended_ms = Some(0.035);
    request.segments = crate::stats::segments::Segments::default();
    let shown = text(&draw(80, 24, &snapshot, &arena(ArenaState::default())));
    // No first token will come: not "…" as if it were still waiting.
    assert!(shown.contains("TTFT —"), "{shown}");
    assert!(!shown.contains("TTFT …"), "{shown}");
    // The failure's line wraps in a column too narrow for it: its unit is kept.
    assert!(shown.contains("35 µs"), "{shown}");
}
