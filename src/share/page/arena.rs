//! The arena of the share page: which prompt it shows at each frame and every endpoint's
//! response to it. The rule: once every endpoint has started a prompt it can be shown; the
//! page stays on a prompt while an endpoint is still answering it, then moves to the most
//! recent prompt every endpoint has started (the one whose last start is latest).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::event::{PromptId, RequestId};
use crate::stats::Snapshot;
use crate::stats::snapshot::{RequestState, RequestView};

/// One prompt the arena shows: the request that answered it on each endpoint (`None` where an
/// endpoint's request had left the snapshot's recent requests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heat {
    pub prompt: PromptId,
    pub requests: Vec<Option<RequestId>>,
}

/// Per frame, the index of the heat shown (`None` before any prompt was started by all), and
/// the heats, in the order they were first shown.
pub fn heats(frames: &[&Snapshot]) -> (Vec<Option<usize>>, Vec<Heat>) {
    let mut shown = Vec::with_capacity(frames.len());
    let mut heats: Vec<Heat> = Vec::new();
    let mut current: Option<usize> = None;
    for frame in frames {
        let busy = current.is_some_and(|i| still_answering(frame, &heats[i]));
        if !busy && let Some(heat) = newest_common(frame) {
            let same = current.is_some_and(|i| heats[i] == heat);
            if !same {
                heats.push(heat);
                current = Some(heats.len() - 1);
            }
        }
        shown.push(current);
    }
    (shown, heats)
}

/// Whether a request of `heat` is still in flight in `frame`.
fn still_answering(frame: &Snapshot, heat: &Heat) -> bool {
    frame.endpoints.iter().zip(&heat.requests).any(|(e, id)| {
        e.requests
            .iter()
            .any(|r| Some(r.request) == *id && r.state == RequestState::InFlight)
    })
}

/// The most recent prompt every endpoint has started in `frame` (warm-ups aside), with each
/// endpoint's latest request for it.
fn newest_common(frame: &Snapshot) -> Option<Heat> {
    let mut latest: BTreeMap<PromptId, Vec<Option<&RequestView>>> = BTreeMap::new();
    let endpoints = frame.endpoints.len();
    for (i, e) in frame.endpoints.iter().enumerate() {
        for r in e.requests.iter().filter(|r| !r.warmup) {
            let slot = &mut latest
                .entry(r.prompt)
                .or_insert_with(|| vec![None; endpoints])[i];
            if slot.is_none_or(|seen| seen.sent <= r.sent) {
                *slot = Some(r);
            }
        }
    }
    latest
        .into_iter()
        .filter(|(_, views)| views.iter().all(Option::is_some))
        .max_by_key(|(prompt, views)| {
            let last_start = views.iter().flatten().map(|r| r.sent).max();
            (last_start, *prompt)
        })
        .map(|(prompt, views)| Heat {
            prompt,
            requests: views.iter().map(|r| r.map(|r| r.request)).collect(),
        })
}

/// The latest view of every request the heats name, by endpoint and request: later frames
/// have more of the response.
pub fn responses<'a>(
    frames: impl IntoIterator<Item = &'a Snapshot>,
    heats: &[Heat],
) -> BTreeMap<(usize, RequestId), Arc<RequestView>> {
    let wanted: BTreeSet<(usize, RequestId)> = heats
        .iter()
        .flat_map(|h| {
            h.requests
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.map(|r| (i, r)))
        })
        .collect();
    let mut views = BTreeMap::new();
    for frame in frames {
        for (i, e) in frame.endpoints.iter().enumerate() {
            for r in &e.requests {
                if wanted.contains(&(i, r.request)) {
                    views.insert((i, r.request), Arc::clone(r));
                }
            }
        }
    }
    views
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::replay::fixture;

    #[test]
    fn the_arena_shows_prompts_every_endpoint_started_and_stays_while_one_answers() {
        let dir = tempfile::tempdir().unwrap();
        fixture::write_file(dir.path(), &fixture::replay(3, 30), None);
        let shared = crate::share::record(dir.path()).unwrap();
        let frames: Vec<&Snapshot> = shared.frames.iter().collect();
        let (shown, heats) = heats(&frames);
        assert_eq!(shown.len(), frames.len());
        assert!(
            heats.len() > 1,
            "the fixture's endpoints answer the same prompts"
        );
        let mut previous: Option<usize> = None;
        for (frame, shown) in frames.iter().zip(&shown) {
            let Some(i) = *shown else {
                assert!(previous.is_none(), "once shown, the arena never empties");
                continue;
            };
            // Every endpoint had started the heat's prompt when it was first shown.
            if previous != Some(i) {
                for (e, id) in frame.endpoints.iter().zip(&heats[i].requests) {
                    let r = e.requests.iter().find(|r| Some(r.request) == *id).unwrap();
                    assert_eq!(r.prompt, heats[i].prompt);
                }
                // And the heat before it was answered by then.
                if let Some(before) = previous {
                    assert!(!still_answering(frame, &heats[before]));
                }
            }
            previous = Some(i);
        }
        let views = responses(shared.frames.iter().chain([&shared.last]), &heats);
        for heat in &heats {
            for (i, id) in heat.requests.iter().enumerate() {
                assert_eq!(views[&(i, id.unwrap())].prompt, heat.prompt);
            }
        }
    }
}
