//! Taking over the terminal and always giving it back: raw mode and the alternate screen are
//! undone when the guard drops — on quit, on error — and by a panic hook, so a crash never
//! leaves the user's shell unusable.

use std::io::{self, Stdout};

use crossterm::cursor::{Hide, Show};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// The terminal in dashboard mode; dropping it restores the terminal.
pub struct TerminalGuard {
    /// Always `Some` until dropped.
    terminal: Option<Term>,
}

impl TerminalGuard {
    pub fn enter() -> io::Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode()?;
        if let Err(e) = execute!(io::stdout(), EnterAlternateScreen, Hide) {
            restore();
            return Err(e);
        }
        match Terminal::new(CrosstermBackend::new(io::stdout())) {
            Ok(terminal) => Ok(TerminalGuard {
                terminal: Some(terminal),
            }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }
}

impl TerminalGuard {
    pub fn draw(&mut self, render: impl FnOnce(&mut ratatui::Frame)) -> io::Result<()> {
        match &mut self.terminal {
            Some(terminal) => terminal.draw(render).map(|_| ()),
            None => Ok(()),
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
        if let Some(mut terminal) = self.terminal.take() {
            // ratatui shows a hidden cursor when dropped and, if the terminal is gone (closed:
            // SIGHUP, EIO), reports that with `eprintln!`, which panics when stderr is that
            // same terminal. Such a terminal is forgotten instead: nothing is left to restore.
            if terminal.show_cursor().is_ok() {
                drop(terminal);
            } else {
                std::mem::forget(terminal);
            }
        }
    }
}

/// Puts the terminal back as the shell expects it. Safe to call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), LeaveAlternateScreen, Show);
}

fn install_panic_hook() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Restore first, or the panic message would land on the alternate screen and vanish.
            restore();
            previous(info);
        }));
    });
}
