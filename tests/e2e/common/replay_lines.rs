//! A replay's content for tests that look inside it: its events as JSON lines (`llmrace
//! replay --jsonl`, format 2, which tests can damage line by line), or its decompressed bytes
//! as they are on disk (format 3: a JSON header, then binary records).
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use std::io::Read;
use std::path::Path;
use std::process::Command;

use super::running::BIN;

/// The replay at `path` (a file or a results folder) as JSON lines.
pub fn json_lines(path: &Path) -> String {
    let out = Command::new(BIN)
        .args(["replay", "--jsonl"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The replay file's bytes, decompressed: up to a cut, when it is cut.
pub fn decompressed(path: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    let _ = flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut bytes);
    bytes
}
