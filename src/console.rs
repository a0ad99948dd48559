//! Writing to the user's terminal without ever panicking. Once the terminal is closed (SIGHUP)
//! writes to it fail with EIO, and `println!` would panic on that, before the result files
//! are complete; what cannot be shown is dropped instead, the files say it all.

use std::io::Write;

/// Writes `text` to stdout as is; a failure is ignored (there is nobody left to tell).
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Writes `text` and a newline to stderr; a failure is ignored.
pub fn err(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.write_all(b"\n");
}

/// Writes `text` to stderr as is (it ends its own lines); a failure is ignored.
pub fn err_part(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// How many columns the final table may take: the terminal's width when stdout is one; no
/// limit for a file or a pipe, which keep one row per endpoint for scripts.
pub fn width() -> usize {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() {
        crossterm::terminal::size().map_or(usize::MAX, |(columns, _)| usize::from(columns))
    } else {
        usize::MAX
    }
}
