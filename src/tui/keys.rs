//! The key map: one table of every key the dashboard answers to — the keys, what they do, in a
//! live race or a replay and on which screens, and the words the help overlay and the footer
//! show for them. Key handling dispatches from it and the footer and help render from it, so
//! the three cannot disagree.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::state::{Action, Screen, ViewState};
use crate::replay::player::PlaybackCommand;
use crate::stats::Snapshot;

/// How far `<` and `>` seek.
pub const SEEK_SECS: i64 = 10;

/// A key as the map matches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    /// This key, whatever modifiers are held.
    Code(KeyCode),
    /// This character with ctrl held.
    Ctrl(char),
    /// Any digit from the first to the second; the action gets the digit.
    Digits(char, char),
}

/// What a key does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Does {
    Act(Action),
    /// Selects the lane the digit numbers (`1` is the first).
    SelectLane,
    /// Seeks to the digit's tenth of the replay (`5` is 50 %).
    SeekTenths,
}

/// Which dashboard a binding belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// A live race only.
    Race,
    /// A replay only.
    Replay,
    Both,
}

/// What the footer says beside a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Word {
    Is(&'static str),
    /// `select` on the board (the lanes), `endpoint` on the screens that show one endpoint.
    Selection,
    /// `pause` or `resume` as sending stands; nothing once the race is over.
    Sending,
    /// `play` or `pause` as the replay stands, `restart` at its end.
    Playback,
    /// `request` in the inspector (older / newer), `scroll` in the log.
    Vertical,
}

/// A binding's place in the footer.
#[derive(Clone, Copy, Debug)]
struct Hint {
    /// The key as the footer writes it.
    key: &'static str,
    word: Word,
    /// The screens whose footer shows it.
    screens: &'static [Screen],
    /// Footer order: quit, the replay's controls, the way back, the race's control, then the
    /// screen's own keys.
    place: u8,
    /// Whether it gives way in a narrow footer, and in which turn (lowest first): keys that
    /// another key also reaches (`enter` inspects too) or that the help lists, so `? help`
    /// always shows.
    gives_way: Option<u8>,
}

/// One row of the key map, one line of the help.
#[derive(Clone, Copy, Debug)]
struct Binding {
    keys: &'static [(Key, Does)],
    mode: Mode,
    /// Where the keys work (the action may still mean different things on different screens).
    screens: &'static [Screen],
    /// The keys as the help writes them, and what they do.
    help: (&'static str, &'static str),
    hint: Option<Hint>,
}

const EVERYWHERE: &[Screen] = &[
    Screen::Board,
    Screen::Inspector,
    Screen::Charts,
    Screen::Arena,
    Screen::Log,
];
/// The screens where a selected endpoint shows (the arena shows them all at once).
const SELECTION_SHOWS: &[Screen] = &[Screen::Board, Screen::Inspector, Screen::Charts];

const fn hint(key: &'static str, word: Word, screens: &'static [Screen], place: u8) -> Hint {
    Hint {
        key,
        word,
        screens,
        place,
        gives_way: None,
    }
}

const fn optional(hint: Hint, turn: u8) -> Hint {
    Hint {
        gives_way: Some(turn),
        ..hint
    }
}

const fn char_key(c: char) -> Key {
    Key::Code(KeyCode::Char(c))
}

const fn play(command: PlaybackCommand) -> Does {
    Does::Act(Action::Playback(command))
}

const QUIT: &[(Key, Does)] = &[
    (Key::Ctrl('c'), Does::Act(Action::Quit)),
    (char_key('q'), Does::Act(Action::Quit)),
];

