//! The real binary in a tmux pane, driven and read as a person would: keys sent, the screen
//! captured, the pane's program found for a signal. Every session of the test process has a
//! name of its own (the dashboard and the signal tests share one tmux server and one pid).

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long one wait for the screen may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// Sessions started by this process so far: the next session's number.
static SESSIONS: AtomicUsize = AtomicUsize::new(0);

/// A detached tmux session running one shell command, killed when dropped.
pub struct Tmux {
    pub session: String,
}

impl Tmux {
    /// `command` in a 100×30 pane; `None` (with a note) where tmux is not installed, which only
    /// a developer machine may lack: CI installs it (.ci/run).
    pub fn start(command: &str) -> Option<Tmux> {
        let tmux = Tmux::start_sized(command, 100, 30);
        if tmux.is_none() {
            assert!(std::env::var_os("CI").is_none(), "tmux is required in CI");
            eprintln!("tmux is not installed: skipping the terminal test");
        }
        tmux
    }

    /// `command` in a `width`×`height` pane; `None` where tmux is not installed.
    pub fn start_sized(command: &str, width: u16, height: u16) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            return None;
        }
        let n = SESSIONS.fetch_add(1, Ordering::Relaxed);
        let session = format!("llmrace-test-{}-{n}", std::process::id());
        let status = Command::new("tmux")
            .args(["new-session", "-d", "-s", &session])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .arg(command)
            .status()
            .expect("tmux runs");
        assert!(status.success());
        Some(Tmux { session })
    }

    /// `tmux COMMAND -t SESSION ARGS…` (options must come before the format argument).
    pub fn tmux(&self, command: &str, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args([command, "-t", &self.session])
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn screen(&self) -> String {
        self.tmux("capture-pane", &["-p"])
    }

    /// Types `keys` (tmux key names: `q`, `Escape`, `C-c`).
    pub fn keys(&self, keys: &str) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.session, keys])
            .status()
            .expect("tmux runs");
        assert!(status.success());
    }

    /// Whether the pane shows the alternate screen (a full-screen program is drawing).
    pub fn alternate_screen(&self) -> bool {
        self.tmux("display", &["-p", "#{alternate_on}"]).trim() == "1"
    }

    pub fn cursor_visible(&self) -> bool {
        self.tmux("display", &["-p", "#{cursor_flag}"]).trim() == "1"
    }

    /// The pid of llmrace, the child of the pane's shell.
    pub fn program_pid(&self) -> String {
        let shell = self.tmux("display", &["-p", "#{pane_pid}"]);
        let out = Command::new("pgrep")
            .args(["-P", shell.trim()])
            .output()
            .expect("pgrep runs");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// Polls the pane (a separate process: nothing else to wait on) until `done` holds.
    pub fn wait_for(&self, what: &str, done: impl Fn(&Tmux) -> bool) {
        self.poll(what, || done(self).then_some(()));
    }

    /// Polls the screen until `done` accepts it, and returns that screen.
    pub fn wait_for_screen(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        self.poll(what, || {
            let screen = self.screen();
            done(&screen).then_some(screen)
        })
    }

    /// Polls `found` every 100 ms; fails the test with the last screen after [`PATIENCE`].
    fn poll<T>(&self, what: &str, found: impl Fn() -> Option<T>) -> T {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(found) = found() {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Output taken, not shown: the session may be gone already.
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .output();
    }
}
