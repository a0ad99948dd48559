//! The charts screen at 120×40 and 80×24, drawn from the fixture's races, live and finished.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::render;
use crate::stats::Snapshot;
use crate::stats::fixture::{endpoint_names, finished_race, race};
use crate::tui::{LaneInfo, RaceInfo, Scene, Screen, Theme, ThemeName, ViewState};

fn race_info(endpoints: usize) -> RaceInfo {
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
        requests: None,
        duration: None,
        load: "constant rate".into(),
        prompts: Vec::new().into(),
        replay: false,
        notices: Vec::new(),
        metrics: None,
    }
}

fn draw(width: u16, height: u16, snapshot: &Snapshot) -> TestBackend {
    let info = race_info(snapshot.endpoints.len());
    let theme = Theme::new(ThemeName::Dark);
    let view = ViewState {
        screen: Screen::Charts,
        ..ViewState::default()
    };
    let scene = Scene {
        info: &info,
        view: &view,
        snapshot,
        theme: &theme,
    };
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|frame| render(frame.area(), frame.buffer_mut(), &scene))
        .expect("draw");
    terminal.backend().clone()
}

fn check(name: &str, snapshot: &Snapshot) {
    for (w, h) in [(120, 40), (80, 24)] {
        let backend = draw(w, h, snapshot);
        insta::with_settings!({ snapshot_path => "../../snapshots", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(format!("charts_{name}_{w}x{h}"), backend.to_string());
        });
    }
}

/// A minute and a half of racing, still running: the charts show the last minute.
#[test]
fn live_race() {
    check("live", &race(5, 900));
}

/// A short race played to the end, all eight kinds of endpoint.
#[test]
fn finished_race_of_eight() {
    check("finished", &finished_race(8, 120));
}

#[test]
fn nothing_ended_yet() {
    let backend = draw(80, 24, &race(3, 1));
    let text = backend.to_string();
    assert!(text.contains("nothing yet"), "{text}");
    assert!(text.contains("no requests ended yet"), "{text}");
}

#[test]
fn each_endpoint_draws_in_its_lane_colour() {
    let theme = Theme::new(ThemeName::Dark);
    let backend = draw(120, 40, &race(3, 300));
    let buffer = backend.buffer();
    for (i, colour) in theme.lanes.iter().take(3).enumerate() {
        let braille = buffer.content().iter().any(|cell| {
            cell.fg == *colour
                && cell
                    .symbol()
                    .chars()
                    .any(|c| ('\u{2801}'..='\u{28ff}').contains(&c))
        });
        assert!(braille, "endpoint {i} has a line in its colour");
        let boxes = buffer
            .content()
            .iter()
            .filter(|cell| cell.fg == *colour && cell.symbol() == "█")
            .count();
        assert!(boxes >= 2, "endpoint {i} has a TTFT and a TTLT box");
    }
}

/// The cells of the TTFT chart (the left half, between the legend and the distributions) in
/// the first lane's colour, of one endpoint whose first tokens came only in the seconds
/// `ago` (counted back from the last) with these mean TTFTs.
fn sparse_ttft_cells(ago: &[(usize, f64)]) -> Vec<String> {
    let theme = Theme::new(ThemeName::Dark);
    let mut snapshot = race(1, 300);
    let seconds = &mut snapshot.endpoints[0].recent_seconds;
    let last = seconds.len() - 1;
    for (i, second) in seconds.iter_mut().enumerate() {
        let kept = ago.iter().find(|(a, _)| last - a == i);
        second.ttft_count = u32::from(kept.is_some());
        second.ttft_sum_ms = kept.map_or(0.0, |(_, ms)| *ms);
    }
    let backend = draw(120, 40, &snapshot);
    let buffer = backend.buffer();
    (1..24)
        .flat_map(|y| (0..60).map(move |x| (x, y)))
        .map(|(x, y)| &buffer[(x, y)])
        .filter(|cell| cell.fg == theme.lanes[0] && cell.symbol() != " ")
        .map(|cell| cell.symbol().to_string())
        .collect()
}

