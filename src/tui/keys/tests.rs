//! The key map: what keys do in a race and in a replay and how they change the view's state,
//! each screen's footer, and the help.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::*;
use crate::stats::fixture::race;
use crate::tui::ranking::Rank;
use crate::tui::state::{Effect, InspectorState};

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// Presses `code` in a race of three endpoints; the key must be bound.
fn press(state: &mut ViewState, code: KeyCode) -> Effect {
    let action = action_for(key(code), state).expect("a bound key");
    state.apply(action, 3)
}

#[test]
fn quit_and_ctrl_c_quit_and_release_events_are_ignored() {
    let state = ViewState::default();
    assert_eq!(
        action_for(key(KeyCode::Char('q')), &state),
        Some(Action::Quit)
    );
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(action_for(ctrl_c, &state), Some(Action::Quit));
    let mut release = key(KeyCode::Char('q'));
    release.kind = KeyEventKind::Release;
    assert_eq!(action_for(release, &state), None);
    assert_eq!(action_for(key(KeyCode::Char('z')), &state), None);
}

#[test]
fn replay_keys_drive_playback() {
    use PlaybackCommand as P;
    let mut s = ViewState {
        replay: true,
        ..ViewState::default()
    };
    let playback = |s: &mut ViewState, code| match press(s, code) {
        Effect::Playback(command) => command,
        other => panic!("{code:?} gave {other:?}"),
    };
    for (code, command) in [
        (KeyCode::Char(' '), P::TogglePause),
        (KeyCode::Char('+'), P::Faster),
        (KeyCode::Char('='), P::Faster),
        (KeyCode::Char('-'), P::Slower),
        (KeyCode::Char('<'), P::SeekBy(-10)),
        (KeyCode::Char('>'), P::SeekBy(10)),
        (KeyCode::Home, P::ToStart),
        (KeyCode::End, P::ToEnd),
        (KeyCode::Char('0'), P::SeekToPercent(0)),
        (KeyCode::Char('5'), P::SeekToPercent(50)),
        (KeyCode::Char('9'), P::SeekToPercent(90)),
        (KeyCode::Char('.'), P::Step),
    ] {
        assert_eq!(playback(&mut s, code), command, "{code:?}");
    }
    // Digits seek, so the view's selection stays; tab still selects.
    assert_eq!(s.selected, 0);
    press(&mut s, KeyCode::Tab);
    assert_eq!(s.selected, 1);
    // `p` pauses a race's sending: nothing in a replay. `q` and ctrl-c still quit.
    assert_eq!(action_for(key(KeyCode::Char('p')), &s), None);
    assert!(!s.paused);
    assert_eq!(press(&mut s, KeyCode::Char('q')), Effect::Quit);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(action_for(ctrl_c, &s), Some(Action::Quit));
}

#[test]
fn playback_keys_mean_nothing_in_a_live_race() {
    let mut s = ViewState::default();
    for code in [
        KeyCode::Char(' '),
        KeyCode::Char('+'),
        KeyCode::Char('<'),
        KeyCode::Char('.'),
        KeyCode::Home,
        KeyCode::End,
    ] {
        assert_eq!(action_for(key(code), &s), None, "{code:?}");
    }
    assert_eq!(action_for(key(KeyCode::Char('0')), &s), None, "no lane 0");
    press(&mut s, KeyCode::Char('3'));
    assert_eq!(s.selected, 2, "digits select lanes");
}

/// The footer's keys and words, as one line.
fn footer_of(replay: bool, screen: Screen) -> String {
    let view = ViewState {
        screen,
        replay,
        ..ViewState::default()
    };
    let keys = footer(&view, &race(3, 100));
    let words: Vec<String> = keys
        .iter()
        .map(|k| format!("{} {}", k.key, k.word))
        .collect();
    words.join(", ")
}

