//! A shard of a race (`--shard K/N`) and a race started at a set instant (`--start-at`): the
//! instant read from the command line, the wait for it once start-up is done (a signal ends
//! it cleanly), how far from it the first measured request left (the start skew, by the
//! system clock), and what the results folder and `run.json` say of the shard.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use tokio_util::sync::CancellationToken;

use crate::config::RaceConfig;
use crate::event::Offset;
use crate::record::run_info::ShardRun;
use crate::signals::Signal;

use super::tell::{Teller, Telling};

/// The furthest `--start-at` may lie ahead: further is more likely a wrong date than a plan.
const FURTHEST: Duration = Duration::from_secs(24 * 3600);

/// The furthest `--start-at` may lie behind: an instant a little past starts the race at once
/// (a shard that was slow to get ready); one further back is more likely a wrong date or time
/// zone, and would start a shard alone, out of step with the others.
const LONGEST_PAST: Duration = Duration::from_secs(3600);

/// How long before `--start-at` the wait for it ends and the race opens its result files,
/// starts its clock (at the instant) and its pipeline, and scrapes the servers' metrics once:
/// so that none of that delays the first request. A signal in this last moment stops a race
/// that has sent nothing.
const LEAD: Duration = Duration::from_secs(2);

/// `--start-at`: an RFC 3339 instant (`2026-12-06T20:00:00Z`, or with an offset) or a delay
/// from now (`+30s`, `+2m`), at most a day ahead.
///
/// # Errors
/// What was wrong, and how to write it.
pub fn parse_start_at(text: &str) -> Result<DateTime<Utc>, String> {
    start_at_from(text, Utc::now())
}

fn start_at_from(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let usage = "write an RFC 3339 instant like 2026-12-06T20:00:00Z (or with an offset, \
                 +01:00), or a delay from now like +30s or +2m";
    let text = text.trim();
    let clock_says = now.to_rfc3339_opts(SecondsFormat::Secs, true);
    if let Some(delay) = text.strip_prefix('-')
        && humantime::parse_duration(delay.trim()).is_ok()
    {
        return Err(format!(
            "`{text}` is a delay into the past: the start is a moment ahead, `+{}` for \
             {} from now; {usage}",
            delay.trim(),
            delay.trim()
        ));
    }
    let at = if let Some(delay) = text.strip_prefix('+') {
        let delay = humantime::parse_duration(delay.trim())
            .map_err(|_| format!("`+{delay}` is not a delay: {usage}"))?;
        let delay = chrono::Duration::from_std(delay).map_err(|_| {
            format!(
                "`{text}` is too far ahead: a start more than 24 h ahead is refused as a \
                 likely typo"
            )
        })?;
        now.checked_add_signed(delay).ok_or_else(|| {
            format!(
                "`{text}` is too far ahead: a start more than 24 h ahead is refused as a \
                 likely typo"
            )
        })?
    } else {
        DateTime::parse_from_rfc3339(text)
            .map_err(|e| format!("`{text}` is not an instant ({e}): {usage}"))?
            .with_timezone(&Utc)
    };
    let ahead = (at - now).to_std().unwrap_or_default();
    if ahead > FURTHEST {
        return Err(format!(
            "`{text}` is {} from now: a start more than 24 h ahead is refused as a likely \
             typo; check the date (the system clock says it is {clock_says})",
            distance(ahead)
        ));
    }
    let behind = (now - at).to_std().unwrap_or_default();
    if behind > LONGEST_PAST {
        return Err(format!(
            "`{text}` was {} ago: a start more than 1 h in the past is refused as a likely \
             mistake (the date, or the time zone: `Z` is UTC); check it (the system clock \
             says it is {clock_says}), or give an instant ahead or a delay like +30s",
            distance(behind)
        ));
    }
    Ok(at)
}

/// A distance in time as a person reads it: `2.8 s`, `59 m 57 s`, `25 h 0 m`, `3 d 2 h`.
fn distance(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..60 => format!("{:.1} s", d.as_secs_f64()),
        60..3600 => format!("{} m {} s", secs / 60, secs % 60),
        3600..172_800 => format!("{} h {} m", secs / 3600, secs % 3600 / 60),
        _ => format!("{} d {} h", secs / 86_400, secs % 86_400 / 3600),
    }
}

