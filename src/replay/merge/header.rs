//! The merged race's replay header and what `run.json` says of its shards: the earliest
//! shard's start, the race without its shard, each endpoint's concurrency as the race's (every
//! shard records the whole race's, not its share), the workload's prompts, and every shard listed with its host and start skew.

use chrono::{DateTime, Utc};

use super::inputs::ShardFolder;
use crate::config::{RaceConfig, Shard};
use crate::event::Offset;
use crate::protocol::Message;
use crate::record::ReplayHeader;
use crate::record::run_info::ShardRun;

/// Where a shard's stream starts on the merged clock: how long after `start` it started.
pub(crate) fn shift(started_at: DateTime<Utc>, start: DateTime<Utc>) -> Offset {
    let nanos = (started_at - start).num_nanoseconds().unwrap_or(i64::MAX);
    Offset(u64::try_from(nanos).unwrap_or(0))
}

/// The merged replay's header from the shards' (in shard order, at least one): the race
/// (`race`, its shard cleared) from `start`. `Err` names the first prompt two shards hold
/// differently (their workloads were not the same).
pub(crate) fn merged(
    race: &RaceConfig,
    headers: &[&ReplayHeader],
    start: DateTime<Utc>,
) -> Result<ReplayHeader, usize> {
    let mut race = race.clone();
    race.shard = None;
    let first = headers[0];
    let mut endpoints = first.endpoints.clone();
    for (i, endpoint) in endpoints.iter_mut().enumerate() {
        // Each shard records the race's concurrency (it runs its share of it): the merged race
        // ran the race's, so it is kept, not summed.
        let others = headers.iter().filter_map(|h| h.endpoints.get(i));
        let mut salts: Vec<&str> = others.filter_map(|e| e.salt.as_deref()).collect();
        salts.dedup();
        // A cold race salts each shard's prompts afresh: the merged race had one per shard.
        endpoint.salt = (!salts.is_empty()).then(|| salts.join(", "));
        // One proxy only when every shard went through it (a notice tells a mix).
        endpoint.proxy = super::proxy::agreed(headers, i);
    }
    let mut header = ReplayHeader::new(
        race,
        endpoints,
        prompts(headers.iter().map(|h| h.prompts.as_slice()))?,
        start,
    );
    // What the events mean is the oldest shard's (see `EVENT_FORMAT_VERSION`).
    header.event_format = headers.iter().map(|h| h.event_format).min().unwrap_or(0);
    Ok(header)
}

/// The workload's prompts from the shards': each shard may hold all or some of them (an empty
/// prompt is one it did not keep), so each is taken from the shard that has it. `Err`: the
/// first prompt two shards hold differently.
fn prompts<'a>(each: impl Iterator<Item = &'a [Vec<Message>]>) -> Result<Vec<Vec<Message>>, usize> {
    let mut merged: Vec<Vec<Message>> = Vec::new();
    for prompts in each {
        if merged.len() < prompts.len() {
            merged.resize(prompts.len(), Vec::new());
        }
        for (i, prompt) in prompts.iter().enumerate() {
            if prompt.is_empty() {
                continue;
            }
            if merged[i].is_empty() {
                merged[i].clone_from(prompt);
            } else if merged[i] != *prompt {
                return Err(i);
            }
        }
    }
    Ok(merged)
}

/// A shard as the merged `run.json` lists it: its own `run.json`'s account (host, start, skew)
/// when it wrote one, and the folder it was merged from.
pub(crate) fn shard_run<S>(folder: &ShardFolder<S>) -> ShardRun {
    let Shard { index, count } = folder.shard;
    let run = folder.run.as_ref();
    let own = run.and_then(|r| r.shard.clone());
    ShardRun {
        index,
        count,
        host: own
            .as_ref()
            .map(|s| s.host.clone())
            .or_else(|| run.map(|r| r.host.clone()))
            .unwrap_or_else(|| "unknown".to_string()),
        start_at: own.as_ref().and_then(|s| s.start_at),
        start_skew_ms: own.and_then(|s| s.start_skew_ms),
        folder: Some(folder.path.display().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(text: &str) -> Vec<Message> {
        vec![Message::user(text)]
    }

    #[test]
    fn prompts_are_taken_from_whichever_shard_holds_them() {
        let a = vec![user("a"), Vec::new(), user("c")];
        let b = vec![Vec::new(), user("b")];
        let merged = prompts([a.as_slice(), b.as_slice()].into_iter()).unwrap();
        assert_eq!(merged, vec![user("a"), user("b"), user("c")]);
        let other = vec![user("a"), user("B")];
        assert_eq!(
            prompts([a.as_slice(), b.as_slice(), other.as_slice()].into_iter()),
            Err(1)
        );
    }

    #[test]
    fn a_shard_starting_later_is_shifted_by_the_difference() {
        let start = DateTime::<Utc>::UNIX_EPOCH;
        let later = start + chrono::Duration::milliseconds(1500);
        assert_eq!(shift(later, start), Offset(1_500_000_000));
        assert_eq!(shift(start, start), Offset::ZERO);
    }
}
