//! Where a race's results go: a fresh folder per race under the platform data folder, or the
//! folder the user named.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

/// The platform's data folder for llmrace runs (`~/.local/share/llmrace/runs` on Linux).
pub fn default_runs_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "llmrace").map(|dirs| dirs.data_dir().join("runs"))
}

/// A new folder name for a race started at `start`, unique within `parent`.
pub fn race_folder(parent: &Path, name: &str, start: DateTime<Utc>) -> PathBuf {
    let base = format!("{}-{}", start.format("%Y%m%d-%H%M%S"), slug(name));
    let mut candidate = parent.join(&base);
    let mut n = 2;
    while candidate.exists() {
        candidate = parent.join(format!("{base}-{n}"));
        n += 1;
    }
    candidate
}

/// The results folders under `parent` that hold a replay, newest first (folder names start
/// with the race's UTC start, so they sort by time).
pub fn recent_races(parent: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut folders: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join(super::REPLAY_FILE).is_file())
        .collect();
    folders.sort();
    folders.reverse();
    folders
}

/// A file-name-safe, lower-case version of a race name.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-');
    if out.is_empty() {
        "race".to_string()
    } else {
        out.chars().take(40).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_safe() {
        assert_eq!(slug("My Race: vLLM vs TGI!"), "my-race-vllm-vs-tgi");
        assert_eq!(slug("../../etc"), "etc");
        assert_eq!(slug("日本"), "race");
    }

    #[test]
    fn folders_do_not_collide() {
        let dir = tempfile::tempdir().unwrap();
        let start = DateTime::parse_from_rfc3339("2026-11-23T06:00:00Z")
            .unwrap()
            .to_utc();
        let first = race_folder(dir.path(), "demo", start);
        assert!(first.ends_with("20261123-060000-demo"));
        std::fs::create_dir(&first).unwrap();
        let second = race_folder(dir.path(), "demo", start);
        assert!(second.ends_with("20261123-060000-demo-2"));
    }
}
