//! The results folder checked before a race starts: it can be created, a file can be written
//! into it, and its disk has room. A race that cannot keep its results should not start.

use std::io::Write;
use std::path::Path;

use super::results::RecordError;

/// The least free space a race starts with. Results take a few MB per 10 000 requests; below
/// this the disk is about to be full anyway.
pub const MIN_FREE_BYTES: u64 = 64 * 1024 * 1024;

/// The probe's name: hidden, and unmistakably ours if a crash leaves it behind.
const PROBE: &str = ".llmrace-write-probe";

/// Creates `dir` if needed, proves it writable with a probe file, and checks that at least
/// `min_free` bytes are free on its disk.
pub fn check_folder(dir: &Path, min_free: u64) -> Result<(), RecordError> {
    std::fs::create_dir_all(dir).map_err(|source| RecordError::CreateFolder {
        path: dir.to_path_buf(),
        source,
    })?;
    let probe = dir.join(PROBE);
    let written = std::fs::File::create(&probe).and_then(|mut file| {
        file.write_all(b"llmrace checks that results can be written here\n")?;
        file.sync_all()
    });
    let _ = std::fs::remove_file(&probe);
    written.map_err(|source| RecordError::NotWritable {
        path: dir.to_path_buf(),
        source,
    })?;
    if let Some(free) = free_bytes(dir)
        && free < min_free
    {
        return Err(RecordError::LowSpace {
            path: dir.to_path_buf(),
            free: megabytes(free),
            needed: megabytes(min_free),
        });
    }
    Ok(())
}

/// Bytes an unprivileged user may still write on `dir`'s disk; `None` where that cannot be
/// told (then the race starts and a full disk is reported when it happens).
fn free_bytes(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        let stats = rustix::fs::statvfs(dir).ok()?;
        Some(stats.f_bavail.saturating_mul(stats.f_frsize))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

fn megabytes(bytes: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "a size shown to a person in MB")]
    let mb = bytes as f64 / (1024.0 * 1024.0);
    format!("{mb:.1} MB")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writable_folder_with_room_passes_and_keeps_no_probe() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/b");
        check_folder(&out, 0).unwrap();
        assert!(out.is_dir());
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
    }

    #[test]
    fn too_little_space_names_the_folder_and_the_free_space() {
        let dir = tempfile::tempdir().unwrap();
        let err = check_folder(dir.path(), u64::MAX).unwrap_err().to_string();
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
        assert!(err.contains(" MB free"), "{err}");
        assert!(err.contains("--out DIR"), "{err}");
    }

    #[test]
    fn a_folder_under_a_file_cannot_be_created() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let err = check_folder(&file.join("run"), 0).unwrap_err();
        assert!(matches!(err, RecordError::CreateFolder { .. }), "{err}");
    }

    #[test]
    fn sizes_read_in_megabytes() {
        assert_eq!(megabytes(MIN_FREE_BYTES), "64.0 MB");
    }
}
