//! Playback on synthetic replays: speed, pause, step and seek must land on exactly the
//! snapshot that playing straight there gives, and the end on exactly the live race's last.

use std::sync::Arc;
use std::time::Duration;

use super::{EventLog, PlaybackCommand, Player, Speed};
use crate::event::{EventKind, Offset, RaceEvent};
use crate::record::Replay;
use crate::record::replay::fixture::replay;
use crate::stats::{Snapshot, fixture};

fn secs(s: u64) -> Offset {
    Offset(s * 1_000_000_000)
}

fn player(endpoints: usize, requests: usize) -> Player {
    Player::new(EventLog::of(&replay(endpoints, requests)), Speed::NORMAL)
}

/// The snapshot without its playback state: what the aggregator says.
fn race(mut snapshot: Snapshot) -> Snapshot {
    snapshot.playback = None;
    snapshot
}

/// Plays at 1× in 30 ms ticks (as the task would) up to `t`.
fn play_straight_to(player: &mut Player, t: Offset) {
    while player.position() < t {
        let left = t.since(player.position());
        player.advance(left.min(Duration::from_millis(30)));
    }
}

#[test]
fn time_passes_at_the_speed_asked() {
    let mut p = player(2, 100);
    p.advance(Duration::from_secs(1));
    assert_eq!(p.position(), secs(1));
    p.faster();
    p.advance(Duration::from_millis(500));
    assert_eq!(p.position(), secs(2), "2× for half a second");
    for _ in 0..3 {
        p.slower();
    }
    assert_eq!(p.speed().factor(), Some(0.25));
    p.advance(Duration::from_secs(2));
    assert_eq!(p.position(), Offset(2_500_000_000));
    let s = p.snapshot();
    assert_eq!(s.t, Offset(2_500_000_000));
    let playback = s.playback.unwrap();
    assert_eq!(playback.speed, Some(0.25));
    assert!(!playback.paused && !s.finished);

    let mut max = Player::new(EventLog::of(&replay(2, 100)), Speed::MAX);
    max.advance(Duration::from_millis(1));
    assert_eq!(max.position(), max.duration());
    assert!(max.snapshot().finished && max.is_idle());
}

#[test]
fn the_end_is_exactly_the_live_race_folded_to_its_end() {
    let mut p = Player::new(EventLog::of(&replay(4, 200)), Speed::MAX);
    p.advance(Duration::ZERO);
    assert_eq!(race(p.snapshot()), fixture::finished_race(4, 200));
    // Played at 16× through every tick, too.
    let mut p = player(4, 200);
    for _ in 0..4 {
        p.faster();
    }
    while !p.is_idle() {
        p.advance(Duration::from_millis(33));
    }
    assert_eq!(race(p.snapshot()), fixture::finished_race(4, 200));
}

#[test]
fn paused_nothing_moves() {
    let mut p = player(2, 100);
    p.advance(Duration::from_secs(3));
    p.toggle_pause();
    let before = p.snapshot();
    assert!(p.is_idle() && before.playback.as_ref().unwrap().paused);
    p.advance(Duration::from_secs(5));
    assert!(!p.changed());
    assert_eq!(p.snapshot(), before);
    p.obey(PlaybackCommand::TogglePause);
    p.advance(Duration::from_secs(1));
    assert_eq!(p.position(), secs(4));
}

