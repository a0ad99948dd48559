//! The contents of `run.json` (the race as run) and `summary.json` (its final numbers).

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::RaceConfig;
use crate::report::cost::Cost;
use crate::stats::EndpointSnapshot;

/// Bumped when a change would make older readers misread `run.json` or `summary.json`.
pub const RESULTS_FORMAT_VERSION: u32 = 1;

/// `run.json`: what was raced, where, when, and how it ended. Never holds a secret: the race
/// is stored with URLs and sensitive headers redacted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub format_version: u32,
    pub llmrace_version: String,
    pub name: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub duration_s: f64,
    /// The race was stopped early (Ctrl-C).
    pub interrupted: bool,
    pub host: String,
    pub endpoints: Vec<EndpointInfo>,
    /// Things the user should know about the race (unreachable endpoints, …).
    pub notices: Vec<String>,
    pub race: RaceConfig,
    /// The longest the client took to read a response's content after it reached the machine;
    /// absent when it never took 1 ms or more. Above [`LATE_READ_NOTICE_MS`] the client fell
    /// behind and a notice says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_late_max_ms: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EndpointInfo {
    pub name: String,
    pub protocol: String,
    pub model: String,
    /// As configured (redacted); for a mock, `mock://PROFILE`.
    pub base_url: String,
    /// Whether this endpoint was a built-in simulated server.
    pub simulated: bool,
    pub concurrency: u32,
}

/// Above this p99 send lag, an open-loop race did not send the load it claims to have sent.
pub const LAG_NOTICE_MS: f64 = 10.0;

/// One notice per endpoint whose open-loop requests left late (p99 lag above
/// [`LAG_NOTICE_MS`]): the rate measured is then lower than the rate asked for.
pub fn lag_notices(endpoints: &[EndpointSnapshot]) -> Vec<String> {
    endpoints
        .iter()
        .filter_map(|e| {
            let lag = e.latency.send_lag_ms?;
            (lag.p99 > LAG_NOTICE_MS).then(|| {
                format!(
                    "{}: the client fell behind its schedule (send lag p50 {:.1} ms, p99 {:.1} ms); \
                     raise --max-in-flight or lower the rate",
                    e.name, lag.p50, lag.p99
                )
            })
        })
        .collect()
}

/// Above this, the client read content so late after it arrived that tokens waiting for it
/// were read together: a whole gap between tokens on a typical stream.
pub const LATE_READ_NOTICE_MS: f64 = 10.0;

/// The longest any endpoint's content waited for the client to read it.
pub fn read_late_max_ms(endpoints: &[EndpointSnapshot]) -> Option<f64> {
    endpoints
        .iter()
        .filter_map(|e| e.latency.read_late_ms.map(|late| late.max))
        .reduce(f64::max)
}

/// What the client's reading did to the times: one notice when it fell behind (content read
/// more than [`LATE_READ_NOTICE_MS`] after it arrived), and one per endpoint some of whose
/// first tokens came in one read with later content, so that their TTFT is an upper bound.
pub fn read_notices(endpoints: &[EndpointSnapshot]) -> Vec<String> {
    let mut notices = Vec::new();
    if let Some(late) = read_late_max_ms(endpoints).filter(|ms| *ms > LATE_READ_NOTICE_MS) {
        notices.push(format!(
            "the client fell behind reading responses: content waited up to {late:.1} ms for \
             it after reaching this machine (times are the kernel's arrival stamps, but tokens \
             read together share the last one's); give llmrace more CPU or race fewer streams"
        ));
    }
    for e in endpoints {
        let batched = e.counts.batched_first_token;
        let Some(of) = e
            .latency
            .ttft_ms
            .map(|ttft| ttft.count)
            .filter(|n| *n > 0 && batched > 0)
        else {
            continue;
        };
        #[expect(
            clippy::cast_precision_loss,
            reason = "request counts are far below 2^52"
        )]
        let share = 100.0 * batched as f64 / of as f64;
        notices.push(format!(
            "{}: {batched} of {of} first tokens ({share:.1}%) came in one read with later \
             tokens, so their TTFT is an upper bound (requests.jsonl: batched_first_token, \
             ttft_min_ms)",
            e.name
        ));
    }
    notices
}

/// `summary.json`: the final per-endpoint numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub format_version: u32,
    pub name: String,
    pub started_at: DateTime<Utc>,
    pub duration_s: f64,
    pub interrupted: bool,
    pub endpoints: Vec<EndpointSnapshot>,
    /// What each priced endpoint's requests cost, by endpoint name (empty when none is priced).
    #[serde(default)]
    pub costs: BTreeMap<String, Cost>,
}

