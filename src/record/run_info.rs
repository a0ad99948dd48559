//! The contents of `run.json` (the race as run) and `summary.json` (its final numbers).

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ReplayHeader;
use super::endpoint_info::EndpointInfo;
use super::expected_cache::ExpectedCache;
use super::files::{RUN_JSON, SUMMARY_JSON};
use crate::config::{Price, RaceConfig};
use crate::event::ErrorClass;
use crate::protocol::Protocol;
use crate::stats::snapshot::Tokens;
use crate::stats::{Cost, EndpointSnapshot};

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
    /// A shared-prefix race's expected and reported prompt-cache hit rates per endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_cache: Option<ExpectedCache>,
    /// A shard's `run.json`: which shard of the race this process ran, and its start skew.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardRun>,
    /// A merged folder's `run.json`: the shards merged, in shard order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardRun>,
    /// A merged folder's `run.json` (`merge --allow-missing`): the shard numbers not merged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_shards: Vec<u32>,
}

/// When a race ran and how it ended, as `run.json` and `summary.json` tell it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Span {
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    /// Race time from the start to the final snapshot: what a replay of the race ends at.
    pub duration_s: f64,
    /// Stopped before its end (a signal, the user quitting, or cut by a crash).
    pub interrupted: bool,
}

/// What a live race measured of the client itself; a replay cannot know it.
#[derive(Clone, Copy, Debug)]
pub struct Client {
    /// How late the race's runtime ran its tasks at worst.
    pub runtime_late_max_ms: f64,
    /// The most events that waited for the pipeline at once.
    pub event_backlog_max: u64,
    /// How long the oldest waiting content event had waited, at worst.
    pub event_backlog_age_max_ms: f64,
}

impl RunInfo {
    /// `run.json` of a race just run on this machine: `race` as configured (stored with its
    /// secrets redacted), its resolved endpoints, how it went, every notice told of it, and
    /// the client's lateness: the reads' from the final numbers, the runtime's as measured.
    pub fn of_race(
        race: &RaceConfig,
        endpoints: Vec<EndpointInfo>,
        span: Span,
        notices: Vec<String>,
        numbers: &[EndpointSnapshot],
        client: Client,
    ) -> RunInfo {
        RunInfo {
            read_late_max_ms: read_late_max_ms(numbers),
            runtime_late_max_ms: Some(client.runtime_late_max_ms),
            event_backlog_max: Some(client.event_backlog_max),
            event_backlog_age_max_ms: Some(client.event_backlog_age_max_ms),
            expected_cache: ExpectedCache::of(race, numbers),
            ..RunInfo::base(
                crate::config::redact_config(race),
                env!("CARGO_PKG_VERSION").to_string(),
                host_name(),
                endpoints,
                span,
                notices,
            )
        }
    }

    /// `run.json` of a race rebuilt from its replay: what its header tells, and what the race
    /// itself would have said about `numbers`, the replay's final ones: the replay's damage
    /// (if any), what its age changes, the endpoints' notices and the client's reads.
    pub fn of_replay(
        header: &ReplayHeader,
        span: Span,
        damage: Option<&str>,
        numbers: &[EndpointSnapshot],
    ) -> RunInfo {
        let notices = header
            .notices
            .iter()
            .cloned()
            .chain(damage.map(super::replay::damage::notice))
            .chain(replay_notices(header))
            .chain(endpoint_notices(&header.race, numbers))
            .collect();
        let mut info = RunInfo {
            name: header.name.clone(),
            expected_cache: ExpectedCache::of(&header.race, numbers),
            ..RunInfo::base(
                header.race.clone(),
                header.llmrace_version.clone(),
                // A replay does not say where it was raced.
                "unknown".to_string(),
                header.endpoints.clone(),
                span,
                notices,
            )
        };
        note_reads(&mut info, numbers);
        // A merged race's replay names its shards and any gap, as its `run.json` did.
        if !header.shard_runs.is_empty() {
            info.host = super::shard_run::hosts(&header.shard_runs);
        }
        info.shards.clone_from(&header.shard_runs);
        info.missing_shards.clone_from(&header.missing_shards);
        info
    }

