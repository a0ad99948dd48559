use super::*;
use crate::record::replay::fixture;
use crate::tui::ThemeName;

fn recording(endpoints: usize, requests: usize) -> Recording {
    let dir = tempfile::tempdir().unwrap();
    fixture::write_file(dir.path(), &fixture::replay(endpoints, requests), None);
    crate::share::record(dir.path()).unwrap()
}

/// The cast's header and its events, parsed as a player parses them.
fn parse(cast: &str) -> (serde_json::Value, Vec<(f64, String)>) {
    let mut lines = cast.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    let events = lines
        .map(|line| {
            let (t, kind, data): (f64, String, String) = serde_json::from_str(line).unwrap();
            assert_eq!(kind, "o");
            (t, data)
        })
        .collect();
    (header, events)
}

/// The screen after playing `events` on a `width` × `height` terminal.
fn play(events: &[(f64, String)], width: u16, height: u16) -> vt100::Parser {
    let mut terminal = vt100::Parser::new(
        std::num::NonZero::new(height).unwrap(),
        std::num::NonZero::new(width).unwrap(),
        0,
    );
    for (_, data) in events {
        terminal.process(data.as_bytes());
    }
    terminal
}

#[test]
fn the_cast_plays_the_race_to_its_finish_panel() {
    let shared = recording(3, 30);
    let cast = render(&shared, (120, 40), &Theme::new(ThemeName::Dark));
    let (header, events) = parse(&cast);
    assert_eq!(header["version"], 2);
    assert_eq!(
        (header["width"].as_u64(), header["height"].as_u64()),
        (Some(120), Some(40))
    );
    assert!(events.len() > 10, "{} events", events.len());
    for pair in events.windows(2) {
        assert!(pair[0].0 <= pair[1].0, "time goes forward");
    }
    let end = events.last().unwrap().0;
    let race = shared.duration.as_secs_f64();
    let screens = f64::from(u32::try_from(SCREENS.len()).unwrap());
    assert!(
        (end - screens * (race + HOLD_S)).abs() < 1e-3,
        "{end} vs {race}"
    );
    // Half-way, the board shows a race under way.
    let middle = events.iter().position(|(t, _)| *t > race / 2.0).unwrap();
    let half = play(&events[..middle], 120, 40).screen().contents();
    assert!(!half.contains("Finish · winners"), "{half}");
    // The board's part ends on the finish panel; the arena's on every endpoint's answer.
    let board_end = events
        .iter()
        .position(|(t, _)| *t > race + HOLD_S / 2.0)
        .unwrap();
    let board = play(&events[..board_end], 120, 40).screen().contents();
    assert!(board.contains("Finish · winners"), "{board}");
    let screen = play(&events, 120, 40).screen().contents();
    // Nobody can press a key in a recording: the footer says what it is instead.
    assert!(
        !board.contains("q quit") && !screen.contains("q quit"),
        "{screen}"
    );
    assert!(screen.contains("recorded by llmrace"), "{screen}");
    for e in &shared.last.endpoints {
        assert!(screen.contains(&e.name), "{} in\n{screen}", e.name);
    }
}

#[test]
fn the_last_frame_is_the_dashboard_s_own_last_frame() {
    let shared = recording(2, 12);
    let theme = Theme::new(ThemeName::Dark);
    let cast = render(&shared, (100, 30), &theme);
    let (_, events) = parse(&cast);
    let played = play(&events, 100, 30);
    // Drawn directly, the finished race's frame has the same text, row by row.
    let info = crate::replay_dashboard::race_info(&shared.header, false, None);
    let mut last = shared.last.clone();
    last.playback = Some(Playback {
        duration: shared.duration,
        speed: Some(1.0),
        paused: false,
        marks: Arc::from(Vec::new()),
        damage: None,
    });
    let view = ViewState {
        screen: *SCREENS.last().unwrap(),
        replay: true,
        recorded: true,
        ..ViewState::default()
    };
    let frame = draw(Rect::new(0, 0, 100, 30), &info, &view, &last, &theme);
    for y in 0..30 {
        // A wide character's second cell is the terminal's, not a character of its own.
        let mut expected = String::new();
        let mut x = 0;
        while x < 100 {
            let symbol = frame[(x, y)].symbol();
            expected.push_str(symbol);
            x += u16::try_from(unicode_width::UnicodeWidthStr::width(symbol).max(1)).unwrap();
        }
        let row = played.screen().contents_between(y, 0, y, 100);
        assert_eq!(row.trim_end(), expected.trim_end(), "row {y}");
    }
}

#[test]
fn sizes_are_read_and_checked() {
    assert_eq!(parse_size("120x40"), Ok((120, 40)));
    assert_eq!(parse_size("200×60"), Ok((200, 60)));
    assert!(parse_size("120").unwrap_err().contains("WIDTHxHEIGHT"));
    assert!(parse_size("40x12").unwrap_err().contains("80x24"));
    assert!(parse_size("axb").is_err());
    for huge in [
        "99999x99999",
        "1001x40",
        "120x501",
        "18446744073709551616x40",
    ] {
        let why = parse_size(huge).unwrap_err();
        assert!(
            why.contains("outside the sizes") || why.contains("WIDTHxHEIGHT"),
            "{why}"
        );
    }
    assert!(
        parse_size("99999x99999")
            .unwrap_err()
            .contains("outside the sizes")
    );
    assert!(parse_size("0x0").unwrap_err().contains("outside the sizes"));
}
