//! The arena's heats: a prompt that every endpoint has been sent, with each endpoint's latest
//! request for it, found among the recent requests a snapshot already keeps (no extra state in
//! the aggregator). Each run's figures (elapsed, tokens/s) and the finishing order are worked
//! out here, from the snapshot alone, so views only draw them.

use std::collections::HashMap;

use super::snapshot::{RequestState, RequestView, Snapshot};
use crate::event::{Offset, PromptId};

/// A prompt every endpoint has been sent: the arena shows its runs side by side.
#[derive(Clone, Debug, PartialEq)]
pub struct Heat<'s> {
    pub prompt: PromptId,
    /// One run per endpoint, in the snapshot's endpoint order.
    pub runs: Vec<Run<'s>>,
}

/// One endpoint's request in a heat, with its figures at the snapshot's time.
#[derive(Clone, Debug, PartialEq)]
pub struct Run<'s> {
    pub request: &'s RequestView,
    /// How long it ran: its duration once ended, else the time since it was sent.
    pub elapsed_ms: f64,
    /// Output tokens per second: the counted tokens over the duration once it succeeded
    /// (as `output_tps`); while it streams, chunks so far over the time since it was sent.
    pub tokens_per_s: Option<f64>,
    /// `tokens_per_s` is a live estimate from chunks, not the final count.
    pub live: bool,
    /// Its place among the runs that succeeded, by duration (1 = fastest); `None` while it
    /// runs, and for one that failed or was cancelled.
    pub place: Option<usize>,
}

/// The prompts every endpoint's recent requests (warm-ups left out) include, oldest first:
/// ordered by when the last endpoint to start the prompt started it. Empty when there are no
/// endpoints or none in common (one endpoint ran far ahead of another: the snapshot keeps
/// each endpoint's last `RECENT_REQUESTS`).
#[must_use]
pub fn prompts(snapshot: &Snapshot) -> Vec<PromptId> {
    let latest = latest_by_prompt(snapshot);
    let Some((first, others)) = latest.split_first() else {
        return Vec::new();
    };
    let mut common: Vec<(Offset, PromptId)> = first
        .iter()
        .filter_map(|(prompt, request)| {
            let mut started = request.sent;
            for other in others {
                started = started.max(other.get(prompt)?.sent);
            }
            Some((started, *prompt))
        })
        .collect();
    common.sort_unstable();
    common.into_iter().map(|(_, prompt)| prompt).collect()
}

/// The heat of `prompt`: every endpoint's latest request for it, with the figures; `None` when
/// some endpoint has no recent request for it.
#[must_use]
pub fn heat(snapshot: &Snapshot, prompt: PromptId) -> Option<Heat<'_>> {
    let mut runs = snapshot
        .endpoints
        .iter()
        .map(|endpoint| {
            let request = endpoint
                .requests
                .iter()
                .rev()
                .find(|r| r.prompt == prompt && !r.warmup)?;
            Some(run(snapshot.t, request))
        })
        .collect::<Option<Vec<Run<'_>>>>()?;
    let mut finished: Vec<(f64, usize)> = runs
        .iter()
        .enumerate()
        .filter(|(_, run)| run.request.state == RequestState::Succeeded)
        .map(|(i, run)| (run.elapsed_ms, i))
        .collect();
    finished.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for (place, (_, i)) in finished.into_iter().enumerate() {
        runs[i].place = Some(place + 1);
    }
    Some(Heat { prompt, runs })
}

fn run(now: Offset, request: &RequestView) -> Run<'_> {
    let elapsed_ms = request
        .ended_ms
        .unwrap_or_else(|| now.since(request.sent).as_secs_f64() * 1000.0);
    let chunks: u32 = request.segments.iter().map(|s| s.chunks).sum();
    let succeeded = request.state == RequestState::Succeeded;
    let (tokens_per_s, live) = match (request.output_tokens, request.ended_ms) {
        (Some(tokens), Some(ended)) if succeeded && ended > 0.0 => {
            (Some(f64::from(tokens) / (ended / 1000.0)), false)
        }
        (None, None) if chunks > 0 && elapsed_ms > 0.0 => {
            (Some(f64::from(chunks) / (elapsed_ms / 1000.0)), true)
        }
        _ => (None, false),
    };
    Run {
        request,
        elapsed_ms,
        tokens_per_s,
        live,
        place: None,
    }
}

/// For each endpoint, its latest measured request per prompt among those the snapshot keeps.
fn latest_by_prompt(snapshot: &Snapshot) -> Vec<HashMap<PromptId, &RequestView>> {
    snapshot
        .endpoints
        .iter()
        .map(|endpoint| {
            let mut latest = HashMap::with_capacity(endpoint.requests.len());
            // Oldest first: a later request for the same prompt replaces an earlier one.
            for request in endpoint.requests.iter().filter(|r| !r.warmup) {
                latest.insert(request.prompt, request.as_ref());
            }
            latest
        })
        .collect()
}

#[cfg(test)]
mod tests;
