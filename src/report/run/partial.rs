//! A race cut before its result files were complete and without a replay to fold (killed with
//! `--no-replay`): its summary rebuilt from the request records that reached disk, through the
//! aggregator's own per-endpoint statistics, so the numbers are those a complete run gives.

use std::io::BufReader;
use std::path::Path;

use super::{REQUESTS_JSONL, RUN_JSON, Records, Run, RunError, read_json};
use crate::config::RaceConfig;
use crate::event::{EndpointId, Offset, RequestId};
use crate::record::replay::{Line, read_line};
use crate::record::{self, EndpointInfo, RunInfo, Summary};
use crate::stats::endpoint::EndpointStats;
use crate::stats::{Outcome, RequestRecord};

/// The run rebuilt from `dir`'s request records, or `None` when it has none to rebuild from.
pub(super) fn load(dir: &Path, records: Records) -> Result<Option<Run>, RunError> {
    let partial = dir.join(format!("{REQUESTS_JSONL}.partial"));
    let whole = dir.join(REQUESTS_JSONL);
    let (path, cut) = if whole.is_file() {
        (whole, false)
    } else if partial.is_file() {
        (partial, true)
    } else {
        return Ok(None);
    };
    let (requests, half_line) = read_whole_records(&path)?;
    let run_json = dir.join(RUN_JSON);
    let known = if run_json.is_file() {
        Some(read_json::<RunInfo>(&run_json)?)
    } else {
        None
    };
    let mut notices = vec![format!(
        "the race was cut before its summary was written: rebuilt from the {} request records \
         in {}{}; requests in flight at the cut are not counted",
        requests.len(),
        path.display(),
        if half_line {
            " (its cut last line is left out)"
        } else {
            ""
        }
    )];
    let started_at = known.as_ref().map_or_else(
        || started_at(&requests).unwrap_or_default(),
        |info| info.started_at,
    );
    let names = endpoint_names(known.as_ref(), &requests);
    let slo = known.as_ref().map(|info| info.race.slo.clone());
    if known.is_none() {
        notices.push(format!(
            "{RUN_JSON} is missing too: the race's settings are unknown, so no objective (SLO) \
             or price is applied"
        ));
    }
    if known.as_ref().is_some_and(|info| info.race.load.laps) {
        notices.push("laps are not in request records: lap wins are not rebuilt".to_string());
    }
    let (endpoints, end) = fold(&names, &requests, &slo.unwrap_or_default());
    let duration_s = known.as_ref().map_or(end.as_secs_f64(), |info| {
        info.duration_s.max(end.as_secs_f64())
    });
    let mut info = match known {
        Some(mut info) => {
            info.interrupted |= cut;
            info.notices.extend(notices);
            info
        }
        None => unknown_info(dir, &names, started_at, duration_s, notices),
    };
    record::run_info::note_reads(&mut info, &endpoints);
    let summary = Summary {
        format_version: record::run_info::RESULTS_FORMAT_VERSION,
        name: info.name.clone(),
        started_at: info.started_at,
        duration_s,
        interrupted: info.interrupted,
        costs: record::run_info::costs(&info.race, &endpoints),
        endpoints,
    };
    Ok(Some(Run {
        info,
        summary,
        requests: match records {
            Records::Keep => requests,
            Records::Skip => Vec::new(),
        },
    }))
}

/// Every whole record in `path`, and whether a cut last line was left out. A damaged whole
/// line is an error: it is not what a cut leaves.
fn read_whole_records(path: &Path) -> Result<(Vec<RequestRecord>, bool), RunError> {
    let read_error = |source| RunError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut input = BufReader::new(std::fs::File::open(path).map_err(read_error)?);
    let mut line = Vec::new();
    let mut requests = Vec::new();
    for number in 1.. {
        match read_line(&mut input, &mut line).map_err(read_error)? {
            Line::Eof => break,
            Line::Cut => return Ok((requests, true)),
            Line::TooLong => {
                return Err(RunError::Damaged {
                    path: path.to_path_buf(),
                    reason: format!("line {number} is too long to be a request record"),
                });
            }
            Line::Whole => {}
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record = serde_json::from_slice(&line).map_err(|e| RunError::Damaged {
            path: path.to_path_buf(),
            reason: format!("line {number}: {e}"),
        })?;
        requests.push(record);
    }
    Ok((requests, false))
}

/// The race's UTC start, from any record (its `request_time` less its `sent_at_s`).
fn started_at(requests: &[RequestRecord]) -> Option<chrono::DateTime<chrono::Utc>> {
    let first = requests.first()?;
    let sent = chrono::Duration::from_std(at(first.sent_at_s).as_duration()).ok()?;
    Some(first.request_time - sent)
}

/// Endpoint names by `EndpointId`: from `run.json`, else from the records themselves.
fn endpoint_names(known: Option<&RunInfo>, requests: &[RequestRecord]) -> Vec<String> {
    if let Some(info) = known {
        return info.endpoints.iter().map(|e| e.name.clone()).collect();
    }
    let count = requests
        .iter()
        .map(|r| usize::from(r.endpoint.0) + 1)
        .max()
        .unwrap_or(0);
    (0..count)
        .map(|i| {
            requests
                .iter()
                .find(|r| usize::from(r.endpoint.0) == i)
                .map_or_else(
                    || format!("endpoint {}", i + 1),
                    |r| r.endpoint_name.clone(),
                )
        })
        .collect()
}

/// What happened to a request, in race time: the order the aggregator saw it in.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Sent,
    Content(u32),
    Ended,
}

