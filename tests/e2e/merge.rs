//! `llmrace merge` through the real binary: shards' folders merged into one that counts every
//! request of every shard, with percentiles exact over all of them, one replay, and `report`,
//! `compare` and `replay` working on it; shards of different races, a missing shard or one
//! given twice refused with exit 2; `--allow-missing` and a killed shard stated in the outputs;
//! thresholds judged on the merged race.
//!
//! `--shard` is another branch's: until both are merged, shards are ordinary races marked as
//! shards in their files (`common::shards`), and the test against the real flag is ignored.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::race::records;
use crate::common::running::{BIN, Running, check_accounting};
use crate::common::shards::{cut_replay, json, mark_replay, mark_run, merge, shard_race};
use llmrace::stats::distribution::Distribution;
use llmrace::stats::{Outcome, RequestRecord};

const ENDPOINTS: &str = "a=openai:mock://instant,tokens=12,ttft=3ms,itl=1ms#m";

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Three shards of one race (seed 7) in `dir`, as `s0`, `s1` and `s2`.
fn three_shards(dir: &Path) -> Vec<PathBuf> {
    (0..3)
        .map(|k| {
            let out = dir.join(format!("s{k}"));
            shard_race(&out, ENDPOINTS, "7", (k, 3), &format!("host-{k}"));
            out
        })
        .collect()
}

fn llmrace(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn merged_shards_count_every_request_with_exact_percentiles() {
    let dir = tempfile::tempdir().unwrap();
    let shards = three_shards(dir.path());
    let merged = dir.path().join("merged");
    let mut args: Vec<&str> = shards.iter().map(|s| path(s)).collect();
    args.extend(["-o", path(&merged)]);
    let (code, stdout, stderr) = merge(&args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "Merged 3 of 3 shards: 0/3 on host-0 (start skew +0.0 ms), 1/3 on host-1 (start \
             skew +0.2 ms), 2/3 on host-2"
        ),
        "{stdout}"
    );

    // Every count and token total is the shards' together.
    let summary = json(&merged, "summary.json");
    let endpoint = &summary["endpoints"][0];
    for field in ["sent", "succeeded", "failed", "cancelled", "warmup"] {
        let shards_total: u64 = shards
            .iter()
            .map(|s| {
                json(s, "summary.json")["endpoints"][0]["counts"][field]
                    .as_u64()
                    .unwrap()
            })
            .sum();
        assert_eq!(
            endpoint["counts"][field].as_u64(),
            Some(shards_total),
            "{field}"
        );
    }
    for field in ["input", "output", "chunks"] {
        let shards_total: u64 = shards
            .iter()
            .map(|s| {
                json(s, "summary.json")["endpoints"][0]["tokens"][field]
                    .as_u64()
                    .unwrap()
            })
            .sum();
        assert_eq!(
            endpoint["tokens"][field].as_u64(),
            Some(shards_total),
            "{field}"
        );
    }
    check_accounting(&merged);

    // The percentiles are those of every shard's request records together.
    let all: Vec<RequestRecord> = shards.iter().flat_map(|s| records(s)).collect();
    assert_percentiles_of(&all, endpoint);

    // Every record once, ids unique, each naming its shard; run.json lists the shards.
    let merged_records = records(&merged);
    assert_eq!(merged_records.len(), all.len());
    let mut ids: Vec<u64> = merged_records.iter().map(|r| r.request.0).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all.len());
    assert!(
        merged_records
            .iter()
            .all(|r| r.shard == Some(u32::try_from(r.request.0 % 3).unwrap()))
    );
    let csv = std::fs::read_to_string(merged.join("requests.csv")).unwrap();
    assert!(csv.lines().next().unwrap().contains(",repeat,shard,"));
    let run = json(&merged, "run.json");
    assert_eq!(run["shards"].as_array().unwrap().len(), 3);
    assert_eq!(run["shards"][2]["host"], "host-2");
    assert_eq!(run["shards"][1]["folder"], path(&shards[1]));
    assert_eq!(run["host"], "host-0, host-1, host-2");
    assert!(run.get("missing_shards").is_none());
    // Each shard records the race's concurrency (2), not its share: the merged race ran 2.
    assert_eq!(run["endpoints"][0]["concurrency"], 2);

    read_as_any_other(dir.path(), &shards[0], &merged, endpoint);
}

