//! The race-track strip at the top of the board: one line per endpoint, its runner as far
//! along the track as its share of the race is done, the leader marked — the race as a room
//! sees it from across the floor. Built from the snapshot alone, so a replay draws it alike.
//!
//! The share is the endpoint's requests done of the requests per endpoint the race stops at.
//! A race with no request count (a time limit, or none) measures output tokens instead: the
//! endpoint with the most is as far along as the clock is toward the time limit (all the way
//! without one, or once the race is over), the others in proportion to their tokens.

use std::cmp::Ordering;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;

use crate::format::percent;
use crate::stats::{EndpointSnapshot, Snapshot};
use crate::tui::Scene;
use crate::tui::draw::{Pen, fit, text_width, whole};

/// Longest name the strip makes room for.
const NAME_MAX: u16 = 16;
/// Narrowest track worth drawing: below it the strip is left out.
const TRACK_MIN: u16 = 10;
/// `99.5%`, the widest share.
const PERCENT: u16 = 5;
/// `★ leads`, the widest marker.
const MARK: u16 = 7;

/// Rows the strip takes for `endpoints`: a line each and a blank line under them.
pub fn height(endpoints: usize) -> u16 {
    u16::try_from(endpoints)
        .unwrap_or(u16::MAX)
        .saturating_add(1)
}

/// How far one endpoint has come.
#[derive(Clone, Debug, PartialEq)]
pub struct Runner {
    /// Share of its race done, 0–1.
    pub fraction: f64,
    /// What the share is of: `198/200` requests, or `12.3k tok`.
    pub done: String,
}

/// Every endpoint's runner and the leader's index (`None` before anyone has moved).
pub fn runners(
    snapshot: &Snapshot,
    requests: Option<u64>,
    time: f64,
) -> (Vec<Runner>, Option<usize>) {
    let endpoints = &snapshot.endpoints;
    let runners: Vec<Runner> = if let Some(target) = requests {
        (endpoints.iter())
            .map(|e| {
                let done = e.counts.requests_done();
                let fraction = if target == 0 {
                    1.0
                } else {
                    (done as f64 / target as f64).min(1.0)
                };
                Runner {
                    fraction,
                    done: format!("{done}/{target}"),
                }
            })
            .collect()
    } else {
        let most = endpoints.iter().map(|e| e.tokens.output).max().unwrap_or(0);
        (endpoints.iter())
            .map(|e| Runner {
                fraction: if most == 0 {
                    0.0
                } else {
                    time.clamp(0.0, 1.0) * e.tokens.output as f64 / most as f64
                },
                done: format!("{} tok", count(e.tokens.output)),
            })
            .collect()
    };
    let leader = leader(endpoints, &runners);
    (runners, leader)
}

/// The furthest runner among those with a succeeded request. Level runners are told apart by output tokens while they race and,
/// once both are home, by which took the shorter time from first request to last answer.
fn leader(endpoints: &[EndpointSnapshot], runners: &[Runner]) -> Option<usize> {
    let better = |a: usize, b: usize| {
        let (ra, rb) = (&runners[a], &runners[b]);
        match ra.fraction.total_cmp(&rb.fraction) {
            Ordering::Equal => {}
            further => return further == Ordering::Greater,
        }
        let (ea, eb) = (&endpoints[a], &endpoints[b]);
        if ra.fraction >= 1.0 {
            match ea.rates.window_s.total_cmp(&eb.rates.window_s) {
                Ordering::Equal => {}
                longer => return longer == Ordering::Less,
            }
        }
        ea.tokens.output > eb.tokens.output
    };
    let mut best: Option<usize> = None;
    for (i, runner) in runners.iter().enumerate().take(endpoints.len()) {
        // An endpoint that has only failed is not ahead, however fast it failed.
        if runner.fraction <= 0.0 || endpoints[i].counts.succeeded == 0 {
            continue;
        }
        best = match best {
            Some(b) if !better(i, b) => Some(b),
            _ => Some(i),
        };
    }
    best
}