/// A slow endpoint has a first token now and then: its few TTFT means are points that can be
/// seen, joined by a line, not a braille dot or two lost in the chart.
#[test]
fn sparse_ttft_is_drawn_as_visible_points_and_lines() {
    let cells = sparse_ttft_cells(&[(20, 200.0), (16, 400.0), (12, 200.0)]);
    assert_eq!(cells.iter().filter(|s| *s == "•").count(), 3, "{cells:?}");
    assert!(cells.len() >= 8, "a line joins the points: {cells:?}");
}

/// Twenty seconds without a first token are a gap, not a line through values nobody measured.
#[test]
fn ttft_line_breaks_at_a_long_gap() {
    let cells = sparse_ttft_cells(&[(30, 200.0), (10, 400.0)]);
    assert_eq!(cells.iter().filter(|s| *s == "•").count(), 2, "{cells:?}");
    assert!(cells.len() <= 4, "no line across the gap: {cells:?}");
}

/// An endpoint that finished ten seconds before the others is not drawn at 0 tok/s after.
#[test]
fn an_endpoint_done_early_leaves_the_tokens_chart() {
    let (done, racing) = tokens_reach(finished_race(2, 120), 10);
    assert!(done + 5 < racing, "{done} vs {racing}");
}

/// At a low open-loop rate an endpoint often has nothing in flight while the race goes on:
/// its line runs on to the present instead of ending and coming back from one second to
/// the next.
#[test]
fn an_endpoint_between_requests_stays_on_the_tokens_chart() {
    let mut snapshot = race(2, 300);
    snapshot.endpoints[0].counts.in_flight = 0;
    let (quiet, racing) = tokens_reach(snapshot, 4);
    assert!(quiet + 1 >= racing, "{quiet} vs {racing}");
}

/// The right-most column of the tokens chart each of the first two endpoints' colours
/// reaches, the first one quiet for its last `quiet_secs` seconds.
fn tokens_reach(mut snapshot: Snapshot, quiet_secs: usize) -> (u16, u16) {
    let theme = Theme::new(ThemeName::Dark);
    let seconds = &mut snapshot.endpoints[0].recent_seconds;
    let last = seconds.len();
    for second in &mut seconds[last - quiet_secs..] {
        *second = crate::stats::window::Second {
            second: second.second,
            ..Default::default()
        };
    }
    let backend = draw(120, 40, &snapshot);
    let buffer = backend.buffer();
    let reach = |colour| {
        (60..120)
            .filter(|&x| (1..34).any(|y| buffer[(x, y)].fg == colour))
            .max()
            .unwrap_or(0)
    };
    (reach(theme.lanes[0]), reach(theme.lanes[1]))
}

#[test]
fn tiny_areas_do_not_panic() {
    let snapshot = race(8, 50);
    for (w, h) in [(1, 1), (10, 3), (30, 6), (50, 8), (69, 12)] {
        draw(w, h, &snapshot);
    }
    draw(80, 24, &race(0, 0));
}

/// A name of wide characters is cut to the name column by the columns it takes, so its
/// distribution and its p50 line up with the others'.
#[test]
fn wide_names_keep_the_distributions_in_line() {
    let mut snapshot = race(3, 300);
    snapshot.endpoints[1].name = "東京リージョン本番環境の推論".to_string();
    let backend = draw(120, 40, &snapshot);
    let buffer = backend.buffer();
    // Where each distribution row's last `ms` ends, in the TTFT distribution (the left half).
    let ends: Vec<u16> = (24..40)
        .filter_map(|y| {
            let row: Vec<&str> = (0..60).map(|x| buffer[(x, y)].symbol()).collect();
            let named = row.concat();
            if !(named.contains("turbo") || named.contains('東') || named.contains("thinker")) {
                return None;
            }
            let end = (1..row.len())
                .rev()
                .find(|&x| row[x - 1] == "m" && row[x] == "s")?;
            u16::try_from(end).ok()
        })
        .collect();
    assert_eq!(ends.len(), 3, "{backend}");
    assert!(ends.iter().all(|&x| x == ends[0]), "{ends:?}\n{backend}");
    assert!(backend.to_string().contains('…'), "{backend}");
}

