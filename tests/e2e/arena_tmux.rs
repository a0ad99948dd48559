//! The arena in the real binary, in a real terminal (tmux): the demo race (`llmrace` with no
//! endpoints) opens on the board, `a` shows four columns answering the same prompt, the demo
//! ends on the arena, ←/→ step through the prompts, and `q` leaves with the terminal restored.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a failed unwrap fails the test"
)]

use crate::common::tmux::Tmux;

const ENDPOINTS: [&str; 4] = ["turbo", "steady", "thinker", "flaky"];

/// Columns headed by each of the demo's endpoints.
fn four_columns(screen: &str) -> bool {
    ENDPOINTS
        .iter()
        .all(|name| screen.contains(&format!("┌ {name} ")))
}

/// Columns whose text has begun (each marks its first token).
fn texts(screen: &str) -> usize {
    screen.matches('▸').count()
}

/// The arena's `K of N`: which of the prompts in common is shown.
fn position(screen: &str) -> Option<String> {
    let line = screen
        .lines()
        .find(|l| l.trim_start().starts_with("prompt "))?;
    let of = line.find(" of ")?;
    let start = line[..of].rfind(' ')? + 1;
    let end = of + 4 + line[of + 4..].find(' ').unwrap_or(line.len() - of - 4);
    Some(line[start..end].to_string())
}

#[test]
fn the_demo_shows_four_endpoints_answering_side_by_side_and_ends_there() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_llmrace");
    // The demo: no race file, no endpoint. `; sleep` keeps the pane to read after the exit.
    let command = format!(
        "cd {} && {bin} -o run ; echo EXITED=$? ; sleep 60",
        dir.path().display()
    );
    let Some(tmux) = Tmux::start_sized(&command, 120, 40) else {
        assert!(std::env::var_os("CI").is_none(), "tmux is required in CI");
        eprintln!("tmux is not installed: skipping the terminal test");
        return;
    };
    let board = tmux.wait_for_screen("the demo's board", |s| {
        s.contains("a arena") && ENDPOINTS.iter().all(|n| s.contains(n))
    });
    assert!(board.contains("llmrace · demo"), "{board}");

    tmux.keys("a");
    tmux.wait_for_screen("four columns streaming", |s| {
        four_columns(s) && s.contains("←→ prompt") && texts(s) >= 1
    });
    // The demo ends on the arena, on the last prompt every endpoint ran.
    let mut screen = tmux.wait_for_screen("the finish, on the arena", |s| {
        s.contains("FINISHED") && four_columns(s) && s.contains("the last")
    });
    // The flaky mock may have failed this prompt before any text: step back to one that all
    // four answered (each step waits for the arena to show the prompt before).
    for _ in 0..20 {
        if texts(&screen) == 4 {
            break;
        }
        let shown = position(&screen).unwrap();
        tmux.keys("Left");
        screen = tmux.wait_for_screen("an earlier prompt", |s| {
            position(s).is_some_and(|p| p != shown)
        });
    }
    assert_eq!(texts(&screen), 4, "text from all four endpoints:\n{screen}");
    assert!(screen.contains("1st"), "a finishing place:\n{screen}");

    tmux.keys("q");
    let after = tmux.wait_for_screen("the exit", |s| s.contains("EXITED="));
    assert!(after.contains("EXITED=0"), "{after}");
    assert!(!tmux.alternate_screen(), "still on the alternate screen");
    assert!(tmux.cursor_visible(), "the cursor is hidden:\n{after}");
    assert!(after.contains("Results:"), "{after}");
}
