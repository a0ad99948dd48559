//! Whole frames rendered into ratatui's `TestBackend` and checked with insta snapshots (the
//! spec of what users see), plus the colours that carry meaning, checked on buffer cells.

use std::sync::Arc;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Modifier;

use super::draw;
use crate::replay::player::{PlaybackCommand, Player, Speed};
use crate::stats::Snapshot;
use crate::stats::fixture::{endpoint_names, finished_race, race};
use crate::tui::{LaneInfo, RaceInfo, Rank, Scene, Screen, Theme, ThemeName, ViewState, ranking};

const MODELS: [(&str, &str, bool); 8] = [
    ("gpt-4o-mini", "openai", false),
    ("claude-3-5-haiku-latest", "anthropic", false),
    ("deepseek-r1:14b", "ollama", true),
    ("llama-3.1-8b-instant", "openai", false),
    ("qwen2.5:32b", "ollama", true),
    ("mistral-small-latest", "openai", false),
    ("mock-tiny", "openai", true),
    ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "openai", false),
];

pub(super) fn info(endpoints: usize, requests: u64) -> RaceInfo {
    RaceInfo {
        name: "demo race".to_string(),
        lanes: endpoint_names(endpoints)
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                let (model, protocol, simulated) = MODELS[i % MODELS.len()];
                LaneInfo {
                    name,
                    model: model.to_string(),
                    protocol: protocol.to_string(),
                    color: None,
                    price: None,
                    simulated,
                    concurrency: 4,
                    salt: None,
                }
            })
            .collect(),
        requests: Some(requests),
        duration: None,
        load: "open loop, 10 requests/s per endpoint".to_string(),
        prompts: Arc::from(Vec::new()),
        replay: false,
        notices: Vec::new(),
        metrics: None,
    }
}

pub(super) fn view(snapshot: &Snapshot) -> ViewState {
    // As the app loop keeps it: last order, here with the first two swapped so moves show.
    let mut previous_order = ranking::order(snapshot, Rank::TtftP50);
    if previous_order.len() > 1 {
        previous_order.swap(0, 1);
    }
    ViewState {
        selected: 1,
        previous_order,
        ..ViewState::default()
    }
}

pub(super) fn render(
    width: u16,
    height: u16,
    info: &RaceInfo,
    view: &ViewState,
    snapshot: &Snapshot,
) -> Buffer {
    let theme = Theme::new(ThemeName::Dark);
    let scene = Scene {
        info,
        view,
        snapshot,
        theme: &theme,
    };
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| draw(frame, &scene)).unwrap();
    terminal.backend().buffer().clone()
}

