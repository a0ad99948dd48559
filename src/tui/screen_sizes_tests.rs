//! The dashboard on big terminals (120×40 up to 240×70) with 2, 4 and 8 endpoints: the board
//! with its race-track strip, taller lanes, wider sparklines and lanes two abreast; the charts
//! and the inspector filling the screen. Checked with insta snapshots and by what must hold
//! at every size: no large empty band, every endpoint on the track.

use std::time::Duration;

use super::{find, info, render, text, view};
use crate::stats::fixture::{finished_race, race};
use crate::tui::{RaceInfo, Screen, ViewState};

const SIZES: [(u16, u16); 4] = [(120, 40), (160, 50), (200, 60), (240, 70)];
/// Requests per endpoint: at 10 requests/s a race of two and a half minutes, long enough to
/// fill the widest sparklines.
const REQUESTS: usize = 1500;

/// The longest run of blank rows in the frame's text.
fn longest_blank_run(text: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for line in text.lines() {
        if line.trim().is_empty() {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

#[test]
fn the_board_fills_big_terminals() {
    for endpoints in [2, 4, 8] {
        let snapshot = race(endpoints, REQUESTS);
        let info = info(endpoints, REQUESTS as u64);
        let view = view(&snapshot);
        for (w, h) in SIZES {
            let frame = text(&render(w, h, &info, &view, &snapshot));
            insta::assert_snapshot!(format!("board_{endpoints}_endpoints_{w}x{h}"), frame);
            // The feed's row and the lanes' gaps are blank, and a few rows the lanes cannot
            // divide among themselves; nothing bigger.
            let blank = longest_blank_run(&frame);
            assert!(
                blank <= 6,
                "{endpoints} endpoints at {w}×{h}: {blank} blank rows"
            );
        }
    }
}

#[test]
fn every_endpoint_runs_on_the_track_and_the_leader_is_marked() {
    let snapshot = race(4, REQUESTS);
    let info = info(4, REQUESTS as u64);
    let buf = render(200, 60, &info, &view(&snapshot), &snapshot);
    let frame = text(&buf);
    assert_eq!(
        frame.matches(&format!("/{REQUESTS}")).count(),
        4 + 4,
        "{frame}"
    );
    assert_eq!(frame.matches("★ leads").count(), 1, "{frame}");
    // The strip sits right under the header and the feed's row.
    let (_, y) = find(&buf, "★ leads", 0).unwrap();
    assert!((3..7).contains(&y), "{y}");
}

#[test]
fn the_track_of_a_finished_race_names_the_first_home() {
    let snapshot = finished_race(4, 200);
    let info = info(4, 200);
    let view = ViewState {
        selected: 0,
        ..view(&snapshot)
    };
    let frame = text(&render(200, 60, &info, &view, &snapshot));
    assert_eq!(frame.matches("★ first").count(), 1, "{frame}");
    insta::assert_snapshot!("board_finished_200x60", frame);
}

#[test]
fn a_time_limited_race_runs_on_tokens() {
    let snapshot = race(4, 400);
    let info = RaceInfo {
        requests: None,
        duration: Some(Duration::from_secs(60)),
        ..info(4, 400)
    };
    let frame = text(&render(160, 50, &info, &view(&snapshot), &snapshot));
    assert_eq!(frame.matches(" tok ").count(), 4, "{frame}");
    insta::assert_snapshot!("board_time_limited_160x50", frame);
}

#[test]
fn narrow_terminals_keep_their_lanes_and_go_without_the_track() {
    // At 80×24 the lanes need every row: the track would cost them their numbers.
    let snapshot = race(4, 200);
    let info = info(4, 200);
    let frame = text(&render(80, 24, &info, &view(&snapshot), &snapshot));
    assert!(!frame.contains('┃'), "{frame}");
}

#[test]
fn charts_and_inspector_fill_big_terminals() {
    let snapshot = race(4, REQUESTS);
    let info = info(4, REQUESTS as u64);
    for (screen, name) in [(Screen::Charts, "charts"), (Screen::Inspector, "inspector")] {
        let view = ViewState {
            screen,
            ..view(&snapshot)
        };
        for (w, h) in SIZES.into_iter().skip(1) {
            let frame = text(&render(w, h, &info, &view, &snapshot));
            insta::assert_snapshot!(format!("{name}_4_endpoints_{w}x{h}"), frame);
        }
    }
}