/// `turbo` and `thinker` publish server metrics: a row of server charts under the client's,
/// on the same time axis.
#[test]
fn live_race_with_server_metrics() {
    use crate::stats::fixture::with_servers;
    check("server_live", &with_servers(race(5, 900)));
    check("server_finished", &with_servers(finished_race(4, 120)));
}

/// The queue chart's x axis is the TTFT chart's: the same columns for the same seconds, so a
/// TTFT spike sits right above the queue under it.
#[test]
fn server_charts_share_the_client_charts_time_axis() {
    use crate::stats::fixture::with_servers;
    let backend = draw(120, 40, &with_servers(race(5, 900)));
    let buffer = backend.buffer();
    let rows: Vec<String> = (0..40)
        .map(|y| (0..60).map(|x| buffer[(x, y)].symbol()).collect())
        .collect();
    // Each chart's x-axis labels row: the same text at the same columns.
    let labels: Vec<&String> = rows.iter().filter(|r| r.contains("1:30")).collect();
    assert_eq!(labels.len(), 2, "{backend}");
    assert_eq!(labels[0], labels[1], "{backend}");
    // And the y axis line at the same column.
    let axis = |r: &String| r.chars().position(|c| c == '│' || c == '└');
    let first = rows.iter().position(|r| r.contains("TTFT")).unwrap();
    let queue = rows
        .iter()
        .position(|r| r.contains("server queue"))
        .unwrap();
    assert_eq!(axis(&rows[first + 2]), axis(&rows[queue + 2]), "{backend}");
}

/// A server that published nothing drawable yet, or garbage, leaves its chart saying so.
#[test]
fn server_charts_without_points_say_so() {
    use std::sync::Arc;
    let mut snapshot = race(3, 100);
    let garbage = crate::stats::server::ServerPoint {
        t: snapshot.t,
        queue: Some(f64::NAN),
        running: Some(-1.0),
        kv_cache: Some(f64::INFINITY),
        ..Default::default()
    };
    snapshot.endpoints[1].server = Some(Arc::new(crate::stats::server::ServerView {
        points: vec![garbage],
        ..Default::default()
    }));
    let text = draw(120, 40, &snapshot).to_string();
    assert!(text.contains("server queue"), "{text}");
    assert_eq!(text.matches("no scrapes yet").count(), 2, "{text}");
    // A server that states an absurd queue gets a short axis label, not 300 digits.
    let absurd = crate::stats::server::ServerPoint {
        queue: Some(1e300),
        ..garbage
    };
    snapshot.endpoints[1].server = Some(Arc::new(crate::stats::server::ServerView {
        points: vec![absurd],
        ..Default::default()
    }));
    for (w, h) in [(120, 40), (80, 24), (40, 12)] {
        let text = draw(w, h, &snapshot).to_string();
        assert!(w < 80 || text.contains("1.1e300"), "{text}");
    }
}

/// A server read well that publishes no KV gauge (llama.cpp): its KV chart says the server
/// does not publish it, not that no scrape came.
#[test]
fn a_kv_chart_of_a_server_without_kv_says_not_published() {
    use std::sync::Arc;
    let mut snapshot = race(3, 100);
    let points = (0..18u64)
        .map(|i| crate::stats::server::ServerPoint {
            t: crate::event::Offset(snapshot.t.0.saturating_sub((18 - i) * 1_000_000_000)),
            queue: Some(1.0),
            running: Some(2.0),
            ..Default::default()
        })
        .collect();
    snapshot.endpoints[1].server = Some(Arc::new(crate::stats::server::ServerView {
        server: Some(crate::server_metrics::ServerKind::Llamacpp),
        points,
        scrapes: 18,
        ..Default::default()
    }));
    let text = draw(120, 40, &snapshot).to_string();
    assert!(text.contains("not published by the server"), "{text}");
    assert!(!text.contains("no scrapes yet"), "{text}");
    check("server_no_kv", &snapshot);
}
