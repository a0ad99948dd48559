//! The contents of `run.json` (the race as run) and `summary.json` (its final numbers).

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ReplayHeader;
use crate::config::{Price, RaceConfig};
use crate::protocol::Protocol;
use crate::report::cost::Cost;
use crate::stats::EndpointSnapshot;
use crate::stats::snapshot::Tokens;

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
    /// The longest the client took to read a response's content after it reached the machine,
    /// a lower bound (measured from each read's last segment, whose stamp the segments queued
    /// before it share); absent when no read was measured 1 ms late or more, which kernel
    /// stamps (Linux) are needed to measure at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_late_max_ms: Option<f64>,
    /// The most a timer on the client's workers woke past its deadline during the race: how
    /// late the client ran its tasks, reads included, on any platform. Above
    /// [`LATE_READ_NOTICE_MS`], or with `read_late_max_ms` above it, the client fell behind and
    /// a notice says so. Absent from runs rebuilt from a replay, which does not hold it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_late_max_ms: Option<f64>,
    /// The most events that waited at once for the pipeline (statistics and recorder) in the
    /// channel from the engine, seen each time it took a batch. Absent from runs rebuilt from a
    /// replay, which does not hold it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_backlog_max: Option<u64>,
    /// How far behind the wire the statistics were: the longest from content's arrival (its
    /// kernel stamp) until the pipeline took it, its read's lateness (`read_late_max_ms`)
    /// included. Absent from runs rebuilt from a replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_backlog_age_max_ms: Option<f64>,
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

/// What the final numbers need said besides themselves, per endpoint: open-loop requests that
/// left late, output counts the server got wrong, cached tokens priced as ordinary input.
pub fn endpoint_notices(race: &RaceConfig, endpoints: &[EndpointSnapshot]) -> Vec<String> {
    let mut notices = lag_notices(endpoints);
    notices.extend(endpoints.iter().filter_map(all_failed_notice));
    notices.extend(endpoints.iter().filter_map(usage_notice));
    for e in endpoints {
        let price = race.endpoints.iter().find(|c| c.name == e.name);
        if let Some(price) = price.and_then(|c| c.price) {
            notices.extend(cache_price_notice(&e.name, &e.tokens, &price));
        }
    }
    notices
}

/// Above this, the client read content so late after it arrived, or ran its tasks so late,
/// that tokens waiting for it were read together: a whole gap between tokens on a typical
/// stream.
pub const LATE_READ_NOTICE_MS: f64 = 10.0;

/// The longest any endpoint's content was measured waiting for the client to read it (a lower
/// bound, see [`RunInfo::read_late_max_ms`]).
pub fn read_late_max_ms(endpoints: &[EndpointSnapshot]) -> Option<f64> {
    endpoints
        .iter()
        .filter_map(|e| e.latency.read_late_max_ms)
        .reduce(f64::max)
}

/// Notes on `info` what the client's reading did to the times of `endpoints`, as the race
/// itself does: the largest lateness and the notices of [`read_notices`] it does not hold yet.
/// For runs rebuilt from a replay or from request records.
pub fn note_reads(info: &mut RunInfo, endpoints: &[EndpointSnapshot]) {
    let measured = read_late_max_ms(endpoints);
    info.read_late_max_ms = match (info.read_late_max_ms, measured) {
        (Some(known), Some(measured)) => Some(known.max(measured)),
        (known, measured) => known.or(measured),
    };
    for notice in read_notices(endpoints, info.runtime_late_max_ms) {
        if !info.notices.contains(&notice) {
            info.notices.push(notice);
        }
    }
}

