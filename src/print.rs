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

/// Narrower terminals than this get the table unwrapped: cut into blocks that narrow, it
/// would be one column per block and harder to read than lines the terminal wraps itself.
const NARROWEST: usize = 40;

/// How many columns the final table may take: the terminal's width when stdout is one; no
/// limit for a file or a pipe, which keep one row per endpoint for scripts, nor for a terminal
/// narrower than 40 columns (or one that reports 0).
pub fn width() -> usize {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() {
        usable(
            crossterm::terminal::size()
                .map(|(columns, _)| usize::from(columns))
                .ok(),
        )
    } else {
        usize::MAX
    }
}

fn usable(columns: Option<usize>) -> usize {
    columns.filter(|&c| c >= NARROWEST).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_under_40_columns_is_unlimited() {
        assert_eq!(usable(Some(0)), usize::MAX);
        assert_eq!(usable(Some(39)), usize::MAX);
        assert_eq!(usable(Some(40)), 40);
        assert_eq!(usable(Some(120)), 120);
        assert_eq!(usable(None), usize::MAX);
    }
}
