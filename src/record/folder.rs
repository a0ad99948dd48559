//! Where a race's results go: a fresh folder per race under the platform data folder, or the
//! folder the user named.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::files::{REPLAY_FILE, RESULT_FILES, SWEEP_FILE, partial};

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

/// Checks a results folder the user named (`-o DIR`, a race's or a sweep's) before anything
/// is sent: it must be a folder or not exist yet, and must not hold llmrace's earlier results,
/// which would be overwritten, unless `force` says to replace them ([`remove_earlier`] does,
/// just before the new results are written). Files named like results that llmrace did not
/// write are refused even with `force`: they may be the user's. The error says what is there
/// and what to do.
pub fn check_named_folder(dir: &Path, force: bool) -> Result<(), String> {
    if dir.exists() && !dir.is_dir() {
        return Err(format!(
            "--out {} is a file, not a folder: name a folder for the results (it is created \
             when missing)",
            dir.display()
        ));
    }
    let held = earlier_results(dir)?;
    if held.is_empty() || force {
        return Ok(());
    }
    Err(format!(
        "--out {} already holds llmrace's results ({}), which this run would overwrite\n  \
         help: name a new folder, or add --force to replace them",
        dir.display(),
        names(dir, &held)
    ))
}

/// Removes the earlier results [`check_named_folder`] let `--force` replace, so that none (a
/// replay the new race does not record, a sweep's level it does not run) outlives them. Called
/// only once the new run is about to write, so a run that fails to start loses nothing.
pub fn remove_earlier(dir: &Path) -> Result<(), String> {
    for path in earlier_results(dir)? {
        std::fs::remove_file(&path)
            .map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
        // A sweep's level folder left empty goes too; one holding the user's files stays.
        if let Some(level) = path.parent().filter(|p| *p != dir) {
            let _ = std::fs::remove_dir(level);
        }
    }
    Ok(())
}

/// llmrace's results in `dir`: a race's files (and `.partial`s), a sweep's `sweep.json`, and
/// the race files in its `level-<n>/` folders. Files so named count as llmrace's only when a
/// `run.json` or a replay llmrace can read (for `sweep.json`, its layout) says so; otherwise
/// the error names them.
fn earlier_results(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut folders = vec![dir.to_path_buf()];
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut levels: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("level-"))
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        levels.sort();
        folders.extend(levels);
    }
    let mut held = Vec::new();
    for folder in &folders {
        let files = race_files(folder);
        if !files.is_empty() && !wrote_race(folder) {
            return Err(not_ours(dir, &files));
        }
        held.extend(files);
    }
    let sweep = dir.join(SWEEP_FILE);
    if sweep.exists() {
        if !is_sweep_report(&sweep) {
            return Err(not_ours(dir, &[sweep]));
        }
        held.push(sweep);
    }
    Ok(held)
}

/// The files in `folder` named as a race's results, whole or `.partial`.
fn race_files(folder: &Path) -> Vec<PathBuf> {
    RESULT_FILES
        .iter()
        .chain(std::iter::once(&REPLAY_FILE))
        .flat_map(|name| [folder.join(name), partial(folder, name)])
        .filter(|path| path.exists())
        .collect()
}

/// Whether llmrace wrote the race in `folder`: its `run.json` reads as one, or its replay
/// opens with a replay header.
fn wrote_race(folder: &Path) -> bool {
    super::RunInfo::read(folder).is_some() || super::replay::ReplayReader::open(folder).is_ok()
}

/// Whether `path` has the layout of a sweep's `sweep.json`.
fn is_sweep_report(path: &Path) -> bool {
    let value = std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok());
    value.is_some_and(|v| {
        [
            "format_version",
            "levels",
            "endpoints",
            "ttft_p95_target_ms",
        ]
        .iter()
        .all(|key| v.get(key).is_some())
    })
}

