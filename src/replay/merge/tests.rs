//! Merging on synthetic shards: the fixture race split by request into shards as `--shard`
//! splits a race (request `i` to shard `i % N`, numbered `i / N` there), then merged. The merge
//! must give back the race the shards were cut from.

use std::path::{Path, PathBuf};

use super::inputs::{self, Opened};
use super::stream::{Source, merged_id};
use super::*;
use crate::config::Shard;
use crate::event::{EventKind, RaceEvent, RequestId};
use crate::record::replay::fixture;
use crate::record::{Replay, ReplayHeader};
use crate::replay::fold_replay;
use crate::stats::distribution::Distribution;
use crate::stats::{Outcome, RequestRecord};

/// A shard's replay held in memory.
struct Held {
    header: ReplayHeader,
    events: std::vec::IntoIter<RaceEvent>,
    end: Option<ReplayEnd>,
    damage: Option<String>,
}

impl Source for Held {
    fn header(&self) -> &ReplayHeader {
        &self.header
    }
    fn next_event(&mut self) -> Option<RaceEvent> {
        self.events.next()
    }
    fn end(&self) -> Option<ReplayEnd> {
        self.end
    }
    fn damage(&self) -> Option<String> {
        self.damage.clone()
    }
}

/// `whole` cut into `count` shards as `--shard` cuts a race: each request, with its events, to
/// shard `id % count`, numbered `id / count` there; the servers' scrapes to every shard.
fn split(whole: &Replay, count: u32) -> Vec<Replay> {
    (0..count)
        .map(|index| {
            let shard = Shard { index, count };
            let mut replay = whole.clone();
            replay.header.race.shard = Some(shard);
            replay.events = whole
                .events
                .iter()
                .filter(|e| e.request == RequestId::SERVER || shard.owns(e.request.0))
                .cloned()
                .map(|mut e| {
                    if e.request != RequestId::SERVER {
                        e.request = RequestId(e.request.0 / u64::from(count));
                    }
                    e
                })
                .collect();
            replay
        })
        .collect()
}

fn opened(replay: Replay, path: &str) -> Opened<Held> {
    let shard = replay.header.race.shard.unwrap();
    Opened {
        path: PathBuf::from(path),
        shard,
        run: None,
        race: replay.header.race.clone(),
        events: Some(Held {
            header: replay.header,
            events: replay.events.into_iter(),
            end: replay.end,
            damage: replay.damage,
        }),
        notices: Vec::new(),
    }
}

fn folders(shards: Vec<Replay>) -> Vec<Opened<Held>> {
    shards
        .into_iter()
        .enumerate()
        .map(|(k, replay)| opened(replay, &format!("shard-{k}")))
        .collect()
}

fn merge_into(shards: Vec<Replay>, allow_missing: bool, out: &Path) -> Merged {
    let (shards, race) = inputs::check(folders(shards), allow_missing).unwrap();
    merge_shards(shards, &race, out).unwrap()
}