#[test]
fn seeking_lands_on_what_playing_straight_there_shows() {
    let mut straight = player(4, 150);
    play_straight_to(&mut straight, secs(7));
    let expected = straight.snapshot();
    assert!(expected.endpoints[0].counts.sent > 0);

    let mut forward = player(4, 150);
    forward.seek_by(7);
    assert_eq!(forward.snapshot(), expected, "forward");

    let mut back = player(4, 150);
    play_straight_to(&mut back, secs(12));
    back.seek_by(-5);
    assert_eq!(back.snapshot(), expected, "back from a played position");

    let mut from_end = player(4, 150);
    from_end.go_to_end();
    assert!(from_end.snapshot().finished);
    from_end.go_to_start();
    from_end.seek_by(9);
    from_end.seek_by(-2);
    assert_eq!(from_end.snapshot(), expected, "back from the end");

    // Percent seeks land on the same fraction of the replay, the end included.
    let mut percent = player(4, 150);
    percent.obey(PlaybackCommand::SeekToPercent(50));
    let half = Offset(percent.duration().0 / 2);
    assert!(percent.position().0.abs_diff(half.0) <= 1);
    let mut straight = player(4, 150);
    play_straight_to(&mut straight, percent.position());
    assert_eq!(percent.snapshot(), straight.snapshot());
    percent.obey(PlaybackCommand::SeekToPercent(100));
    assert_eq!(race(percent.snapshot()), fixture::finished_race(4, 150));
}

#[test]
fn seeks_stay_within_the_replay() {
    let mut p = player(2, 50);
    p.seek_by(-10);
    assert_eq!(p.position(), Offset::ZERO);
    p.seek_by(i64::MAX);
    assert_eq!(p.position(), p.duration());
    p.seek_to(f64::NAN);
    assert_eq!(p.position(), Offset::ZERO);
    p.seek_to(7.0);
    assert_eq!(p.position(), p.duration());
    p.seek_by(i64::MIN);
    assert_eq!(p.position(), Offset::ZERO);
}

#[test]
fn step_goes_to_the_next_event_and_pauses() {
    let r = replay(2, 20);
    let times: Vec<Offset> = r.events.iter().map(|e| e.t).collect();
    let mut p = Player::new(EventLog::of(&r), Speed::NORMAL);
    p.advance(Duration::from_millis(1));
    let first_after = *times.iter().find(|t| **t > p.position()).unwrap();
    p.step();
    assert!(p.paused());
    assert_eq!(p.position(), first_after);
    let folded = times.iter().filter(|t| **t <= first_after).count();
    let mut straight = player(2, 20);
    play_straight_to(&mut straight, first_after);
    straight.toggle_pause();
    assert_eq!(p.snapshot(), straight.snapshot());
    assert_eq!(p.next, folded);
    // Stepping past the last event ends at the end, paused.
    p.go_to_end();
    p.step();
    assert!(p.paused() && p.snapshot().finished);
}

#[test]
fn resuming_at_the_end_plays_again_from_the_start() {
    let mut p = Player::new(EventLog::of(&replay(2, 20)), Speed::MAX);
    p.advance(Duration::ZERO);
    assert!(p.snapshot().finished);
    p.toggle_pause();
    assert!(!p.paused());
    assert_eq!(p.position(), Offset::ZERO);
    let fresh = Player::new(EventLog::of(&replay(2, 20)), Speed::MAX).snapshot();
    assert!(!fresh.finished);
    assert_eq!(p.snapshot(), fresh);
}

#[test]
fn marks_are_the_measured_failures_in_time_order() {
    let r = replay(4, 200);
    let failed = r
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Failed { .. }))
        .count();
    let mut p = Player::new(EventLog::of(&r), Speed::NORMAL);
    let s = p.snapshot();
    let marks = &s.playback.as_ref().unwrap().marks;
    assert_eq!(marks.len(), failed);
    assert!(marks.is_sorted());
    assert!(failed > 50);
    // Shared, not copied, from snapshot to snapshot.
    p.advance(Duration::from_secs(1));
    assert!(Arc::ptr_eq(marks, &p.snapshot().playback.unwrap().marks));
}

