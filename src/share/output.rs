//! Where `llmrace share` writes: never over the race it shares (its replay, any other replay,
//! or a file of its results folder), and only once the whole page or recording is ready, by
//! renaming a complete file into place, so a failure or Ctrl-C leaves what was there intact.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::record::files::{REPLAY_FILE, RESULT_FILES};

/// Why `out` must not be written when sharing `run`, if it must not: `out` exists and is the
/// replay being shared, a gzip file (another replay, most likely), or one of the race's own
/// result files.
pub fn refusal(run: &Path, out: &Path) -> Option<String> {
    let target = std::fs::canonicalize(out).ok()?;
    if !target.is_file() {
        return None;
    }
    let replay = if run.is_dir() {
        run.join(REPLAY_FILE)
    } else {
        run.to_path_buf()
    };
    if std::fs::canonicalize(&replay).is_ok_and(|replay| replay == target) {
        return Some("it is the replay being shared: writing there would destroy the race".into());
    }
    if is_gzip(&target) {
        return Some(
            "it is a gzip file (a race's replay?), not a page or a recording: it is left as it is"
                .into(),
        );
    }
    let folder = if run.is_dir() {
        Some(run.to_path_buf())
    } else {
        run.parent().map(Path::to_path_buf)
    };
    let in_folder = folder
        .map(|f| {
            if f.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                f
            }
        })
        .and_then(|f| std::fs::canonicalize(f).ok())
        .is_some_and(|f| target.parent() == Some(f.as_path()));
    let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("");
    (in_folder && RESULT_FILES.contains(&name)).then(|| {
        "it is one of the shared race's result files: writing there would destroy it".into()
    })
}

fn is_gzip(path: &Path) -> bool {
    let mut magic = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| magic == [0x1f, 0x8b])
}

/// Writes `text` to `out` whole or not at all: into a new hidden file beside it, then renamed
/// over it. The hidden file is removed when the write fails. What is not a regular file (a
/// device such as `/dev/null`, a pipe, a symbolic link) is written through, never replaced.
pub fn write(out: &Path, text: &str) -> std::io::Result<()> {
    if std::fs::symlink_metadata(out).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        return std::fs::write(out, text);
    }
    let partial = partial(out);
    let written = std::fs::File::create_new(&partial).and_then(|mut file| {
        std::io::Write::write_all(&mut file, text.as_bytes())?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&partial, out));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    renamed
}

/// `DIR/.NAME.PID.partial` for `DIR/NAME`.
fn partial(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map_or_else(|| "share".into(), |n| n.to_string_lossy().into_owned());
    out.with_file_name(format!(".{name}.{}.partial", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn race(dir: &Path) -> PathBuf {
        let run = dir.join("run");
        std::fs::create_dir(&run).unwrap();
        std::fs::write(run.join(REPLAY_FILE), [0x1f, 0x8b, 8, 0]).unwrap();
        std::fs::write(run.join("summary.json"), "{}").unwrap();
        run
    }

    #[test]
    fn the_race_s_own_files_and_replays_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let run = race(dir.path());
        let replay = run.join(REPLAY_FILE);
        for (shared, out) in [
            (&run, replay.clone()),
            (&replay, replay.clone()),
            (&run, run.join("../run/replay.jsonl.gz")),
        ] {
            let why = refusal(shared, &out).unwrap();
            assert!(why.contains("the replay being shared"), "{why}");
        }
        let why = refusal(&run, &run.join("summary.json")).unwrap();
        assert!(why.contains("result files"), "{why}");
        let why = refusal(&replay, &run.join("summary.json")).unwrap();
        assert!(why.contains("result files"), "{why}");
        // Another race's replay.
        let other = dir.path().join("other.jsonl.gz");
        std::fs::write(&other, [0x1f, 0x8b, 8, 0]).unwrap();
        assert!(refusal(&run, &other).unwrap().contains("gzip"));
    }

    #[test]
    fn new_files_and_earlier_pages_may_be_written() {
        let dir = tempfile::tempdir().unwrap();
        let run = race(dir.path());
        assert_eq!(refusal(&run, &dir.path().join("race.html")), None);
        let page = dir.path().join("old.html");
        std::fs::write(&page, "<!DOCTYPE html>").unwrap();
        assert_eq!(refusal(&run, &page), None);
        // A file named like a result file, elsewhere, is the user's.
        let elsewhere = dir.path().join("summary.json");
        std::fs::write(&elsewhere, "{}").unwrap();
        assert_eq!(refusal(&run, &elsewhere), None);
        assert_eq!(refusal(&run, &run.join("page.html")), None);
    }

    #[test]
    fn a_write_replaces_the_file_whole_and_leaves_nothing_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("race.html");
        std::fs::write(&out, "old").unwrap();
        write(&out, "new page").unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "new page");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        // A missing folder fails, and leaves nothing.
        assert!(write(&dir.path().join("missing/race.html"), "x").is_err());
        // A folder as the target fails, and its hidden file is removed.
        let folder = dir.path().join("folder");
        std::fs::create_dir(&folder).unwrap();
        assert!(write(&folder, "x").is_err());
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_links_are_written_through_not_replaced() {
        write(Path::new("/dev/null"), "page").unwrap();
        assert!(!std::fs::symlink_metadata("/dev/null").unwrap().is_file());
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.html");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.html");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write(&link, "new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
    }
}
