//! Trace replay's settings: the speed a trace is played at, what cannot go with a trace (a
//! trace is both the prompts and the schedule), and how its load reads in a banner.

use super::validate::Problem;
use super::{PromptSource, RaceConfig};
use crate::pace::Arrivals;

/// The fastest and slowest a trace may be played: beyond them a typo, not a plan.
const SPEED_RANGE: std::ops::RangeInclusive<f64> = 0.001..=1000.0;

/// `trace_speed` / `--trace-speed`: a factor greater than zero.
pub fn speed(speed: f64) -> Result<f64, Problem> {
    if speed.is_finite() && SPEED_RANGE.contains(&speed) {
        return Ok(speed);
    }
    Err(Problem::new(
        format!(
            "a trace speed must be from {} to {}, not {speed}",
            SPEED_RANGE.start(),
            SPEED_RANGE.end()
        ),
        "write how many times faster than recorded to play the trace: 2 plays it twice as \
         fast, 0.5 half as fast, 1 as recorded",
    ))
}

/// `trace = "…"`: a file name.
pub fn file_name(name: &str) -> Result<(), Problem> {
    if name.trim().is_empty() {
        return Err(Problem::new(
            "the trace file name is empty",
            r#"write e.g. `trace = "mooncake_trace.jsonl"` (relative to this race file)"#,
        ));
    }
    Ok(())
}

/// The setting of `race` that cannot go with its trace, if it replays one, named as the race
/// file's key and as the flag: the trace sets the prompts, their order and their times.
pub(crate) fn trace_conflict(race: &RaceConfig) -> Option<(&'static str, &'static str)> {
    if !matches!(race.workload.prompts, PromptSource::Trace(_)) {
        return None;
    }
    let load = &race.load;
    [
        (load.rate.is_some(), "load.rate", "--rate"),
        (load.ramp.is_some(), "load.ramp", "--ramp"),
        (load.laps, "load.laps", "--laps"),
        (
            load.concurrency_ramp.is_some(),
            "load.concurrency_ramp",
            "--concurrency-ramp",
        ),
        (
            load.arrivals == Arrivals::Poisson,
            "load.arrivals",
            "--poisson",
        ),
        (load.warmup_requests > 0, "load.warmup_requests", "--warmup"),
        (race.workload.shuffle, "workload.shuffle", "--shuffle"),
        (race.workload.turns > 1, "workload.turns", "--turns"),
    ]
    .into_iter()
    .find_map(|(set, key, flag)| set.then_some((key, flag)))
}

/// What to write instead when [`trace_conflict`] found something.
pub(crate) const CONFLICT_HELP: &str = "a trace sends its rows in order at the times it \
     records (every endpoint the same schedule): leave out rates, ramps, laps, Poisson \
     arrivals, warm-up requests, shuffling and turns, or the trace; `max_in_flight` (--max-in-flight) \
     caps the requests in flight, -n and --duration cut the trace short";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_must_be_positive_and_finite() {
        assert_eq!(speed(2.0), Ok(2.0));
        assert_eq!(speed(0.5), Ok(0.5));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e9] {
            assert!(speed(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_trace_refuses_other_load_shapes_and_orders() {
        let mut race = crate::config::demo_race();
        assert_eq!(trace_conflict(&race), None);
        race.workload.prompts = PromptSource::Trace("t.jsonl".into());
        assert_eq!(trace_conflict(&race), None);
        race.load.rate = Some("5/s".parse().expect("a rate"));
        assert_eq!(trace_conflict(&race), Some(("load.rate", "--rate")));
        race.load.rate = None;
        race.workload.shuffle = true;
        assert_eq!(
            trace_conflict(&race),
            Some(("workload.shuffle", "--shuffle"))
        );
    }

    #[test]
    fn the_banner_names_the_speed() {
        let mut load = crate::config::demo_race().load;
        load.trace_speed = Some(1.0);
        assert_eq!(load.describe(), "trace replay");
        load.trace_speed = Some(2.0);
        load.max_in_flight = Some(8);
        assert_eq!(
            load.describe(),
            "trace replay at 2× speed, at most 8 in flight"
        );
    }
}