fn records(dir: &Path) -> Vec<RequestRecord> {
    std::fs::read_to_string(dir.join(crate::record::files::REQUESTS_JSONL))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn refusal(shards: Vec<Opened<Held>>, allow_missing: bool) -> String {
    match inputs::check(shards, allow_missing) {
        Ok(_) => panic!("merged"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn shards_merged_give_the_numbers_of_their_events_folded_once() {
    let whole = fixture::replay(4, 60);
    let dir = tempfile::tempdir().unwrap();
    let merged = merge_into(split(&whole, 3), false, dir.path());
    let mut folded_records = Vec::new();
    let folded_snapshot = fold_replay(&whole, |r| folded_records.push(r.clone()));
    let summary = &merged.run.summary;
    // Compared with `==`: a failure would print every histogram.
    assert!(summary.endpoints == folded_snapshot.endpoints);
    assert!(summary.costs == folded_snapshot.costs);
    assert_eq!(
        merged.run.info.ended_at,
        clock::wall_time(whole.header.started_at, whole.duration())
    );
    // What was written is what the merge returned.
    // (Its means read back from JSON may differ in the last bit: compared by count.)
    let written = Summary::read(dir.path()).unwrap();
    for (read, merged) in written.endpoints.iter().zip(&summary.endpoints) {
        assert_eq!(read.counts, merged.counts);
        assert_eq!(read.tokens, merged.tokens);
    }
    let run = RunInfo::read(dir.path()).unwrap();
    assert_eq!(run.shards.len(), 3);
    assert!(run.missing_shards.is_empty());
    assert_eq!(run.race.shard, None);
    assert!(!run.interrupted);

    // Every request once, in the ids the whole race gave them, each naming its shard.
    let written = records(dir.path());
    assert_eq!(written.len(), folded_records.len());
    for record in &written {
        assert_eq!(
            record.shard,
            Some(u32::try_from(record.request.0 % 3).unwrap())
        );
    }
    // Read back from JSON, a derived figure may differ in its last bit: the rest must not.
    let key = |r: &RequestRecord| {
        let ms = |v: Option<f64>| v.map(|v| (v * 1000.0).round());
        let tokens = (r.input_tokens, r.output_tokens);
        let times = (ms(r.ttft_ms), ms(r.ttlt_ms), r.itl_ms.len());
        (
            r.request, r.endpoint, r.prompt, r.warmup, r.outcome, tokens, times, r.repeat,
        )
    };
    let mut written: Vec<_> = written.iter().map(key).collect();
    let mut folded: Vec<_> = folded_records.iter().map(key).collect();
    written.sort_by_key(|k| k.0);
    folded.sort_by_key(|k| k.0);
    assert_eq!(written, folded);

    // The one replay plays to the same numbers.
    let replayed = Replay::open(dir.path()).unwrap();
    assert_eq!(replayed.damage, None);
    assert!(fold_replay(&replayed, |_| {}).endpoints == folded_snapshot.endpoints);
}

#[test]
fn merged_percentiles_are_those_of_every_request_record() {
    let whole = fixture::replay(3, 80);
    let dir = tempfile::tempdir().unwrap();
    let shards = split(&whole, 4);
    // The shards' own records, as each shard's requests.jsonl holds them.
    let shard_records: Vec<RequestRecord> = shards
        .iter()
        .flat_map(|shard| {
            let mut records = Vec::new();
            fold_replay(shard, |r| records.push(r.clone()));
            records
        })
        .collect();
    let merged = merge_into(shards, false, dir.path());
    for endpoint in &merged.run.summary.endpoints {
        let mut ttft = Distribution::new();
        let mut ttlt = Distribution::new();
        let mine = shard_records.iter().filter(|r| {
            r.endpoint_name == endpoint.name && !r.warmup && r.outcome == Outcome::Succeeded
        });
        for record in mine {
            ttft.record_ms(record.ttft_ms.unwrap());
            ttlt.record_ms(record.ttlt_ms.unwrap());
        }
        assert_eq!(
            endpoint.latency.ttft_ms,
            ttft.summary(),
            "{}",
            endpoint.name
        );
        assert_eq!(
            endpoint.latency.ttlt_ms,
            ttlt.summary(),
            "{}",
            endpoint.name
        );
    }
}

#[test]
fn a_shard_that_started_later_is_moved_onto_the_shared_clock() {
    let whole = fixture::replay(2, 20);
    let mut shards = split(&whole, 2);
    let later = chrono::Duration::milliseconds(250);
    shards[1].header.started_at += later;
    let dir = tempfile::tempdir().unwrap();
    let merged = merge_into(shards, false, dir.path());
    assert_eq!(merged.run.info.started_at, whole.header.started_at);
    let shifted = whole.duration().as_secs_f64() + 0.25;
    assert!((merged.run.info.duration_s - shifted).abs() < 1e-9);
    // A record of shard 1 was sent 250 ms later on the shared clock than in the shard.
    let record = records(dir.path())
        .into_iter()
        .find(|r| r.shard == Some(1) && !r.warmup)
        .unwrap();
    let mut own = Vec::new();
    fold_replay(&split(&whole, 2)[1], |r| own.push(r.clone()));
    let in_shard = own
        .iter()
        .find(|r| r.request.0 == record.request.0 / 2)
        .unwrap();
    assert!((record.sent_at_s - in_shard.sent_at_s - 0.25).abs() < 1e-9);
    assert_eq!(record.request_time, in_shard.request_time + later);
    let apart = |notices: &[String]| notices.iter().any(|n| n.contains("s apart by their hosts"));
    assert!(!apart(&merged.run.info.notices));

    // Two seconds apart, the shards did not all send at first: said.
    let mut shards = split(&whole, 2);
    shards[1].header.started_at += chrono::Duration::seconds(2);
    let dir = tempfile::tempdir().unwrap();
    let merged = merge_into(shards, false, dir.path());
    assert!(
        apart(&merged.run.info.notices),
        "{:?}",
        merged.run.info.notices
    );
}

#[test]
fn shards_of_two_races_are_refused_saying_what_differs() {
    let whole = fixture::replay(2, 10);
    let mut shards = split(&whole, 2);
    shards[1].header.race.workload.seed = 9;
    let told = refusal(folders(shards), false);
    assert!(
        told.contains("shard 0/2 (shard-0) and shard 1/2 (shard-1)"),
        "{told}"
    );
    assert!(
        told.contains("different races: workload.seed: none vs 9"),
        "{told}"
    );

    // Split into a different number of shards.
    let mut shards = split(&whole, 2);
    shards.extend(split(&whole, 3).into_iter().skip(1).take(1));
    let told = refusal(folders(shards), false);
    assert!(
        told.contains("one splits the race into 2 shards, the other into 3"),
        "{told}"
    );
}

#[test]
fn a_missing_shard_is_named_and_a_repeated_one_refused() {
    let whole = fixture::replay(2, 10);
    let mut shards = split(&whole, 4);
    shards.remove(2);
    let told = refusal(folders(shards.clone()), false);
    assert_eq!(
        told,
        "shard 2/4 missing: pass its folder or --allow-missing"
    );
    shards.remove(0);
    let told = refusal(folders(shards), false);
    assert_eq!(
        told,
        "shards 0/4, 2/4 missing: pass their folders or --allow-missing"
    );

    let mut shards = split(&whole, 2);
    shards.push(shards[1].clone());
    let told = refusal(folders(shards), false);
    assert!(
        told.starts_with("shard 1/2 is given twice: shard-1 and shard-2"),
        "{told}"
    );
}

#[test]
fn allowed_missing_the_gap_is_stated_in_the_run() {
    let whole = fixture::replay(2, 12);
    let mut shards = split(&whole, 3);
    shards.remove(1);
    let dir = tempfile::tempdir().unwrap();
    let merged = merge_into(shards, true, dir.path());
    let run = RunInfo::read(dir.path()).unwrap();
    assert_eq!(run.missing_shards, vec![1]);
    assert_eq!(
        run.shards.iter().map(|s| s.index).collect::<Vec<_>>(),
        [0, 2]
    );
    assert!(
        run.notices[0].starts_with(
            "shard 1/3 (its folder was not given) is missing: this race merges 2 of its 3 \
             shards"
        ),
        "{:?}",
        run.notices
    );
    assert_eq!(run, merged.run.info);
    // The merged replay alone says the same: its header holds the shards and the gap.
    let replay = crate::record::replay::ReplayReader::open(dir.path()).unwrap();
    let rebuilt = crate::replay::load::fold_file(replay, crate::replay::Records::Skip, |_| {});
    assert_eq!(rebuilt.info.missing_shards, run.missing_shards);
    assert_eq!(rebuilt.info.shards, run.shards);
    assert_eq!(rebuilt.info.host, run.host);
    assert_eq!(rebuilt.info.notices[0], run.notices[0]);
    // Each shard recorded the race's concurrency, which the merged race keeps.
    let concurrency = |e: &[crate::record::EndpointInfo]| -> Vec<u32> {
        e.iter().map(|e| e.concurrency).collect()
    };
    assert_eq!(
        concurrency(&run.endpoints),
        concurrency(&whole.header.endpoints)
    );
    // The requests are the two shards' only.
    assert!(records(dir.path()).iter().all(|r| r.shard != Some(1)));
}

#[test]
fn a_shard_without_a_replay_is_refused_or_missing_when_allowed() {
    let whole = fixture::replay(2, 6);
    let mut shards = folders(split(&whole, 2));
    shards[1].events = None;
    let told = refusal(
        folders(split(&whole, 2)).into_iter().take(0).collect(),
        false,
    );
    assert!(told.contains("no folder was given"), "{told}");
    let (checked, _) = inputs::check(shards, true).unwrap();
    assert_eq!(checked.missing.len(), 1);
    assert!(checked.missing[0].why.contains("has no replay"));
    let mut shards = folders(split(&whole, 2));
    shards[1].events = None;
    let told = refusal(shards, false);
    assert!(
        told.starts_with("shard 1/2 (shard-1) has no replay"),
        "{told}"
    );
    assert!(told.contains("--allow-missing"), "{told}");
}

#[test]
fn a_cut_shard_merges_with_its_requests_in_flight_cancelled_and_the_cut_told() {
    let whole = fixture::replay(3, 40);
    let mut shards = split(&whole, 2);
    let half = shards[1].events.len() / 2;
    shards[1].events.truncate(half);
    shards[1].end = None;
    shards[1].damage = Some("the file stops before the race's end (was the race cut off?)".into());
    let dir = tempfile::tempdir().unwrap();
    let merged = merge_into(shards, false, dir.path());
    let info = &merged.run.info;
    assert!(info.interrupted);
    let cut = info
        .notices
        .iter()
        .find(|n| n.contains("was cut off"))
        .unwrap();
    assert!(cut.starts_with("shard 1/2 (shard-1) was cut off"), "{cut}");
    assert!(
        info.notices
            .iter()
            .any(|n| crate::record::replay::damage::is_notice(n) && n.contains("shard 1/2")),
        "{:?}",
        info.notices
    );
    let mut cancelled = 0;
    for e in &merged.run.summary.endpoints {
        let c = e.counts;
        assert_eq!(c.sent, c.succeeded + c.failed + c.cancelled, "{}", e.name);
        cancelled += c.cancelled;
    }
    assert!(cancelled > 0);
    // The merged replay is whole, its cancellations in it: it plays to the same numbers.
    let replayed = Replay::open(dir.path()).unwrap();
    assert_eq!(replayed.damage, None);
    assert!(replayed.end.unwrap().interrupted);
    let again = fold_replay(&replayed, |_| {});
    assert!(again.endpoints == merged.run.summary.endpoints);
    let closed = replayed
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Cancelled { .. }))
        .count();
    assert_eq!(u64::try_from(closed).unwrap(), cancelled);
}

#[test]
fn ids_are_made_unique_by_shard_and_never_take_the_servers() {
    let shard = Shard { index: 2, count: 3 };
    assert_eq!(merged_id(5, shard), Some(17));
    assert_eq!(merged_id(u64::MAX / 2, shard), None);
    let last = Shard { index: 0, count: 1 };
    assert_eq!(merged_id(RequestId::SERVER.0, last), None);
}

#[test]
fn a_merged_folder_or_an_ordinary_race_is_not_a_shard() {
    let dir = tempfile::tempdir().unwrap();
    let race = dir.path().join("race");
    std::fs::create_dir(&race).unwrap();
    fixture::write_file(&race, &fixture::replay(2, 4), None);
    let told = inputs::open(&race).err().unwrap().to_string();
    assert!(
        told.contains("holds a race run without --shard K/N"),
        "{told}"
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let told = inputs::open(&empty).err().unwrap().to_string();
    assert!(
        told.contains("holds no shard's results: it is empty"),
        "{told}"
    );
    std::fs::write(empty.join("notes.txt"), "").unwrap();
    let told = inputs::open(&empty).err().unwrap().to_string();
    assert!(told.contains("is not a race's results folder"), "{told}");
    let told = inputs::open(&dir.path().join("gone"))
        .err()
        .unwrap()
        .to_string();
    assert!(told.contains("does not exist"), "{told}");

    let out = dir.path().join("merged");
    merge_into(split(&fixture::replay(2, 4), 2), false, &out);
    let told = inputs::open(&out).err().unwrap().to_string();
    assert!(
        told.contains("is already a merged race (of 2 shards)"),
        "{told}"
    );
}

#[test]
fn many_missing_shards_are_counted_past_the_first_few() {
    let whole = fixture::replay(1, 4);
    let shards = split(&whole, 20).into_iter().take(1).collect();
    let told = refusal(folders(shards), false);
    assert!(
        told.starts_with(
            "shards 1/20, 2/20, 3/20, 4/20, 5/20, 6/20, 7/20, 8/20, and 11 more missing"
        ),
        "{told}"
    );
}

#[test]
fn a_race_split_past_the_limit_is_taken_for_a_damaged_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut replay = fixture::replay(1, 2);
    replay.header.race.shard = Some(Shard {
        index: 0,
        count: u32::MAX,
    });
    fixture::write_file(dir.path(), &replay, None);
    let told = inputs::open(dir.path()).err().unwrap().to_string();
    assert!(
        told.contains("split into 4294967295 shards, more than merge takes"),
        "{told}"
    );
}

#[test]
fn a_proxy_is_named_for_the_race_only_when_every_shard_went_through_it() {
    let whole = fixture::replay(2, 20);
    let via = |shards: &mut [Replay], k: usize, proxy: &str| {
        for endpoint in &mut shards[k].header.endpoints {
            endpoint.proxy = Some(proxy.to_string());
        }
    };
    let proxy = "http://racer:REDACTED@127.0.0.1:3128";

    // Every shard through the same proxy: the race names it, and says nothing more.
    let dir = tempfile::tempdir().unwrap();
    let mut shards = split(&whole, 2);
    via(&mut shards, 0, proxy);
    via(&mut shards, 1, proxy);
    let merged = merge_into(shards, false, dir.path());
    let run = RunInfo::read(dir.path()).unwrap();
    for endpoint in run.endpoints.iter().chain(&merged.run.info.endpoints) {
        assert_eq!(endpoint.proxy.as_deref(), Some(proxy));
    }
    assert!(
        !run.notices.iter().any(|n| n.contains("proxy")),
        "{:?}",
        run.notices
    );

    // One through it, one direct: no proxy for the race, a notice per shard's route.
    let dir = tempfile::tempdir().unwrap();
    let mut shards = split(&whole, 2);
    via(&mut shards, 0, proxy);
    let merged = merge_into(shards, false, dir.path());
    let run = RunInfo::read(dir.path()).unwrap();
    for endpoint in run.endpoints.iter().chain(&merged.run.info.endpoints) {
        assert_eq!(endpoint.proxy, None, "{}", endpoint.name);
    }
    let replayed = Replay::open(dir.path()).unwrap();
    assert!(replayed.header.endpoints.iter().all(|e| e.proxy.is_none()));
    let names: Vec<&str> = whole
        .header
        .endpoints
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    let said: Vec<&String> = run.notices.iter().filter(|n| n.contains("proxy")).collect();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with(&format!(
            "endpoints {}: shard 0/2 went through the proxy {proxy}, shard 1/2 direct; ",
            names.join(", ")
        )),
        "{}",
        said[0]
    );
    assert!(
        said[0].contains("no one proxy is named for the race"),
        "{}",
        said[0]
    );
}