/// What the client's reading did to the times: one notice when it fell behind (its tasks ran,
/// or its reads came, more than [`LATE_READ_NOTICE_MS`] late: `runtime_late_ms` from
/// [`RunInfo::runtime_late_max_ms`]), one per endpoint some of whose first tokens came in one
/// read with later content, so that their TTFT is an upper bound, and one per endpoint some of
/// whose reads had no kernel stamp, so that how late they were is not known.
pub fn read_notices(endpoints: &[EndpointSnapshot], runtime_late_ms: Option<f64>) -> Vec<String> {
    let mut notices = Vec::new();
    let over = |ms: Option<f64>| ms.filter(|ms| *ms > LATE_READ_NOTICE_MS);
    let read_late = over(read_late_max_ms(endpoints));
    let runtime_late = over(runtime_late_ms);
    if read_late.is_some() || runtime_late.is_some() {
        let how = match (runtime_late, read_late) {
            (Some(tasks), Some(reads)) => format!(
                "its tasks ran up to {tasks:.1} ms late, and content waited at least {reads:.1} \
                 ms for it after reaching this machine"
            ),
            (Some(tasks), None) => format!("its tasks ran up to {tasks:.1} ms late"),
            (None, reads) => format!(
                "content waited at least {:.1} ms for it after reaching this machine",
                reads.unwrap_or_default()
            ),
        };
        notices.push(format!(
            "the client fell behind reading responses: {how} (times are the kernel's arrival \
             stamps, but tokens read together share the last one's); give llmrace more CPU or \
             race fewer streams"
        ));
    }
    for e in endpoints {
        let Some(of) = e.latency.ttft_ms.map(|ttft| ttft.count).filter(|n| *n > 0) else {
            continue;
        };
        let batched = e.counts.batched_first_token;
        if batched > 0 {
            notices.push(format!(
                "{}: {batched} of {of} first tokens ({}) came in one read with later tokens (the \
                 server sent them together, or llmrace read late: see read_late_max_ms), so \
                 their TTFT is an upper bound and the true one lies between ttft_min_ms and \
                 ttft_ms (requests.jsonl: batched_first_token)",
                e.name,
                percent(batched, of)
            ));
        }
        let unstamped = e.counts.unstamped_reads;
        if unstamped > 0 {
            notices.push(format!(
                "{}: {unstamped} requests read content the kernel did not stamp (lateness is \
                 measured on Linux only): their times are when llmrace read them, and how late \
                 that was is not known",
                e.name
            ));
        }
    }
    notices
}

/// What a replay's numbers mean differently for having been recorded by an older llmrace: in
/// event format 1, an Anthropic endpoint's input tokens were its own `input_tokens`, which
/// leave out the prompt tokens read from or written to the prompt cache.
pub fn replay_notices(header: &ReplayHeader) -> Vec<String> {
    if header.event_format >= 2 {
        return Vec::new();
    }
    header
        .endpoints
        .iter()
        .filter(|e| e.protocol == Protocol::Anthropic.name())
        .map(|e| {
            format!(
                "{}: recorded by llmrace {} (event format {}), its input tokens leave out those \
                 read from or written to the prompt cache (Anthropic's own input_tokens)",
                e.name, header.llmrace_version, header.event_format
            )
        })
        .collect()
}

/// The notice for an endpoint whose server reported zero output tokens for responses that
/// carried text (its counts are then llmrace's estimates).
/// "a: all 40 requests failed: not_found — check the URL", when every request of an endpoint
/// failed alike: most likely its configuration, not the server's load.
fn all_failed_notice(e: &EndpointSnapshot) -> Option<String> {
    let mut errors = e.errors.iter().filter(|(_, n)| **n > 0);
    let (class, n) = errors.next()?;
    if errors.next().is_some() || e.counts.succeeded > 0 || *n < e.counts.failed {
        return None;
    }
    use crate::event::ErrorClass;
    let hint = match class {
        ErrorClass::NotFound | ErrorClass::Dns | ErrorClass::Connect => " — check the URL",
        ErrorClass::Auth => " — check the API key",
        _ => "",
    };
    let what = if *n == 1 {
        "its only request".to_string()
    } else {
        format!("all {n} requests")
    };
    Some(format!("{}: {what} failed: {}{hint}", e.name, class.name()))
}

pub fn usage_notice(e: &EndpointSnapshot) -> Option<String> {
    let n = e.tokens.contradicted_output_requests;
    if n == 0 {
        return None;
    }
    let responses = if n == 1 { "response" } else { "responses" };
    Some(format!(
        "{}: the server reported 0 output tokens for {n} {responses} that carried text; \
         llmrace counted them with its tokenizer (estimate)",
        e.name
    ))
}