/// The percentiles of `endpoint` (of `summary.json`) are those of `records`' requests.
fn assert_percentiles_of(records: &[RequestRecord], endpoint: &serde_json::Value) {
    let mut ttft = Distribution::new();
    let mut ttlt = Distribution::new();
    for r in records
        .iter()
        .filter(|r| !r.warmup && r.outcome == Outcome::Succeeded)
    {
        ttft.record_ms(r.ttft_ms.unwrap());
        ttlt.record_ms(r.ttlt_ms.unwrap());
    }
    for (name, expected) in [("ttft_ms", ttft.summary()), ("ttlt_ms", ttlt.summary())] {
        let expected = expected.unwrap();
        let got = &endpoint["latency"][name];
        assert_eq!(got["count"].as_u64(), Some(expected.count), "{name}");
        for (q, want) in [
            ("p50", expected.p50),
            ("p90", expected.p90),
            ("p95", expected.p95),
            ("p99", expected.p99),
            ("max", expected.max),
        ] {
            let value = got[q].as_f64().unwrap();
            assert!((value - want).abs() < 1e-9, "{name}.{q}: {value} vs {want}");
        }
    }
}

/// `report`, `compare` and `replay` read the merged folder as any other.
fn read_as_any_other(dir: &Path, shard: &Path, merged: &Path, endpoint: &serde_json::Value) {
    let (code, text) = llmrace(&["report", path(merged), "--format", "md"]);
    assert_eq!(code, 0, "{text}");
    let (code, text) = llmrace(&["compare", path(shard), path(merged)]);
    assert_eq!(code, 0, "{text}");
    let (code, text) = llmrace(&["replay", "--headless", path(merged)]);
    assert_eq!(code, 0, "{text}");
    assert!(!text.contains("damaged"), "{text}");
    // The replay gives back the merged numbers.
    let again = dir.join("again");
    let (code, text) = llmrace(&["report", path(merged), "--results", path(&again)]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        json(&again, "summary.json")["endpoints"][0]["counts"],
        endpoint["counts"]
    );
    // Byte for byte: the merge folded the replay it wrote, each record naming its shard.
    for name in ["requests.jsonl", "requests.csv", "summary.json"] {
        let read = |d: &Path| std::fs::read(d.join(name)).unwrap();
        assert!(read(&again) == read(merged), "{name}");
    }
    // The shards, their hosts and the race's concurrency are in the replay too.
    let (run, rebuilt) = (json(merged, "run.json"), json(&again, "run.json"));
    for field in ["host", "shards", "endpoints"] {
        assert_eq!(rebuilt[field], run[field], "{field}");
    }
}