/// Every key, in the help's order.
const KEY_MAP: &[Binding] = &[
    Binding {
        keys: QUIT,
        mode: Mode::Race,
        screens: EVERYWHERE,
        help: (
            "q  ctrl-c",
            "quit: stop the race and leave once results are saved",
        ),
        hint: Some(hint("q", Word::Is("quit"), EVERYWHERE, 0)),
    },
    Binding {
        keys: QUIT,
        mode: Mode::Replay,
        screens: EVERYWHERE,
        help: ("q  ctrl-c", "quit the replay"),
        hint: Some(hint("q", Word::Is("quit"), EVERYWHERE, 0)),
    },
    Binding {
        keys: &[(char_key('p'), Does::Act(Action::TogglePause))],
        mode: Mode::Race,
        screens: EVERYWHERE,
        help: ("p", "pause / resume sending"),
        hint: Some(hint("p", Word::Sending, EVERYWHERE, 6)),
    },
    Binding {
        keys: &[(char_key(' '), play(PlaybackCommand::TogglePause))],
        mode: Mode::Replay,
        screens: EVERYWHERE,
        help: ("space", "pause / play (at the end: play again)"),
        hint: Some(hint("space", Word::Playback, EVERYWHERE, 1)),
    },
    Binding {
        // `=` is `+` unshifted.
        keys: &[
            (char_key('+'), play(PlaybackCommand::Faster)),
            (char_key('='), play(PlaybackCommand::Faster)),
            (char_key('-'), play(PlaybackCommand::Slower)),
        ],
        mode: Mode::Replay,
        screens: EVERYWHERE,
        help: ("+  -", "speed: 0.25× … 16×, then max"),
        hint: Some(hint("+-", Word::Is("speed"), EVERYWHERE, 2)),
    },
    Binding {
        // Shift-`,` and shift-`.` on most keyboards.
        keys: &[
            (char_key('<'), play(PlaybackCommand::SeekBy(-SEEK_SECS))),
            (char_key('>'), play(PlaybackCommand::SeekBy(SEEK_SECS))),
        ],
        mode: Mode::Replay,
        screens: EVERYWHERE,
        help: ("<  >", "seek back / forward 10 s"),
        hint: Some(hint("<>", Word::Is("seek"), EVERYWHERE, 3)),
    },
    Binding {
        keys: &[
            (Key::Code(KeyCode::Home), play(PlaybackCommand::ToStart)),
            (Key::Code(KeyCode::End), play(PlaybackCommand::ToEnd)),
        ],
        mode: Mode::Replay,
        screens: EVERYWHERE,
        help: ("home  end", "jump to the start / the end"),
        hint: None,
    },
    Binding {
        // In a replay digits seek rather than select lanes (tab and the arrows still select).
        keys: &[(Key::Digits('0', '9'), Does::SeekTenths)],
        mode: Mode::Replay,
        screens: EVERYWHERE,
        help: ("0 … 9", "jump to 0 % … 90 % of the replay"),
        hint: None,
    },
    Binding {
        keys: &[(char_key('.'), play(PlaybackCommand::Step))],
        mode: Mode::Replay,
        screens: EVERYWHERE,
        help: (".", "step to the next event (pauses)"),
        hint: Some(optional(hint(".", Word::Is("step"), EVERYWHERE, 4), 4)),
    },
    Binding {
        // Before the endpoint keys: on the arena the arrows step through prompts.
        keys: &[
            (Key::Code(KeyCode::Left), Does::Act(Action::EarlierPrompt)),
            (Key::Code(KeyCode::Right), Does::Act(Action::LaterPrompt)),
        ],
        mode: Mode::Both,
        screens: &[Screen::Arena],
        help: ("←  →", "arena: an earlier / a later prompt"),
        hint: Some(hint("←→", Word::Is("prompt"), &[Screen::Arena], 7)),
    },
    Binding {
        keys: &[
            (Key::Code(KeyCode::Tab), Does::Act(Action::SelectNext)),
            (Key::Code(KeyCode::Right), Does::Act(Action::SelectNext)),
        ],
        mode: Mode::Both,
        screens: EVERYWHERE,
        help: ("tab  →", "select the next endpoint"),
        hint: Some(hint("tab", Word::Selection, SELECTION_SHOWS, 7)),
    },
    Binding {
        keys: &[
            (
                Key::Code(KeyCode::BackTab),
                Does::Act(Action::SelectPrevious),
            ),
            (Key::Code(KeyCode::Left), Does::Act(Action::SelectPrevious)),
        ],
        mode: Mode::Both,
        screens: EVERYWHERE,
        help: ("shift-tab  ←", "select the previous endpoint"),
        hint: None,
    },
    Binding {
        keys: &[(Key::Digits('1', '9'), Does::SelectLane)],
        mode: Mode::Race,
        screens: EVERYWHERE,
        help: ("1 … 9", "select endpoint 1 to 9"),
        hint: None,
    },
    Binding {
        keys: &[(Key::Code(KeyCode::Enter), Does::Act(Action::Drill))],
        mode: Mode::Both,
        screens: EVERYWHERE,
        help: ("enter", "inspect the selected endpoint's requests"),
        hint: Some(hint("enter", Word::Is("inspect"), &[Screen::Board], 8)),
    },
    Binding {
        keys: &[(char_key('i'), Does::Act(Action::ShowInspector))],
        mode: Mode::Both,
        screens: EVERYWHERE,
        help: ("i", "inspector: requests and responses as they arrive"),
        hint: Some(optional(
            hint(
                "i",
                Word::Is("inspector"),
                &[Screen::Board, Screen::Charts],
                10,
            ),
            0,
        )),
    },
    Binding {
        keys: &[(char_key('c'), Does::Act(Action::ShowCharts))],
        mode: Mode::Both,
        screens: EVERYWHERE,
        help: ("c", "charts: latency and throughput over time"),
        hint: Some(optional(
            hint(
                "c",
                Word::Is("charts"),
                &[Screen::Board, Screen::Inspector],
                12,
            ),
            2,
        )),
    },
    Binding {
        keys: &[(char_key('a'), Does::Act(Action::ShowArena))],
        mode: Mode::Both,
        screens: EVERYWHERE,
        help: ("a", "arena: one prompt's answers side by side"),
        hint: Some(optional(
            hint("a", Word::Is("arena"), &[Screen::Board], 12),
            2,
        )),
    },
    Binding {
        keys: &[(char_key('l'), Does::Act(Action::ShowLog))],
        mode: Mode::Both,
        screens: EVERYWHERE,
        help: ("l", "commentary: what happened in the race, line by line"),
        hint: Some(optional(
            hint("l", Word::Is("log"), &[Screen::Board], 12),
            0,
        )),
    },
    Binding {
        keys: &[(char_key('s'), Does::Act(Action::CycleRank))],
        mode: Mode::Both,
        screens: EVERYWHERE,
        help: ("s", "rank by: TTFT p50, tokens/s, TTLT p50, success, cost"),
        hint: Some(optional(
            hint("s", Word::Is("rank"), &[Screen::Board], 13),
            1,
        )),
    },
    Binding {
        keys: &[
            (Key::Code(KeyCode::Up), Does::Act(Action::Up)),
            (char_key('k'), Does::Act(Action::Up)),
            (Key::Code(KeyCode::Down), Does::Act(Action::Down)),
            (char_key('j'), Does::Act(Action::Down)),
        ],
        mode: Mode::Both,
        screens: EVERYWHERE,
        help: (
            "↑ k  ↓ j",
            "board: select · inspector: older / newer · log: scroll",
        ),
        hint: Some(hint(
            "↑↓",
            Word::Vertical,
            &[Screen::Inspector, Screen::Log],
            9,
        )),
    },
    Binding {
        keys: &[(char_key('r'), Does::Act(Action::ToggleRaw))],
        mode: Mode::Both,
        screens: &[Screen::Inspector],
        help: ("r", "inspector: raw stream events with arrival times"),
        hint: Some(optional(
            hint("r", Word::Is("raw"), &[Screen::Inspector], 11),
            3,
        )),
    },
    Binding {
        keys: &[
            (Key::Code(KeyCode::PageUp), Does::Act(Action::ScrollUp)),
            (Key::Code(KeyCode::PageDown), Does::Act(Action::ScrollDown)),
        ],
        mode: Mode::Both,
        screens: EVERYWHERE,
        help: (
            "pgup  pgdn",
            "inspector: scroll the response · log: 10 lines",
        ),
        hint: None,
    },
    Binding {
        keys: &[(Key::Code(KeyCode::Esc), Does::Act(Action::Back))],
        mode: Mode::Both,
        screens: EVERYWHERE,
        help: ("esc", "close this help, or back to the race board"),
        hint: Some(hint(
            "esc",
            Word::Is("board"),
            &[
                Screen::Inspector,
                Screen::Charts,
                Screen::Arena,
                Screen::Log,
            ],
            5,
        )),
    },
    Binding {
        keys: &[(char_key('?'), Does::Act(Action::ToggleHelp))],
        mode: Mode::Both,
        screens: EVERYWHERE,
        help: ("?", "show / hide this help"),
        hint: Some(hint("?", Word::Is("help"), EVERYWHERE, 14)),
    },
];