/// Waits until a moment ([`LEAD`]) before `at` by the system clock, telling so, unless
/// `signal` comes first (then nothing was sent, and the race ends there). An instant already
/// past starts the race at once, with a notice saying how late.
pub(super) async fn wait_for_start(
    at: DateTime<Utc>,
    signal: impl Future<Output = Signal>,
    tell: &Teller,
) -> Result<Option<String>, Signal> {
    let shown = at.to_rfc3339_opts(SecondsFormat::Millis, true);
    let ahead = at - Utc::now();
    if ahead <= chrono::Duration::zero() {
        let late = -ahead.as_seconds_f64();
        return Ok(Some(format!(
            "--start-at {shown} had passed {late:.3} s before the race was ready: it started at \
             once, late (run.json's shard.start_skew_ms says by how much)"
        )));
    }
    tell.tell(Telling::Warming(&format!(
        "Waiting until {shown} to start (in {}, by this machine's clock, which says it is {})…",
        distance(ahead.to_std().unwrap_or_default()),
        Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
    )));
    tokio::pin!(signal);
    loop {
        // Asked again after each step: a clock stepped by NTP while waiting moves the start.
        let Ok(left) = (at - Utc::now())
            .to_std()
            .map(|left| left.saturating_sub(LEAD))
        else {
            return Ok(None);
        };
        if left.is_zero() {
            return Ok(None);
        }
        tokio::select! {
            signal = &mut signal => return Err(signal),
            () = tokio::time::sleep(left.min(Duration::from_millis(500))) => {}
        }
    }
}

/// Waits for the race's zero when it was set ahead (`--start-at`), or until `stop`.
pub(super) async fn until_zero(clock: &crate::clock::RaceClock, stop: &CancellationToken) {
    let zero = tokio::time::Instant::from_std(clock.instant_at(Offset::ZERO));
    tokio::select! {
        () = tokio::time::sleep_until(zero) => {}
        () = stop.cancelled() => {}
    }
}

/// The cold-cache salt of endpoint `index` (named `name`) in a shard: the race's, the same in
/// every shard of it (`workload::salt::shared`), from the race's seed and the `--start-at`
/// instant when there is one.
pub(super) fn salt(
    config: &RaceConfig,
    start_at: Option<DateTime<Utc>>,
    index: usize,
    name: &str,
) -> String {
    let nanos = start_at.map(|at| at.timestamp_nanos_opt().unwrap_or(at.timestamp()));
    crate::workload::salt::shared(config.workload.seed, nanos, index, name)
}

/// What a shard says before it starts about how it was started: a cold race without
/// `--start-at` takes its salt from the seed alone, which the next run with that seed repeats;
/// warm-up requests are sent after the instant and shift the shard's schedule.
pub(super) fn start_notices(config: &RaceConfig, start_at: Option<DateTime<Utc>>) -> Vec<String> {
    let Some(shard) = config.shard else {
        return Vec::new();
    };
    let mut notices = Vec::new();
    if start_at.is_none() && config.workload.cache == crate::config::CacheMode::Cold {
        notices.push(format!(
            "shard {shard}: without --start-at, the cold cache's salt is derived from the seed              ({}) alone, the same in every shard (they send one race's prompts) and in every              run with this seed, so the servers may still hold this race's prompts from an              earlier run; give every shard one --start-at instant (or a new --seed) for a              fresh salt",
            config.workload.seed
        ));
    }
    if config.load.warmup_requests > 0 && config.shard.is_some_and(|s| s.count > 1) {
        notices.push(format!(
            "shard {shard}: its {} warm-up requests per endpoint are sent after the start, and              its schedule starts when they end, so the shards' first requests no longer leave              together (the skew includes the warm-ups); with --shard, leave --warmup at 0              (connections are warmed anyway)",
            config.load.warmup_requests
        ));
    }
    notices
}

/// How late the first measured request left, in milliseconds by the system clock (positive:
/// late), against when the race's schedule had it leave: `due` after `at` (a shard's first
/// request at a rate is due a share of the interval after the instant; warm-ups are not in
/// the schedule, so they count as lateness). `first` is its offset in a race whose clock
/// started at `wall_start`.
pub(super) fn start_skew_ms(
    at: DateTime<Utc>,
    wall_start: DateTime<Utc>,
    (first, due): (Offset, Offset),
) -> f64 {
    let left = crate::clock::wall_time(wall_start, first);
    let at = at + chrono::Duration::from_std(due.as_duration()).unwrap_or_default();
    #[expect(
        clippy::cast_precision_loss,
        reason = "a skew in nanoseconds is far below 2^52"
    )]
    let nanos = (left - at).num_nanoseconds().unwrap_or(i64::MAX) as f64;
    nanos / 1e6
}

/// `run.json`'s `shard`: written for a shard, and for a race started at a set instant (shard
/// 0 of 1: one process is the whole race).
pub(super) fn shard_run(
    config: &RaceConfig,
    start_at: Option<DateTime<Utc>>,
    wall_start: DateTime<Utc>,
    first: Option<(Offset, Offset)>,
) -> Option<ShardRun> {
    if config.shard.is_none() && start_at.is_none() {
        return None;
    }
    let shard = config
        .shard
        .unwrap_or(crate::config::Shard { index: 0, count: 1 });
    Some(ShardRun {
        index: shard.index,
        count: shard.count,
        host: crate::record::run_info::host_name(),
        start_at,
        start_skew_ms: start_at
            .zip(first)
            .map(|(at, first)| start_skew_ms(at, wall_start, first)),
        folder: None,
    })
}