/// How far the clock is toward the race's time limit (1 without one, or once it is over).
fn time_share(scene: &Scene) -> f64 {
    match scene.info.duration {
        _ if scene.snapshot.finished => 1.0,
        Some(limit) if !limit.is_zero() => {
            scene.snapshot.t.as_duration().as_secs_f64() / limit.as_secs_f64()
        }
        _ => 1.0,
    }
}

/// A count in a few characters: `950`, `12.3k`, `4.56M`.
fn count(n: u64) -> String {
    match n {
        0..10_000 => n.to_string(),
        10_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.2}M", n as f64 / 1e6),
    }
}

/// The track itself, `width` cells: the distance run in heavy line, the runner, the rest
/// dotted, the finish post. Returns the three parts (run, runner, rest and post).
fn track(fraction: f64, width: u16) -> (String, char, String) {
    let cells = width.saturating_sub(1);
    let at = whole((fraction.clamp(0.0, 1.0) * f64::from(cells.saturating_sub(1))).round());
    let at = usize::try_from(at).unwrap_or(0);
    let rest = usize::from(cells).saturating_sub(at + 1);
    let runner = if fraction >= 1.0 { '◆' } else { '●' };
    ("━".repeat(at), runner, format!("{}┃", "·".repeat(rest)))
}

/// Draws the strip into `area` (see [`height`]); nothing when the area is too narrow.
pub fn render(area: Rect, buf: &mut Buffer, scene: &Scene) {
    let snapshot = scene.snapshot;
    let theme = scene.theme;
    let (runners, leader) = runners(snapshot, scene.info.requests, time_share(scene));
    let name_width = (snapshot.endpoints.iter())
        .map(|e| text_width(&e.name))
        .max()
        .unwrap_or(0)
        .min(NAME_MAX);
    let done_width = runners
        .iter()
        .map(|r| text_width(&r.done))
        .max()
        .unwrap_or(0);
    // ` 1 name  ━━━●····┃  198/200   99%  ★ leads`
    let track_x = area.x + 4 + name_width + 2;
    let right = 2 + done_width + 2 + PERCENT + 2 + MARK;
    let track_width = area.right().saturating_sub(track_x + right);
    if track_width < TRACK_MIN {
        return;
    }
    let pen = &mut Pen::new(buf, area);
    for (index, (runner, y)) in runners.iter().zip(area.y..area.bottom()).enumerate() {
        let Some(endpoint) = snapshot.endpoints.get(index) else {
            break;
        };
        let color = scene.lane_color(index);
        let lead = leader == Some(index);
        pen.left(area.x + 1, y, 3, &format!("{:>2}", index + 1), theme.dim);
        let name = fit(&endpoint.name, usize::from(name_width));
        pen.left(
            area.x + 4,
            y,
            name_width,
            &name,
            color.add_modifier(Modifier::BOLD),
        );
        let (run, head, rest) = track(runner.fraction, track_width);
        let mut x = track_x;
        pen.left(x, y, text_width(&run), &run, color);
        x += text_width(&run);
        let head_style = if lead {
            color.add_modifier(Modifier::BOLD)
        } else {
            color
        };
        pen.left(x, y, 1, &head.to_string(), head_style);
        pen.left(x + 1, y, text_width(&rest), &rest, theme.dim);
        let x = track_x + track_width + 2;
        pen.right(x, y, done_width, &runner.done, color);
        let share = percent(runner.fraction);
        pen.right(x + done_width + 2, y, PERCENT, &share, theme.text);
        if lead {
            let mark = if runner.fraction >= 1.0 && snapshot.finished {
                "★ first"
            } else {
                "★ leads"
            };
            let style = theme.good.add_modifier(Modifier::BOLD);
            pen.left(x + done_width + 2 + PERCENT + 2, y, MARK, mark, style);
        }
    }
}

#[cfg(test)]
#[expect(
    clippy::float_cmp,
    reason = "the shares compared are exact binary fractions, computed the same way"
)]
mod tests {
    use super::*;
    use crate::stats::fixture::{finished_race, race};

