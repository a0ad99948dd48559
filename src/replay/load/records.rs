//! A race cut before its result files were complete and without a replay to fold (killed with
//! `--no-replay`): its summary rebuilt from the request records that reached disk, each told
//! again as the events it ended from and folded by the aggregator, as a live race's are, so the
//! numbers are those a complete run gives.

use std::io::BufReader;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::{Records, Run, RunError, read_json};
use crate::config::Slo;
use crate::event::{ErrorClass, EventKind, Offset, RaceEvent, Retry};
use crate::record::files::{REQUESTS_JSONL, RUN_JSON, partial};
use crate::record::replay::{Line, read_line};
use crate::record::run_info::{Span, note_reads};
use crate::record::{RunInfo, Summary};
use crate::stats::{self, Aggregator, EndpointSnapshot, Outcome, RequestRecord};

/// The run rebuilt from `dir`'s request records, or `None` when it has none to rebuild from.
pub(super) fn load(dir: &Path, records: Records) -> Result<Option<Run>, RunError> {
    let partial = partial(dir, REQUESTS_JSONL);
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
    let (endpoints, end) = fold(&names, started_at, &requests, &slo.unwrap_or_default());
    let duration_s = known.as_ref().map_or(end.as_secs_f64(), |info| {
        info.duration_s.max(end.as_secs_f64())
    });
    let mut info = if let Some(mut info) = known {
        info.interrupted |= cut;
        info.notices.extend(notices);
        info
    } else {
        let span = Span {
            started_at,
            ended_at: crate::clock::wall_time(started_at, at(duration_s)),
            duration_s,
            interrupted: true,
        };
        RunInfo::of_records(&folder_name(dir), &names, span, notices)
    };
    note_reads(&mut info, &endpoints);
    let costs = stats::cost::costs(&endpoints, &stats::cost::prices(&info.race, &names));
    let summary = Summary::new(&info, duration_s, endpoints, costs);
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

/// Folds the records through the aggregator, each told again as the events it ended from, in
/// race-time order, as the live race fed them. Returns the endpoints' final numbers and the
/// last moment any record tells of.
fn fold(
    names: &[String],
    started_at: DateTime<Utc>,
    requests: &[RequestRecord],
    slo: &Slo,
) -> (Vec<EndpointSnapshot>, Offset) {
    // (when it comes in order, what, which record, its time)
    let mut steps: Vec<(Offset, Step, usize, Offset)> = Vec::new();
    let known = requests
        .iter()
        .enumerate()
        .filter(|(_, r)| usize::from(r.endpoint.0) < names.len());
    for (i, r) in known {
        let sent = at(r.sent_at_s);
        steps.push((sent, Step::Sent, i, sent));
        // Content arrivals: the first token, then each gap; the chunks beyond one per
        // arrival (servers that batch) go with the first.
        let mut last = sent;
        if let Some(ttft) = r.ttft_ms {
            let arrivals = u32::try_from(r.itl_ms.len() + 1).unwrap_or(u32::MAX);
            let mut t = sent.0 + ms_to_ns(ttft);
            let chunks = r.chunks.saturating_sub(arrivals - 1).max(1);
            steps.push((Offset(t), Step::Content(chunks), i, Offset(t)));
            for gap in &r.itl_ms {
                t += ms_to_ns(*gap);
                steps.push((Offset(t), Step::Content(1), i, Offset(t)));
            }
            last = Offset(t);
        }
        // Times kept to the microsecond can put the last arrival after the end; the end
        // still comes after it, at its own time.
        let ended = Offset(sent.0 + ms_to_ns(ended_after_ms(r)));
        steps.push((ended.max(last), Step::Ended, i, ended));
    }
    steps.sort_by_key(|&(order, step, i, _)| (order, step, i));
    let mut aggregator = Aggregator::new(names, slo.clone(), started_at);
    let mut end = Offset::ZERO;
    for (_, step, i, t) in steps {
        let record = &requests[i];
        end = end.max(t);
        aggregator.apply_recorded(&event(t, step, record), record);
    }
    (aggregator.snapshot(end, true).endpoints, end)
}

/// The event of `record` that `step` names, at `t`. Its end is told by the record itself (see
/// [`Aggregator::apply_recorded`]); the content's text is not kept in records, and the live
/// rate needs only the arrival and its chunks.
fn event(t: Offset, step: Step, record: &RequestRecord) -> RaceEvent {
    let kind = match step {
        Step::Sent => EventKind::Sent {
            prompt: record.prompt,
            bytes: record.bytes_sent,
            warmup: record.warmup,
            lag_us: record.send_lag_ms.map(|ms| ms_to_ns(ms) / 1000),
            lap: None,
            retry: record.retry_of.map(|of| Retry {
                of,
                attempt: record.attempt,
            }),
            session: record.session,
            turn: record.turn,
            inputs: record.inputs,
        },
        Step::Content(chunks) => EventKind::Content {
            text: compact_str::CompactString::default(),
            reasoning: false,
            chunks,
            after: None,
            late_us: None,
            unstamped: false,
            tool: None,
        },
        Step::Ended => match record.outcome {
            Outcome::Succeeded => EventKind::Finished {
                finish_reason: record.finish_reason.clone(),
                response_id: record.response_id.clone(),
                bytes: record.bytes_received,
                json_valid: record.json_valid,
                dimension: record.embedding_dimension,
            },
            Outcome::Failed => EventKind::Failed {
                // Every failed record has its class; the record, not this, is folded.
                class: record.error_class.unwrap_or(ErrorClass::Protocol),
                message: record.error_message.clone().unwrap_or_default(),
                status: record.http_status,
                bytes: record.bytes_received,
            },
            Outcome::Cancelled => EventKind::Cancelled {
                bytes: record.bytes_received,
            },
        },
    };
    RaceEvent {
        t,
        endpoint: record.endpoint,
        request: record.request,
        kind,
    }
}

/// How long after its sending a request ended, as far as its record tells: its TTLT when it
/// succeeded, else the last moment it saw.
fn ended_after_ms(r: &RequestRecord) -> f64 {
    if r.outcome == Outcome::Succeeded
        && let Some(ttlt) = r.ttlt_ms
    {
        return ttlt;
    }
    // Records since the end was kept say it; older ones only what came before it.
    if let Some(ended) = r.ended_ms {
        return ended;
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

/// The race's name when its `run.json` is missing: its folder's.
fn folder_name(dir: &Path) -> String {
    dir.file_name()
        .map_or_else(|| "race".to_string(), |n| n.to_string_lossy().into_owned())
}
