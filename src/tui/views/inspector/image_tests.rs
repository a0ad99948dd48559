//! The inspector shows a prompt's images as descriptions, never their bytes.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::render;
use super::tests::race_info;
use crate::protocol::Image;
use crate::stats::fixture::race;
use crate::tui::state::InspectorState;
use crate::tui::{Scene, Screen, Theme, ThemeName, ViewState};

#[test]
fn a_prompts_images_show_as_descriptions_after_its_text() {
    let snapshot = race(4, 40);
    let mut info = race_info(snapshot.endpoints.len());
    let mut prompts = info.prompts.to_vec();
    for prompt in &mut prompts {
        if let Some(last) = prompt.messages.last_mut() {
            "What is this?".clone_into(&mut last.content);
            last.images.push(Image::tiny_png("cat.png"));
        }
    }
    info.prompts = prompts.into();
    let view = ViewState {
        screen: Screen::Inspector,
        inspector: InspectorState::default(),
        ..ViewState::default()
    };
    let theme = Theme::new(ThemeName::Dark);
    let scene = Scene {
        info: &info,
        view: &view,
        snapshot: &snapshot,
        theme: &theme,
    };
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("test terminal");
    terminal
        .draw(|frame| render(frame.area(), frame.buffer_mut(), &scene))
        .expect("draw");
    let buffer = terminal.backend().buffer();
    let rows: Vec<String> = (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect()
        })
        .collect();
    let screen = rows.join("\n");
    assert!(
        screen.contains("user What is this? [image: cat.png, image/png, 1×1, 67 B]"),
        "{screen}"
    );
    assert!(!screen.contains("iVBOR"), "{screen}");
}