#[test]
fn shards_of_different_races_missing_or_repeated_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s0 = dir.path().join("s0");
    let s1 = dir.path().join("s1");
    let other = dir.path().join("other");
    shard_race(&s0, ENDPOINTS, "7", (0, 2), "h");
    shard_race(&s1, ENDPOINTS, "7", (1, 2), "h");
    shard_race(&other, ENDPOINTS, "8", (1, 2), "h");
    let out = dir.path().join("out");
    let o = path(&out);

    let (code, _, stderr) = merge(&[path(&s0), path(&other), "-o", o]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("are shards of different races"), "{stderr}");
    assert!(stderr.contains("workload.seed: 7 vs 8"), "{stderr}");

    let (code, _, stderr) = merge(&[path(&s0), "-o", o]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("shard 1/2 missing: pass its folder or --allow-missing"),
        "{stderr}"
    );

    let (code, _, stderr) = merge(&[path(&s0), path(&s1), path(&s1), "-o", o]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("shard 1/2 is given twice"), "{stderr}");

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (code, _, stderr) = merge(&[path(&s0), path(&empty), "-o", o]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("holds no shard's results"), "{stderr}");
    assert!(stderr.contains("--allow-missing"), "{stderr}");
    let (code, _, stderr) = merge(&[path(&s0), path(&s1), "-o", path(&s1)]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("already holds llmrace's results"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is written when refused");

    // Allowed, the gap is said in run.json, its notices, the table and the report.
    let (code, stdout, stderr) = merge(&[path(&s0), "-o", o, "--allow-missing"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Merged 1 of 2 shards"), "{stdout}");
    assert!(stdout.contains("missing: 1/2"), "{stdout}");
    assert!(
        stderr.contains("shard 1/2 (its folder was not given) is missing"),
        "{stderr}"
    );
    let run = json(&out, "run.json");
    assert_eq!(run["missing_shards"], serde_json::json!([1]));
    assert!(
        run["notices"][0].as_str().unwrap().contains("is missing"),
        "{run}"
    );
    let (code, text) = llmrace(&["report", o, "--format", "md"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("shard 1/2 (its folder was not given) is missing"),
        "{text}"
    );
    // Rebuilt from the merged replay alone, the gap is still said.
    let again = dir.path().join("again");
    let (code, text) = llmrace(&["report", o, "--results", path(&again)]);
    assert_eq!(code, 0, "{text}");
    let rebuilt = json(&again, "run.json");
    assert_eq!(rebuilt["missing_shards"], serde_json::json!([1]));
    assert_eq!(rebuilt["host"], "h");
    assert!(
        rebuilt["notices"][0]
            .as_str()
            .unwrap()
            .contains("shard 1/2 (its folder was not given) is missing"),
        "{rebuilt}"
    );
    let (code, text) = llmrace(&["replay", "--headless", o]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("is missing"), "{text}");
}

/// A shard killed before it wrote anything (an empty folder, or a 0-byte replay beside its
/// `.partial` files): refused with what to do, a missing shard with --allow-missing.
#[test]
fn a_shard_killed_before_its_first_flush_is_a_missing_shard_when_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let s0 = dir.path().join("shard-0");
    shard_race(&s0, ENDPOINTS, "7", (0, 3), "h");
    let s1 = dir.path().join("shard-1");
    std::fs::create_dir(&s1).unwrap();
    for name in [
        "replay.jsonl.gz",
        "requests.jsonl.partial",
        "requests.csv.partial",
    ] {
        std::fs::write(s1.join(name), b"").unwrap();
    }
    let s2 = dir.path().join("shard-2");
    std::fs::create_dir(&s2).unwrap();
    let out = dir.path().join("out");
    let o = path(&out);

    let (code, _, stderr) = merge(&[path(&s0), path(&s1), path(&s2), "-o", o]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("shard-1 holds no shard's results"),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-missing"), "{stderr}");
    assert!(stderr.contains("leave the folder out"), "{stderr}");
    assert!(!out.exists());

    let (code, stdout, stderr) =
        merge(&[path(&s0), path(&s1), path(&s2), "-o", o, "--allow-missing"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("Merged 1 of 3 shards"), "{stdout}");
    let run = json(&out, "run.json");
    assert_eq!(run["missing_shards"], serde_json::json!([1, 2]));
    let notice = run["notices"][0].as_str().unwrap();
    assert!(notice.contains("are missing"), "{notice}");
    assert!(
        notice.contains("shard 1/3 (no folder holding its results was given)"),
        "{notice}"
    );
    assert!(
        notice.contains(&format!("{} (its replay.jsonl.gz is empty", path(&s1))),
        "{notice}"
    );
    assert!(
        notice.contains(&format!("{} (it is empty", path(&s2))),
        "{notice}"
    );
    check_accounting(&out);

    // Every shard there and an empty folder besides: it is said to be left out.
    let s1 = dir.path().join("s1-whole");
    let s2 = dir.path().join("s2-whole");
    shard_race(&s1, ENDPOINTS, "7", (1, 3), "h");
    shard_race(&s2, ENDPOINTS, "7", (2, 3), "h");
    let empty = dir.path().join("shard-3");
    std::fs::create_dir(&empty).unwrap();
    let all = dir.path().join("all");
    let (code, _, stderr) = merge(&[
        path(&s0),
        path(&s1),
        path(&s2),
        path(&empty),
        "-o",
        path(&all),
        "--allow-missing",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!("holding no shard's results (every shard of the race is merged from the other folders): {} (it is empty", path(&empty))),
        "{stderr}"
    );
    let s1 = dir.path().join("shard-1");
    let s2 = dir.path().join("shard-2");

    // Nothing to merge at all: said, not a crash.
    let none = dir.path().join("none");
    let (code, _, stderr) = merge(&[path(&s1), path(&s2), "-o", path(&none), "--allow-missing"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no shard left to merge"), "{stderr}");
}

/// A shard that finished but whose replay was damaged afterwards is not taken for a killed
/// one silently: the requests its requests.jsonl holds beyond the replay are counted aloud.
#[test]
fn a_finished_shard_with_a_cut_replay_says_what_the_merge_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let s0 = dir.path().join("s0");
    let s1 = dir.path().join("s1");
    shard_race(&s0, ENDPOINTS, "7", (0, 2), "h");
    shard_race(&s1, ENDPOINTS, "7", (1, 2), "h");
    cut_replay(&s1);
    let out = dir.path().join("out");
    let (code, stdout, stderr) = merge(&[path(&s0), path(&s1), "-o", path(&out)]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let recorded = records(&s1).len();
    let kept = records(&out).iter().filter(|r| r.shard == Some(1)).count();
    assert!(kept < recorded, "{kept} of {recorded}");
    let told =
        format!("its requests.jsonl holds {recorded} requests, the merged race {kept} of them");
    assert!(
        stderr.contains("FINISHED (its run.json says so)"),
        "{stderr}"
    );
    assert!(stderr.contains(&told), "{stderr}");
    let run = json(&out, "run.json");
    assert!(
        run["notices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains(&told)),
        "{run}"
    );
}

/// A damaged run.json is said; a run.json of another shard than its replay's is refused.
#[test]
fn a_shard_run_json_damaged_or_of_another_shard_is_not_merged_silently() {
    let dir = tempfile::tempdir().unwrap();
    let s0 = dir.path().join("s0");
    let s1 = dir.path().join("s1");
    shard_race(&s0, ENDPOINTS, "7", (0, 2), "h");
    shard_race(&s1, ENDPOINTS, "7", (1, 2), "h");
    mark_replay(&s1, (1, 2));
    let run_json = s1.join("run.json");
    let whole = std::fs::read(&run_json).unwrap();

    std::fs::write(&run_json, &whole[..whole.len() / 2]).unwrap();
    let out = dir.path().join("out");
    let (code, stdout, stderr) = merge(&[path(&s0), path(&s1), "-o", path(&out)]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!("shard 1/2: {} cannot be read", path(&run_json))),
        "{stderr}"
    );
    assert!(
        json(&out, "run.json")["notices"]
            .to_string()
            .contains("cannot be read")
    );

    std::fs::write(&run_json, &whole).unwrap();
    mark_run(&s1, (0, 2), "h");
    let out = dir.path().join("out2");
    let (code, _, stderr) = merge(&[path(&s0), path(&s1), "-o", path(&out)]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("its run.json says it is shard 0/2, its replay says shard 1/2"),
        "{stderr}"
    );
    assert!(!out.exists());
}

#[test]
fn thresholds_are_judged_on_the_merged_race() {
    let dir = tempfile::tempdir().unwrap();
    let s0 = dir.path().join("s0");
    let s1 = dir.path().join("s1");
    shard_race(&s0, ENDPOINTS, "7", (0, 2), "h");
    shard_race(&s1, ENDPOINTS, "7", (1, 2), "h");
    let args = |out: &Path, expr: &str| {
        let (code, _, stderr) = merge(&[path(&s0), path(&s1), "-o", path(out), "--fail-if", expr]);
        (code, stderr)
    };
    let (code, stderr) = args(&dir.path().join("pass"), "ttft.p95 > 10s");
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("ttft.p95 > 10s"), "{stderr}");
    let (code, stderr) = args(&dir.path().join("fail"), "ttft.p50 > 1ms");
    assert_eq!(code, 1, "{stderr}");
    let (code, stderr) = args(&dir.path().join("bad"), "ttft.p50 >");
    assert_eq!(code, 2, "{stderr}");
    assert!(!dir.path().join("bad").exists());
}

#[test]
fn a_killed_shard_merges_with_what_is_missing_said() {
    let dir = tempfile::tempdir().unwrap();
    let s0 = dir.path().join("s0");
    shard_race(&s0, ENDPOINTS, "7", (0, 2), "h");
    // Shard 1 killed mid-race: no run.json, its replay cut.
    let s1 = dir.path().join("s1");
    let mut race = Running::start(&[
        "race",
        "--headless",
        "-e",
        ENDPOINTS,
        "-n",
        "1000000",
        "-c",
        "2",
        "--seed",
        "7",
        "-o",
        path(&s1),
    ]);
    race.wait_for_progress(3);
    race.signal("KILL");
    assert_eq!(race.end().code, None);
    assert!(!s1.join("run.json").exists());
    mark_replay(&s1, (1, 2));

    let out = dir.path().join("out");
    let (code, stdout, stderr) = merge(&[path(&s0), path(&s1), "-o", path(&out)]);
    // The killed shard's race asked for a million requests, the other twelve: different
    // races. Given the same count, they merge.
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains("load.requests: 12 vs 1000000"), "{stderr}");
    let s0 = dir.path().join("s0-long");
    long_shard(&s0);
    let (code, stdout, stderr) = merge(&[path(&s0), path(&s1), "-o", path(&out)]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let run = json(&out, "run.json");
    assert_eq!(run["interrupted"], true);
    let notices: Vec<&str> = run["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notices
            .iter()
            .any(|n| n.starts_with("the replay is damaged: shard 1/2")),
        "{notices:?}"
    );
    assert!(
        notices.iter().any(|n| n.contains("shard 1/2")
            && n.contains("was cut off")
            && n.contains("counted as cancelled")),
        "{notices:?}"
    );
    assert_eq!(run["shards"][1]["host"], "unknown");
    check_accounting(&out);
}

/// A stopped (Ctrl-C) shard 0 of the killed one's race, so that their races are one.
fn long_shard(out: &Path) {
    let mut race = Running::start(&[
        "race",
        "--headless",
        "-e",
        ENDPOINTS,
        "-n",
        "1000000",
        "-c",
        "2",
        "--seed",
        "7",
        "-o",
        path(out),
    ]);
    race.wait_for_progress(1);
    race.signal("INT");
    race.end();
    mark_run(out, (0, 2), "h");
}

/// The test: N shard processes against the mock, merged, equal a single-process race
/// of the same workload in every count and token total.
#[test]
fn local_shard_processes_merged_equal_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let race = |out: &Path, shard: Option<&str>| {
        let mut command = Command::new(BIN);
        command.args([
            "race", "-q", "-e", ENDPOINTS, "-n", "24", "-c", "4", "--seed", "7",
        ]);
        command.args(["-o", path(out)]);
        if let Some(shard) = shard {
            command.args(["--shard", shard]);
        }
        let ran = command.output().unwrap();
        assert!(
            ran.status.success(),
            "{}",
            String::from_utf8_lossy(&ran.stderr)
        );
    };
    let whole = dir.path().join("whole");
    race(&whole, None);
    let shards: Vec<PathBuf> = (0..4).map(|k| dir.path().join(format!("s{k}"))).collect();
    let running: Vec<_> = shards
        .iter()
        .enumerate()
        .map(|(k, out)| {
            let out = out.clone();
            std::thread::spawn(move || race(&out, Some(&format!("{k}/4"))))
        })
        .collect();
    for shard in running {
        shard.join().unwrap();
    }
    let merged = dir.path().join("merged");
    let mut args: Vec<&str> = shards.iter().map(|s| path(s)).collect();
    args.extend(["-o", path(&merged)]);
    let (code, stdout, stderr) = merge(&args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (one, all) = (json(&whole, "summary.json"), json(&merged, "summary.json"));
    for field in ["sent", "succeeded", "failed", "cancelled"] {
        assert_eq!(
            all["endpoints"][0]["counts"][field], one["endpoints"][0]["counts"][field],
            "{field}"
        );
    }
    for field in ["input", "output", "cached_input", "reasoning", "chunks"] {
        assert_eq!(
            all["endpoints"][0]["tokens"][field], one["endpoints"][0]["tokens"][field],
            "{field}"
        );
    }
    assert_eq!(records(&merged).len(), records(&whole).len());
}
