//! Headless Chromium for the tests that open a page llmrace wrote (the HTML report, the share
//! page). CI installs it; elsewhere a test without it is skipped, and says so.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Chromium's binary, or `None` (with the reason printed) when the test should be skipped;
/// under CI a missing browser is a failure.
pub fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(|name| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|candidate| candidate.is_file())
        });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed; CI must install it (apt-get install -y chromium)"
        );
        eprintln!("note: skipping a headless browser test: chromium is not installed");
    }
    found
}

/// A headless Chromium with its own profile in `profile`, nothing fetched in the background.
pub fn headless(browser: &Path, profile: &Path) -> Command {
    let mut command = Command::new(browser);
    command.args([
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}