impl Mode {
    fn includes(self, replay: bool) -> bool {
        match self {
            Mode::Race => !replay,
            Mode::Replay => replay,
            Mode::Both => true,
        }
    }
}

impl Key {
    fn matches(self, key: &KeyEvent, ctrl: bool) -> bool {
        match (self, key.code) {
            (Key::Code(code), pressed) => code == pressed,
            (Key::Ctrl(c), KeyCode::Char(pressed)) => ctrl && c == pressed,
            (Key::Digits(from, to), KeyCode::Char(pressed)) => (from..=to).contains(&pressed),
            (Key::Ctrl(_) | Key::Digits(..), _) => false,
        }
    }
}

impl Does {
    /// The action of the key `pressed`.
    fn action(self, pressed: KeyCode) -> Option<Action> {
        let digit = || match pressed {
            KeyCode::Char(c) => u8::try_from(c.to_digit(10)?).ok(),
            _ => None,
        };
        match self {
            Does::Act(action) => Some(action),
            Does::SelectLane => Some(Action::Select(usize::from(digit()?.checked_sub(1)?))),
            Does::SeekTenths => Some(Action::Playback(PlaybackCommand::SeekToPercent(
                digit()? * 10,
            ))),
        }
    }
}

/// The action a key press stands for on the current screen. A replay's playback keys are plain
/// keys: with ctrl held, a replay answers as a race does (ctrl-c quits both).
pub fn action_for(key: KeyEvent, state: &ViewState) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let replay = state.replay && !ctrl;
    KEY_MAP
        .iter()
        .filter(|b| b.mode.includes(replay) && b.screens.contains(&state.screen))
        .flat_map(|b| b.keys)
        .find(|(bound, _)| bound.matches(&key, ctrl))
        .and_then(|(_, does)| does.action(key.code))
}