/// The name the results folder is made from: the race's, with `-shard-KofN` for a shard, so
/// the shards' folders side by side say which is which.
pub(super) fn folder_name(config: &RaceConfig) -> String {
    match config.shard {
        Some(shard) => format!("{}-shard-{}of{}", config.name, shard.index, shard.count),
        None => config.name.clone(),
    }
}

/// How the views name a shard: `shard 2/4`.
pub(super) fn label(config: &RaceConfig) -> Option<String> {
    config.shard.map(|shard| format!("shard {shard}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("an instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_start_is_an_instant_or_a_delay_from_now() {
        let now = at("2026-12-06T19:59:00Z");
        assert_eq!(
            start_at_from("2026-12-06T20:00:00Z", now),
            Ok(at("2026-12-06T20:00:00Z"))
        );
        assert_eq!(
            start_at_from("2026-12-06T21:00:00+01:00", now),
            Ok(at("2026-12-06T20:00:00Z"))
        );
        assert_eq!(start_at_from("+30s", now), Ok(at("2026-12-06T19:59:30Z")));
        assert_eq!(start_at_from(" +2m ", now), Ok(at("2026-12-06T20:01:00Z")));
        // An instant a little past is taken: the race starts at once and says how late.
        assert_eq!(
            start_at_from("2026-12-06T19:00:00Z", now),
            Ok(at("2026-12-06T19:00:00Z"))
        );
    }

    #[test]
    fn a_start_that_is_no_instant_or_too_far_is_refused_with_how_to_write_it() {
        let now = at("2026-12-06T19:59:00Z");
        for bad in [
            "20:00",
            "2026-12-06 20:00",
            "+",
            "+30",
            "+x",
            "tomorrow",
            "",
        ] {
            let message = start_at_from(bad, now).expect_err(bad);
            assert!(message.contains("RFC 3339"), "{bad}: {message}");
        }
        let message = start_at_from("2027-12-06T20:00:00Z", now).expect_err("a year ahead");
        assert!(message.contains("24 h"), "{message}");
        assert!(start_at_from("+100000h", now).is_err());
        assert!(start_at_from("+1000000000000h", now).is_err());
        // The real distance, not a day rounded down.
        let message = start_at_from("+25h", now).expect_err("25 h ahead");
        assert!(message.contains("is 25 h 0 m from now"), "{message}");
        let message = start_at_from("2026-12-09T20:00:00Z", now).expect_err("3 days ahead");
        assert!(message.contains("is 3 d 0 h from now"), "{message}");
    }

    #[test]
    fn a_start_long_past_or_a_negative_delay_is_refused() {
        let now = at("2026-12-06T19:59:00Z");
        let message = start_at_from("2026-12-03T19:59:00Z", now).expect_err("3 days past");
        assert!(message.contains("was 3 d 0 h ago"), "{message}");
        assert!(message.contains("1 h in the past"), "{message}");
        assert!(start_at_from("2026-12-06T18:58:00Z", now).is_err());
        let message = start_at_from("-5s", now).expect_err("a negative delay");
        assert!(message.contains("into the past"), "{message}");
        assert!(message.contains("`+5s`"), "{message}");
        assert_eq!(distance(Duration::from_secs(3597)), "59 m 57 s");
        assert_eq!(distance(Duration::from_millis(2_800)), "2.8 s");
    }

    #[test]
    fn the_skew_is_the_first_requests_wall_time_less_the_instant() {
        let start = at("2026-12-06T20:00:00Z");
        let wall_start = at("2026-12-06T19:59:59.990Z");
        let first = Offset::from_duration(Duration::from_millis(13));
        let skew = start_skew_ms(start, wall_start, (first, Offset::ZERO));
        assert!((skew - 3.0).abs() < 1e-9, "{skew}");
        let early = start_skew_ms(start, wall_start, (Offset::ZERO, Offset::ZERO));
        assert!((early + 10.0).abs() < 1e-9, "{early}");
        // Shard 3 of 4 at 2/s: its first request is due 1.5 s after the instant, and leaving
        // then (2 ms late) is a skew of 2 ms, not 1 502.
        let ms = |ms| Offset::from_duration(Duration::from_millis(ms));
        let skew = start_skew_ms(start, start, (ms(1_502), ms(1_500)));
        assert!((skew - 2.0).abs() < 1e-9, "{skew}");
    }

    #[test]
    fn a_shards_folder_and_label_name_it() {
        let mut race = crate::config::demo_race();
        race.name = "nightly".to_string();
        assert_eq!(folder_name(&race), "nightly");
        assert_eq!(label(&race), None);
        race.shard = Some(crate::config::Shard { index: 2, count: 4 });
        assert_eq!(folder_name(&race), "nightly-shard-2of4");
        assert_eq!(label(&race).as_deref(), Some("shard 2/4"));
        let run = shard_run(&race, None, Utc::now(), None).expect("a shard says so");
        assert_eq!((run.index, run.count, run.start_skew_ms), (2, 4, None));
        race.shard = None;
        assert_eq!(shard_run(&race, None, Utc::now(), None), None);
    }
}