/// Folds the records through each endpoint's statistics in race-time order, as the aggregator
/// did live. Returns the endpoints' final numbers and the last moment any record tells of.
fn fold(
    names: &[String],
    requests: &[RequestRecord],
    slo: &crate::config::Slo,
) -> (Vec<crate::stats::EndpointSnapshot>, Offset) {
    let mut steps: Vec<(Offset, Step, usize)> = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        let sent = at(r.sent_at_s);
        steps.push((sent, Step::Sent, i));
        // Content arrivals: the first token, then each gap; the chunks beyond one per
        // arrival (servers that batch) go with the first.
        if let Some(ttft) = r.ttft_ms {
            let arrivals = u32::try_from(r.itl_ms.len() + 1).unwrap_or(u32::MAX);
            let mut t = sent.0 + ms_to_ns(ttft);
            steps.push((
                Offset(t),
                Step::Content(r.chunks.saturating_sub(arrivals - 1).max(1)),
                i,
            ));
            for gap in &r.itl_ms {
                t += ms_to_ns(*gap);
                steps.push((Offset(t), Step::Content(1), i));
            }
        }
        steps.push((Offset(sent.0 + ms_to_ns(ended_after_ms(r))), Step::Ended, i));
    }
    steps.sort_by_key(|&(t, step, i)| (t, step, i));
    let mut stats: Vec<EndpointStats> = names.iter().map(|n| EndpointStats::new(n)).collect();
    let mut views = std::collections::HashMap::new();
    let mut end = Offset::ZERO;
    for (t, step, i) in steps {
        let r = &requests[i];
        let Some(endpoint) = stats.get_mut(usize::from(r.endpoint.0)) else {
            continue;
        };
        end = end.max(t);
        match step {
            Step::Sent => {
                let lag_us = r.send_lag_ms.map(|ms| ms_to_ns(ms) / 1000);
                let view = endpoint.on_sent(
                    t,
                    r.request,
                    r.prompt,
                    r.warmup,
                    lag_us,
                    r.retry_of.is_some(),
                );
                views.insert(key(r.endpoint, r.request), view);
            }
            Step::Content(chunks) if !r.warmup => endpoint.on_content(t, chunks),
            Step::Content(_) => {}
            Step::Ended => {
                if let Some(view) = views.remove(&key(r.endpoint, r.request)) {
                    endpoint.on_finished(t, r, &view, slo);
                }
            }
        }
    }
    (stats.iter().map(|s| s.snapshot(end, true)).collect(), end)
}

fn key(endpoint: EndpointId, request: RequestId) -> (u16, u64) {
    (endpoint.0, request.0)
}

/// How long after its sending a request ended, as far as its record tells: its TTLT when it
/// succeeded, else the last moment it saw.
fn ended_after_ms(r: &RequestRecord) -> f64 {
    if r.outcome == Outcome::Succeeded
        && let Some(ttlt) = r.ttlt_ms
    {
        return ttlt;
    }
    let streamed = r.ttft_ms.map(|ttft| ttft + r.itl_ms.iter().sum::<f64>());
    [r.ttfb_ms, streamed]
        .into_iter()
        .flatten()
        .fold(0.0, f64::max)
}

/// Race time from seconds as records store it (nanoseconds / 1e9, which this undoes exactly
/// for any race shorter than 104 days).
fn at(seconds: f64) -> Offset {
    Offset(ms_to_ns(seconds * 1000.0))
}

#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "race times are positive and far below 2^63 ns"
)]
fn ms_to_ns(ms: f64) -> u64 {
    (ms * 1e6).round().max(0.0) as u64
}

/// The run info of a race whose `run.json` was never written: what its records tell, and
/// nothing made up.
fn unknown_info(
    dir: &Path,
    names: &[String],
    started_at: chrono::DateTime<chrono::Utc>,
    duration_s: f64,
    notices: Vec<String>,
) -> RunInfo {
    let name = dir
        .file_name()
        .map_or_else(|| "race".to_string(), |n| n.to_string_lossy().into_owned());
    let mut race: RaceConfig = crate::config::demo_race();
    race.name.clone_from(&name);
    race.endpoints.clear();
    race.slo = crate::config::Slo::default();
    race.fail_if.clear();
    RunInfo {
        format_version: record::run_info::RESULTS_FORMAT_VERSION,
        llmrace_version: env!("CARGO_PKG_VERSION").to_string(),
        name,
        started_at,
        ended_at: crate::clock::wall_time(started_at, at(duration_s)),
        duration_s,
        interrupted: true,
        host: "unknown".to_string(),
        endpoints: names
            .iter()
            .map(|n| EndpointInfo {
                name: n.clone(),
                protocol: "unknown".to_string(),
                model: "unknown".to_string(),
                base_url: "unknown".to_string(),
                simulated: false,
                concurrency: 0,
            })
            .collect(),
        notices,
        race,
        read_late_max_ms: None,
        runtime_late_max_ms: None,
        event_backlog_max: None,
        event_backlog_age_max_ms: None,
    }
}