/// The cost of every endpoint that `race` prices, by name.
pub fn costs(race: &RaceConfig, endpoints: &[EndpointSnapshot]) -> BTreeMap<String, Cost> {
    endpoints
        .iter()
        .filter_map(|e| {
            let price = race.endpoints.iter().find(|c| c.name == e.name)?.price?;
            Some((e.name.clone(), crate::report::cost::cost(e, &price)))
        })
        .collect()
}

/// The host name, for telling runs from different machines apart.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Price, demo_race};
    use crate::stats::snapshot::{Counts, Latency, Rates, Tokens};

    fn endpoint(name: &str) -> EndpointSnapshot {
        EndpointSnapshot {
            name: name.to_string(),
            counts: Counts {
                sent: 2,
                succeeded: 2,
                ..Counts::default()
            },
            errors: Default::default(),
            latency: Latency::default(),
            tokens: Tokens {
                input: 2_000_000,
                output: 1_000_000,
                ..Tokens::default()
            },
            rates: Rates::default(),
            recent_seconds: Vec::new(),
            requests: Vec::new(),
            health: Default::default(),
            wins_first_token: 0,
            wins_first_finished: 0,
            laps: 0,
        }
    }

    #[test]
    fn only_endpoints_that_fell_behind_their_schedule_get_a_notice() {
        let lag = |p99: f64| crate::stats::distribution::Summary {
            count: 10,
            min: 0.1,
            mean: p99 / 2.0,
            p50: 0.5,
            p90: p99,
            p95: p99,
            p99,
            max: p99,
        };
        let closed = endpoint("closed");
        let mut on_time = endpoint("on_time");
        on_time.latency.send_lag_ms = Some(lag(2.0));
        let mut late = endpoint("late");
        late.latency.send_lag_ms = Some(lag(45.0));
        let notices = lag_notices(&[closed, on_time, late]);
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(notices[0].starts_with("late: the client fell behind its schedule"));
        assert!(notices[0].contains("p99 45.0 ms"));
    }

    #[test]
    fn a_late_client_and_batched_first_tokens_are_told() {
        let summary = |count: u64, max: f64| crate::stats::distribution::Summary {
            count,
            min: 0.0,
            mean: max,
            p50: max,
            p90: max,
            p95: max,
            p99: max,
            max,
        };
        let mut prompt = endpoint("prompt");
        prompt.latency.ttft_ms = Some(summary(40, 100.0));
        prompt.latency.read_late_ms = Some(summary(3, LATE_READ_NOTICE_MS));
        assert_eq!(
            read_notices(std::slice::from_ref(&prompt)),
            Vec::<String>::new()
        );
        assert_eq!(
            read_late_max_ms(&[prompt.clone()]),
            Some(LATE_READ_NOTICE_MS)
        );

        let mut behind = endpoint("behind");
        behind.latency.ttft_ms = Some(summary(40, 300.0));
        behind.latency.read_late_ms = Some(summary(30, 160.0));
        behind.counts.batched_first_token = 10;
        let notices = read_notices(&[prompt, behind]);
        assert_eq!(notices.len(), 2, "{notices:?}");
        assert!(notices[0].starts_with("the client fell behind reading responses"));
        assert!(notices[0].contains("up to 160.0 ms"), "{}", notices[0]);
        assert!(
            notices[1].starts_with("behind: 10 of 40 first tokens (25.0%) came in one read"),
            "{}",
            notices[1]
        );
        assert_eq!(read_late_max_ms(&[endpoint("none")]), None);
    }

    #[test]
    fn only_priced_endpoints_have_costs_and_old_summaries_still_read() {
        let mut race = demo_race();
        race.endpoints[1].price = Some(Price {
            input: 1.0,
            cached_input: 0.5,
            output: 2.0,
        });
        let endpoints: Vec<_> = race.endpoints.iter().map(|e| endpoint(&e.name)).collect();
        let costs = costs(&race, &endpoints);
        let names: Vec<&str> = costs.keys().map(String::as_str).collect();
        assert_eq!(names, ["steady"]);
        assert_eq!(costs["steady"].total_usd, 4.0);

        // A summary.json from before costs existed.
        let old = r#"{"format_version":1,"name":"x","started_at":"2026-11-23T08:00:00Z",
            "duration_s":1.0,"interrupted":false,"endpoints":[]}"#;
        let summary: Summary = serde_json::from_str(old).expect("an old summary reads");
        assert!(summary.costs.is_empty());
    }
}
