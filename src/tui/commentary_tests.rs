//! The commentary's feed under the header, its log (`l`) and the medals in the finish panel,
//! in whole frames (insta snapshots at 120×40 and 80×24).

use super::tests::{info, render, text, view};
use crate::stats::fixture::{finished_race, race};
use crate::tui::{Screen, ViewState};

#[test]
fn the_feed_says_the_latest_line_under_the_header() {
    let snapshot = race(4, 200);
    let latest = snapshot
        .commentary
        .back()
        .expect("the fixture race is commented");
    let frame = text(&render(120, 40, &info(4, 200), &view(&snapshot), &snapshot));
    let feed = frame.lines().nth(2).unwrap();
    assert!(feed.contains(&latest.text), "{frame}");
    insta::assert_snapshot!("feed_mid_race_120x1", feed);
}

#[test]
fn the_feed_waits_for_the_first_line() {
    let mut snapshot = race(2, 20);
    snapshot.commentary = std::sync::Arc::default();
    let frame = text(&render(80, 24, &info(2, 20), &view(&snapshot), &snapshot));
    let feed = frame.lines().nth(2).unwrap();
    assert_eq!(feed.trim(), "commentary: waiting for the first answers");
}

#[test]
fn the_log_lists_every_line_and_scrolls() {
    let snapshot = finished_race(4, 200);
    let info = info(4, 200);
    let log = ViewState {
        screen: Screen::Log,
        ..view(&snapshot)
    };
    insta::assert_snapshot!("log_120x40", text(&render(120, 40, &info, &log, &snapshot)));
    insta::assert_snapshot!("log_80x24", text(&render(80, 24, &info, &log, &snapshot)));
    // A long race's log: more lines than the screen has rows.
    let mut snapshot = snapshot;
    let lines = std::sync::Arc::make_mut(&mut snapshot.commentary);
    let told: Vec<_> = lines.iter().cloned().collect();
    for n in 0..40 {
        let mut line = told[n % told.len()].clone();
        line.text = format!("{} ({n})", line.text);
        lines.push_back(line);
    }
    let scrolled = ViewState {
        log_scroll: 3,
        ..log.clone()
    };
    let frame = text(&render(80, 24, &info, &scrolled, &snapshot));
    let total = snapshot.commentary.len();
    assert!(frame.contains(&format!("of {total} ")), "{frame}");
    assert!(frame.contains("(36)") && !frame.contains("(37)"), "{frame}");
    // Scrolled past the top: the view stops at the first line.
    let far = ViewState {
        log_scroll: 10_000,
        ..log
    };
    let frame = text(&render(80, 24, &info, &far, &snapshot));
    assert!(frame.contains(&snapshot.commentary[0].text), "{frame}");
}

#[test]
fn the_medals_stand_under_the_podium() {
    let snapshot = finished_race(4, 200);
    let info = info(4, 200);
    let frame = text(&render(120, 40, &info, &view(&snapshot), &snapshot));
    assert!(frame.contains("Medals"), "{frame}");
    assert!(frame.contains("first token"), "{frame}");
    insta::assert_snapshot!("finish_with_medals_120x40", frame);
    insta::assert_snapshot!(
        "finish_with_medals_80x24",
        text(&render(80, 24, &info, &view(&snapshot), &snapshot))
    );
}

#[test]
fn a_shared_medal_shows_the_figure_its_winners_tied_on() {
    let mut snapshot = finished_race(4, 200);
    // `steady` becomes turbo's twin on output: they share "most output".
    snapshot.endpoints[1].tokens.output = 1_000_000;
    snapshot.endpoints[0].tokens.output = 1_000_000;
    let info = info(4, 200);
    let frame = text(&render(120, 40, &info, &view(&snapshot), &snapshot));
    let row = frame
        .lines()
        .find(|l| l.contains("most output"))
        .expect("the most-output medal");
    assert!(row.contains("1000000 tokens"), "{frame}");
}