/// The buffer as text, one line per row, trailing blanks cut.
pub(super) fn text(buf: &Buffer) -> String {
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

/// Where `needle` starts in the buffer, searching rows top-down and from column `from_x`.
fn find(buf: &Buffer, needle: &str, from_x: u16) -> Option<(u16, u16)> {
    let area = buf.area;
    for y in area.top()..area.bottom() {
        let cells: Vec<&str> = (from_x..area.right())
            .map(|x| buf[(x, y)].symbol())
            .collect();
        let row: String = cells.concat();
        if let Some(byte) = row.find(needle) {
            // Columns, not bytes: count the cells before the match.
            let mut seen = 0;
            let column = cells.iter().take_while(|c| {
                seen += c.len();
                seen <= byte
            });
            return Some((from_x + u16::try_from(column.count()).unwrap(), y));
        }
    }
    None
}

#[test]
fn board_mid_race() {
    let snapshot = race(4, 200);
    let info = info(4, 200);
    let view = view(&snapshot);
    insta::assert_snapshot!(
        "board_mid_race_120x40",
        text(&render(120, 40, &info, &view, &snapshot))
    );
    insta::assert_snapshot!(
        "board_mid_race_80x24",
        text(&render(80, 24, &info, &view, &snapshot))
    );
}

#[test]
fn board_finished() {
    let snapshot = finished_race(4, 200);
    let info = info(4, 200);
    let view = ViewState {
        previous_order: ranking::order(&snapshot, Rank::TtftP50),
        ..view(&snapshot)
    };
    insta::assert_snapshot!(
        "board_finished_120x40",
        text(&render(120, 40, &info, &view, &snapshot))
    );
    insta::assert_snapshot!(
        "board_finished_80x24",
        text(&render(80, 24, &info, &view, &snapshot))
    );
}

#[test]
fn help_overlay() {
    let snapshot = race(3, 100);
    let info = info(3, 100);
    let view = ViewState {
        help: true,
        paused: true,
        ..view(&snapshot)
    };
    insta::assert_snapshot!(
        "help_120x40",
        text(&render(120, 40, &info, &view, &snapshot))
    );
    insta::assert_snapshot!("help_80x24", text(&render(80, 24, &info, &view, &snapshot)));
}

#[test]
fn help_says_where_the_metrics_are_served() {
    let snapshot = race(3, 100);
    let info = RaceInfo {
        metrics: Some("http://127.0.0.1:40117/metrics".to_string()),
        ..info(3, 100)
    };
    let view = ViewState {
        help: true,
        ..view(&snapshot)
    };
    insta::assert_snapshot!(
        "help_with_metrics_120x40",
        text(&render(120, 40, &info, &view, &snapshot))
    );
}

#[test]
fn too_small() {
    let snapshot = race(3, 100);
    let info = info(3, 100);
    let view = view(&snapshot);
    insta::assert_snapshot!(
        "too_small_60x20",
        text(&render(60, 20, &info, &view, &snapshot))
    );
    let tiny = text(&render(30, 6, &info, &view, &snapshot));
    assert!(tiny.contains("80×24"), "{tiny}");
}

#[test]
fn eight_endpoints() {
    let snapshot = race(8, 200);
    let mut info = info(8, 200);
    info.replay = true;
    info.notices = vec!["tiny: warm-up took 3 tries to connect".to_string()];
    let view = view(&snapshot);
    let wide = render(120, 40, &info, &view, &snapshot);
    insta::assert_snapshot!("eight_endpoints_120x40", text(&wide));
    for name in endpoint_names(8) {
        assert!(find(&wide, &name, 0).is_some(), "{name} has no lane");
    }
    assert!(!text(&wide).contains(" of 8"), "every lane fits");
    insta::assert_snapshot!(
        "eight_endpoints_80x24",
        text(&render(80, 24, &info, &view, &snapshot))
    );
}

#[test]
fn the_leader_and_a_failing_badge_stand_out() {
    let snapshot = race(4, 200);
    let info = info(4, 200);
    let view = view(&snapshot);
    let theme = Theme::new(ThemeName::Dark);
    let buf = render(120, 40, &info, &view, &snapshot);

    let leader = &snapshot.endpoints[ranking::order(&snapshot, Rank::TtftP50)[0]].name;
    // The leaderboard is the side column.
    let (x, y) = find(&buf, &format!("● {leader}"), 120 - 40).expect("leader row");
    let cell = &buf[(x + 2, y)];
    assert_eq!(cell.fg, theme.leader.fg.unwrap());
    assert!(cell.modifier.contains(Modifier::BOLD));
    // The runner-up is plain.
    let (_, y2) = find(&buf, "  2 ", 120 - 40).expect("second row");
    assert_eq!(y2, y + 1);

    // The selected lane (steady) is lit from its title to its last row; the others are not.
    let (x, y) = find(&buf, "▶2 steady", 0).expect("selected lane");
    assert_eq!(buf[(x + 3, y)].bg, theme.selected.bg.unwrap());
    assert_eq!(buf[(x + 3, y + 5)].bg, theme.selected.bg.unwrap());
    let (x, y) = find(&buf, "1 turbo", 0).expect("first lane");
    assert_ne!(buf[(x, y)].bg, theme.selected.bg.unwrap());

    let (x, y) = find(&buf, "● failing", 0).expect("flaky's badge");
    for dx in 0..9 {
        let cell = &buf[(x + dx, y)];
        assert_eq!(cell.fg, theme.bad.fg.unwrap(), "cell {dx}");
        assert!(cell.modifier.contains(Modifier::BOLD));
    }
}

#[test]
fn other_screens_keep_the_frame() {
    let snapshot = race(3, 50);
    let info = info(3, 50);
    for screen in [Screen::Inspector, Screen::Charts] {
        let view = ViewState {
            screen,
            ..view(&snapshot)
        };
        let frame = text(&render(80, 24, &info, &view, &snapshot));
        assert!(frame.starts_with(" llmrace · demo race"), "{frame}");
        assert!(
            frame.lines().last().unwrap().contains("esc board"),
            "{frame}"
        );
    }
}

#[test]
fn many_endpoints_scroll_around_the_selected_one() {
    let snapshot = race(20, 30);
    let info = info(20, 30);
    let view = ViewState {
        selected: 15,
        ..ViewState::default()
    };
    // 120×40 fits all twenty at one row each; 80×24 shows a window around the selection.
    for (width, height, window) in [(80, 24, true), (120, 40, false)] {
        let frame = text(&render(width, height, &info, &view, &snapshot));
        assert_eq!(frame.contains(" of 20"), window, "{frame}");
        assert!(frame.contains("▶16"), "the selected lane shows:\n{frame}");
        assert!(frame.lines().last().unwrap().contains("? help"), "{frame}");
    }
}

#[test]
fn a_timed_race_shows_its_clock_against_the_limit() {
    let snapshot = race(2, 100);
    let mut info = info(2, 100);
    info.requests = None;
    info.duration = Some(std::time::Duration::from_secs(90));
    let view = ViewState::default();
    let frame = text(&render(80, 24, &info, &view, &snapshot));
    let second = frame.lines().nth(1).unwrap();
    assert!(second.ends_with("of 01:30.0"), "{second}");
    assert!(frame.contains(" done"), "lanes count what ended: {frame}");
    assert_eq!(
        crate::tui::draw::clock(std::time::Duration::from_millis(3_723_400)),
        "1:02:03"
    );
    assert_eq!(
        crate::tui::draw::clock(std::time::Duration::from_millis(83_450)),
        "01:23.4"
    );
}

#[test]
fn no_endpoints_is_not_a_crash() {
    let snapshot = race(0, 10);
    let info = info(0, 10);
    let frame = text(&render(80, 24, &info, &ViewState::default(), &snapshot));
    assert!(frame.contains("waiting for the first endpoint"), "{frame}");
}

/// The fixture race played back to 60 %, at 2×, paused: what a replay shows.
fn replay_at_60_percent() -> (RaceInfo, Snapshot) {
    let mut player = Player::new(
        crate::replay::player::EventLog::of(&crate::record::replay::fixture::replay(4, 200)),
        Speed::NORMAL,
    );
    for command in [
        PlaybackCommand::SeekToPercent(60),
        PlaybackCommand::Faster,
        PlaybackCommand::TogglePause,
    ] {
        player.obey(command);
    }
    let mut info = info(4, 200);
    info.replay = true;
    (info, player.snapshot())
}

#[test]
fn board_replay() {
    let (info, snapshot) = replay_at_60_percent();
    let view = ViewState {
        replay: true,
        ..view(&snapshot)
    };
    let wide = text(&render(120, 40, &info, &view, &snapshot));
    insta::assert_snapshot!("board_replay_120x40", wide);
    let narrow = text(&render(80, 24, &info, &view, &snapshot));
    insta::assert_snapshot!("board_replay_80x24", narrow);
    for frame in [&wide, &narrow] {
        let second = frame.lines().nth(1).unwrap();
        assert!(second.contains(" / 00:"), "the timeline: {second}");
        assert!(second.ends_with("2×  PAUSED"), "{second}");
        let footer = frame.lines().last().unwrap();
        assert!(
            footer.contains("space play") && footer.contains("? help"),
            "{footer}"
        );
        assert!(!footer.contains("p pause"), "{footer}");
    }
}

#[test]
fn the_timeline_marks_failures_in_the_bad_colour() {
    let (info, ahead) = replay_at_60_percent();
    let mut player = Player::new(
        crate::replay::player::EventLog::of(&crate::record::replay::fixture::replay(4, 200)),
        Speed::MAX,
    );
    player.advance(std::time::Duration::ZERO);
    let played = player.snapshot();
    let view = ViewState {
        replay: true,
        ..ViewState::default()
    };
    let theme = Theme::new(ThemeName::Dark);
    // flaky's outage in its last seconds ticks the bar: ahead of the position, then played.
    for (snapshot, mark) in [(&ahead, "┼"), (&played, "┿")] {
        let buf = render(120, 40, &info, &view, snapshot);
        let (x, y) = find(&buf, mark, 0).expect(mark);
        assert_eq!(y, 1);
        assert_eq!(buf[(x, y)].fg, theme.bad.fg.unwrap(), "{mark}");
    }
}

#[test]
fn help_in_a_replay_lists_the_playback_keys() {
    let (info, snapshot) = replay_at_60_percent();
    let view = ViewState {
        replay: true,
        help: true,
        ..view(&snapshot)
    };
    let frame = text(&render(80, 24, &info, &view, &snapshot));
    insta::assert_snapshot!("help_replay_80x24", frame);
    for key in ["space", "<  >", "home  end", "0 … 9", "esc or ? to close"] {
        assert!(frame.contains(key), "{key}:\n{frame}");
    }
    assert!(!frame.contains("pause / resume sending"), "{frame}");
}

#[test]
fn board_finished_priced() {
    // Three of four endpoints priced: lanes show what they cost, the leaderboard ranks by cost
    // per 1000 requests (the unpriced one last) and the finish panel names the cheapest.
    let mut snapshot = finished_race(4, 200);
    let mut info = info(4, 200);
    let prices = [(0.15, 0.075, 0.60), (3.0, 0.3, 15.0), (0.05, 0.05, 0.10)];
    for (lane, (input, cached_input, output)) in info.lanes.iter_mut().zip(prices) {
        lane.price = Some(crate::config::Price {
            input,
            cached_input: Some(cached_input),
            cache_write: None,
            output,
        });
    }
    // The aggregator of a priced race puts the costs in its snapshots.
    let prices: Vec<_> = info.lanes.iter().map(|lane| lane.price).collect();
    snapshot.costs = crate::stats::cost::costs(&snapshot.endpoints, &prices);
    let view = ViewState {
        rank: Rank::Cost,
        priced: true,
        previous_order: ranking::order(&snapshot, Rank::Cost),
        ..view(&snapshot)
    };
    let wide = text(&render(120, 40, &info, &view, &snapshot));
    assert!(wide.contains("Leaderboard · cost/1k req"), "{wide}");
    insta::assert_snapshot!("board_finished_priced_120x40", wide);
    insta::assert_snapshot!(
        "board_finished_priced_80x24",
        text(&render(80, 24, &info, &view, &snapshot))
    );
}

#[test]
fn the_finish_panel_gives_names_the_room_their_values_leave() {
    let mut snapshot = finished_race(4, 200);
    snapshot.endpoints[2].name = "thinker-deepseek".to_string();
    let info = info(4, 200);
    let view = view(&snapshot);
    for (width, height) in [(120, 40), (80, 24)] {
        let frame = text(&render(width, height, &info, &view, &snapshot));
        let row = frame.lines().find(|l| l.contains("│ tokens/s ")).unwrap();
        assert!(row.contains("● thinker-deepseek "), "{frame}");
    }
}

#[test]
fn a_replay_restarted_from_the_end_shows_no_moves_without_data() {
    let mut player = Player::new(
        crate::replay::player::EventLog::of(&crate::record::replay::fixture::replay(4, 200)),
        Speed::MAX,
    );
    player.obey(PlaybackCommand::ToEnd);
    let end = player.snapshot();
    player.obey(PlaybackCommand::ToStart);
    let start = player.snapshot();
    let mut info = info(4, 200);
    info.replay = true;
    let view = ViewState {
        replay: true,
        previous_order: ranking::order(&end, Rank::TtftP50),
        ..ViewState::default()
    };
    assert_ne!(view.previous_order, ranking::order(&start, Rank::TtftP50));
    let frame = text(&render(120, 40, &info, &view, &start));
    assert!(!frame.contains('▲') && !frame.contains('▼'), "{frame}");
}

#[test]
fn a_finished_race_offers_no_pause() {
    let info = info(2, 200);
    for (snapshot, offered) in [(race(2, 200), true), (finished_race(2, 200), false)] {
        for screen in [Screen::Board, Screen::Inspector, Screen::Charts] {
            let view = ViewState {
                screen,
                ..view(&snapshot)
            };
            let frame = text(&render(120, 40, &info, &view, &snapshot));
            let footer = frame.lines().last().unwrap();
            assert_eq!(footer.contains("p pause"), offered, "{screen:?}: {footer}");
        }
    }
}

#[test]
fn the_footer_measures_keys_by_their_width() {
    // `↑↓` is two columns (six bytes): at 80 columns the inspector's footer has room for all
    // eight keys, two spaces apart.
    let snapshot = race(3, 50);
    let info = info(3, 50);
    let view = ViewState {
        screen: Screen::Inspector,
        ..view(&snapshot)
    };
    let frame = text(&render(80, 24, &info, &view, &snapshot));
    assert_eq!(
        frame.lines().last().unwrap(),
        " q quit  esc board  p pause  tab endpoint  ↑↓ request  r raw  c charts  ? help"
    );
}

#[test]
fn wide_names_keep_to_their_columns() {
    // Two columns a character: cut by characters, these names ran over the lanes' progress
    // and badges, and pushed the charts' distributions out of line.
    let mut snapshot = race(4, 200);
    snapshot.endpoints[0].name = "東京リージョン本番環境の大規模言語モデル推論".to_string();
    snapshot.endpoints[2].name = "🚀🚀 ロケット推論サーバー".to_string();
    let mut info = info(4, 200);
    info.lanes[0].name.clone_from(&snapshot.endpoints[0].name);
    info.lanes[2].name.clone_from(&snapshot.endpoints[2].name);
    info.lanes[1].model = "模型-大型-指示調整版".to_string();
    let view = view(&snapshot);
    for (width, height) in [(120, 40), (80, 24)] {
        let frame = text(&render(width, height, &info, &view, &snapshot));
        insta::assert_snapshot!(format!("board_wide_names_{width}x{height}"), frame);
        let title = frame.lines().find(|l| l.contains("▌ 1 東")).unwrap();
        assert!(
            title.contains("…") && title.contains("● healthy"),
            "{title}"
        );
    }
}

/// `turbo` (vLLM) and `thinker` (llama.cpp) publish server metrics, the others none: their
/// lanes show queue, running and KV use beside TTFT, the others look as without.
#[test]
fn board_with_server_metrics() {
    use crate::stats::fixture::with_servers;
    let snapshot = with_servers(race(4, 200));
    let info = info(4, 200);
    let view = view(&snapshot);
    let wide = render(120, 40, &info, &view, &snapshot);
    insta::assert_snapshot!("board_server_metrics_120x40", text(&wide));
    let narrow = render(80, 24, &info, &view, &snapshot);
    insta::assert_snapshot!("board_server_metrics_80x24", text(&narrow));
    for frame in [&wide, &narrow] {
        let frame = text(frame);
        assert!(frame.contains("q 0 · run 4 · KV 48%"), "{frame}");
        assert!(frame.contains("q 12 · run 10 · KV 72%"), "{frame}");
    }
    // An endpoint without server metrics is drawn exactly as before.
    let plain = race(4, 200);
    let before = text(&render(120, 40, &info, &view, &plain));
    let lane = |frame: &str, name: &str| -> Vec<String> {
        let lines: Vec<&str> = frame.lines().collect();
        let at = lines.iter().position(|l| l.contains(name)).unwrap();
        lines[at..at + 6]
            .iter()
            .map(|l| l.chars().take(78).collect())
            .collect()
    };
    assert_eq!(lane(&text(&wide), "2 steady"), lane(&before, "2 steady"));
    let eight = with_servers(race(8, 200));
    let full = text(&render(120, 40, &self::info(8, 200), &view, &eight));
    insta::assert_snapshot!("board_server_metrics_eight_120x40", full);
}

#[path = "screen_sizes_tests.rs"]
mod sizes;