/// Every key and what it does, in a live race or a replay, as the help lists them.
/// A finished race's help leaves out what no longer does anything (pausing its sending), as its
/// footer does.
pub fn help(replay: bool, finished: bool) -> Vec<(&'static str, &'static str)> {
    KEY_MAP
        .iter()
        .filter(|b| b.mode.includes(replay))
        .filter(|b| !(finished && b.hint.is_some_and(|h| h.word == Word::Sending)))
        .map(|b| b.help)
        .collect()
}

/// A key the footer shows: the key, what it does, and whether (and when) it gives way in a
/// narrow footer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FooterKey {
    pub key: &'static str,
    pub word: &'static str,
    pub gives_way: Option<u8>,
}

/// The keys that matter on the current screen, in the footer's order.
pub fn footer(view: &ViewState, snapshot: &Snapshot) -> Vec<FooterKey> {
    let mut hints: Vec<(u8, FooterKey)> = KEY_MAP
        .iter()
        .filter(|b| b.mode.includes(view.replay))
        .filter_map(|b| b.hint)
        .filter(|h| h.screens.contains(&view.screen))
        .filter_map(|h| {
            let word = h.word.text(view, snapshot)?;
            let key = FooterKey {
                key: h.key,
                word,
                gives_way: h.gives_way,
            };
            Some((h.place, key))
        })
        .collect();
    hints.sort_by_key(|(place, _)| *place);
    hints.into_iter().map(|(_, key)| key).collect()
}

impl Word {
    fn text(self, view: &ViewState, snapshot: &Snapshot) -> Option<&'static str> {
        let word = match self {
            Word::Is(word) => word,
            Word::Selection if view.screen == Screen::Board => "select",
            Word::Selection => "endpoint",
            Word::Vertical if view.screen == Screen::Log => "scroll",
            Word::Vertical => "request",
            // A finished race has nothing left to pause.
            Word::Sending if snapshot.finished => return None,
            Word::Sending if view.paused => "resume",
            // At the end, space plays the replay again from its start.
            Word::Playback if snapshot.finished => "restart",
            Word::Playback if snapshot.playback.as_ref().is_some_and(|p| p.paused) => "play",
            Word::Sending | Word::Playback => "pause",
        };
        Some(word)
    }
}

#[cfg(test)]
mod tests;