/// The notice for cached tokens priced as ordinary input because the price left out theirs.
fn cache_price_notice(name: &str, tokens: &Tokens, price: &Price) -> Option<String> {
    let unpriced: Vec<String> = [
        (
            tokens.cached_input,
            price.cached_input,
            "read from",
            "cached_input",
        ),
        (
            tokens.cache_write_input,
            price.cache_write,
            "written to",
            "cache_write",
        ),
    ]
    .into_iter()
    .filter(|(n, price, _, _)| *n > 0 && price.is_none())
    .map(|(n, _, what, key)| format!("{n} {what} the prompt cache (set price.{key})"))
    .collect();
    (!unpriced.is_empty()).then(|| {
        format!(
            "{name}: input tokens priced as ordinary input: {}",
            unpriced.join(", ")
        )
    })
}

#[expect(
    clippy::cast_precision_loss,
    reason = "request counts are far below 2^52"
)]
fn percent(part: u64, of: u64) -> String {
    format!("{:.1}%", 100.0 * part as f64 / of as f64)
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

    fn summary(count: u64, max: f64) -> crate::stats::distribution::Summary {
        crate::stats::distribution::Summary {
            count,
            min: 0.0,
            mean: max,
            p50: max,
            p90: max,
            p95: max,
            p99: max,
            max,
        }
    }

    #[test]
    fn a_late_client_and_batched_first_tokens_are_told() {
        let mut prompt = endpoint("prompt");
        prompt.latency.ttft_ms = Some(summary(40, 100.0));
        prompt.latency.read_late_ms = Some(summary(3, LATE_READ_NOTICE_MS));
        prompt.latency.read_late_max_ms = Some(LATE_READ_NOTICE_MS);
        assert_eq!(
            read_notices(std::slice::from_ref(&prompt), Some(1.0)),
            Vec::<String>::new()
        );
        assert_eq!(
            read_late_max_ms(&[prompt.clone()]),
            Some(LATE_READ_NOTICE_MS)
        );

        let mut behind = endpoint("behind");
        behind.latency.ttft_ms = Some(summary(40, 300.0));
        behind.latency.read_late_ms = Some(summary(30, 160.0));
        behind.latency.read_late_max_ms = Some(160.3);
        behind.counts.batched_first_token = 10;
        let notices = read_notices(&[prompt, behind], None);
        assert_eq!(notices.len(), 2, "{notices:?}");
        assert!(notices[0].starts_with("the client fell behind reading responses"));
        assert!(notices[0].contains("at least 160.3 ms"), "{}", notices[0]);
        assert!(
            notices[1].starts_with("behind: 10 of 40 first tokens (25.0%) came in one read"),
            "{}",
            notices[1]
        );
        assert!(
            notices[1].contains("or llmrace read late: see read_late_max_ms"),
            "{}",
            notices[1]
        );
        assert_eq!(read_late_max_ms(&[endpoint("none")]), None);
    }

    /// Reads a fast stream's client makes just after each latest token look prompt; the
    /// runtime's own lateness still tells that it stalled.
    #[test]
    fn a_late_runtime_is_told_though_reads_look_prompt() {
        let mut fast = endpoint("fast");
        fast.latency.ttft_ms = Some(summary(40, 100.0));
        fast.latency.read_late_max_ms = Some(2.0);
        let notices = read_notices(std::slice::from_ref(&fast), Some(80.0));
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(
            notices[0].contains("its tasks ran up to 80.0 ms late ("),
            "{}",
            notices[0]
        );
        assert!(read_notices(&[fast], Some(LATE_READ_NOTICE_MS)).is_empty());
    }

    /// Lateness that was never measured is not told as keeping up.
    #[test]
    fn reads_without_a_stamp_are_told_unmeasured() {
        let mut blind = endpoint("blind");
        blind.latency.ttft_ms = Some(summary(40, 100.0));
        blind.counts.unstamped_reads = 40;
        let notices = read_notices(&[blind], None);
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(
            notices[0].starts_with("blind: 40 requests read content the kernel did not stamp"),
            "{}",
            notices[0]
        );
    }

    /// A run of [`demo_race`] that measured nothing of the client's reading.
    fn demo_info() -> RunInfo {
        RunInfo {
            format_version: RESULTS_FORMAT_VERSION,
            llmrace_version: "0".to_string(),
            name: "demo".to_string(),
            started_at: DateTime::<Utc>::UNIX_EPOCH,
            ended_at: DateTime::<Utc>::UNIX_EPOCH,
            duration_s: 1.0,
            interrupted: false,
            host: "here".to_string(),
            endpoints: Vec::new(),
            notices: Vec::new(),
            race: demo_race(),
            read_late_max_ms: None,
            runtime_late_max_ms: None,
            event_backlog_max: None,
            event_backlog_age_max_ms: None,
        }
    }

    /// A rebuilt run gets the race's figure and notices once, whatever it already held.
    #[test]
    fn noting_reads_twice_adds_nothing() {
        let mut behind = endpoint("behind");
        behind.latency.ttft_ms = Some(summary(40, 300.0));
        behind.latency.read_late_max_ms = Some(50.0);
        behind.counts.batched_first_token = 4;
        let endpoints = [behind];
        let mut info = RunInfo {
            interrupted: true,
            host: "unknown".to_string(),
            notices: vec!["cut".to_string()],
            read_late_max_ms: Some(20.0),
            ..demo_info()
        };
        info.runtime_late_max_ms = Some(70.0);
        note_reads(&mut info, &endpoints);
        let once = info.clone();
        note_reads(&mut info, &endpoints);
        assert_eq!(info, once);
        assert_eq!(info.read_late_max_ms, Some(50.0));
        assert_eq!(info.notices.len(), 3, "{:?}", info.notices);
        assert!(info.notices[1].contains("its tasks ran up to 70.0 ms late"));
    }

    /// A run.json from before the backlog was kept reads as one that does not know it, and a
    /// run that does not know it writes nothing about it, as older versions wrote.
    #[test]
    fn the_backlog_is_absent_unless_measured() {
        let mut info = demo_info();
        let unknown = serde_json::to_string(&info).expect("JSON");
        assert!(!unknown.contains("event_backlog"), "{unknown}");
        let read: RunInfo = serde_json::from_str(&unknown).expect("an older run.json reads");
        assert_eq!(read, info);

        info.event_backlog_max = Some(1200);
        info.event_backlog_age_max_ms = Some(3.5);
        let measured = serde_json::to_string(&info).expect("JSON");
        assert!(
            measured.contains(r#""event_backlog_max":1200"#),
            "{measured}"
        );
        let read: RunInfo = serde_json::from_str(&measured).expect("reads back");
        assert_eq!(read, info);
    }

    #[test]
    fn only_priced_endpoints_have_costs_and_old_summaries_still_read() {
        let mut race = demo_race();
        race.endpoints[1].price = Some(Price {
            input: 1.0,
            cached_input: Some(0.5),
            cache_write: None,
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

    #[test]
    fn wrong_zero_counts_and_unpriced_cache_tokens_are_told() {
        let mut race = demo_race();
        let price = Price {
            input: 3.0,
            cached_input: Some(0.3),
            cache_write: None,
            output: 15.0,
        };
        race.endpoints[0].price = Some(price);
        race.endpoints[1].price = Some(Price {
            cache_write: Some(3.75),
            ..price
        });
        let mut endpoints: Vec<_> = race.endpoints.iter().map(|e| endpoint(&e.name)).collect();
        for e in &mut endpoints {
            e.tokens.cached_input = 500;
            e.tokens.cache_write_input = 200;
        }
        endpoints[1].tokens.contradicted_output_requests = 2;
        let mut lost = endpoint("lost");
        lost.counts.sent = 40;
        lost.counts.succeeded = 0;
        lost.counts.failed = 40;
        lost.errors.insert(crate::event::ErrorClass::NotFound, 40);
        endpoints.push(lost);
        let first = endpoints[0].name.clone();
        let second = endpoints[1].name.clone();
        assert_eq!(
            endpoint_notices(&race, &endpoints),
            [
                "lost: all 40 requests failed: not_found — check the URL".to_string(),
                format!(
                    "{second}: the server reported 0 output tokens for 2 responses that carried \
                     text; llmrace counted them with its tokenizer (estimate)"
                ),
                format!(
                    "{first}: input tokens priced as ordinary input: 200 written to the prompt \
                     cache (set price.cache_write)"
                ),
            ]
        );
    }
}
