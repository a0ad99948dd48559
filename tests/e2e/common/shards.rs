//! Shard folders for `llmrace merge` made from ordinary races: each race is run through the
//! real binary, then marked as shard K of N the way `llmrace race --shard K/N` marks its own
//! (`shard` and `race.shard` in `run.json`; for a killed shard, which wrote no `run.json`, the
//! race in its replay's header).
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use super::running::BIN;

/// An ordinary race of `requests` requests against `endpoint` with `seed`, its results in
/// `out`, then marked as shard `index` of `count` run on `host`.
pub fn shard_race(out: &Path, endpoint: &str, seed: &str, shard: (u32, u32), host: &str) {
    let ran = Command::new(BIN)
        .args(["race", "-q", "-e", endpoint, "-n", "12", "-c", "2"])
        .args(["--seed", seed, "-o", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    mark_run(out, shard, host);
}

/// Marks the race in `dir` as shard `index` of `count`, as `--shard` does in `run.json`.
pub fn mark_run(dir: &Path, (index, count): (u32, u32), host: &str) {
    let path = dir.join("run.json");
    let mut run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    run["shard"] = serde_json::json!({
        "index": index, "count": count, "host": host, "start_skew_ms": 0.25 * f64::from(index),
    });
    run["race"]["shard"] = serde_json::json!({ "index": index, "count": count });
    std::fs::write(&path, serde_json::to_vec_pretty(&run).unwrap()).unwrap();
}

/// Marks the replay in `dir` (whole or cut) as shard `index` of `count` in its header's race:
/// what a shard killed before writing `run.json` leaves to tell which it was. What the file
/// held past its last whole byte stays cut.
pub fn mark_replay(dir: &Path, (index, count): (u32, u32)) {
    let path = dir.join("replay.jsonl.gz");
    let mut text = Vec::new();
    // A cut file fails at its cut; what came before it is kept.
    let _ = flate2::read::MultiGzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_end(&mut text);
    let first = text.iter().position(|&b| b == b'\n').unwrap();
    let mut header: serde_json::Value = serde_json::from_slice(&text[..first]).unwrap();
    header["race"]["shard"] = serde_json::json!({ "index": index, "count": count });
    let mut out = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    out.write_all(&serde_json::to_vec(&header).unwrap())
        .unwrap();
    out.write_all(&text[first..]).unwrap();
    out.finish().unwrap();
}

/// The JSON file `name` of the results folder `dir`.
pub fn json(dir: &Path, name: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join(name)).unwrap()).unwrap()
}

/// `llmrace merge ARGS…`: exit code, stdout, stderr.
pub fn merge(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).arg("merge").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Cuts the replay in `dir` halfway through its events, its end lost, as a damaged copy
/// would be.
pub fn cut_replay(dir: &Path) {
    let path = dir.join("replay.jsonl.gz");
    let bytes = super::replay_lines::decompressed(&path);
    // The events start after the header line and its prompt lines.
    let header = bytes.iter().position(|&b| b == b'\n').unwrap();
    let header_json: serde_json::Value = serde_json::from_slice(&bytes[..header]).unwrap();
    let prompts = usize::try_from(header_json["prompt_lines"].as_u64().unwrap()).unwrap();
    let mut lines = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n');
    let (events, _) = lines.nth(prompts).unwrap();
    let cut = events + 1 + (bytes.len() - events) / 2;
    let mut out = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    out.write_all(&bytes[..cut]).unwrap();
    out.finish().unwrap();
}