    /// `run.json` of a race whose own was never written, rebuilt from its request records
    /// alone: named `name` (its folder's), with its endpoints' names, and nothing made up (no
    /// objective, price or threshold applies).
    pub fn of_records(
        name: &str,
        endpoints: &[String],
        span: Span,
        notices: Vec<String>,
    ) -> RunInfo {
        let mut race = crate::config::demo_race();
        name.clone_into(&mut race.name);
        race.endpoints.clear();
        race.slo = crate::config::Slo::default();
        race.fail_if.clear();
        let unknown = || "unknown".to_string();
        let endpoints = endpoints
            .iter()
            .map(|name| EndpointInfo {
                name: name.clone(),
                protocol: unknown(),
                model: unknown(),
                base_url: unknown(),
                simulated: false,
                concurrency: 0,
                salt: None,
                proxy: None,
                http_version: None,
            })
            .collect();
        RunInfo::base(
            race,
            env!("CARGO_PKG_VERSION").to_string(),
            unknown(),
            endpoints,
            span,
            notices,
        )
    }

    /// The `run.json` in the results folder `dir`, if there is one that reads. Every field has
    /// been there since format 1; those added since have serde defaults.
    pub fn read(dir: &Path) -> Option<RunInfo> {
        read_json(&dir.join(RUN_JSON))
    }

    /// The fields every `run.json` fills alike; the client's lateness unknown.
    fn base(
        race: RaceConfig,
        llmrace_version: String,
        host: String,
        endpoints: Vec<EndpointInfo>,
        span: Span,
        notices: Vec<String>,
    ) -> RunInfo {
        RunInfo {
            format_version: RESULTS_FORMAT_VERSION,
            llmrace_version,
            name: race.name.clone(),
            started_at: span.started_at,
            ended_at: span.ended_at,
            duration_s: span.duration_s,
            interrupted: span.interrupted,
            host,
            endpoints,
            notices,
            race,
            read_late_max_ms: None,
            runtime_late_max_ms: None,
            event_backlog_max: None,
            event_backlog_age_max_ms: None,
            expected_cache: None,
            shard: None,
            shards: Vec::new(),
            missing_shards: Vec::new(),
        }
    }
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
    notices.extend(endpoints.iter().filter_map(repeat_notice));
    notices.extend(repeats::shared_server_notices(race));
    notices.extend(server_metrics_notices(endpoints));
    for e in endpoints {
        let price = race.endpoints.iter().find(|c| c.name == e.name);
        if let Some(price) = price.and_then(|c| c.price) {
            notices.extend(cache_price_notice(&e.name, &e.tokens, &price));
        }
    }
    notices.extend(
        ExpectedCache::of(race, endpoints)
            .map(|c| c.notices())
            .unwrap_or_default(),
    );
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

/// "a: all 40 requests failed: `not_found` — check the URL", when every request of an endpoint
/// failed alike: most likely its configuration, not the server's load.
fn all_failed_notice(e: &EndpointSnapshot) -> Option<String> {
    let mut errors = e.errors.iter().filter(|(_, n)| **n > 0);
    let (class, n) = errors.next()?;
    if errors.next().is_some() || e.counts.succeeded > 0 || *n < e.counts.failed {
        return None;
    }
    let hint = match class {
        ErrorClass::NotFound | ErrorClass::Dns => " — check the URL",
        // A connection refused for the HTTP it was spoken (HTTP/2 to an HTTP/1.1 server) fails
        // `connect` too: the first error says which.
        ErrorClass::Connect => " — check the URL and the HTTP version (`http`)",
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

/// The notice for an endpoint whose server reported zero output tokens for responses that
/// carried text (its counts are then llmrace's estimates).
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
    /// A shared-prefix race's expected and reported prompt-cache hit rates, as in `run.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_cache: Option<ExpectedCache>,
}

impl Summary {
    /// `summary.json` of the race `run` describes: `endpoints`' final numbers over
    /// `duration_s`, and their costs as the aggregator priced them.
    pub fn new(
        run: &RunInfo,
        duration_s: f64,
        endpoints: Vec<EndpointSnapshot>,
        costs: BTreeMap<String, Cost>,
    ) -> Summary {
        Summary {
            format_version: RESULTS_FORMAT_VERSION,
            name: run.name.clone(),
            started_at: run.started_at,
            duration_s,
            interrupted: run.interrupted,
            costs,
            endpoints,
            expected_cache: run.expected_cache.clone(),
        }
    }
}

impl Summary {
    /// The `summary.json` in the results folder `dir`, if there is one that reads.
    pub fn read(dir: &Path) -> Option<Summary> {
        read_json(&dir.join(SUMMARY_JSON))
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
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

mod repeats;
pub use repeats::repeat_notice;
mod server_notice;
pub use super::shard_run::ShardRun;
pub use server_notice::server_metrics_notices;
#[cfg(test)]
mod tests;