#[test]
fn events_out_of_time_order_fold_in_file_order() {
    // The live aggregator took events as the channel gave them; a worker that stamped its
    // event a moment before another's may come second. Playback keeps the file's order.
    let mut r = replay(2, 30);
    let swapped = r.events.windows(2).position(|w| w[0].t < w[1].t).unwrap();
    r.events.swap(swapped, swapped + 1);
    let late: &RaceEvent = &r.events[swapped];
    let between = Offset(late.t.0 - 1);
    let mut folded = fixture::aggregator(2);
    for event in &r.events {
        folded.apply(event);
    }
    let end = folded.snapshot(r.duration(), true);
    let mut p = Player::new(EventLog::of(&r), Speed::NORMAL);
    p.seek_to(1.0);
    assert_eq!(race(p.snapshot()), end);
    // Just before the later-stamped event, neither of the two is folded.
    p.move_to(between);
    p.settle();
    assert_eq!(p.next, swapped);
}

#[test]
fn a_cut_replay_plays_to_its_last_event_and_says_so() {
    let mut r: Replay = replay(2, 30);
    r.events.truncate(r.events.len() / 2);
    r.end = None;
    r.damage = Some("the file ends in the middle of line 99".to_string());
    let last = r.events.last().unwrap().t;
    let mut p = Player::new(EventLog::of(&r), Speed::MAX);
    p.advance(Duration::ZERO);
    let s = p.snapshot();
    assert!(s.finished);
    assert_eq!(s.t, last);
    let playback = s.playback.unwrap();
    assert_eq!(playback.duration, last);
    assert!(playback.damage.unwrap().contains("line 99"));
}

#[test]
fn an_empty_replay_is_at_its_end() {
    let mut r = replay(2, 0);
    r.events.clear();
    r.end = None;
    let mut p = Player::new(EventLog::of(&r), Speed::NORMAL);
    p.advance(Duration::from_secs(1));
    p.step();
    p.seek_to(0.5);
    let s = p.snapshot();
    assert!(s.finished);
    assert_eq!(s.t, Offset::ZERO);
}

/// What folding `replay` from its start gives at `position`: every event in file order up to
/// the first one later than the position. Independent of the player.
fn folded_at(replay: &Replay, position: Offset) -> Snapshot {
    let mut aggregator = crate::replay::fold::aggregator_for(&replay.header);
    for event in replay.events.iter().take_while(|e| e.t <= position) {
        aggregator.apply(event);
    }
    aggregator.snapshot(position, false)
}

#[test]
fn seeks_through_blocks_and_kept_states_land_where_folding_lands() {
    let mut r = replay(3, 40);
    // Times out of order in the file, as concurrent requests write them: a kept state must
    // still never have folded past a position it serves.
    for i in (0..r.events.len() - 1).step_by(5) {
        if r.events[i].t != r.events[i + 1].t {
            r.events.swap(i, i + 1);
        }
    }
    // Blocks of 7 events, a kept state every 2 blocks: seeks cross many of both.
    let mut p = Player::new(EventLog::of_sized(&r, 7, 2), Speed::NORMAL);
    p.toggle_pause();
    let mut positions: Vec<Offset> = r
        .events
        .iter()
        .step_by(31)
        .flat_map(|e| [e.t, Offset(e.t.0.saturating_sub(1))])
        .collect();
    // Forward and back, near and far, in no order.
    positions.sort_by_key(|t| t.0.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let duration = p.duration();
    for position in positions.into_iter().filter(|t| *t < duration) {
        p.seek_to(position.0 as f64 / duration.0 as f64);
        let at = p.position();
        assert_eq!(race(p.snapshot()), folded_at(&r, at), "at {at:?}");
    }
    p.obey(PlaybackCommand::ToEnd);
    assert!(p.snapshot().finished);
}

#[test]
fn playing_to_the_end_gives_what_folding_the_replay_gives() {
    let replay = replay(4, 100);
    let folded = crate::replay::fold_replay(&replay, |_| {});
    let mut played = Player::new(EventLog::of(&replay), Speed::MAX);
    played.advance(Duration::ZERO);
    let mut end = played.snapshot();
    end.playback = None;
    assert_eq!(end, folded);
}
