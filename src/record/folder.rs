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

/// Checks a results folder the user named (`-o DIR`) before anything is sent: it must be a
/// folder or not exist yet, and it must not hold an earlier race's results, which the race
/// would overwrite, unless `force` says to; then they are removed, so that none (a replay the
/// new race does not record) outlives it. The error says what is there and what to do.
pub fn prepare_named_folder(dir: &Path, force: bool) -> Result<(), String> {
    if dir.exists() && !dir.is_dir() {
        return Err(format!(
            "--out {} is a file, not a folder: name a folder for the results (it is created \
             when missing)",
            dir.display()
        ));
    }
    let names = super::results::RESULT_FILES
        .iter()
        .chain(std::iter::once(&super::REPLAY_FILE));
    let held: Vec<PathBuf> = names
        .flat_map(|name| [dir.join(name), super::results::partial(dir, name)])
        .filter(|path| path.exists())
        .collect();
    if held.is_empty() {
        return Ok(());
    }
    if force {
        for path in &held {
            std::fs::remove_file(path)
                .map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
        }
        return Ok(());
    }
    let held: Vec<String> = held
        .iter()
        .filter_map(|path| Some(path.file_name()?.to_string_lossy().into_owned()))
        .collect();
    Err(format!(
        "--out {} already holds a race's results ({}), which this race would overwrite\n  \
         help: name a new folder, or add --force to replace them",
        dir.display(),
        held.join(", ")
    ))
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
    #[test]
    fn a_named_folder_with_results_is_refused_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        assert_eq!(super::prepare_named_folder(&out, false), Ok(()));
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("notes.txt"), "mine").unwrap();
        assert_eq!(super::prepare_named_folder(&out, false), Ok(()));
        std::fs::write(out.join("requests.jsonl.partial"), "").unwrap();
        std::fs::write(out.join("summary.json"), "{}").unwrap();
        let error = super::prepare_named_folder(&out, false).unwrap_err();
        assert!(
            error.contains("(requests.jsonl.partial, summary.json)") && error.contains("--force"),
            "{error}"
        );
        assert_eq!(super::prepare_named_folder(&out, true), Ok(()));
        assert!(!out.join("summary.json").exists() && out.join("notes.txt").exists());
        let file = out.join("notes.txt");
        let error = super::prepare_named_folder(&file, true).unwrap_err();
        assert!(error.contains("is a file, not a folder"), "{error}");
    }

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