fn not_ours(dir: &Path, files: &[PathBuf]) -> String {
    format!(
        "--out {} holds files named like llmrace's results ({}) that llmrace did not write \
         (no run.json or replay of its own beside them), so they are left alone even with \
         --force\n  help: name a new folder, or move those files away",
        dir.display(),
        names(dir, files)
    )
}

/// The files' names as seen from `dir`, comma-separated.
fn names(dir: &Path, files: &[PathBuf]) -> String {
    let names: Vec<String> = files
        .iter()
        .map(|p| p.strip_prefix(dir).unwrap_or(p).display().to_string())
        .collect();
    names.join(", ")
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
        .filter(|p| p.join(REPLAY_FILE).is_file())
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
    /// A replay llmrace wrote, in `dir`.
    fn write_replay(dir: &std::path::Path) {
        std::fs::create_dir_all(dir).unwrap();
        let header = crate::record::ReplayHeader::new(
            crate::config::demo_race(),
            Vec::new(),
            Vec::new(),
            chrono::Utc::now(),
        );
        let end = crate::record::ReplayEnd {
            t: crate::event::Offset::ZERO,
            interrupted: false,
        };
        crate::record::ReplayWriter::create(dir, &header)
            .unwrap()
            .finish(end)
            .unwrap();
    }

    #[test]
    fn a_named_folder_with_results_is_refused_unless_forced_and_kept_until_removed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        assert_eq!(super::check_named_folder(&out, false), Ok(()));
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("notes.txt"), "mine").unwrap();
        assert_eq!(super::check_named_folder(&out, false), Ok(()));
        std::fs::write(out.join("requests.jsonl.partial"), "").unwrap();
        std::fs::write(out.join("summary.json"), "{}").unwrap();
        write_replay(&out);
        let error = super::check_named_folder(&out, false).unwrap_err();
        assert!(
            error.contains("(requests.jsonl.partial, summary.json, replay.jsonl.gz)")
                && error.contains("--force"),
            "{error}"
        );
        // Forced, the check removes nothing: that waits until the new race writes.
        assert_eq!(super::check_named_folder(&out, true), Ok(()));
        assert!(out.join("summary.json").exists());
        assert_eq!(super::remove_earlier(&out), Ok(()));
        assert!(!out.join("summary.json").exists() && !out.join("replay.jsonl.gz").exists());
        assert!(out.join("notes.txt").exists());
        let file = out.join("notes.txt");
        let error = super::check_named_folder(&file, true).unwrap_err();
        assert!(error.contains("is a file, not a folder"), "{error}");
    }

    #[test]
    fn files_llmrace_did_not_write_are_refused_even_when_forced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("run.json"), "{\"mine\": true}").unwrap();
        for force in [false, true] {
            let error = super::check_named_folder(dir.path(), force).unwrap_err();
            assert!(
                error.contains("(run.json) that llmrace did not write") && error.contains("move"),
                "{error}"
            );
        }
        assert_eq!(
            super::remove_earlier(dir.path()),
            Err(super::check_named_folder(dir.path(), true).unwrap_err())
        );
        assert!(dir.path().join("run.json").exists());
    }

    #[test]
    fn an_earlier_sweep_is_refused_and_removed_whole() {
        let dir = tempfile::tempdir().unwrap();
        let sweep = dir.path().join(SWEEP_FILE);
        std::fs::write(&sweep, "{}").unwrap();
        let error = super::check_named_folder(dir.path(), true).unwrap_err();
        assert!(
            error.contains("(sweep.json) that llmrace did not write"),
            "{error}"
        );
        std::fs::write(
            &sweep,
            r#"{"format_version":1,"levels":[],"endpoints":[],"ttft_p95_target_ms":1}"#,
        )
        .unwrap();
        write_replay(&dir.path().join("level-4"));
        let error = super::check_named_folder(dir.path(), false).unwrap_err();
        assert!(
            error.contains("(level-4/replay.jsonl.gz, sweep.json)"),
            "{error}"
        );
        assert_eq!(super::remove_earlier(dir.path()), Ok(()));
        assert!(!sweep.exists() && !dir.path().join("level-4").exists());
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