#[test]
fn each_screen_has_its_footer() {
    for (replay, screen, keys) in [
        (
            false,
            Screen::Board,
            "q quit, p pause, tab select, enter inspect, i inspector, c charts, a arena, l log, s rank, ? help",
        ),
        (
            false,
            Screen::Inspector,
            "q quit, esc board, p pause, tab endpoint, ↑↓ request, r raw, c charts, ? help",
        ),
        (
            false,
            Screen::Log,
            "q quit, esc board, p pause, ↑↓ scroll, ? help",
        ),
        (
            false,
            Screen::Charts,
            "q quit, esc board, p pause, tab endpoint, i inspector, ? help",
        ),
        (
            false,
            Screen::Arena,
            "q quit, esc board, p pause, ←→ prompt, ? help",
        ),
        (
            true,
            Screen::Arena,
            "q quit, space pause, +- speed, <> seek, . step, esc board, ←→ prompt, ? help",
        ),
        (
            true,
            Screen::Board,
            "q quit, space pause, +- speed, <> seek, . step, tab select, enter inspect, i inspector, c charts, a arena, l log, s rank, ? help",
        ),
        (
            true,
            Screen::Inspector,
            "q quit, space pause, +- speed, <> seek, . step, esc board, tab endpoint, ↑↓ request, r raw, c charts, ? help",
        ),
        (
            true,
            Screen::Charts,
            "q quit, space pause, +- speed, <> seek, . step, esc board, tab endpoint, i inspector, ? help",
        ),
    ] {
        assert_eq!(
            footer_of(replay, screen),
            keys,
            "replay {replay}, {screen:?}"
        );
    }
}

#[test]
fn the_footer_names_keys_as_the_help_does() {
    for binding in KEY_MAP {
        if let Some(hint) = binding.hint {
            let (keys, _) = binding.help;
            assert!(
                hint.key.chars().all(|c| keys.contains(c)),
                "{} is not among {keys}",
                hint.key
            );
        }
    }
}

#[test]
fn every_action_has_a_key() {
    let bound: Vec<Does> = KEY_MAP.iter().flat_map(|b| b.keys).map(|k| k.1).collect();
    for action in [
        Action::Quit,
        Action::TogglePause,
        Action::SelectNext,
        Action::SelectPrevious,
        Action::Drill,
        Action::ShowInspector,
        Action::ShowCharts,
        Action::CycleRank,
        Action::ToggleHelp,
        Action::Back,
        Action::Up,
        Action::Down,
        Action::ScrollUp,
        Action::ScrollDown,
        Action::ToggleRaw,
    ] {
        assert!(bound.contains(&Does::Act(action)), "{action:?}");
    }
    assert!(bound.contains(&Does::SelectLane) && bound.contains(&Does::SeekTenths));
}

#[test]
fn the_help_lists_a_race_s_keys_or_a_replay_s() {
    let race = help(false, false);
    let replay = help(true, false);
    assert!(race.contains(&("p", "pause / resume sending")));
    assert!(
        !replay
            .iter()
            .any(|(keys, _)| *keys == "p" || *keys == "1 … 9")
    );
    assert!(
        !race
            .iter()
            .any(|(keys, _)| *keys == "space" || *keys == "0 … 9")
    );
    assert_eq!((race.len(), replay.len()), (17, 21));
}

/// Once the race is over nothing is left to pause: the help says so as the footer does.
#[test]
fn a_finished_race_s_help_has_no_pause() {
    let finished = help(false, true);
    assert!(!finished.iter().any(|(keys, _)| *keys == "p"));
    assert_eq!(finished.len(), help(false, false).len() - 1);
    assert_eq!(
        help(true, true),
        help(true, false),
        "a replay pauses its playback"
    );
}

/// The log scrolls with the arrows, and its footer says so.
#[test]
fn the_log_s_footer_names_its_scroll_keys() {
    let view = ViewState {
        screen: Screen::Log,
        ..ViewState::default()
    };
    let keys = footer(&view, &race(2, 10));
    assert!(
        keys.iter().any(|k| k.key == "↑↓" && k.word == "scroll"),
        "{keys:?}"
    );
}