    /// `snapshot` with endpoint `i` having ended `done[i]` requests, no retries.
    fn with_done(mut snapshot: Snapshot, done: &[u64]) -> Snapshot {
        for (e, &done) in snapshot.endpoints.iter_mut().zip(done) {
            e.counts.succeeded = done;
            e.counts.failed = 0;
            e.counts.cancelled = 0;
            e.counts.retries = 0;
        }
        snapshot
    }

    #[test]
    fn a_request_race_measures_requests_done() {
        let snapshot = with_done(race(3, 200), &[150, 0, 100]);
        let (runners, leader) = runners(&snapshot, Some(200), 0.5);
        assert_eq!(runners[0].fraction, 0.75);
        assert_eq!(runners[0].done, "150/200");
        assert_eq!(runners[1].fraction, 0.0);
        assert_eq!(runners[2].fraction, 0.5);
        assert_eq!(leader, Some(0));
        // A count past the target stays at the finish.
        let (runners, _) = runners_of(&snapshot, Some(100));
        assert_eq!(runners[0].fraction, 1.0);
    }

    fn runners_of(snapshot: &Snapshot, requests: Option<u64>) -> (Vec<Runner>, Option<usize>) {
        runners(snapshot, requests, 1.0)
    }

    #[test]
    fn a_race_without_a_request_count_measures_tokens_against_the_clock() {
        let mut snapshot = race(2, 200);
        snapshot.endpoints[0].tokens.output = 1000;
        snapshot.endpoints[1].tokens.output = 250;
        let (runners, leader) = runners(&snapshot, None, 0.5);
        assert_eq!(runners[0].fraction, 0.5);
        assert_eq!(runners[1].fraction, 0.125);
        assert_eq!(runners[1].done, "250 tok");
        assert_eq!(leader, Some(0));
        // The clock past its limit (a late snapshot) does not run anyone past the finish.
        let (runners, _) = super::runners(&snapshot, None, 3.0);
        assert_eq!(runners[0].fraction, 1.0);
    }

    #[test]
    fn nobody_leads_before_anyone_moves() {
        let mut snapshot = race(2, 200);
        for e in &mut snapshot.endpoints {
            e.tokens.output = 0;
        }
        let (runners, leader) = runners(&snapshot, None, 0.5);
        assert!(runners.iter().all(|r| r.fraction == 0.0));
        assert_eq!(leader, None);
        let (_, leader) = runners_of(&race(0, 10), Some(10));
        assert_eq!(leader, None);
    }

    #[test]
    fn an_endpoint_that_failed_every_request_does_not_lead() {
        let mut snapshot = with_done(race(2, 20), &[5, 0]);
        snapshot.endpoints[1].counts.failed = 20;
        let (runners, leader) = runners(&snapshot, Some(20), 0.5);
        assert_eq!(runners[1].fraction, 1.0);
        assert_eq!(leader, Some(0));
        snapshot.endpoints[0].counts.succeeded = 0;
        assert_eq!(runners_of(&snapshot, Some(20)).1, None);
    }

    #[test]
    fn level_at_the_finish_the_quicker_leads() {
        let mut snapshot = finished_race(2, 50);
        snapshot.endpoints[0].rates.window_s = 9.0;
        snapshot.endpoints[1].rates.window_s = 7.0;
        let (runners, leader) = runners(&snapshot, Some(50), 1.0);
        assert!(runners.iter().all(|r| r.fraction == 1.0));
        assert_eq!(leader, Some(1));
    }

    #[test]
    fn the_track_is_as_wide_as_asked_and_the_runner_moves_along_it() {
        for fraction in [0.0, 0.3, 0.5, 1.0, f64::NAN, -1.0, 7.0] {
            let (run, _, rest) = track(fraction, 20);
            assert_eq!(text_width(&run) + 1 + text_width(&rest), 20, "{fraction}");
        }
        assert_eq!(track(0.0, 12).0, "");
        assert_eq!(track(1.0, 12), ("━".repeat(10), '◆', "┃".to_string()));
        assert_eq!(track(0.5, 12).0, "━".repeat(5));
    }
}
