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
    let at = if let Some(delay) = text.strip_prefix('+') {
        let delay = humantime::parse_duration(delay.trim())
            .map_err(|_| format!("`+{delay}` is not a delay: {usage}"))?;
        let delay = chrono::Duration::from_std(delay.min(FURTHEST * 2))
            .map_err(|_| format!("`+{delay:?}` is too far: {usage}"))?;
        now + delay
    } else {
        DateTime::parse_from_rfc3339(text)
            .map_err(|e| format!("`{text}` is not an instant ({e}): {usage}"))?
            .with_timezone(&Utc)
    };
    let ahead = (at - now).to_std().unwrap_or_default();
    if ahead > FURTHEST {
        return Err(format!(
            "`{text}` is {} h from now: a start more than 24 h ahead is refused as a likely \
             typo; check the date (the system clock says it is {})",
            ahead.as_secs() / 3600,
            now.to_rfc3339_opts(SecondsFormat::Secs, true)
        ));
    }
    Ok(at)
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
        "Starting at {shown} (in {:.1} s, by this machine's clock)…",
        ahead.as_seconds_f64()
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

/// How far from `at` the first measured request left, in milliseconds by the system clock
/// (positive: late): `first` is its offset in a race whose clock started at `wall_start`.
pub(super) fn start_skew_ms(at: DateTime<Utc>, wall_start: DateTime<Utc>, first: Offset) -> f64 {
    let left = crate::clock::wall_time(wall_start, first);
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
    first: Option<Offset>,
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
        // An instant past is taken: the race starts at once and says how late.
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
    }

    #[test]
    fn the_skew_is_the_first_requests_wall_time_less_the_instant() {
        let start = at("2026-12-06T20:00:00Z");
        let wall_start = at("2026-12-06T19:59:59.990Z");
        let first = Offset::from_duration(Duration::from_millis(13));
        let skew = start_skew_ms(start, wall_start, first);
        assert!((skew - 3.0).abs() < 1e-9, "{skew}");
        let early = start_skew_ms(start, wall_start, Offset::ZERO);
        assert!((early + 10.0).abs() < 1e-9, "{early}");
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