#[test]
fn a_opens_the_arena_where_the_arrows_step_through_prompts() {
    let mut s = ViewState::default();
    press(&mut s, KeyCode::Char('a'));
    assert_eq!(s.screen, Screen::Arena);
    press(&mut s, KeyCode::Left);
    press(&mut s, KeyCode::Left);
    press(&mut s, KeyCode::Right);
    assert_eq!(
        (s.arena.step, s.selected),
        (-1, 0),
        "prompts, not endpoints"
    );
    press(&mut s, KeyCode::Tab);
    assert_eq!(s.selected, 1);
    press(&mut s, KeyCode::Esc);
    assert_eq!(s.screen, Screen::Board);
    press(&mut s, KeyCode::Right);
    assert_eq!(
        (s.arena.step, s.selected),
        (-1, 2),
        "on the board the arrows select"
    );
}

#[test]
fn selection_wraps_and_numbers_pick_lanes() {
    let mut s = ViewState::default();
    press(&mut s, KeyCode::BackTab);
    assert_eq!(s.selected, 2);
    press(&mut s, KeyCode::Tab);
    assert_eq!(s.selected, 0);
    press(&mut s, KeyCode::Char('2'));
    assert_eq!(s.selected, 1);
    // There is no ninth endpoint: nothing changes.
    press(&mut s, KeyCode::Char('9'));
    assert_eq!(s.selected, 1);
}

#[test]
fn screens_help_and_back() {
    let mut s = ViewState::default();
    press(&mut s, KeyCode::Enter);
    assert_eq!(s.screen, Screen::Inspector);
    press(&mut s, KeyCode::Char('?'));
    assert!(s.help);
    press(&mut s, KeyCode::Esc);
    assert!(!s.help, "esc closes help first");
    assert_eq!(s.screen, Screen::Inspector);
    press(&mut s, KeyCode::Esc);
    assert_eq!(s.screen, Screen::Board);
    press(&mut s, KeyCode::Char('c'));
    assert_eq!(s.screen, Screen::Charts);
}

#[test]
fn the_inspector_moves_between_requests_scrolls_and_shows_raw_events() {
    let mut s = ViewState::default();
    press(&mut s, KeyCode::Char('i'));
    press(&mut s, KeyCode::Up);
    press(&mut s, KeyCode::Up);
    assert_eq!(s.inspector.from_newest, 2);
    press(&mut s, KeyCode::PageUp);
    assert_eq!(s.inspector.scroll, 10);
    press(&mut s, KeyCode::Down);
    assert_eq!((s.inspector.from_newest, s.inspector.scroll), (1, 0));
    press(&mut s, KeyCode::Char('r'));
    assert!(s.inspector.raw);
    // Another endpoint starts at its newest request again.
    press(&mut s, KeyCode::Tab);
    assert_eq!(s.inspector, InspectorState::default());
    // `r` means nothing on the board.
    s.screen = Screen::Board;
    assert_eq!(action_for(key(KeyCode::Char('r')), &s), None);
}

#[test]
fn pause_and_quit_are_effects_for_the_race() {
    let mut s = ViewState::default();
    assert_eq!(press(&mut s, KeyCode::Char('p')), Effect::Pause(true));
    assert_eq!(press(&mut s, KeyCode::Char('p')), Effect::Pause(false));
    assert_eq!(press(&mut s, KeyCode::Char('q')), Effect::Quit);
}

#[test]
fn the_rank_cycles_through_every_metric() {
    let mut s = ViewState::default();
    let mut seen = vec![s.rank];
    for _ in 0..Rank::ALL.len() {
        press(&mut s, KeyCode::Char('s'));
        seen.push(s.rank);
    }
    assert_eq!(&seen[..4], &Rank::ALL);
    assert_eq!(seen[4], Rank::TtftP50);
}

#[test]
fn cost_joins_the_cycle_only_when_an_endpoint_is_priced() {
    let mut s = ViewState {
        priced: true,
        ..ViewState::default()
    };
    let mut seen = vec![s.rank];
    for _ in 0..Rank::WITH_COST.len() {
        press(&mut s, KeyCode::Char('s'));
        seen.push(s.rank);
    }
    assert_eq!(&seen[..5], &Rank::WITH_COST);
    assert_eq!(seen[5], Rank::TtftP50);
    let unpriced = ViewState::default();
    assert!(!Rank::available(unpriced.priced).contains(&Rank::Cost));
}
